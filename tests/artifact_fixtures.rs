//! Artifacts across versions: every artifact kind and a model bundle of
//! every model family written by a release are committed under
//! `tests/fixtures/artifacts/v<release>/`, and this build must load all of
//! them, from this release and every earlier one.
//!
//! Regenerate the current release's fixtures (after a format change, before
//! the release is tagged; never those of a published release) with
//!
//! ```sh
//! MLRIG_REGENERATE_FIXTURES=1 cargo test --test artifact_fixtures
//! ```
//!
//! The kinds are enumerated from the source (`const KIND: &'static str =
//! "mlrig.…"` in `crates/*/src`), so a new artifact kind without a fixture
//! fails [`every_artifact_kind_of_this_release_has_a_fixture`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mlrig::core::{Artifact, ArtifactHeader, Fingerprint, ModelBundle, records_to_batch};
use mlrig::features::FittedFeaturePipeline;
use mlrig::ingest::{ReadOptions, read_csv};
use mlrig::pipeline::{TrainingJob, load_model_dir};
use mlrig::train::{
    Evaluation, LinearRegression, LogisticRegression, Model, ModelSpec, SgdClassifier,
    SgdRegressor, TaskKind,
};
use mlrig::validate::{
    DatasetStatistics, Schema, SchemaInferenceParams, StatisticsParams, compute_statistics,
    infer_schema,
};
use serde_json::Value;

const REGENERATE: &str = "MLRIG_REGENERATE_FIXTURES";

/// A model bundle of every family, trained on iris: (family, target, task, spec).
const FAMILIES: &[(&str, &str, TaskKind, &str)] = &[
    (
        "linear_regression",
        "petal_width_cm",
        TaskKind::Regression,
        r#"{"linear_regression": {}}"#,
    ),
    (
        "logistic_regression",
        "species",
        TaskKind::Classification,
        r#"{"logistic_regression": {}}"#,
    ),
    (
        "sgd_classifier",
        "species",
        TaskKind::Classification,
        r#"{"sgd_classifier": {"loss": "log_loss"}}"#,
    ),
    (
        "sgd_regressor",
        "petal_width_cm",
        TaskKind::Regression,
        r#"{"sgd_regressor": {}}"#,
    ),
    (
        "gbdt",
        "species",
        TaskKind::Classification,
        r#"{"gbdt": {"rounds": 4, "min_samples_leaf": 5}}"#,
    ),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixtures of every release; with `MLRIG_REGENERATE_FIXTURES` set, the
/// current release's are rewritten first, once, before any test reads them.
fn fixtures() -> PathBuf {
    static REGENERATED: OnceLock<()> = OnceLock::new();
    let dir = root().join("tests/fixtures/artifacts");
    REGENERATED.get_or_init(|| {
        if std::env::var_os(REGENERATE).is_some() {
            regenerate(&dir.join(RELEASE));
        }
    });
    dir
}

/// The directory of this release's fixtures.
const RELEASE: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// This release's fixtures.
fn current() -> PathBuf {
    fixtures().join(RELEASE)
}

fn iris() -> PathBuf {
    root().join("data/samples/iris.csv")
}

/// Every release directory `v*` of the fixtures.
fn releases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && file_name(p).starts_with('v'))
        .collect();
    dirs.sort();
    dirs
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
}

/// The header of an artifact file.
fn header(path: &Path) -> ArtifactHeader {
    let file: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    serde_json::from_value(file["mlrig_artifact"].clone()).unwrap()
}

/// Loads an artifact file with the type its header names, returning the
/// value's JSON (to compare loads). Panics for a kind this test does not
/// know, so a new kind must be added here too.
fn load_any(path: &Path) -> Result<Value, mlrig::core::Error> {
    fn json<T: Artifact>(path: &Path) -> Result<Value, mlrig::core::Error> {
        let stored = T::load(path)?;
        Ok(serde_json::to_value(&stored.value).unwrap())
    }
    match header(path).kind.as_str() {
        "mlrig.validate.schema" => json::<Schema>(path),
        "mlrig.validate.statistics" => json::<DatasetStatistics>(path),
        "mlrig.features.pipeline" => json::<FittedFeaturePipeline>(path),
        "mlrig.train.model" => json::<Model>(path),
        "mlrig.train.linear_regression" => json::<LinearRegression>(path),
        "mlrig.train.logistic_regression" => json::<LogisticRegression>(path),
        "mlrig.train.sgd_classifier" => json::<SgdClassifier>(path),
        "mlrig.train.sgd_regressor" => json::<SgdRegressor>(path),
        "mlrig.train.evaluation" => json::<Evaluation>(path),
        other => panic!(
            "{}: artifact kind `{other}` is not known to tests/artifact_fixtures.rs; add it to `load_any`",
            path.display()
        ),
    }
}

