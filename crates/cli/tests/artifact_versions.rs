//! Artifacts across versions through the `mlrig` binary: the committed
//! fixtures of this release (`tests/fixtures/artifacts/`, see the facade's
//! `tests/artifact_fixtures.rs`) are read by `features apply` and `predict`,
//! and a file from a newer format version is one error line naming both
//! versions and what to do, status 2.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{IRIS, assert_one_line_error, assert_status, mlrig};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/artifacts")
        .join(concat!("v", env!("CARGO_PKG_VERSION")))
}

/// The fixture file with its `format_version` raised by one, in `dir`.
fn from_a_newer_mlrig(fixture: &Path, dir: &Path) -> (PathBuf, u64) {
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    let version = file["mlrig_artifact"]["format_version"].as_u64().unwrap() + 1;
    file["mlrig_artifact"]["format_version"] = version.into();
    let path = dir.join(fixture.file_name().unwrap());
    std::fs::write(&path, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
    (path, version)
}

#[test]
fn features_apply_reads_the_fixture_and_refuses_a_newer_version() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = fixtures().join("artifacts/mlrig.features.pipeline.json");
    let out = dir.path().join("features.csv");
    let args = |pipeline: &Path| {
        vec![
            "features".to_string(),
            "apply".into(),
            pipeline.display().to_string(),
            IRIS.into(),
            "--out".into(),
            out.display().to_string(),
        ]
    };
    assert_status(&mlrig(args(&pipeline)), 0);
    let rows = std::fs::read_to_string(&out).unwrap().lines().count();
    assert_eq!(rows, 151, "a header and 150 rows");

    std::fs::remove_file(&out).unwrap();
    let (newer, version) = from_a_newer_mlrig(&pipeline, dir.path());
    let line = assert_one_line_error(&mlrig(args(&newer)));
    assert!(line.contains(&newer.display().to_string()), "{line}");
    assert!(
        line.contains(&format!(
            "format_version {version} was written by a newer mlrig; this build reads versions up to {}",
            version - 1
        )),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "upgrade mlrig to a release that reads version {version}, or re-create the file with this one"
        )),
        "{line}"
    );
    assert!(!out.exists(), "no output for a refused pipeline");
}

#[test]
fn predict_serves_every_bundle_fixture_and_refuses_a_newer_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let bundles = fixtures().join("bundles");
    let mut families = 0;
    for entry in std::fs::read_dir(&bundles).unwrap() {
        let version_dir = entry.unwrap().path().join("1");
        let out = dir.path().join(format!("p{families}.csv"));
        let output = mlrig([
            "predict",
            "--model",
            version_dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            IRIS,
        ]);
        assert_status(&output, 0);
        assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 151);
        families += 1;
    }
    assert!(families >= 5, "{families} bundle fixtures");

    // A bundle whose manifest a newer mlrig wrote.
    let copy = dir.path().join("gbdt/1");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(bundles.join("gbdt/1")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
    }
    let manifest = copy.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("\"format_version\": 1", "\"format_version\": 2"),
    )
    .unwrap();
    let out = dir.path().join("newer.csv");
    let line = assert_one_line_error(&mlrig([
        "predict",
        "--model",
        copy.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        IRIS,
    ]));
    assert!(line.contains("manifest.json"), "{line}");
    assert!(
        line.contains("upgrade mlrig to a release that reads version 2"),
        "{line}"
    );

    // The same bundle through its model directory (the usual `--model DIR`):
    // no version opens, so the newest one's reason is the error, not "no
    // blessed version".
    let model_dir = dir.path().join("gbdt");
    let output = mlrig([
        "predict",
        "--model",
        model_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        IRIS,
    ]);
    let line = assert_one_line_error(&output);
    assert!(
        line.contains("upgrade mlrig to a release that reads version 2"),
        "{line}"
    );
    assert!(!out.exists(), "no output from a refused model");
}
