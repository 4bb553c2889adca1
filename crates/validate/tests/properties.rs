//! Invariants on arbitrary data: exact merge in any split and order, batch ==
//! row by row, serde round trips, a dataset is valid against its own inferred
//! schema, and nothing panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use mlrig_core::Accumulator;
use mlrig_core::arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use mlrig_core::arrow_schema::{DataType, Field, Schema as ArrowSchema, SchemaRef};
use mlrig_validate::*;
use proptest::prelude::*;

type Row = (Option<i64>, Option<f64>, Option<bool>, Option<String>);

fn any_int() -> impl Strategy<Value = i64> {
    prop_oneof![
        -5i64..5,
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MAX),
        -(1i64 << 55)..(1i64 << 55)
    ]
}

fn any_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        -10.0..10.0f64,
        any::<f64>(),
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(1e300),
        proptest::num::f64::SUBNORMAL,
    ]
}

fn any_row() -> impl Strategy<Value = Row> {
    (
        proptest::option::of(any_int()),
        proptest::option::of(any_float()),
        proptest::option::of(any::<bool>()),
        proptest::option::of("[a-f]{0,2}|\\PC{0,4}"),
    )
}

fn arrow_schema() -> SchemaRef {
    Arc::new(ArrowSchema::new(vec![
        Field::new("i", DataType::Int64, true),
        Field::new("f", DataType::Float64, true),
        Field::new("b", DataType::Boolean, true),
        Field::new("s", DataType::Utf8, true),
    ]))
}

fn batch(rows: &[Row]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| r.0).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.1).collect::<Float64Array>()),
        Arc::new(rows.iter().map(|r| r.2).collect::<BooleanArray>()),
        Arc::new(rows.iter().map(|r| r.3.as_deref()).collect::<StringArray>()),
    ];
    RecordBatch::try_new(arrow_schema(), columns).unwrap()
}

fn single_pass(rows: &[Row], params: &StatisticsParams) -> String {
    let mut acc = StatisticsAccumulator::new(&arrow_schema(), params.clone());
    acc.update(&batch(rows)).unwrap();
    acc.finish().to_tfmd_json().unwrap()
}

