//! Invariants of fitted feature pipelines over arbitrary specs and data:
//! batch == row-by-row == JSON record, split fits == whole fit, artifact
//! round trip, and no panic on arbitrary input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use mlrig_core::arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use mlrig_core::{Artifact, Features, Fit, ParamGuard, Transform};
use mlrig_features::{
    BucketizeParams, ClipParams, ColumnSpec, ConstantValue, CrossSpec, DatePart, DatePartsParams,
    Encoding, FeaturePipelineParams, FeatureSpec, FittedFeaturePipeline, HashParams, Imputation,
    MinMaxScaleParams, OutputLayout, QuantileBucketizeParams, RobustScaleParams, VocabularyParams,
};
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Bool,
    Text,
}

#[derive(Debug, Clone)]
enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Int),
        Just(Kind::Float),
        Just(Kind::Bool),
        Just(Kind::Text)
    ]
}

/// Values from a small domain (ties, repeats, categories unseen in training)
/// mixed with arbitrary ones; no infinities.
fn cell(kind: Kind) -> BoxedStrategy<Cell> {
    match kind {
        Kind::Int => prop_oneof![
            1 => Just(Cell::Null),
            3 => (-3i64..4).prop_map(Cell::Int),
            1 => any::<i64>().prop_map(Cell::Int),
        ]
        .boxed(),
        Kind::Float => prop_oneof![
            1 => Just(Cell::Null),
            1 => Just(Cell::Float(f64::NAN)),
            2 => prop::sample::select(vec![-1.5, -0.0, 0.0, 0.1, 0.25, 2.0]).prop_map(Cell::Float),
            2 => (-1e6..1e6f64).prop_map(Cell::Float),
            1 => (-1e3..1e3f64).prop_map(|v| Cell::Float(1e9 + v)),
        ]
        .boxed(),
        Kind::Bool => prop_oneof![Just(Cell::Null), any::<bool>().prop_map(Cell::Bool)].boxed(),
        Kind::Text => prop_oneof![
            1 => Just(Cell::Null),
            4 => prop::sample::select(vec!["a", "b", "c", "é", "", "a=b"]).prop_map(|s| Cell::Text(s.into())),
            2 => prop::sample::select(vec!["2024-02-29", "1999-12-31 23:59:59", "2024-01-05T12:00:00+01:00"])
                .prop_map(|s| Cell::Text(s.into())),
            1 => "\\PC{0,6}".prop_map(Cell::Text),
        ]
        .boxed(),
    }
}

fn numeric_encoding() -> BoxedStrategy<Encoding> {
    prop_oneof![
        Just(Encoding::StandardScale),
        (
            prop::sample::select(vec![[0.0, 1.0], [-1.0, 1.0], [2.0, 5.0]]),
            any::<bool>()
        )
            .prop_map(
                |(feature_range, clip)| Encoding::MinMaxScale(MinMaxScaleParams {
                    feature_range,
                    clip
                })
            ),
        prop::sample::select(vec![[25.0, 75.0], [0.0, 100.0], [10.0, 50.0]])
            .prop_map(|quantile_range| Encoding::RobustScale(RobustScaleParams { quantile_range })),
        (
            prop::option::of(-2.0..0.0f64),
            prop::option::of(0.0..2.0f64)
        )
            .prop_map(|(min, max)| Encoding::Clip(ClipParams {
                min: min.or(max.is_none().then_some(-1.0)),
                max
            })),
        Just(Encoding::Log),
        Just(Encoding::Log1p),
        Just(Encoding::Passthrough),
        (prop::collection::btree_set(-5i32..5, 1..4), any::<bool>()).prop_map(
            |(boundaries, ordinal)| Encoding::Bucketize(BucketizeParams {
                boundaries: boundaries.into_iter().map(|b| f64::from(b) * 0.5).collect(),
                ordinal
            })
        ),
        (2u32..6, any::<bool>()).prop_map(|(buckets, ordinal)| Encoding::QuantileBucketize(
            QuantileBucketizeParams { buckets, ordinal }
        )),
    ]
    .boxed()
}

