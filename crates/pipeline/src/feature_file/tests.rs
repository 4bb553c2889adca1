#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, Int64Array, StringArray};
use mlrig_core::arrow_schema::{DataType, Field};
use mlrig_core::ndarray::Array2;
use mlrig_core::{Features, Fingerprint};
use proptest::prelude::*;

use super::*;

fn header(layout: FeatureFileLayout, width: usize, target: Option<&str>) -> FeatureFileHeader {
    FeatureFileHeader {
        format_version: FEATURE_FILE_FORMAT_VERSION,
        layout,
        feature_names: (0..width).map(|i| format!("f{i}")).collect(),
        transformer: Fingerprint::of_bytes(b"t"),
        read_options: read_options_fingerprint(&Default::default()),
        target: target.map(str::to_string),
    }
}

/// A CSR matrix from dense rows, keeping only non-zero entries.
fn features(rows: &[Vec<f64>], width: usize, sparse: bool) -> Features {
    let names: Vec<String> = (0..width).map(|i| format!("f{i}")).collect();
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let dense = Array2::from_shape_vec((rows.len(), width), flat).unwrap();
    let features = Features::dense(names, dense).unwrap();
    if sparse {
        features.to_sparse_features()
    } else {
        features
    }
}

fn write_parts(
    path: &std::path::Path,
    layout: FeatureFileLayout,
    parts: &[Features],
    width: usize,
    target: Option<&[ArrayRef]>,
) -> FeatureFileSummary {
    let field = target.map(|t| Field::new("y", t[0].data_type().clone(), true));
    let format = FeatureFileFormat::of_path(path).unwrap();
    let mut writer = FeatureFileWriter::create(
        path,
        format,
        header(layout, width, field.as_ref().map(|_| "y")),
        field.as_ref(),
    )
    .unwrap();
    for (i, part) in parts.iter().enumerate() {
        writer.write(part, target.map(|t| &t[i])).unwrap();
    }
    writer.finish(Fingerprint::of_bytes(b"data")).unwrap()
}

fn dense_of(features: &Features) -> Vec<f64> {
    features.to_dense().iter().copied().collect()
}

#[test]
fn every_format_and_layout_reads_back_the_same_values() {
    let rows = [
        vec![0.0, 1.0, 0.0, -2.5],
        vec![0.0, 0.0, 0.0, 0.0],
        vec![1e-300, 0.0, 3.0, 0.1],
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, layout) in [
        ("a.parquet", FeatureFileLayout::Sparse),
        ("b.parquet", FeatureFileLayout::Dense),
        ("c.svm", FeatureFileLayout::Sparse),
    ] {
        for sparse_input in [false, true] {
            let path = dir.path().join(name);
            let parts = [
                features(&rows[..2], 4, sparse_input),
                features(&rows[2..], 4, sparse_input),
            ];
            let summary = write_parts(&path, layout, &parts, 4, None);
            assert_eq!(summary.rows, 3);
            let back = read_feature_file(&path, &|_| true).unwrap();
            assert_eq!(back.summary, summary);
            assert_eq!(back.header.layout, layout);
            assert_eq!(dense_of(&back.features), rows.concat(), "{name}");
            assert_eq!(
                matches!(back.features.matrix(), mlrig_core::FeatureMatrix::Sparse(_)),
                layout == FeatureFileLayout::Sparse
            );
            let kept = read_feature_file(&path, &|r| r != 1).unwrap();
            assert_eq!(
                dense_of(&kept.features),
                [rows[0].clone(), rows[2].clone()].concat()
            );
        }
    }
}

#[test]
fn svmlight_lines_are_what_scikit_learn_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.svm");
    let labels: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec![
        Some(">50K"),
        None,
        Some("<=50K"),
    ]))];
    let parts = [features(
        &[
            vec![0.0, 1.0, 0.5],
            vec![0.0, 0.0, 0.0],
            vec![2.0, 0.0, -1.25],
        ],
        3,
        true,
    )];
    let summary = write_parts(&path, FeatureFileLayout::Sparse, &parts, 3, Some(&labels));
    assert_eq!(summary.classes, vec![">50K", "<=50K"]);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("# mlrig.features {"));
    assert_eq!(&lines[1..4], ["0 2:1 3:0.5", "nan", "1 1:2 3:-1.25"]);
    assert!(lines[4].starts_with("# mlrig.features.end {\"rows\":3,"));
    assert_eq!(lines.len(), 5);
}

#[test]
fn parquet_keeps_the_target_column_with_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.parquet");
    let labels: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![Some(3), None]))];
    let parts = [features(&[vec![1.0, 0.0], vec![0.0, 2.0]], 2, true)];
    write_parts(&path, FeatureFileLayout::Sparse, &parts, 2, Some(&labels));
    let file = std::fs::File::open(&path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batch = reader.into_iter().next().unwrap().unwrap();
    assert_eq!(batch.schema().field(0).name(), "y");
    assert_eq!(batch.schema().field(0).data_type(), &DataType::Int64);
    assert_eq!(batch.column(0).null_count(), 1);
    assert_eq!(batch.schema().field(1).name(), "indices");
}