/// Splits `rows` at `cuts` into parts.
fn parts<'a>(rows: &'a [Row], cuts: &[usize]) -> Vec<&'a [Row]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (rows.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for c in cuts.into_iter().chain([rows.len()]) {
        out.push(&rows[start..c]);
        start = c;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn merge_of_parts_in_any_order_equals_single_pass_bit_for_bit(
        rows in proptest::collection::vec(any_row(), 0..80),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        order in proptest::collection::vec(any::<u32>(), 7),
        cap in 0usize..8,
    ) {
        let params = StatisticsParams::default().with_max_distinct_values(cap).with_num_top_values(3);
        let expected = single_pass(&rows, &params);
        let mut accumulators: Vec<(u32, StatisticsAccumulator)> = parts(&rows, &cuts)
            .into_iter()
            .zip(&order)
            .map(|(part, key)| {
                let mut acc = StatisticsAccumulator::new(&arrow_schema(), params.clone());
                // Each part itself in two batches.
                let (a, b) = part.split_at(part.len() / 2);
                acc.update(&batch(a)).unwrap();
                acc.update(&batch(b)).unwrap();
                // Through serialized state, as between machines.
                let state = serde_json::to_string(&acc).unwrap();
                (*key, serde_json::from_str(&state).unwrap())
            })
            .collect();
        accumulators.sort_by_key(|(key, _)| *key);
        let mut merged = StatisticsAccumulator::new(&arrow_schema(), params.clone());
        for (_, acc) in accumulators {
            merged.merge(acc).unwrap();
        }
        prop_assert_eq!(merged.finish().to_tfmd_json().unwrap(), expected.clone());

        // rayon over the parts gives the same bits too.
        let batches: Vec<RecordBatch> = parts(&rows, &cuts).into_iter().map(batch).collect();
        let par = compute_statistics(&batches, &arrow_schema(), &params).unwrap();
        prop_assert_eq!(par.to_tfmd_json().unwrap(), expected);
    }

    #[test]
    fn statistics_json_round_trips(rows in proptest::collection::vec(any_row(), 0..40), cap in 0usize..5) {
        let params = StatisticsParams::default().with_max_distinct_values(cap);
        let text = single_pass(&rows, &params);
        let back = DatasetStatistics::from_tfmd_json(&text).unwrap();
        prop_assert_eq!(back.to_tfmd_json().unwrap(), text);
    }

    #[test]
    fn statistics_agree_with_plain_arithmetic(rows in proptest::collection::vec(any_row(), 1..40)) {
        let stats = DatasetStatistics::from_tfmd_json(&single_pass(&rows, &StatisticsParams::default())).unwrap();
        let ints: Vec<i64> = rows.iter().filter_map(|r| r.0).collect();
        let i = stats.feature("i").unwrap().numeric().unwrap();
        prop_assert_eq!(i.common_stats.num_missing as usize, rows.len() - ints.len());
        if !ints.is_empty() {
            prop_assert_eq!(i.min, *ints.iter().min().unwrap() as f64);
            prop_assert_eq!(i.max, *ints.iter().max().unwrap() as f64);
            let exact_mean = ints.iter().map(|v| i128::from(*v)).sum::<i128>() as f64 / ints.len() as f64;
            prop_assert!((i.mean - exact_mean).abs() <= exact_mean.abs() * 1e-15);
            // Sketch-derived: median within relative error α of the (lower)
            // exact median, histograms that count every value.
            let mut sorted = ints.clone();
            sorted.sort_unstable();
            let lower_median = sorted[(sorted.len() - 1) / 2] as f64;
            prop_assert!((i.median - lower_median).abs() <= QUANTILE_RELATIVE_ACCURACY * lower_median.abs() * (1.0 + 1e-9));
            let standard = i.histogram(HistogramType::Standard).unwrap();
            let counted: f64 = standard.buckets.iter().map(|b| b.sample_count).sum();
            prop_assert_eq!(counted, ints.len() as f64);
            let quantiles = i.histogram(HistogramType::Quantiles).unwrap();
            prop_assert_eq!(quantiles.buckets.len(), 10);
            prop_assert_eq!(quantiles.buckets[0].low_value, i.min);
            prop_assert_eq!(quantiles.buckets[9].high_value, i.max);
            prop_assert!(quantiles.buckets.windows(2).all(|w| w[0].high_value == w[1].low_value && w[0].low_value <= w[0].high_value));
            let sketch = stats.feature("i").unwrap().value_sketch().unwrap();
            let sketched: f64 = sketch.buckets.iter().map(|b| b.sample_count).sum();
            prop_assert_eq!(sketched, ints.len() as f64);
        }
        let floats: Vec<f64> = rows.iter().filter_map(|r| r.1).collect();
        let f = stats.feature("f").unwrap().numeric().unwrap();
        prop_assert_eq!(f.num_nan() as usize, floats.iter().filter(|v| v.is_nan()).count());
        prop_assert_eq!(f.num_zeros as usize, floats.iter().filter(|v| **v == 0.0).count());
        let trues = rows.iter().filter(|r| r.2 == Some(true)).count();
        let b = stats.feature("b").unwrap();
        prop_assert_eq!(b.feature_type, StatisticsType::Int);
        let top: Vec<(String, f64)> = b.string().unwrap().top_values.iter().map(|v| (v.value.clone(), v.frequency)).collect();
        prop_assert!(trues == 0 || top.contains(&("true".to_string(), trues as f64)));
    }

    #[test]
    fn data_is_valid_against_its_own_inferred_schema(
        rows in proptest::collection::vec(any_row(), 1..60),
        margin in 0.0..0.5f64,
    ) {
        let data = batch(&rows);
        let stats = compute_statistics(std::slice::from_ref(&data), &arrow_schema(), &StatisticsParams::default()).unwrap();
        let schema = infer_schema(&stats, &SchemaInferenceParams::default().with_numeric_range_margin(margin));
        let schema = Schema::from_tfmd_json(&schema.to_tfmd_json().unwrap()).unwrap();
        let anomalies = validate_batches(&schema, &arrow_schema(), [&data], &ValidationOptions::default()).unwrap();
        prop_assert!(anomalies.is_empty(), "{}\n{}", anomalies, schema.to_tfmd_json().unwrap());
    }

    #[test]
    fn validation_never_panics_and_batch_equals_row_by_row(
        train in proptest::collection::vec(any_row(), 0..30),
        serve in proptest::collection::vec(any_row(), 0..30),
        int_range in (any::<i64>(), any::<i64>()),
        float_range in (any_float(), any_float()),
        domain in proptest::collection::vec("[a-f]{0,2}", 0..4),
        min_fraction in 0.0..=1.0f64,
        min_count in -2i64..40,
        flags in (any::<bool>(), any::<bool>()),
    ) {
        let train_batch = batch(&train);
        let stats = compute_statistics(&[train_batch], &arrow_schema(), &StatisticsParams::default()).unwrap();
        let mut schema = infer_schema(&stats, &SchemaInferenceParams::default());
        // Arbitrary extra constraints, including nonsensical ones (min > max).
        let i = schema.feature_mut("i").unwrap();
        i.int_domain = Some(IntDomain { min: Some(int_range.0), max: Some(int_range.1), ..IntDomain::default() });
        i.presence = Some(FeaturePresence { unmodelled: Default::default(), min_fraction: Some(min_fraction), min_count: Some(min_count) });
        let f = schema.feature_mut("f").unwrap();
        f.float_domain = Some(FloatDomain {
            min: Some(float_range.0), max: Some(float_range.1),
            disallow_nan: flags.0, disallow_inf: flags.1, ..FloatDomain::default()
        });
        let s = schema.feature_mut("s").unwrap();
        s.domain = None;
        s.string_domain = Some(StringDomain::new("s", domain));

        let serve_batch = batch(&serve);
        let whole = validate_batches(&schema, &arrow_schema(), [&serve_batch], &ValidationOptions::default()).unwrap();
        let one_row: Vec<RecordBatch> = serve.iter().map(|r| batch(std::slice::from_ref(r))).collect();
        let by_row = validate_batches(&schema, &arrow_schema(), &one_row, &ValidationOptions::default()).unwrap();
        prop_assert_eq!(&whole, &by_row);
        prop_assert_eq!(whole.data_missing, serve.is_empty());
        for a in &whole {
            prop_assert!(a.example_rows.len() <= 5);
            prop_assert!(a.example_rows.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(a.example_rows.iter().all(|r| (*r as usize) < serve.len()));
            prop_assert!(a.example_rows.len() as u64 <= a.count);
        }
        let text = whole.to_tfmd_json().unwrap();
        prop_assert_eq!(Anomalies::from_tfmd_json(&text).unwrap(), whole.clone());
        prop_assert_eq!(whole.to_string().lines().count(), whole.len().max(1));
    }

    #[test]
    fn comparators_and_drift_tests_never_panic_and_are_symmetric_where_they_should_be(
        reference in proptest::collection::vec(any_row(), 0..40),
        current in proptest::collection::vec(any_row(), 0..40),
        threshold in 0.0..=1.0f64,
        quantiles in any::<bool>(),
    ) {
        let stats = |rows: &[Row]| {
            let text = single_pass(rows, &StatisticsParams::default().with_max_distinct_values(3));
            // Through the file format, as a reference would travel.
            DatasetStatistics::from_tfmd_json(&text).unwrap()
        };
        let (a, b) = (stats(&reference), stats(&current));
        let mut schema = infer_schema(&a, &SchemaInferenceParams::default());
        for feature in schema.features.iter_mut() {
            let mut comparator = FeatureComparator::infinity_norm(threshold);
            comparator.jensen_shannon_divergence = Some(JensenShannonDivergence { unmodelled: Default::default(),
                threshold: Some(threshold),
                source: quantiles.then_some(HistogramSelection { unmodelled: Default::default(),
                    selection_type: Some(HistogramSelectionType::Quantiles),
                }),
            });
            comparator.normalized_abs_difference =
                Some(NormalizedAbsoluteDifference { unmodelled: Default::default(), threshold: Some(threshold) });
            feature.drift_comparator = Some(comparator.clone());
            feature.skew_comparator = Some(comparator);
        }
        let drift = compare(&a, &b, &schema).unwrap();
        let skew = compare_skew(&a, &b, &schema).unwrap();
        prop_assert_eq!(drift.len(), skew.len());
        for anomaly in &drift {
            prop_assert!(anomaly.kind.name().starts_with("COMPARATOR_"));
        }
        let schema_json = schema.to_tfmd_json().unwrap();
        prop_assert_eq!(Schema::from_tfmd_json(&schema_json).unwrap(), schema);

        let results = drift_tests(&a, &b, &DriftTestParams::default()).unwrap();
        let reversed = drift_tests(&b, &a, &DriftTestParams::default()).unwrap();
        for r in &results {
            if let Some(p) = r.p_value {
                prop_assert!((0.0..=1.0).contains(&p), "{:?}", r);
            }
            if r.test == DriftTest::KolmogorovSmirnov {
                // D and its p-value do not depend on which side is the reference.
                let back = reversed.iter().find(|x| x.feature == r.feature && x.test == r.test).unwrap();
                prop_assert_eq!(r.statistic, back.statistic);
                prop_assert!((0.0..=1.0).contains(&r.statistic));
            }
        }
    }

    #[test]
    fn sliced_statistics_merge_exactly_and_each_slice_is_its_rows(
        rows in proptest::collection::vec(any_row(), 0..60),
        cuts in proptest::collection::vec(any::<usize>(), 0..4),
        by_bool in any::<bool>(),
    ) {
        let params = StatisticsParams::default().with_max_distinct_values(4);
        let feature = if by_bool { "b" } else { "s" };
        let single = {
            let mut acc = SlicedStatisticsAccumulator::new(&arrow_schema(), params.clone(), feature).unwrap();
            acc.update(&batch(&rows)).unwrap();
            acc.finish()
        };
        let batches: Vec<RecordBatch> = parts(&rows, &cuts).into_iter().map(batch).collect();
        let parallel = compute_sliced_statistics(&batches, &arrow_schema(), &params, feature).unwrap();
        prop_assert_eq!(parallel.to_tfmd_json().unwrap(), single.to_tfmd_json().unwrap());
        let text = single.to_tfmd_json().unwrap();
        prop_assert_eq!(SlicedStatistics::from_tfmd_json(&text).unwrap().to_tfmd_json().unwrap(), text);

        prop_assert_eq!(single.datasets[0].name.as_str(), DEFAULT_SLICE_KEY);
        let mut all = compute_statistics(&[batch(&rows)], &arrow_schema(), &params).unwrap();
        all.name = DEFAULT_SLICE_KEY.to_string();
        prop_assert_eq!(single.datasets[0].to_tfmd_json().unwrap(), all.to_tfmd_json().unwrap());
        for slice in &single.datasets[1..] {
            let value = slice.name.strip_prefix(&format!("{feature}_")).unwrap();
            let members: Vec<Row> = rows
                .iter()
                .filter(|r| if by_bool { r.2.map(|b| b.to_string()).as_deref() == Some(value) } else { r.3.as_deref() == Some(value) })
                .cloned()
                .collect();
            let mut direct = compute_statistics(&[batch(&members)], &arrow_schema(), &params).unwrap();
            direct.name = slice.name.clone();
            prop_assert_eq!(slice.to_tfmd_json().unwrap(), direct.to_tfmd_json().unwrap());
        }
        let sliced_rows: u64 = single.datasets[1..].iter().map(|d| d.num_examples).sum();
        let keyed = rows.iter().filter(|r| if by_bool { r.2.is_some() } else { r.3.is_some() }).count();
        prop_assert_eq!(sliced_rows, keyed as u64);
    }

    #[test]
    fn jensen_shannon_divergence_never_panics_and_is_bounded(
        a in proptest::collection::vec((any::<f64>(), any::<f64>(), 0.0..1e6f64), 0..8),
        b in proptest::collection::vec((-10.0..10.0f64, 0.0..5.0f64, 0.0..1e3f64), 0..8),
        nan in 0u64..3,
    ) {
        let histogram = |buckets: &[(f64, f64, f64)], sorted: bool| {
            let mut buckets: Vec<HistogramBucket> = buckets
                .iter()
                .map(|(low, width, count)| HistogramBucket { unmodelled: Default::default(),
                    low_value: *low,
                    high_value: if sorted { low + width } else { *width },
                    sample_count: *count,
                })
                .collect();
            if sorted {
                buckets.sort_by(|x, y| x.low_value.total_cmp(&y.low_value));
            }
            Histogram { buckets, num_nan: nan, ..Histogram::default() }
        };
        let _ = jensen_shannon_divergence(&histogram(&a, false), &histogram(&b, true));
        let (x, y) = (histogram(&b, true), histogram(&b[..b.len() / 2], true));
        if let Some(jsd) = jensen_shannon_divergence(&x, &y) {
            prop_assert!(jsd > -1e-12 && jsd < 1.0 + 1e-12, "{}", jsd);
        }
    }

    #[test]
    fn mismatched_batches_are_errors_not_panics(rows in proptest::collection::vec(any_row(), 1..10)) {
        let other = RecordBatch::try_from_iter([
            ("i", Arc::new(StringArray::from(vec!["x"; rows.len()])) as ArrayRef),
        ]).unwrap();
        let mut acc = StatisticsAccumulator::new(&arrow_schema(), StatisticsParams::default());
        prop_assert!(acc.update(&other).is_err());
        let schema = Schema::default();
        let mut validator = Validator::new(&schema, &arrow_schema()).unwrap();
        prop_assert!(validator.update(&other).is_err());
        prop_assert!(validator.update(&batch(&rows)).is_ok());
    }
}

