//! Weighted statistics: exact merge, agreement with unweighted statistics
//! for unit weights, and with replicated rows for integer weights.

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

fn arrow_schema() -> SchemaRef {
    Arc::new(ArrowSchema::new(vec![
        Field::new("i", DataType::Int64, true),
        Field::new("f", DataType::Float64, true),
        Field::new("b", DataType::Boolean, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("w", DataType::Float64, true),
    ]))
}

fn batch(rows: &[(Row, f64)]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| r.0.0).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.0.1).collect::<Float64Array>()),
        Arc::new(rows.iter().map(|r| r.0.2).collect::<BooleanArray>()),
        Arc::new(
            rows.iter()
                .map(|r| r.0.3.as_deref())
                .collect::<StringArray>(),
        ),
        Arc::new(rows.iter().map(|r| Some(r.1)).collect::<Float64Array>()),
    ];
    RecordBatch::try_new(arrow_schema(), columns).unwrap()
}

fn any_row() -> impl Strategy<Value = Row> {
    (
        proptest::option::of(prop_oneof![-50i64..50, any::<i64>()]),
        proptest::option::of(prop_oneof![-10.0..10.0f64, Just(f64::NAN), any::<f64>()]),
        proptest::option::of(any::<bool>()),
        proptest::option::of("[a-e]{0,2}"),
    )
}

fn any_weight() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(1.0),
        0.0..5.0f64,
        (0u32..4).prop_map(f64::from),
        Just(1e-300)
    ]
}

fn params(cap: usize) -> StatisticsParams {
    StatisticsParams::default()
        .with_max_distinct_values(cap)
        .with_weight_feature("w")
}

