//! Every transform on small hand-checked data: values, names, missing and
//! unknown handling, errors, sparse output and the checks API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use mlrig_core::{Artifact, FeatureMatrix, Features, Fit, ParamGuard, Transform};
use mlrig_features::{
    BucketizeParams, CheckKind, ClipParams, ColumnSpec, ConstantValue, CrossSpec, DatePart,
    DatePartsParams, Encoding, FeaturePipelineParams, FeatureSpec, FeaturesError,
    FittedFeaturePipeline, HashParams, Imputation, MinMaxScaleParams, OutputLayout,
    QuantileBucketizeParams, RobustScaleParams, VocabularyParams,
};

fn floats(name: &str, values: Vec<Option<f64>>) -> RecordBatch {
    RecordBatch::try_from_iter([(name, Arc::new(Float64Array::from(values)) as ArrayRef)]).unwrap()
}

fn texts(name: &str, values: Vec<Option<&str>>) -> RecordBatch {
    RecordBatch::try_from_iter([(name, Arc::new(StringArray::from(values)) as ArrayRef)]).unwrap()
}

fn fit(spec: FeatureSpec, batch: &RecordBatch) -> Result<FittedFeaturePipeline, FeaturesError> {
    FeaturePipelineParams::new(spec)
        .check()?
        .fit(std::slice::from_ref(batch))
}

fn one(column: ColumnSpec) -> FeatureSpec {
    FeatureSpec::new().with_column(column)
}

fn column(features: &Features, index: usize) -> Vec<f64> {
    features.to_dense().column(index).to_vec()
}

fn close(got: &[f64], want: &[f64], tolerance: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g.is_nan() && w.is_nan()) || (g - w).abs() <= tolerance,
            "{got:?} vs {want:?}"
        );
    }
}

/// FNV-1a 64, written out independently of the crate.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn min_max_scale_with_and_without_clip() {
    let train = floats("x", vec![Some(1.0), Some(2.0), Some(5.0)]);
    let spec = one(ColumnSpec::new(
        "x",
        Encoding::MinMaxScale(MinMaxScaleParams::default()),
    ));
    let fitted = fit(spec, &train).unwrap();
    assert_eq!(
        column(&fitted.transform(&train).unwrap(), 0),
        [0.0, 0.25, 1.0]
    );

    let test = floats("x", vec![Some(9.0), Some(-3.0), None]);
    for clip in [false, true] {
        let spec = one(ColumnSpec::new(
            "x",
            Encoding::MinMaxScale(MinMaxScaleParams {
                feature_range: [-1.0, 1.0],
                clip,
            }),
        ));
        let fitted = fit(spec, &train).unwrap();
        // scale 2 / 4 = 0.5, offset −1 − 1 · 0.5 = −1.5.
        let want = if clip {
            [1.0, -1.0, f64::NAN]
        } else {
            [3.0, -3.0, f64::NAN]
        };
        close(&column(&fitted.transform(&test).unwrap(), 0), &want, 0.0);
        let report = fitted.check(std::slice::from_ref(&test)).unwrap();
        assert_eq!(report.is_ok(), clip, "{report:?}");
        if !clip {
            assert_eq!(report.violations[0].kind, CheckKind::OutOfBounds);
            assert_eq!(report.violations[0].count, 2);
        }
    }

    let constant = floats("x", vec![Some(3.0), Some(3.0)]);
    let spec = one(ColumnSpec::new(
        "x",
        Encoding::MinMaxScale(MinMaxScaleParams::default()),
    ));
    let out = fit(spec, &constant).unwrap().transform(&constant).unwrap();
    assert_eq!(column(&out, 0), [0.0, 0.0]);
}