/// The artifact kinds declared in the workspace's sources.
fn kinds_in_source() -> BTreeSet<String> {
    fn walk(dir: &Path, kinds: &mut BTreeSet<String>) {
        for path in sorted_entries(dir) {
            if path.is_dir() {
                walk(&path, kinds);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines() {
                    let line = line.trim();
                    if let Some(rest) = line.strip_prefix("const KIND: &'static str = \"mlrig.") {
                        let kind = rest.split('"').next().unwrap();
                        kinds.insert(format!("mlrig.{kind}"));
                    }
                }
            }
        }
    }
    let mut kinds = BTreeSet::new();
    for krate in sorted_entries(&root().join("crates")) {
        if krate.join("src").is_dir() {
            walk(&krate.join("src"), &mut kinds);
        }
    }
    kinds
}

/// Writes this release's fixtures: a bundle per family under `bundles/`, and
/// one file per artifact kind under `artifacts/` (the standalone models from
/// the bundles of their families).
fn regenerate(dir: &Path) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    let bundles = dir.join("bundles");
    let artifacts = dir.join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let data = Fingerprint::of_file(&iris()).unwrap();

    let (schema, batches, _) = read_csv(iris(), ReadOptions::default()).unwrap();
    let statistics = compute_statistics(&batches, &schema, &StatisticsParams::default()).unwrap();
    let inferred = infer_schema(&statistics, &SchemaInferenceParams::default());
    let stats_header = Artifact::save(
        &statistics,
        &artifacts.join("mlrig.validate.statistics.json"),
        std::slice::from_ref(&data),
    )
    .unwrap();
    Artifact::save(
        &inferred,
        &artifacts.join("mlrig.validate.schema.json"),
        &[stats_header.fingerprint],
    )
    .unwrap();

    for (family, target, task, spec) in FAMILIES {
        let spec: ModelSpec = serde_json::from_str(spec).unwrap();
        let report = TrainingJob::new(iris(), *target)
            .with_name(*family)
            .with_version(1)
            .with_task(*task)
            .with_model(spec)
            .with_output_dir(&bundles)
            .run()
            .unwrap();
        let bundle = ModelBundle::open(&report.bundle_dir).unwrap();
        let model = bundle.load::<Model>("model.json").unwrap();
        let inputs = &model.header.inputs;
        let path = |name: &str| artifacts.join(name);
        match &model.value {
            Model::LinearRegression(m) => {
                m.save(&path("mlrig.train.linear_regression.json"), inputs)
            }
            Model::LogisticRegression(m) => {
                m.save(&path("mlrig.train.logistic_regression.json"), inputs)
            }
            Model::SgdClassifier(m) => m.save(&path("mlrig.train.sgd_classifier.json"), inputs),
            Model::SgdRegressor(m) => m.save(&path("mlrig.train.sgd_regressor.json"), inputs),
            Model::Gbdt(_) => Ok(model.header.clone()),
            other => panic!("a model family without a fixture: {other:?}"),
        }
        .unwrap();
        if *family == "logistic_regression" {
            let features = bundle
                .load::<FittedFeaturePipeline>("features.json")
                .unwrap();
            let evaluation = bundle.load::<Evaluation>("evaluation.json").unwrap();
            // One model file (the bundles hold one of every family).
            model
                .value
                .save(&path("mlrig.train.model.json"), inputs)
                .unwrap();
            features
                .value
                .save(
                    &artifacts.join("mlrig.features.pipeline.json"),
                    &features.header.inputs,
                )
                .unwrap();
            evaluation
                .value
                .save(
                    &artifacts.join("mlrig.train.evaluation.json"),
                    &evaluation.header.inputs,
                )
                .unwrap();
        }
    }
}