#[test]
fn merging_accumulators_for_different_schemas_fails() {
    let mut a = StatisticsAccumulator::new(&arrow_schema(), StatisticsParams::default());
    let other = Arc::new(ArrowSchema::new(vec![Field::new(
        "i",
        DataType::Int64,
        true,
    )]));
    let b = StatisticsAccumulator::new(&other, StatisticsParams::default());
    assert!(matches!(
        a.merge(b),
        Err(ValidateError::IncompatibleMerge { .. })
    ));
    let c = StatisticsAccumulator::new(
        &arrow_schema(),
        StatisticsParams::default().with_max_distinct_values(3),
    );
    assert!(a.merge(c).is_err());
}

#[test]
fn high_cardinality_strings_are_capped_and_get_no_domain() {
    let rows: Vec<Row> = (0..50)
        .map(|i| (None, None, None, Some(format!("v{i}"))))
        .collect();
    let params = StatisticsParams::default().with_max_distinct_values(10);
    let stats = compute_statistics(&[batch(&rows)], &arrow_schema(), &params).unwrap();
    let s = stats.feature("s").unwrap();
    assert!(s.distinct_capped());
    // Beyond the cap `unique` is the HyperLogLog estimate (exact here: linear
    // counting is exact for a handful of values), not the 10 kept values.
    assert_eq!(s.string().unwrap().unique, 50);
    assert_eq!(
        s.string()
            .unwrap()
            .rank_histogram
            .as_ref()
            .unwrap()
            .buckets
            .len(),
        10
    );
    assert!(stats.to_tfmd_json().unwrap().contains(DISTINCT_CAPPED));
    let schema = infer_schema(&stats, &SchemaInferenceParams::default());
    assert!(schema.feature("s").unwrap().domain.is_none());
    assert!(schema.string_domain.is_empty());
}