#[test]
fn robust_scale_uses_sketch_quantiles() {
    let train = floats("x", (1..=9).map(|v| Some(f64::from(v))).collect());
    let spec = one(ColumnSpec::new(
        "x",
        Encoding::RobustScale(RobustScaleParams::default()),
    ));
    let fitted = fit(spec, &train).unwrap();
    let json = serde_json::to_value(&fitted).unwrap();
    let stats = &json["columns"][0]["encode"]["robust_scale"];
    // Exact: median 5, IQR 7 − 3 = 4; within α = 0.001 relative.
    let center = stats["center"].as_f64().unwrap();
    let scale = stats["scale"].as_f64().unwrap();
    assert!((center - 5.0).abs() <= 0.005, "{center}");
    assert!((scale - 4.0).abs() <= 0.001 * (7.0 + 3.0), "{scale}");
    let out = column(&fitted.transform(&train).unwrap(), 0);
    assert!((out[8] - 1.0).abs() < 0.01, "{out:?}");

    let constant = floats("x", vec![Some(2.0); 4]);
    let spec = one(ColumnSpec::new(
        "x",
        Encoding::RobustScale(RobustScaleParams::default()),
    ));
    let out = fit(spec, &constant).unwrap().transform(&constant).unwrap();
    assert_eq!(column(&out, 0), [0.0; 4]);
}

#[test]
fn clip_log_and_log1p() {
    let train = floats("x", vec![Some(1.0), Some(std::f64::consts::E), None]);
    let spec = one(ColumnSpec::new(
        "x",
        Encoding::Clip(ClipParams {
            min: Some(0.0),
            max: Some(2.0),
        }),
    ));
    let test = floats("x", vec![Some(-5.0), Some(20.0), None, Some(1.5)]);
    let out = fit(spec, &train).unwrap().transform(&test).unwrap();
    close(&column(&out, 0), &[0.0, 2.0, f64::NAN, 1.5], 0.0);

    let fitted = fit(one(ColumnSpec::new("x", Encoding::Log)), &train).unwrap();
    close(
        &column(&fitted.transform(&train).unwrap(), 0),
        &[0.0, 1.0, f64::NAN],
        1e-15,
    );
    let err = fitted
        .transform(&floats("x", vec![Some(2.0), Some(0.0)]))
        .unwrap_err();
    assert!(err.is_invalid_input());
    assert_eq!(
        err.to_string(),
        "column `x`, row 1: value 0 is outside the domain of log (expected a value > 0)"
    );
    let served = fitted.transform_record(&serde_json::json!({"x": -1}));
    assert!(served.unwrap_err().is_invalid_input());

    let with_zero = floats("x", vec![Some(0.0), Some(1.0)]);
    let err = fit(one(ColumnSpec::new("x", Encoding::Log)), &with_zero).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `x`: value 0 is outside the domain of log (expected a value > 0)"
    );
    let fitted = fit(one(ColumnSpec::new("x", Encoding::Log1p)), &with_zero).unwrap();
    assert_eq!(
        column(&fitted.transform(&with_zero).unwrap(), 0),
        [0.0, std::f64::consts::LN_2]
    );
    assert!(
        fitted
            .transform(&floats("x", vec![Some(-1.0)]))
            .unwrap_err()
            .is_invalid_input()
    );
    // A constant fill outside the domain is caught at fit.
    let spec = one(ColumnSpec::new("x", Encoding::Log)
        .with_impute(Imputation::Constant(ConstantValue::Int(0))));
    assert!(matches!(
        fit(spec, &train),
        Err(FeaturesError::OutOfDomain { row: None, .. })
    ));
}