fn categorical_encoding() -> BoxedStrategy<Encoding> {
    prop_oneof![
        Just(Encoding::OneHot),
        Just(Encoding::Ordinal),
        (prop::option::of(1usize..4), 1u64..3, 0u32..3).prop_map(
            |(top_k, min_frequency, oov_buckets)| Encoding::Vocabulary(VocabularyParams {
                top_k,
                min_frequency,
                oov_buckets
            })
        ),
        (1u32..6, any::<bool>()).prop_map(|(buckets, alternate_sign)| Encoding::Hash(HashParams {
            buckets,
            alternate_sign
        })),
    ]
    .boxed()
}

fn column_spec(name: String, kind: Kind) -> BoxedStrategy<ColumnSpec> {
    let encoding = match kind {
        Kind::Int => prop_oneof![
            3 => numeric_encoding(),
            2 => categorical_encoding(),
            1 => Just(Encoding::Drop),
        ]
        .boxed(),
        Kind::Float => prop_oneof![4 => numeric_encoding(), 1 => Just(Encoding::Drop)].boxed(),
        Kind::Bool => prop_oneof![4 => categorical_encoding(), 1 => Just(Encoding::Drop)].boxed(),
        Kind::Text => prop_oneof![
            4 => categorical_encoding(),
            1 => prop::sample::subsequence(
                vec![DatePart::Year, DatePart::Month, DatePart::Day, DatePart::Weekday, DatePart::Hour],
                1..=5
            )
            .prop_map(|parts| Encoding::DateParts(DatePartsParams { parts })),
            1 => Just(Encoding::Drop),
        ]
        .boxed(),
    };
    (encoding, 0u8..6, any::<bool>())
        .prop_map(move |(encode, impute, indicator)| {
            let numeric = matches!(
                encode,
                Encoding::StandardScale
                    | Encoding::MinMaxScale(_)
                    | Encoding::RobustScale(_)
                    | Encoding::Clip(_)
                    | Encoding::Log
                    | Encoding::Log1p
                    | Encoding::Passthrough
                    | Encoding::Bucketize(_)
                    | Encoding::QuantileBucketize(_)
            );
            let unread = encode == Encoding::Drop;
            let date = matches!(encode, Encoding::DateParts(_));
            let mut column = ColumnSpec::new(name.clone(), encode);
            if !unread && indicator {
                column = column.with_missing_indicator();
            }
            let imputation = match (impute, numeric) {
                (1, true) => Some(Imputation::Mean),
                (2, true) => Some(Imputation::Median),
                (3, _) => Some(Imputation::MostFrequent),
                (4, true) => Some(Imputation::Constant(ConstantValue::Float(0.5))),
                (4, false) => Some(Imputation::Constant(match kind {
                    Kind::Int => ConstantValue::Int(7),
                    Kind::Bool => ConstantValue::Bool(true),
                    _ => ConstantValue::Text("zz".into()),
                })),
                (5, true) => Some(Imputation::Constant(ConstantValue::Int(2))),
                _ => None,
            };
            match imputation {
                Some(i) if !unread && !date => column.with_impute(i),
                _ => column,
            }
        })
        .boxed()
}

#[derive(Debug, Clone)]
struct Case {
    kinds: Vec<Kind>,
    spec: FeatureSpec,
    train: Vec<Vec<Cell>>,
    test: Vec<Vec<Cell>>,
}

fn case() -> impl Strategy<Value = Case> {
    (prop::collection::vec(kind(), 1..5), 1usize..30, 0usize..12).prop_flat_map(
        |(kinds, n_train, n_test)| {
            let specs: Vec<_> = kinds
                .iter()
                .enumerate()
                .map(|(i, k)| column_spec(format!("c{i}"), *k))
                .collect();
            let train: Vec<_> = kinds
                .iter()
                .map(|k| prop::collection::vec(cell(*k), n_train))
                .collect();
            let test: Vec<_> = kinds
                .iter()
                .map(|k| prop::collection::vec(cell(*k), n_test))
                .collect();
            let crosses = prop::collection::vec((0..kinds.len(), 0..kinds.len(), 1u32..5), 0..3);
            let output = prop::sample::select(vec![
                OutputLayout::Dense,
                OutputLayout::Sparse,
                OutputLayout::Auto,
            ]);
            (Just(kinds), specs, train, test, crosses, output).prop_map(
                |(kinds, columns, train, test, crosses, output)| {
                    let mut spec = columns
                        .into_iter()
                        .fold(FeatureSpec::new(), FeatureSpec::with_column)
                        .with_output(output);
                    // Crosses of two distinct categorical columns, each pair once.
                    for (a, b, buckets) in crosses {
                        let categorical = |i: usize| kinds[i] != Kind::Float;
                        let pair = [format!("c{a}"), format!("c{b}")];
                        if a != b
                            && categorical(a)
                            && categorical(b)
                            && spec.crosses.iter().all(|c| c.columns != pair)
                        {
                            spec = spec.with_cross(CrossSpec::new(&pair[0], &pair[1], buckets));
                        }
                    }
                    Case {
                        kinds,
                        spec,
                        train,
                        test,
                    }
                },
            )
        },
    )
}