fn statistics(rows: &[(Row, f64)], cap: usize) -> DatasetStatistics {
    compute_statistics(&[batch(rows)], &arrow_schema(), &params(cap)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn weighted_merge_of_parts_equals_single_pass_bit_for_bit(
        rows in proptest::collection::vec((any_row(), any_weight()), 0..60),
        cut in 0usize..60,
        cap in 0usize..6,
    ) {
        let expected = statistics(&rows, cap).to_tfmd_json().unwrap();
        let cut = cut.min(rows.len());
        let (a, b) = rows.split_at(cut);
        let mut second = StatisticsAccumulator::new(&arrow_schema(), params(cap));
        second.update(&batch(b)).unwrap();
        let state = serde_json::to_string(&second).unwrap();
        let second: StatisticsAccumulator = serde_json::from_str(&state).unwrap();
        let mut first = StatisticsAccumulator::new(&arrow_schema(), params(cap));
        first.update(&batch(a)).unwrap();
        // Merged in the other order: the same bits.
        let mut merged = second;
        merged.merge(first).unwrap();
        prop_assert_eq!(merged.finish().to_tfmd_json().unwrap(), expected.clone());
        let back = DatasetStatistics::from_tfmd_json(&expected).unwrap();
        prop_assert_eq!(back.to_tfmd_json().unwrap(), expected);
    }

    #[test]
    fn unit_weights_give_the_unweighted_statistics(
        rows in proptest::collection::vec(any_row(), 1..40),
    ) {
        let weighted: Vec<(Row, f64)> = rows.iter().cloned().map(|r| (r, 1.0)).collect();
        let stats = statistics(&weighted, 1_000);
        prop_assert_eq!(stats.weighted_num_examples, rows.len() as f64);
        for name in ["i", "f"] {
            let n = stats.feature(name).unwrap().numeric().unwrap();
            let w = n.weighted_numeric_stats.as_ref().unwrap();
            let common = n.common_stats.weighted_common_stats.as_ref().unwrap();
            prop_assert_eq!(common.num_non_missing, n.common_stats.num_non_missing as f64);
            prop_assert_eq!(common.num_missing, n.common_stats.num_missing as f64);
            prop_assert!(w.mean.to_bits() == n.mean.to_bits() || (w.mean.is_nan() && n.mean.is_nan()), "{} vs {}", w.mean, n.mean);
            if n.std_dev.is_finite() {
                prop_assert!((w.std_dev - n.std_dev).abs() <= 1e-12 * n.std_dev.abs().max(1e-300), "{} vs {}", w.std_dev, n.std_dev);
            }
            for (a, b) in w.histograms.iter().zip(&n.histograms) {
                prop_assert_eq!(a.histogram_type, b.histogram_type);
                if a.histogram_type == HistogramType::Standard {
                    prop_assert_eq!(a, b);
                }
            }
        }
        for name in ["b", "s"] {
            let s = stats.feature(name).unwrap().string().unwrap();
            let w = s.weighted_string_stats.as_ref().unwrap();
            prop_assert_eq!(&w.top_values, &s.top_values);
        }
    }

    #[test]
    fn integer_weights_equal_replicated_rows(
        rows in proptest::collection::vec((any_row(), 0u32..4), 1..30),
    ) {
        let weighted: Vec<(Row, f64)> = rows.iter().map(|(r, k)| (r.clone(), f64::from(*k))).collect();
        let replicated: Vec<(Row, f64)> = rows
            .iter()
            .flat_map(|(r, k)| std::iter::repeat_n((r.clone(), 1.0), *k as usize))
            .collect();
        let (a, b) = (statistics(&weighted, 1_000), statistics(&replicated, 1_000));
        prop_assert_eq!(a.weighted_num_examples, b.num_examples as f64);
        let ni = a.feature("i").unwrap().numeric().unwrap().weighted_numeric_stats.clone().unwrap();
        let mi = b.feature("i").unwrap().numeric().unwrap();
        if mi.common_stats.num_non_missing > 0 {
            prop_assert_eq!(ni.mean.to_bits(), mi.mean.to_bits());
        }
        let ws = a.feature("s").unwrap().string().unwrap().weighted_string_stats.clone().unwrap();
        let mut weighted_top: Vec<(String, f64)> = ws.top_values.iter().filter(|v| v.frequency > 0.0).map(|v| (v.value.clone(), v.frequency)).collect();
        let mut replicated_top: Vec<(String, f64)> = b.feature("s").unwrap().string().unwrap().top_values.iter().map(|v| (v.value.clone(), v.frequency)).collect();
        weighted_top.sort_by(|x, y| x.0.cmp(&y.0));
        replicated_top.sort_by(|x, y| x.0.cmp(&y.0));
        prop_assert_eq!(weighted_top, replicated_top);
    }
}

#[test]
fn weighted_median_and_histograms_follow_the_weights() {
    // Values 1..=10, value 10 weighs as much as all others together.
    let rows: Vec<(Row, f64)> = (1..=10)
        .map(|v| ((Some(v), None, None, None), if v == 10 { 9.0 } else { 1.0 }))
        .collect();
    let stats = statistics(&rows, 10);
    let n = stats.feature("i").unwrap().numeric().unwrap();
    let w = n.weighted_numeric_stats.as_ref().unwrap();
    assert_eq!(n.median, 5.0);
    assert_eq!(w.median, 9.0); // cumulative weight 9 of 18 reached at 9
    assert_eq!(w.mean, (45.0 + 90.0) / 18.0);
    let standard = &w.histograms[0];
    assert_eq!(standard.buckets.last().unwrap().sample_count, 9.0); // [9.1, 10]: only 10
    let quantiles = &w.histograms[1];
    assert!(quantiles.buckets.iter().all(|b| b.sample_count == 1.8));
}

#[test]
fn invalid_weights_are_errors_naming_the_row() {
    for (bad, found) in [(-1.0, "-1"), (f64::NAN, "NaN"), (f64::INFINITY, "inf")] {
        let rows = vec![
            ((Some(1), None, None, None), 1.0),
            ((Some(2), None, None, None), bad),
        ];
        let err = compute_statistics(&[batch(&rows)], &arrow_schema(), &params(5)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("weight column `w`, batch row 1: expected a finite weight >= 0, found {found}")
        );
    }
    let null_weight = RecordBatch::try_new(
        arrow_schema(),
        vec![
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            Arc::new(Float64Array::from(vec![None::<f64>])),
            Arc::new(BooleanArray::from(vec![None::<bool>])),
            Arc::new(StringArray::from(vec![None::<&str>])),
            Arc::new(Float64Array::from(vec![None::<f64>])),
        ],
    )
    .unwrap();
    let err = compute_statistics(&[null_weight], &arrow_schema(), &params(5)).unwrap_err();
    assert!(err.to_string().ends_with("found null"), "{err}");
    let no_such = StatisticsParams::default().with_weight_feature("nope");
    let err = compute_statistics(&[batch(&[])], &arrow_schema(), &no_such).unwrap_err();
    assert!(err.to_string().contains("`nope`"), "{err}");
}

#[test]
fn weighted_presence_of_unsummarised_columns_uses_their_nulls() {
    use mlrig_core::arrow_array::Date32Array;
    let schema = Arc::new(ArrowSchema::new(vec![
        Field::new("d", DataType::Date32, true),
        Field::new("w", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Date32Array::from(vec![Some(1), None, Some(3)])) as ArrayRef,
            Arc::new(Int64Array::from(vec![2, 5, 7])),
        ],
    )
    .unwrap();
    let params = StatisticsParams::default().with_weight_feature("w");
    let stats = compute_statistics(&[batch], &schema, &params).unwrap();
    assert_eq!(stats.weighted_num_examples, 14.0);
    let d = stats.feature("d").unwrap().common().unwrap();
    let w = d.weighted_common_stats.as_ref().unwrap();
    assert_eq!((w.num_non_missing, w.num_missing), (9.0, 5.0));
}