#[test]
fn median_and_constant_imputation_with_indicator() {
    let train = floats("x", vec![Some(1.0), None, Some(3.0), Some(10.0)]);
    let spec = one(ColumnSpec::passthrough("x")
        .with_impute(Imputation::Median)
        .with_missing_indicator());
    let fitted = fit(spec, &train).unwrap();
    assert_eq!(fitted.output_names(), ["x", "x_missing"]);
    let out = fitted.transform(&train).unwrap().to_dense();
    assert!((out[[1, 0]] - 3.0).abs() <= 0.003, "{out}");
    assert_eq!(out.column(1).to_vec(), [0.0, 1.0, 0.0, 0.0]);

    let spec =
        one(ColumnSpec::standard_scale("x")
            .with_impute(Imputation::Constant(ConstantValue::Int(0))));
    let fitted = fit(spec, &train).unwrap();
    // Imputed column [1, 0, 3, 10]: mean 3.5.
    let json = serde_json::to_value(&fitted).unwrap();
    assert_eq!(json["columns"][0]["encode"]["standard_scale"]["mean"], 3.5);
    assert!(fitted.check(std::slice::from_ref(&train)).unwrap().is_ok());

    let cities = texts("c", vec![Some("Oslo"), None, Some("Rome")]);
    let spec = one(ColumnSpec::one_hot("c")
        .with_impute(Imputation::Constant(ConstantValue::Text("unknown".into()))));
    let out = fit(spec, &cities).unwrap().transform(&cities).unwrap();
    assert_eq!(out.names(), ["c=Oslo", "c=Rome"]);
    assert_eq!(out.to_dense().row(1).to_vec(), [0.0, 0.0]);

    let spec =
        one(ColumnSpec::one_hot("c").with_impute(Imputation::Constant(ConstantValue::Int(1))));
    let err = fit(spec, &cities).unwrap_err();
    assert!(
        err.to_string()
            .contains("constant fill value 1 does not fit a Utf8 column"),
        "{err}"
    );
}

#[test]
fn bucketize_fixed_and_quantile() {
    let ages = floats(
        "age",
        [10.0, 18.0, 40.0, 65.0, 90.0]
            .into_iter()
            .map(Some)
            .chain([None])
            .collect(),
    );
    let buckets = |ordinal| {
        one(ColumnSpec::new(
            "age",
            Encoding::Bucketize(BucketizeParams {
                boundaries: vec![18.0, 65.0],
                ordinal,
            }),
        ))
    };
    let fitted = fit(buckets(false), &ages).unwrap();
    assert_eq!(
        fitted.output_names(),
        ["age_bucket[0]", "age_bucket[1]", "age_bucket[2]"]
    );
    let out = fitted.transform(&ages).unwrap().to_dense();
    let index: Vec<Option<usize>> = out
        .rows()
        .into_iter()
        .map(|r| r.iter().position(|v| *v == 1.0))
        .collect();
    assert_eq!(index, [Some(0), Some(1), Some(1), Some(2), Some(2), None]);
    assert!(fitted.check(std::slice::from_ref(&ages)).unwrap().is_ok());

    let fitted = fit(buckets(true), &ages).unwrap();
    assert_eq!(fitted.output_names(), ["age_bucket"]);
    close(
        &column(&fitted.transform(&ages).unwrap(), 0),
        &[0.0, 1.0, 1.0, 2.0, 2.0, f64::NAN],
        0.0,
    );

    let values = floats("v", (1..=100).map(|v| Some(f64::from(v))).collect());
    let spec = one(ColumnSpec::new(
        "v",
        Encoding::QuantileBucketize(QuantileBucketizeParams {
            buckets: 4,
            ordinal: true,
        }),
    ));
    let fitted = fit(spec, &values).unwrap();
    let out = column(&fitted.transform(&values).unwrap(), 0);
    // Edges ≈ 25.75, 50.5, 75.25: 25 values per bucket.
    for bucket in 0..4 {
        let n = out.iter().filter(|v| **v == f64::from(bucket)).count();
        assert_eq!(n, 25, "bucket {bucket}: {out:?}");
    }
    // Mostly-constant data: coinciding edges are dropped.
    let zeros = floats(
        "v",
        (0..20)
            .map(|i| Some(if i == 19 { 5.0 } else { 0.0 }))
            .collect(),
    );
    let spec = one(ColumnSpec::new(
        "v",
        Encoding::QuantileBucketize(QuantileBucketizeParams {
            buckets: 4,
            ordinal: false,
        }),
    ));
    let fitted = fit(spec, &zeros).unwrap();
    assert_eq!(fitted.output_names(), ["v_bucket[0]"]);
}