fn array(kind: Kind, cells: &[Cell]) -> ArrayRef {
    match kind {
        Kind::Int => Arc::new(Int64Array::from(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Int(v) => Some(*v),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        )),
        Kind::Float => Arc::new(Float64Array::from(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Float(v) => Some(*v),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        )),
        Kind::Bool => Arc::new(BooleanArray::from(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Bool(v) => Some(*v),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        )),
        Kind::Text => Arc::new(StringArray::from(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Text(v) => Some(v.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        )),
    }
}

/// A batch of the columns plus an extra `target` column; `reversed` puts the
/// columns in the opposite order.
fn batch(kinds: &[Kind], columns: &[Vec<Cell>], rows: usize, reversed: bool) -> RecordBatch {
    let mut arrays: Vec<(String, ArrayRef)> = kinds
        .iter()
        .zip(columns)
        .enumerate()
        .map(|(i, (k, cells))| (format!("c{i}"), array(*k, cells)))
        .collect();
    arrays.push((
        "target".into(),
        Arc::new(Float64Array::from(vec![1.0; rows])),
    ));
    if reversed {
        arrays.reverse();
    }
    RecordBatch::try_from_iter(arrays).unwrap()
}

/// Row `row` as a JSON record over the pipeline's input columns; missing
/// values alternate between `null` and an absent field.
fn record(pipeline: &FittedFeaturePipeline, columns: &[Vec<Cell>], row: usize) -> Value {
    let mut object = serde_json::Map::new();
    for field in pipeline.input_schema().fields() {
        let index: usize = field.name()[1..].parse().unwrap();
        let value = match &columns[index][row] {
            Cell::Int(v) => json!(v),
            Cell::Float(v) if v.is_finite() => json!(v),
            Cell::Bool(v) => json!(v),
            Cell::Text(v) => json!(v),
            Cell::Null | Cell::Float(_) if row.is_multiple_of(2) => continue,
            Cell::Null | Cell::Float(_) => Value::Null,
        };
        object.insert(field.name().clone(), value);
    }
    Value::Object(object)
}

fn bits(features: &Features) -> Vec<u64> {
    features.to_dense().iter().map(|v| v.to_bits()).collect()
}

fn fit(
    spec: &FeatureSpec,
    batches: &[RecordBatch],
) -> Option<Result<FittedFeaturePipeline, String>> {
    let params = FeaturePipelineParams::new(spec.clone()).check().ok()?;
    Some(params.fit(batches).map_err(|e| e.to_string()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn batch_equals_rows_and_records(case in case()) {
        let n_train = case.train[0].len();
        let n_test = case.test[0].len();
        let train = batch(&case.kinds, &case.train, n_train, false);
        let Some(fitted) = fit(&case.spec, &[train]) else { return Ok(()) };
        let Ok(pipeline) = fitted else { return Ok(()) };

        let test = batch(&case.kinds, &case.test, n_test, true);
        let whole = match pipeline.transform(&test) {
            Ok(whole) => whole,
            Err(e) => {
                // Only bad data (log of a value ≤ 0) may fail, and then some row does.
                prop_assert!(e.is_invalid_input(), "{}", e);
                let failing = (0..n_test).filter(|r| pipeline.transform(&test.slice(*r, 1)).is_err()).count();
                prop_assert!(failing > 0);
                return Ok(());
            }
        };
        prop_assert_eq!(whole.nrows(), n_test);
        prop_assert_eq!(whole.names(), pipeline.output_names());
        let whole_rows: Vec<Vec<u64>> = whole
            .to_dense()
            .rows()
            .into_iter()
            .map(|r| r.iter().map(|v| v.to_bits()).collect())
            .collect();
        for (row, expected) in whole_rows.iter().enumerate() {
            let one = pipeline.transform(&test.slice(row, 1)).unwrap();
            prop_assert_eq!(&bits(&one), expected, "row {} as a one-row batch", row);
            let json = record(&pipeline, &case.test, row);
            let served = pipeline.transform_record(&json).unwrap();
            prop_assert_eq!(&bits(&served), expected, "row {} as JSON {}", row, json);
        }
    }

    #[test]
    fn split_fit_equals_whole_fit(case in case(), cuts in prop::collection::vec(0usize..30, 1..4)) {
        let n = case.train[0].len();
        let whole = batch(&case.kinds, &case.train, n, false);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(n)).collect();
        cuts.extend([0, n]);
        cuts.sort_unstable();
        // Parts in reverse order, so merge order differs from data order too.
        let parts: Vec<RecordBatch> = cuts.windows(2).rev().map(|w| whole.slice(w[0], w[1] - w[0])).collect();
        let Some(single) = fit(&case.spec, &[whole]) else { return Ok(()) };
        let split = fit(&case.spec, &parts).unwrap();
        match (single, split) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.fingerprint().unwrap(), b.fingerprint().unwrap());
                prop_assert_eq!(
                    serde_json::to_string(&a).unwrap(),
                    serde_json::to_string(&b).unwrap()
                );
            }
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "whole {:?} vs split {:?}", a.map(|_| ()), b.map(|_| ())),
        }
    }

    #[test]
    fn checks_hold_on_the_training_data(case in case()) {
        let n_train = case.train[0].len();
        let train = batch(&case.kinds, &case.train, n_train, false);
        let Some(Ok(pipeline)) = fit(&case.spec, std::slice::from_ref(&train)) else { return Ok(()) };
        let report = pipeline.check(std::slice::from_ref(&train)).unwrap();
        prop_assert!(report.is_ok(), "{:?}", report.violations);
        prop_assert_eq!(report.rows, n_train as u64);
    }

    #[test]
    fn artifact_round_trip_gives_identical_output(case in case()) {
        let n_train = case.train[0].len();
        let train = batch(&case.kinds, &case.train, n_train, false);
        let Some(Ok(pipeline)) = fit(&case.spec, &[train]) else { return Ok(()) };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("features.json");
        let header = pipeline.save(&path, &[]).unwrap();
        let loaded = FittedFeaturePipeline::load(&path).unwrap();
        prop_assert_eq!(&loaded.header, &header);
        prop_assert_eq!(loaded.value.input_schema(), pipeline.input_schema());
        let test = batch(&case.kinds, &case.test, case.test[0].len(), false);
        // Same output, or the same error (log of a value ≤ 0 in the test data).
        prop_assert_eq!(
            loaded.value.transform(&test).map(|f| bits(&f)).map_err(|e| e.to_string()),
            pipeline.transform(&test).map(|f| bits(&f)).map_err(|e| e.to_string())
        );
    }

    /// Ordinal codes on arbitrary text (empty, long, any code point) and
    /// integers equal the index in the sorted set of training values, NaN
    /// for unknown or missing ones, in a batch, row by row and as JSON.
    #[test]
    fn ordinal_codes_match_a_sorted_set(
        train_text in prop::collection::vec(prop::option::of("\\PC{0,20}"), 1..40),
        test_text in prop::collection::vec(prop::option::of("\\PC{0,20}"), 0..12),
        train_ints in prop::collection::vec(prop::option::of(any::<i64>()), 40),
        test_ints in prop::collection::vec(prop::option::of(prop_oneof![any::<i64>(), -2i64..2]), 12),
        reuse in prop::collection::vec(any::<prop::sample::Index>(), 12),
    ) {
        // Test rows reuse training values half the time, so most are known.
        let pick = |values: &[Option<String>], own: &Option<String>, i: usize| {
            if i.is_multiple_of(2) { values[reuse[i].index(values.len())].clone() } else { own.clone() }
        };
        let test_text: Vec<Option<String>> =
            test_text.iter().enumerate().map(|(i, v)| pick(&train_text, v, i)).collect();
        let n_train = train_text.len();
        let n_test = test_text.len();
        let train_ints = &train_ints[..n_train];
        let test_ints: Vec<Option<i64>> = test_ints[..n_test]
            .iter()
            .enumerate()
            .map(|(i, v)| if i.is_multiple_of(2) { train_ints[reuse[i].index(n_train)] } else { *v })
            .collect();
        let make = |text: &[Option<String>], ints: &[Option<i64>]| {
            RecordBatch::try_from_iter([
                ("t", Arc::new(StringArray::from(text.to_vec())) as ArrayRef),
                ("i", Arc::new(Int64Array::from(ints.to_vec())) as ArrayRef),
            ])
            .unwrap()
        };
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::ordinal("t"))
            .with_column(ColumnSpec::ordinal("i"));
        let pipeline = fit(&spec, &[make(&train_text, train_ints)]).unwrap().unwrap();
        let texts: std::collections::BTreeSet<&String> = train_text.iter().flatten().collect();
        let ints: std::collections::BTreeSet<i64> = train_ints.iter().flatten().copied().collect();
        prop_assert_eq!(
            pipeline.categorical_outputs(),
            vec![("t".to_string(), texts.len()), ("i".to_string(), ints.len())]
        );
        let code = |found: Option<usize>| found.map_or(f64::NAN, |p| p as f64).to_bits();
        let test = make(&test_text, &test_ints);
        let out = pipeline.transform(&test).unwrap();
        let dense = out.to_dense();
        for row in 0..n_test {
            let t = test_text[row].as_ref().and_then(|v| texts.iter().position(|c| *c == v));
            let i = test_ints[row].and_then(|v| ints.iter().position(|c| *c == v));
            let expected = vec![code(t), code(i)];
            let got: Vec<u64> = dense.row(row).iter().map(|v| v.to_bits()).collect();
            prop_assert_eq!(&got, &expected, "row {}", row);
            let one = pipeline.transform(&test.slice(row, 1)).unwrap();
            prop_assert_eq!(&bits(&one), &expected, "row {} alone", row);
            let record = json!({"t": test_text[row], "i": test_ints[row]});
            let served = pipeline.transform_record(&record).unwrap();
            prop_assert_eq!(&bits(&served), &expected, "row {} as JSON {}", row, record);
        }
    }

    #[test]
    fn arbitrary_input_never_panics(
        case in case(),
        other_kinds in prop::collection::vec(kind(), 5),
        floats in prop::collection::vec(prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::NAN), any::<f64>()], 0..8),
        key in "[a-z0-9]{1,3}",
        text in "\\PC{0,8}",
        number in any::<f64>(),
    ) {
        let n_train = case.train[0].len();
        let train = batch(&case.kinds, &case.train, n_train, false);
        let Some(Ok(pipeline)) = fit(&case.spec, &[train]) else { return Ok(()) };

        // Columns of other types than the fitted ones, and infinities.
        let kinds: Vec<Kind> = other_kinds[..case.kinds.len()].to_vec();
        let rows = floats.len();
        let columns: Vec<Vec<Cell>> = kinds
            .iter()
            .map(|k| floats.iter().map(|f| match k {
                Kind::Int => Cell::Int(*f as i64),
                Kind::Float => Cell::Float(*f),
                Kind::Bool => Cell::Bool(*f > 0.0),
                Kind::Text => Cell::Text(f.to_string()),
            }).collect())
            .collect();
        let mixed = batch(&kinds, &columns, rows, false);
        if let Err(e) = pipeline.transform(&mixed) {
            prop_assert!(e.is_invalid_input(), "{}", e);
        }
        let _ = fit(&case.spec, &[mixed]);

        for value in [json!(text), json!(number), json!(true), json!(null), json!([1]), json!({"x": 1})] {
            let _ = pipeline.transform_record(&value);
            let _ = pipeline.transform_record(&json!({ key.clone(): value.clone() }));
            let _ = pipeline.transform_record(&json!({ "c0": value }));
        }
    }
}