#[test]
fn bad_files_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.svm");
    let parts = [features(&[vec![1.0, 0.0]], 2, true)];
    write_parts(&path, FeatureFileLayout::Sparse, &parts, 2, None);
    let good = std::fs::read_to_string(&path).unwrap();
    let cases = [
        (
            good.replace("0 1:1\n", "0 3:1\n"),
            "line 2: column index 3 out of range",
        ),
        (
            good.replace("0 1:1\n", "0 1:x\n"),
            "line 2: expected index:value",
        ),
        (
            good.replace("0 1:1\n", "0 0:1\n"),
            "line 2: column index 0: svmlight indices start at 1",
        ),
        (
            good.replace("0 1:1\n", "0 2:1 1:1\n"),
            "line 2: column indices not ascending",
        ),
        (
            good.replace("0 1:1\n", "zero 1:1\n"),
            "line 2: label: expected a number",
        ),
        (
            good.replace("0 1:1\n", "0 1:1\n0\n"),
            "2 rows read but the summary says 1",
        ),
        (
            good.lines().take(2).collect::<Vec<_>>().join("\n"),
            "no `mlrig.features.end` metadata",
        ),
        (
            good.lines().skip(1).collect::<Vec<_>>().join("\n"),
            "line 1: a row before the `# mlrig.features` line",
        ),
        (
            good.replace("\"format_version\":1", "\"format_version\":9"),
            "format_version 9 was written by a newer mlrig",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&path, text).unwrap();
        let error = read_feature_file(&path, &|_| true).unwrap_err().to_string();
        assert!(error.contains(expected), "{error} lacks {expected}");
        assert!(error.starts_with(&path.display().to_string()), "{error}");
    }
    // Rows a reader does not keep are checked all the same.
    std::fs::write(&path, good.replace("0 1:1\n", "0 1:x\n")).unwrap();
    let error = read_feature_file(&path, &|_| false)
        .unwrap_err()
        .to_string();
    assert!(error.contains("line 2: expected index:value"), "{error}");
    let csv = dir.path().join("f.csv");
    std::fs::write(&csv, "a\n1\n").unwrap();
    assert!(
        read_feature_file(&csv, &|_| true)
            .unwrap_err()
            .to_string()
            .contains("no metadata")
    );
    let not_parquet = dir.path().join("g.parquet");
    std::fs::write(&not_parquet, "a\n1\n").unwrap();
    assert!(
        read_feature_file(&not_parquet, &|_| true)
            .unwrap_err()
            .to_string()
            .contains("not a readable Parquet file")
    );
}

#[test]
fn a_format_that_cannot_hold_the_layout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, layout) in [
        ("f.csv", FeatureFileLayout::Sparse),
        ("f.svm", FeatureFileLayout::Dense),
    ] {
        let path = dir.path().join(name);
        let format = FeatureFileFormat::of_path(&path).unwrap();
        let error = FeatureFileWriter::create(&path, format, header(layout, 2, None), None)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("cannot hold"), "{error}");
        assert!(!path.exists());
    }
    let path = dir.path().join("f.parquet");
    let field = Field::new("indices", DataType::Float64, true);
    let error = FeatureFileWriter::create(
        &path,
        FeatureFileFormat::Parquet,
        header(FeatureFileLayout::Sparse, 2, Some("indices")),
        Some(&field),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        error.contains("has the name of a feature column"),
        "{error}"
    );
}

fn rows_strategy() -> impl Strategy<Value = (usize, Vec<Vec<f64>>)> {
    (1usize..6).prop_flat_map(|width| {
        let value = prop_oneof![
            3 => Just(0.0),
            2 => Just(1.0),
            2 => any::<f64>().prop_filter("finite", |v| v.is_finite()),
            1 => Just(f64::NAN),
            1 => Just(f64::NEG_INFINITY),
        ];
        (
            Just(width),
            prop::collection::vec(prop::collection::vec(value, width), 0..12),
        )
    })
}

proptest! {
    /// Whatever the values and however the rows are cut into batches, every
    /// format gives back the same bits, and a filter keeps exactly its rows.
    #[test]
    fn round_trip_keeps_every_bit((width, rows) in rows_strategy(), cut in 0usize..12, keep_every in 1u64..4) {
        let dir = tempfile::tempdir().unwrap();
        let cut = cut.min(rows.len());
        for (name, layout) in [("a.parquet", FeatureFileLayout::Sparse), ("b.parquet", FeatureFileLayout::Dense), ("c.svm", FeatureFileLayout::Sparse)] {
            let path = dir.path().join(name);
            let parts = [features(&rows[..cut], width, true), features(&rows[cut..], width, true)];
            write_parts(&path, layout, &parts, width, None);
            let back = read_feature_file(&path, &|r| r.is_multiple_of(keep_every)).unwrap();
            let expected: Vec<u64> = rows.iter().enumerate().filter(|(r, _)| (*r as u64).is_multiple_of(keep_every))
                .flat_map(|(_, row)| row.iter().map(|v| v.to_bits())).collect();
            let found: Vec<u64> = dense_of(&back.features).iter().map(|v| v.to_bits()).collect();
            // NaN payloads and the sign of zero aside, the bits are the same.
            prop_assert_eq!(found.len(), expected.len());
            for (f, e) in found.iter().zip(&expected) {
                let (f, e) = (f64::from_bits(*f), f64::from_bits(*e));
                prop_assert!(f == e || (f.is_nan() && e.is_nan()), "{} != {}", f, e);
            }
        }
    }

    /// Arbitrary bytes as an svmlight file never panic.
    #[test]
    fn arbitrary_svmlight_text_never_panics(body in ".{0,400}") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.svm");
        let header = serde_json::to_string(&header(FeatureFileLayout::Sparse, 3, None)).unwrap();
        std::fs::write(&path, format!("# mlrig.features {header}\n{body}")).unwrap();
        let _ = read_feature_file(&path, &|_| true);
    }
}