#[test]
fn every_artifact_kind_of_this_release_has_a_fixture() {
    let dir = current();
    assert!(
        dir.is_dir(),
        "{} is missing: run `{REGENERATE}=1 cargo test --test artifact_fixtures`",
        dir.display()
    );
    let in_source = kinds_in_source();
    // The scan works: the kinds this test was written with are all found.
    for known in [
        "mlrig.features.pipeline",
        "mlrig.train.model",
        "mlrig.validate.schema",
    ] {
        assert!(in_source.contains(known), "{in_source:?}");
    }
    let with_fixture: BTreeSet<String> = sorted_entries(&dir.join("artifacts"))
        .iter()
        .map(|p| header(p).kind)
        .collect();
    let missing: Vec<&String> = in_source.difference(&with_fixture).collect();
    assert!(
        missing.is_empty(),
        "artifact kinds without a fixture in {}: {missing:?}; run `{REGENERATE}=1 cargo test --test artifact_fixtures` \
         (and add the kind to `regenerate`)",
        dir.display()
    );
    // A bundle of every model family.
    let families: Vec<String> = sorted_entries(&dir.join("bundles"))
        .iter()
        .map(|p| file_name(p))
        .collect();
    let mut expected: Vec<String> = FAMILIES.iter().map(|f| f.0.to_string()).collect();
    expected.sort();
    assert_eq!(families, expected);
    // And the fixtures stay small (they are in the repository and the package).
    let mut total = 0;
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for p in sorted_entries(&d) {
            if p.is_dir() {
                stack.push(p);
            } else {
                total += std::fs::metadata(&p).unwrap().len();
            }
        }
    }
    assert!(total < 1_000_000, "fixtures take {total} bytes");
}