#[test]
fn other_arrow_types_are_widened_or_counted() {
    use mlrig_core::arrow_array::{Date32Array, Float32Array, Int32Array, LargeStringArray};
    let batch = RecordBatch::try_from_iter([
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])) as ArrayRef,
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![0.5, 1.5, f32::NAN])) as ArrayRef,
        ),
        (
            "large",
            Arc::new(LargeStringArray::from(vec!["a", "b", "a"])) as ArrayRef,
        ),
        (
            "date",
            Arc::new(Date32Array::from(vec![Some(1), None, None])) as ArrayRef,
        ),
    ])
    .unwrap();
    let stats = compute_statistics(
        std::slice::from_ref(&batch),
        &batch.schema(),
        &StatisticsParams::default(),
    )
    .unwrap();
    assert_eq!(stats.feature("i32").unwrap().numeric().unwrap().mean, 2.0);
    let f32s = stats.feature("f32").unwrap().numeric().unwrap();
    assert_eq!((f32s.mean, f32s.num_nan()), (1.0, 1));
    assert_eq!(
        stats.feature("large").unwrap().string().unwrap().top_values[0].value,
        "a"
    );
    let date = stats.feature("date").unwrap();
    assert_eq!(date.feature_type, StatisticsType::Bytes);
    assert_eq!(date.common().unwrap().num_missing, 2);
    let schema = infer_schema(&stats, &SchemaInferenceParams::default());
    let anomalies = validate_batches(
        &schema,
        &batch.schema(),
        [&batch],
        &ValidationOptions::default(),
    )
    .unwrap();
    // The Date32 column is inferred as opaque BYTES, which it fits.
    assert_eq!(
        schema.feature("date").unwrap().feature_type,
        FeatureType::Bytes
    );
    assert!(anomalies.is_empty(), "{anomalies}");
}

#[test]
fn too_many_slices_is_an_error_however_the_data_is_split() {
    let rows: Vec<Row> = (0..6)
        .map(|i| (Some(i), None, None, Some(format!("v{i}"))))
        .collect();
    let fresh = || {
        SlicedStatisticsAccumulator::new(&arrow_schema(), StatisticsParams::default(), "s")
            .unwrap()
            .with_max_slices(4)
    };
    let mut whole = fresh();
    let err = whole.update(&batch(&rows)).unwrap_err();
    assert!(err.to_string().contains("more than 4"), "{err}");
    let (mut a, mut b) = (fresh(), fresh());
    a.update(&batch(&rows[..3])).unwrap();
    b.update(&batch(&rows[3..])).unwrap();
    assert!(a.merge(b).is_err());
    assert!(
        SlicedStatisticsAccumulator::new(&arrow_schema(), StatisticsParams::default(), "f")
            .is_err()
    );
}
