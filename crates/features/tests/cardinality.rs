//! High-cardinality columns (issue 14, part 4): bounded value counts keep
//! the frequent values, `one_hot` refuses what it cannot fit in bounded
//! memory, and a streamed fit equals the in-memory one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, RecordBatch, StringArray};
use mlrig_core::{Fit, ParamGuard};
use mlrig_features::{
    ColumnSpec, Encoding, FeaturePipelineParams, FeatureSpec, FeaturesError, Imputation,
    VocabularyParams,
};

/// 150,000 unique ids (beyond the 65,536 counted exactly) interleaved with
/// five frequent values (`hot0` 2,000 times, …, `hot4` 1,200 times), in
/// batches of 10,000 rows.
fn batches() -> Vec<RecordBatch> {
    let mut values = Vec::new();
    for i in 0..150_000usize {
        values.push(format!("id-{i:07}"));
        if i % 15 == 0 {
            let hot = (i / 15) % 25;
            // hot0 gets 5 of every 25 slots, hot4 3 … hot1..hot3 in between.
            let which = match hot {
                0..=4 => 0,
                5..=8 => 1,
                9..=12 => 2,
                13..=16 => 3,
                17..=19 => 4,
                _ => continue,
            };
            values.push(format!("hot{which}"));
        }
    }
    values
        .chunks(10_000)
        .map(|chunk| {
            let array = StringArray::from(chunk.iter().map(String::as_str).collect::<Vec<_>>());
            RecordBatch::try_from_iter([("id", Arc::new(array) as ArrayRef)]).unwrap()
        })
        .collect()
}

fn vocabulary(top_k: usize) -> FeatureSpec {
    FeatureSpec::new().with_column(ColumnSpec::new(
        "id",
        Encoding::Vocabulary(VocabularyParams {
            top_k: Some(top_k),
            ..VocabularyParams::default()
        }),
    ))
}

#[test]
fn capped_vocabulary_keeps_the_frequent_values_and_streaming_fits_the_same() {
    let batches = batches();
    let params = FeaturePipelineParams::new(vocabulary(5)).check().unwrap();
    let fitted = params.fit(&batches).unwrap();
    assert_eq!(
        fitted.output_names(),
        ["id=hot0", "id=hot1", "id=hot2", "id=hot3", "id=hot4"]
    );
    let streamed = params
        .fit_scan::<FeaturesError>(&batches[0].schema(), |sink| {
            batches.iter().try_for_each(|b| sink(b.clone()))
        })
        .unwrap();
    assert_eq!(streamed.output_names(), fitted.output_names());

    // Most-frequent imputation finds the mode past the capacity too.
    let spec = FeatureSpec::new().with_column(
        ColumnSpec::new(
            "id",
            Encoding::Hash(mlrig_features::HashParams {
                buckets: 4,
                alternate_sign: false,
            }),
        )
        .with_impute(Imputation::MostFrequent),
    );
    let fitted = FeaturePipelineParams::new(spec)
        .check()
        .unwrap()
        .fit(&batches)
        .unwrap();
    let json = serde_json::to_string(&fitted).unwrap();
    assert!(json.contains("\"hot0\""), "{json:.400}");
}

#[test]
fn one_hot_and_ordinal_past_the_capacity_name_the_alternatives() {
    let batches = batches();
    for column in [ColumnSpec::one_hot("id"), ColumnSpec::ordinal("id")] {
        let err = FeaturePipelineParams::new(FeatureSpec::new().with_column(column))
            .check()
            .unwrap()
            .fit(&batches)
            .unwrap_err();
        assert!(matches!(
            err,
            FeaturesError::TooManyCategories { limit: 65_536, .. }
        ));
        let message = err.to_string();
        assert!(
            message.starts_with("column `id`: more than 65536 distinct training values")
                && message.contains("top_k")
                && message.contains("hash"),
            "{message}"
        );
    }
    // Within the capacity one_hot is exact: every distinct value of the
    // first 60,000 rows.
    let distinct: std::collections::BTreeSet<String> = batches[..6]
        .iter()
        .flat_map(|b| {
            let column = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            column
                .iter()
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let spec = FeatureSpec::new().with_column(ColumnSpec::one_hot("id"));
    let fitted = FeaturePipelineParams::new(spec)
        .check()
        .unwrap()
        .fit(&batches[..6])
        .unwrap();
    let names: Vec<String> = distinct.iter().map(|v| format!("id={v}")).collect();
    assert_eq!(fitted.output_names(), names.as_slice());
}