#[test]
fn vocabulary_limits_and_oov_buckets() {
    let words = ["a", "a", "a", "a", "a", "b", "b", "b", "c", "c", "c", "d"];
    let batch = texts("s", words.iter().map(|w| Some(*w)).collect());
    let vocabulary = |top_k, min_frequency, oov_buckets| {
        one(ColumnSpec::new(
            "s",
            Encoding::Vocabulary(VocabularyParams {
                top_k,
                min_frequency,
                oov_buckets,
            }),
        ))
    };
    let fitted = fit(vocabulary(Some(2), 1, 0), &batch).unwrap();
    assert_eq!(fitted.output_names(), ["s=a", "s=b"]);
    let fitted = fit(vocabulary(None, 2, 2), &batch).unwrap();
    assert_eq!(
        fitted.output_names(),
        ["s=a", "s=b", "s=c", "s=__oov_0__", "s=__oov_1__"]
    );
    let test = texts("s", vec![Some("zzz"), Some("d"), None, Some("b")]);
    let out = fitted.transform(&test).unwrap().to_dense();
    let oov = |w: &str| 3 + (fnv(w.as_bytes()) % 2) as usize;
    assert_eq!(out[[0, oov("zzz")]], 1.0);
    assert_eq!(out[[1, oov("d")]], 1.0);
    assert_eq!(out.row(0).sum(), 1.0);
    assert_eq!(out.row(2).sum(), 0.0);
    assert_eq!(out.row(3).to_vec(), [0.0, 1.0, 0.0, 0.0, 0.0]);
    assert!(fitted.check(&[test]).unwrap().is_ok());
}