#[test]
fn artifact_fixtures_of_every_release_load() {
    let mut loaded = 0;
    for release in releases() {
        for path in sorted_entries(&release.join("artifacts")) {
            let value = load_any(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(value.is_object(), "{}", path.display());
            loaded += 1;
        }
    }
    assert!(loaded >= 9, "only {loaded} artifact fixtures");
}

/// The first iris row as a request with the servable's input fields.
fn request_row(fields: &[String]) -> Value {
    let text = std::fs::read_to_string(iris()).unwrap();
    let mut lines = text.lines();
    let names: Vec<&str> = lines.next().unwrap().split(',').collect();
    let values: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut row = serde_json::Map::new();
    for (name, value) in names.iter().zip(values) {
        if fields.iter().any(|f| f == name) {
            let json = value
                .parse::<f64>()
                .map_or_else(|_| Value::from(value), Value::from);
            row.insert(name.to_string(), json);
        }
    }
    Value::Object(row)
}

#[test]
fn bundle_fixtures_of_every_release_open_and_serve() {
    let mut served = 0;
    for release in releases() {
        for model_dir in sorted_entries(&release.join("bundles")) {
            for version_dir in sorted_entries(&model_dir) {
                let bundle = ModelBundle::open(&version_dir)
                    .unwrap_or_else(|e| panic!("{}: {e}", version_dir.display()));
                bundle.load::<Model>("model.json").unwrap();
                bundle
                    .load::<FittedFeaturePipeline>("features.json")
                    .unwrap();
                bundle.load::<Evaluation>("evaluation.json").unwrap();
                let schema_text =
                    std::fs::read_to_string(bundle.file_path("schema.json").unwrap()).unwrap();
                Schema::from_tfmd_json(&schema_text).unwrap();
                let stats_text =
                    std::fs::read_to_string(bundle.file_path("statistics.json").unwrap()).unwrap();
                DatasetStatistics::from_tfmd_json(&stats_text).unwrap();

                let servable = load_model_dir(&version_dir)
                    .unwrap_or_else(|e| panic!("{}: {e}", version_dir.display()));
                let schema = servable.input_schema();
                let fields: Vec<String> =
                    schema.fields().iter().map(|f| f.name().clone()).collect();
                let batch = records_to_batch(&[request_row(&fields)], &schema).unwrap();
                let predictions = servable.predict(&batch).unwrap();
                assert_eq!(predictions.len(), 1, "{}", version_dir.display());
                served += 1;
            }
        }
    }
    assert!(served >= FAMILIES.len(), "only {served} bundles");
}

/// Rewrites an artifact file as another build would have written it: `edit`
/// changes the body, and the fingerprint is that build's (of the text it wrote).
fn rewrite_body(path: &Path, out: &Path, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let mut file: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let Value::Object(body) = &mut file["body"] else {
        panic!("{}: the body is not an object", path.display())
    };
    edit(body);
    let body_text = serde_json::to_string_pretty(&file["body"]).unwrap();
    file["mlrig_artifact"]["fingerprint"] =
        Value::from(Fingerprint::of_json_text(&body_text).to_string());
    std::fs::write(out, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
}

#[test]
fn a_newer_writers_optional_field_loads_and_is_still_verified() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    // Every standalone kind, and the model of every family.
    let models = sorted_entries(&current().join("bundles"))
        .into_iter()
        .map(|family| family.join("1/model.json"));
    for path in sorted_entries(&current().join("artifacts"))
        .into_iter()
        .chain(models)
    {
        let kind = header(&path).kind;
        // tensorflow-metadata bodies follow proto3 JSON: a field of a newer
        // `.proto` is refused there, whatever the artifact rules.
        if kind.starts_with("mlrig.validate.") {
            continue;
        }
        let original = load_any(&path).unwrap();
        let newer = dir.path().join(format!("{checked}-{}", file_name(&path)));
        rewrite_body(&path, &newer, |body| {
            // A model body is `{"<family>": {…}}`: the field goes into the family's object.
            let target = if kind == "mlrig.train.model" {
                let (_, inner) = body.iter_mut().next().unwrap();
                inner.as_object_mut().unwrap()
            } else {
                body
            };
            target.insert(
                "added_by_a_newer_mlrig".into(),
                serde_json::json!({"weights": [0.5, 1e-300], "note": "a b"}),
            );
        });
        let loaded = load_any(&newer).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(loaded, original, "{kind}");

        // The unknown field is covered by the fingerprint all the same.
        let text = std::fs::read_to_string(&newer).unwrap();
        std::fs::write(&newer, text.replace("1e-300", "2e-300")).unwrap();
        let err = load_any(&newer).unwrap_err();
        assert!(
            matches!(err, mlrig::core::Error::FingerprintMismatch { .. }),
            "{kind}: {err}"
        );
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} files checked");
}

#[test]
fn an_older_writers_body_without_a_defaulted_field_loads() {
    let dir = tempfile::tempdir().unwrap();
    // (fixture, defaulted field the older writer did not write)
    for (name, field) in [
        ("mlrig.features.pipeline.json", "output"),
        ("mlrig.train.evaluation.json", "curves"),
    ] {
        let path = current().join("artifacts").join(name);
        let older = dir.path().join(name);
        rewrite_body(&path, &older, |body| {
            assert!(body.remove(field).is_some(), "{name} has no `{field}`");
        });
        let loaded = load_any(&older).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(loaded.is_object());
    }
    // The default is the value this build assumes for a file without the field.
    let older = dir.path().join("mlrig.features.pipeline.json");
    let loaded = FittedFeaturePipeline::load(&older).unwrap();
    let original = FittedFeaturePipeline::load(
        &current()
            .join("artifacts")
            .join("mlrig.features.pipeline.json"),
    )
    .unwrap();
    assert_eq!(loaded.value, original.value);
}

#[test]
fn a_file_from_a_newer_format_version_names_both_versions_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    for path in sorted_entries(&current().join("artifacts")) {
        let mut file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let version = file["mlrig_artifact"]["format_version"].as_u64().unwrap();
        file["mlrig_artifact"]["format_version"] = Value::from(version + 1);
        let newer = dir.path().join(file_name(&path));
        std::fs::write(&newer, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
        let err = load_any(&newer).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(&newer.display().to_string()),
            "{message}"
        );
        assert!(
            message.contains(&format!("format_version {}", version + 1)),
            "{message}"
        );
        assert!(
            message.contains(&format!("this build reads versions up to {version}")),
            "{message}"
        );
        assert!(
            message.contains(&format!(
                "upgrade mlrig to a release that reads version {}",
                version + 1
            )),
            "{message}"
        );
    }
    // The bundle manifest too.
    let bundle = current().join("bundles/gbdt/1");
    let copy = dir.path().join("gbdt/1");
    std::fs::create_dir_all(&copy).unwrap();
    for path in sorted_entries(&bundle) {
        std::fs::copy(&path, copy.join(file_name(&path))).unwrap();
    }
    let manifest = copy.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("\"format_version\": 1", "\"format_version\": 2"),
    )
    .unwrap();
    let message = ModelBundle::open(&copy).unwrap_err().to_string();
    assert!(
        message.contains("format_version 2 was written by a newer mlrig"),
        "{message}"
    );
    assert!(
        message.contains("upgrade mlrig to a release that reads version 2"),
        "{message}"
    );
}