#[test]
fn hashing_and_crosses() {
    let batch = RecordBatch::try_from_iter([
        (
            "s",
            Arc::new(StringArray::from(vec![Some("a"), Some("foobar"), None])) as ArrayRef,
        ),
        (
            "n",
            Arc::new(Int64Array::from(vec![Some(12), None, Some(3)])) as ArrayRef,
        ),
    ])
    .unwrap();
    for alternate_sign in [true, false] {
        let spec = one(ColumnSpec::new(
            "s",
            Encoding::Hash(HashParams {
                buckets: 4,
                alternate_sign,
            }),
        ))
        .with_cross(CrossSpec::new("s", "n", 8));
        let fitted = fit(spec, &batch).unwrap();
        assert_eq!(fitted.output_names()[0], "s_hash[0]");
        assert_eq!(fitted.output_names()[4], "s_x_n[0]");
        assert_eq!(fitted.output_names().len(), 12);
        let out = fitted.transform(&batch).unwrap().to_dense();
        // fnv("a") = 0xaf63dc4c8601ec8c: bucket 0, top bit set → −1.
        let h = fnv(b"a");
        let sign = if alternate_sign && h >> 63 == 1 {
            -1.0
        } else {
            1.0
        };
        assert_eq!(out[[0, (h % 4) as usize]], sign);
        assert_eq!(out.row(0).iter().take(4).filter(|v| **v != 0.0).count(), 1);
        // Cross of ("a", 12): FNV over "a", 0xFF, "12".
        let cross = fnv(&[b"a".as_slice(), &[0xFF], b"12"].concat()) % 8;
        assert_eq!(out[[0, 4 + cross as usize]], 1.0);
        // A missing side: no cross output; a missing hashed value: zeros.
        assert_eq!(out.row(1).iter().skip(4).sum::<f64>(), 0.0);
        assert_eq!(out.row(2).iter().map(|v| v.abs()).sum::<f64>(), 0.0);
    }
    let floats_cross = FeatureSpec::new().with_cross(CrossSpec::new("s", "x", 2));
    let batch = RecordBatch::try_from_iter([
        ("s", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
        ("x", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef),
    ])
    .unwrap();
    assert_eq!(
        fit(floats_cross, &batch).unwrap_err().to_string(),
        "column `x`: expected Utf8, Boolean or Int64 (for a cross), found Float64"
    );
}

#[test]
fn date_parts_and_unparsable_values() {
    let batch = texts(
        "ts",
        vec![
            Some("2024-02-29T13:00:00Z"),
            Some("garbage"),
            None,
            Some("1999-12-31"),
        ],
    );
    let spec = one(
        ColumnSpec::new("ts", Encoding::DateParts(DatePartsParams::default()))
            .with_missing_indicator(),
    );
    let fitted = fit(spec, &batch).unwrap();
    assert_eq!(
        fitted.output_names(),
        [
            "ts_year",
            "ts_month",
            "ts_day",
            "ts_weekday",
            "ts_hour",
            "ts_missing"
        ]
    );
    let out = fitted.transform(&batch).unwrap().to_dense();
    assert_eq!(out.row(0).to_vec(), [2024.0, 2.0, 29.0, 3.0, 13.0, 0.0]);
    assert!(out.row(1).iter().take(5).all(|v| v.is_nan()));
    assert_eq!(out[[1, 5]], 1.0);
    assert_eq!(out[[2, 5]], 1.0);
    assert_eq!(out.row(3).to_vec(), [1999.0, 12.0, 31.0, 4.0, 0.0, 0.0]);

    let spec = one(ColumnSpec::new(
        "ts",
        Encoding::DateParts(DatePartsParams {
            parts: vec![DatePart::Hour],
        }),
    ));
    let numbers = floats("ts", vec![Some(1.0)]);
    assert_eq!(
        fit(spec, &numbers).unwrap_err().to_string(),
        "column `ts`: expected Utf8 (for date_parts), found Float64"
    );
}

#[test]
fn sparse_output_equals_dense_and_auto_decides_at_fit() {
    let batch = RecordBatch::try_from_iter([
        (
            "x",
            Arc::new(Float64Array::from(vec![
                Some(1.0),
                None,
                Some(3.0),
                Some(0.0),
            ])) as ArrayRef,
        ),
        (
            "c",
            Arc::new(StringArray::from(vec![
                Some("a"),
                Some("b"),
                Some("c"),
                None,
            ])) as ArrayRef,
        ),
    ])
    .unwrap();
    let base = FeatureSpec::new()
        .with_column(ColumnSpec::passthrough("x").with_missing_indicator())
        .with_column(ColumnSpec::one_hot("c"))
        .with_column(ColumnSpec::new(
            "c",
            Encoding::Hash(HashParams {
                buckets: 3,
                alternate_sign: true,
            }),
        ));
    // `c` twice is a duplicate: use a cross instead for the second group.
    assert!(FeaturePipelineParams::new(base).check().is_err());
    let base = FeatureSpec::new()
        .with_column(ColumnSpec::passthrough("x").with_missing_indicator())
        .with_column(ColumnSpec::one_hot("c"));
    let dense = fit(base.clone(), &batch).unwrap();
    let sparse = fit(base.clone().with_output(OutputLayout::Sparse), &batch).unwrap();
    assert_eq!(dense.output_layout(), OutputLayout::Dense);
    let d = dense.transform(&batch).unwrap();
    let s = sparse.transform(&batch).unwrap();
    assert!(matches!(s.matrix(), FeatureMatrix::Sparse(_)));
    assert_eq!(s.names(), d.names());
    let bits = |f: &Features| -> Vec<u64> { f.to_dense().iter().map(|v| v.to_bits()).collect() };
    assert_eq!(bits(&s), bits(&d));
    // NaN is stored, zeros are not.
    assert_eq!(s.to_sparse().nnz(), 3 + 1 + 3);

    // Auto: x (1) + x_missing (0.25) + one group (1) over 5 outputs = 0.45 → dense.
    let auto = fit(base.clone().with_output(OutputLayout::Auto), &batch).unwrap();
    assert_eq!(auto.output_layout(), OutputLayout::Dense);
    // One group over 3 outputs = 0.33 → dense; plus a 16-bucket cross → sparse.
    let wide = FeatureSpec::new()
        .with_column(ColumnSpec::one_hot("c"))
        .with_cross(CrossSpec::new("c", "x2", 16))
        .with_output(OutputLayout::Auto);
    let batch2 = RecordBatch::try_from_iter([
        (
            "c",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
        ),
        (
            "x2",
            Arc::new(StringArray::from(vec!["p", "q", "r"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let fitted = fit(wide, &batch2).unwrap();
    assert_eq!(fitted.output_layout(), OutputLayout::Sparse);
    let one_row = fitted
        .transform_record(&serde_json::json!({"c": "a", "x2": "p"}))
        .unwrap();
    assert!(matches!(one_row.matrix(), FeatureMatrix::Sparse(_)));
}

#[test]
fn output_name_collisions_are_errors() {
    let batch = RecordBatch::try_from_iter([
        ("a", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef),
        (
            "a_missing",
            Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
        ),
    ])
    .unwrap();
    let spec = FeatureSpec::new()
        .with_column(ColumnSpec::passthrough("a").with_missing_indicator())
        .with_column(ColumnSpec::passthrough("a_missing"));
    let err = fit(spec, &batch).unwrap_err();
    assert!(
        err.to_string().contains("`a_missing` is produced twice"),
        "{err}"
    );
}

#[test]
fn tampered_artifacts_are_rejected() {
    let batch = RecordBatch::try_from_iter([
        (
            "x",
            Arc::new(Float64Array::from(vec![Some(1.0), None, Some(4.0)])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])) as ArrayRef,
        ),
        (
            "t",
            Arc::new(StringArray::from(vec!["2024-01-01", "x", "2024-01-02"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let spec = FeatureSpec::from_json(
        r#"{"columns": [
            {"name": "x", "impute": "mean", "encode": {"bucketize": {"boundaries": [0, 2]}}},
            {"name": "s", "encode": {"hash": {"buckets": 4}}},
            {"name": "t", "encode": "date_parts"}
        ], "crosses": [{"columns": ["s", "t"], "buckets": 2}], "output": "auto"}"#,
    )
    .unwrap();
    let json = round_trip(&fit(spec, &batch).unwrap());
    let edits: [(&str, serde_json::Value); 9] = [
        (
            "/columns/0/encode/bucketize/boundaries",
            serde_json::json!([2, 0]),
        ),
        (
            "/columns/0/impute_with",
            serde_json::json!({"category": "a"}),
        ),
        ("/columns/0/input_type", serde_json::json!("Utf8")),
        ("/columns/1/encode/hash/buckets", serde_json::json!(0)),
        ("/columns/2/encode/date_parts/parts", serde_json::json!([])),
        ("/columns/2/input_type", serde_json::json!("Int64")),
        ("/crosses/0/columns", serde_json::json!(["s", "s"])),
        ("/crosses/0/input_types/0", serde_json::json!("Int64")),
        ("/output", serde_json::json!("auto")),
    ];
    assert_edits_rejected(&json, edits);
}

#[test]
fn tampered_scaler_and_one_hot_are_rejected() {
    let batch = RecordBatch::try_from_iter([
        (
            "x",
            Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
        ),
        ("s", Arc::new(StringArray::from(vec!["p", "q"])) as ArrayRef),
    ])
    .unwrap();
    let spec = FeatureSpec::new()
        .with_column(ColumnSpec::standard_scale("x"))
        .with_column(ColumnSpec::one_hot("s").with_impute(Imputation::MostFrequent));
    let json = round_trip(&fit(spec, &batch).unwrap());
    let edits: [(&str, serde_json::Value); 7] = [
        (
            "/columns/1/encode/one_hot/categories",
            serde_json::json!(["q", "p"]),
        ),
        (
            "/columns/1/encode/one_hot/categories",
            serde_json::json!(["p", 3]),
        ),
        ("/columns/1/impute_with", serde_json::json!({"category": 3})),
        ("/columns/1/impute_with", serde_json::json!({"number": 3.0})),
        (
            "/columns/0/encode/standard_scale/scale",
            serde_json::json!(0.0),
        ),
        ("/columns/0/input_type", serde_json::json!("Utf8")),
        ("/output_names/0", serde_json::json!("y")),
    ];
    assert_edits_rejected(&json, edits);
    // A field this build does not know is one a newer mlrig added as optional
    // (one that changes the transform comes with a new format version): ignored.
    let mut unknown = json.clone();
    unknown["columns"][0]["encode"]["standard_scale"]["shift"] = serde_json::json!(1.0);
    let read = serde_json::from_value::<FittedFeaturePipeline>(unknown).unwrap();
    assert_eq!(
        read,
        serde_json::from_value::<FittedFeaturePipeline>(json).unwrap()
    );
}

/// Ordinal codes are indices in the sorted training categories, for text
/// (short and long, so both lookup maps are used) and integers; unknown and
/// missing values are NaN; saving and loading keeps every code.
#[test]
fn ordinal_codes_of_a_thousand_levels_survive_save_and_load() {
    // Not zero-padded, so sorted order ("level_10" < "level_2") is not
    // numeric order; every third level is longer than 15 bytes.
    let level = |i: i64| {
        if i % 3 == 0 {
            format!("level_{i}_with_a_long_suffix")
        } else {
            format!("level_{i}")
        }
    };
    let n = 1_000i64;
    // Each level twice, in a scrambled order, plus missing values in the
    // first copy only (so every level is seen).
    let order: Vec<i64> = (0..2 * n).map(|i| (i * 7_919) % n).collect();
    let first = |row: usize| row < n as usize;
    let text: Vec<Option<String>> = order
        .iter()
        .enumerate()
        .map(|(row, i)| (!(first(row) && row % 50 == 7)).then(|| level(*i)))
        .collect();
    let ints: Vec<Option<i64>> = order
        .iter()
        .enumerate()
        .map(|(row, i)| (!(first(row) && row % 40 == 3)).then_some(i * 1_000_003 - 500_000_000))
        .collect();
    let train = RecordBatch::try_from_iter([
        (
            "city",
            Arc::new(StringArray::from(text.clone())) as ArrayRef,
        ),
        ("zip", Arc::new(Int64Array::from(ints.clone())) as ArrayRef),
    ])
    .unwrap();
    let spec = FeatureSpec::new()
        .with_column(ColumnSpec::ordinal("city"))
        .with_column(ColumnSpec::ordinal("zip"));
    let fitted = fit(spec, &train).unwrap();
    assert_eq!(fitted.output_names(), ["city", "zip"]);
    assert_eq!(
        fitted.categorical_outputs(),
        [("city".to_string(), 1_000), ("zip".to_string(), 1_000)]
    );

    let mut sorted_text: Vec<String> = (0..n).map(level).collect();
    sorted_text.sort();
    let mut sorted_ints: Vec<i64> = (0..n).map(|i| i * 1_000_003 - 500_000_000).collect();
    sorted_ints.sort_unstable();
    let expected_codes = |batch_text: &[Option<String>], batch_ints: &[Option<i64>]| {
        let code = |found: Option<usize>| found.map_or(f64::NAN, |p| p as f64);
        let city: Vec<f64> = batch_text
            .iter()
            .map(|v| code(v.as_ref().and_then(|v| sorted_text.binary_search(v).ok())))
            .collect();
        let zip: Vec<f64> = batch_ints
            .iter()
            .map(|v| code(v.and_then(|v| sorted_ints.binary_search(&v).ok())))
            .collect();
        (city, zip)
    };
    let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let out = fitted.transform(&train).unwrap();
    let (city, zip) = expected_codes(&text, &ints);
    assert_eq!(bits(&column(&out, 0)), bits(&city));
    assert_eq!(bits(&column(&out, 1)), bits(&zip));
    assert!(city.iter().any(|v| v.is_nan()) && city.contains(&999.0));

    // New data: known, unknown (near misses too) and missing values.
    let test_text: Vec<Option<String>> = vec![
        Some(level(0)),
        Some(level(999)),
        Some("level_1000".into()),
        Some("level_3".into()),
        None,
        Some(level(3)),
    ];
    let test_ints = vec![
        Some(sorted_ints[0]),
        Some(0),
        None,
        Some(sorted_ints[999]),
        Some(i64::MAX),
        Some(sorted_ints[500]),
    ];
    let test = RecordBatch::try_from_iter([
        (
            "zip",
            Arc::new(Int64Array::from(test_ints.clone())) as ArrayRef,
        ),
        (
            "city",
            Arc::new(StringArray::from(test_text.clone())) as ArrayRef,
        ),
    ])
    .unwrap();
    let out = fitted.transform(&test).unwrap();
    let (city, zip) = expected_codes(&test_text, &test_ints);
    assert!(city[2].is_nan() && city[3].is_nan() && city[4].is_nan());
    assert!(zip[1].is_nan() && zip[2].is_nan() && zip[4].is_nan());
    assert_eq!((zip[0], zip[3], zip[5]), (0.0, 999.0, 500.0));
    assert_eq!(bits(&column(&out, 0)), bits(&city));
    assert_eq!(bits(&column(&out, 1)), bits(&zip));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("features.json");
    fitted.save(&path, &[]).unwrap();
    let loaded = FittedFeaturePipeline::load(&path).unwrap().value;
    assert_eq!(loaded, fitted);
    assert_eq!(loaded.categorical_outputs(), fitted.categorical_outputs());
    let reloaded = loaded.transform(&test).unwrap();
    assert_eq!(bits(&column(&reloaded, 0)), bits(&city));
    assert_eq!(bits(&column(&reloaded, 1)), bits(&zip));
    let record = serde_json::json!({"city": level(3), "zip": sorted_ints[500]});
    let one = loaded.transform_record(&record).unwrap().to_dense();
    assert_eq!(one.row(0).to_vec(), [city[5], 500.0]);
}

#[test]
fn tampered_ordinal_is_rejected() {
    let batch = RecordBatch::try_from_iter([(
        "s",
        Arc::new(StringArray::from(vec![Some("p"), None, Some("q")])) as ArrayRef,
    )])
    .unwrap();
    let json = round_trip(&fit(one(ColumnSpec::ordinal("s")), &batch).unwrap());
    assert_eq!(
        json["columns"][0]["encode"],
        serde_json::json!({"ordinal": {"categories": ["p", "q"]}})
    );
    let edits: [(&str, serde_json::Value); 5] = [
        (
            "/columns/0/encode/ordinal/categories",
            serde_json::json!(["q", "p"]),
        ),
        (
            "/columns/0/encode/ordinal/categories",
            serde_json::json!(["p", "p"]),
        ),
        (
            "/columns/0/encode/ordinal/categories",
            serde_json::json!(["p", 3]),
        ),
        ("/columns/0/input_type", serde_json::json!("Float64")),
        ("/output_names/0", serde_json::json!("s=p")),
    ];
    assert_edits_rejected(&json, edits);
}

/// The pipeline as JSON, after checking that it deserializes back unchanged.
fn round_trip(fitted: &FittedFeaturePipeline) -> serde_json::Value {
    let json = serde_json::to_value(fitted).unwrap();
    let back: FittedFeaturePipeline = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, fitted);
    json
}

/// Each edit (JSON pointer, new value) alone makes `json` an invalid pipeline.
fn assert_edits_rejected<'a>(
    json: &serde_json::Value,
    edits: impl IntoIterator<Item = (&'a str, serde_json::Value)>,
) {
    for (pointer, value) in edits {
        let mut edited = json.clone();
        *edited.pointer_mut(pointer).expect(pointer) = value;
        let err = serde_json::from_value::<FittedFeaturePipeline>(edited).unwrap_err();
        assert!(
            err.to_string().contains("invalid fitted feature pipeline"),
            "{pointer}: {err}"
        );
    }
}
