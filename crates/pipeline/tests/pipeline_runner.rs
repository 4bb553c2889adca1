#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The pipeline runner on the shipped adult sample: a first run trains,
//! gates and pushes; a second run is fully cached; editing the feature spec
//! re-runs only what depends on it; `run_step` drives one step at a time.

use std::path::Path;

use mlrig_pipeline::{Pipeline, RunOutcome, RunRecord, StepName, StepStatus};

const ADULT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/adult_sample.csv"
);

fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    std::fs::copy(ADULT, dir.join("adult.csv")).unwrap();
    let path = dir.join("mlrig.toml");
    std::fs::write(
        &path,
        format!(
            r#"
name = "adult"
[data]
files = ["adult.csv"]
target = "income"
[push]
base_path = "models"
{extra}
"#
        ),
    )
    .unwrap();
    path
}

/// The adult sample's rows, written as spans into `<dir>/spans/`.
struct AdultSpans {
    dir: std::path::PathBuf,
    header: String,
    rows: Vec<String>,
}

impl AdultSpans {
    fn new(root: &Path) -> Self {
        let dir = root.join("spans");
        std::fs::create_dir_all(&dir).unwrap();
        let text = std::fs::read_to_string(ADULT).unwrap();
        let (header, rows) = text.split_once('\n').unwrap();
        AdultSpans {
            dir,
            header: header.to_string(),
            rows: rows.lines().map(String::from).collect(),
        }
    }

    /// Writes the rows in `range` as the span `name`.
    fn write(&self, name: &str, range: impl std::slice::SliceIndex<[String], Output = [String]>) {
        let rows = self.rows[range].join("\n");
        std::fs::write(self.dir.join(name), format!("{}\n{rows}\n", self.header)).unwrap();
    }
}

/// The steps that ran (were not cached), in order.
fn ran(record: &RunRecord) -> Vec<StepName> {
    record
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Ran)
        .map(|s| s.step)
        .collect()
}

fn statuses(record: &RunRecord) -> Vec<(StepName, StepStatus)> {
    record.steps.iter().map(|s| (s.step, s.status)).collect()
}

#[test]
fn first_run_pushes_second_is_cached_and_a_spec_edit_reruns_its_dependents() {
    let dir = tempfile::tempdir().unwrap();
    // A smaller feature set may score lower than version 1: allow it.
    let gates = "[gates.blessing.max_drop]\nroc_auc = 0.3\n";
    let config = write_config(dir.path(), gates);

    let first = Pipeline::from_config(&config).unwrap().run().unwrap();
    let RunOutcome::Pushed {
        version,
        dir: pushed,
    } = &first.outcome
    else {
        panic!("{:#?}", first);
    };
    assert_eq!(*version, 1);
    assert!(pushed.join("manifest.json").is_file());
    assert!(
        dir.path().join("schema.json").is_file(),
        "curated schema written"
    );
    assert!(first.steps.iter().all(|s| s.status == StepStatus::Ran));
    assert_eq!(first.steps.len(), StepName::ALL.len());
    let records = std::fs::read_dir(dir.path().join("pipeline/runs"))
        .unwrap()
        .count();
    assert_eq!(records, 1);

    let second = Pipeline::from_config(&config).unwrap().run().unwrap();
    assert_eq!(second.outcome, RunOutcome::Unchanged { version: 1 });
    assert!(
        second.steps.iter().all(|s| s.status == StepStatus::Cached),
        "{:?}",
        statuses(&second)
    );

    // An inline feature spec: features and everything after re-run.
    let spec = r#"
[features.spec]
columns = [
  { name = "age", encode = "standard_scale" },
  { name = "hours-per-week", encode = "standard_scale" },
  { name = "education", encode = "one_hot" },
]
"#;
    let config = write_config(dir.path(), &format!("{gates}{spec}"));
    let third = Pipeline::from_config(&config).unwrap().run().unwrap();
    assert_eq!(
        ran(&third),
        [
            StepName::Features,
            StepName::Train,
            StepName::Evaluate,
            StepName::InfraValidate,
            StepName::Push
        ],
        "{:?}",
        statuses(&third)
    );
    // Three features cannot match the full model: the baseline gate decides.
    let evaluate = third.step(StepName::Evaluate).unwrap();
    assert_eq!(evaluate.summary["baseline_version"], 1);
    match &third.outcome {
        RunOutcome::Pushed { version, .. } => assert_eq!(*version, 2),
        RunOutcome::Blocked { step, reasons } => {
            assert_eq!(*step, StepName::Evaluate);
            assert!(
                reasons.iter().any(|r| r.contains("version 1")),
                "{reasons:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_step_at_a_time_needs_its_upstream_steps() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let pipeline = Pipeline::from_config(&config).unwrap();

    let err = pipeline
        .run_step(StepName::Statistics)
        .unwrap_err()
        .to_string();
    assert!(err.contains("step `ingest` has not run"), "{err}");
    assert!(err.contains("--step ingest"), "{err}");

    for step in StepName::ALL {
        let record = pipeline.run_step(step).unwrap();
        assert_eq!(record.outcome, RunOutcome::StepDone { step }, "{record:#?}");
        assert_eq!(record.step(step).unwrap().status, StepStatus::Ran);
        assert!(
            record
                .steps
                .iter()
                .filter(|s| s.step != step)
                .all(|s| s.status == StepStatus::Cached)
        );
    }
    assert!(dir.path().join("models/adult/1/manifest.json").is_file());
    let again = pipeline.run().unwrap();
    assert_eq!(again.outcome, RunOutcome::Unchanged { version: 1 });
}

#[test]
fn broken_data_is_blocked_by_the_curated_schema() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    Pipeline::from_config(&config).unwrap().run().unwrap();

    // The same rows without the `age` column.
    let text = std::fs::read_to_string(ADULT).unwrap();
    let without_age: String = text
        .lines()
        .map(|line| line.split_once(',').unwrap().1.to_string() + "\n")
        .collect();
    std::fs::write(dir.path().join("adult.csv"), without_age).unwrap();
    let record = Pipeline::from_config(&config).unwrap().run().unwrap();
    let RunOutcome::Blocked { step, reasons } = &record.outcome else {
        panic!("{record:#?}");
    };
    assert_eq!(*step, StepName::Validate);
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("age: SCHEMA_MISSING_COLUMN")),
        "{reasons:?}"
    );
    assert!(!dir.path().join("models/adult/2").exists());
    assert!(record.outcome.is_blocked());
}

#[test]
fn a_failed_step_leaves_no_artifact_and_the_next_run_resumes_after_the_last_good_step() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[model.spec.sgd_classifier]\nalpha = -1.0\n");
    let err = Pipeline::from_config(&config).unwrap().run().unwrap_err();
    assert!(err.to_string().contains("alpha"), "{err}");
    let runs: Vec<_> = std::fs::read_dir(dir.path().join("pipeline/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let failed: RunRecord = serde_json::from_slice(&std::fs::read(&runs[0]).unwrap()).unwrap();
    assert!(
        matches!(
            &failed.outcome,
            RunOutcome::Failed {
                step: StepName::Train,
                ..
            }
        ),
        "{failed:#?}"
    );
    let train_dir = dir.path().join("pipeline/artifacts/train");
    let complete = std::fs::read_dir(&train_dir)
        .map(|d| {
            d.filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count()
        })
        .unwrap_or(0);
    assert_eq!(complete, 0, "no half-written train artifact");

    let config = write_config(dir.path(), "[model.spec.sgd_classifier]\nalpha = 0.0001\n");
    let resumed = Pipeline::from_config(&config).unwrap().run().unwrap();
    assert_eq!(
        ran(&resumed),
        [
            StepName::Train,
            StepName::Evaluate,
            StepName::InfraValidate,
            StepName::Push
        ],
        "{:?}",
        statuses(&resumed)
    );
}

#[test]
fn warm_start_continues_the_serving_version_on_the_new_window() {
    let dir = tempfile::tempdir().unwrap();
    let spans = AdultSpans::new(dir.path());
    let half = spans.rows.len() / 2;
    spans.write("day-1.csv", ..half);
    let config = dir.path().join("mlrig.toml");
    std::fs::write(
        &config,
        r#"name = "adult"
[data]
files = ["spans/day-*.csv"]
target = "income"
window = 1
[model]
warm_start = true
[model.spec.sgd_classifier]
max_iter = 5
[gates.anomalies]
allow = ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"]
[gates.blessing.max_drop]
roc_auc = 0.2
[push]
base_path = "models"
"#,
    )
    .unwrap();
    let pipeline = Pipeline::from_config(&config).unwrap();
    let first = pipeline.run().unwrap();
    assert!(
        matches!(first.outcome, RunOutcome::Pushed { version: 1, .. }),
        "{first:#?}"
    );
    assert_eq!(
        first.step(StepName::Train).unwrap().summary["warm_start"],
        false
    );

    spans.write("day-2.csv", half..);
    let second = pipeline.run().unwrap();
    assert!(
        matches!(second.outcome, RunOutcome::Pushed { version: 2, .. }),
        "{second:#?}"
    );
    let train = second.step(StepName::Train).unwrap();
    assert_eq!(train.summary["warm_start"], true);
    let v1_model =
        mlrig_core::Fingerprint::of_file(&dir.path().join("models/adult/1/model.json")).unwrap();
    assert_eq!(train.inputs["warm_start"], v1_model.to_string());
    // The feature pipeline is version 1's, unchanged (same content fingerprint).
    let features = |v: &str| {
        let path = dir.path().join(format!("models/adult/{v}/features.json"));
        <mlrig_features::FittedFeaturePipeline as mlrig_core::Artifact>::load(&path)
            .unwrap()
            .header
            .fingerprint
    };
    assert!(
        features("1") == features("2"),
        "version 2 refitted the features"
    );
    assert_eq!(second.spans.len(), 1);

    // Nothing new: version 2 is not trained further on the same window.
    let third = pipeline.run().unwrap();
    assert_eq!(
        third.outcome,
        RunOutcome::Unchanged { version: 2 },
        "{third:#?}"
    );
    assert!(ran(&third).is_empty(), "{:?}", statuses(&third));
}

#[test]
fn a_pushed_version_worse_than_the_one_it_replaced_is_rolled_back_and_never_pushed_again() {
    let dir = tempfile::tempdir().unwrap();
    let spans = AdultSpans::new(dir.path());
    spans.write("a.csv", ..2500);
    // Generous blessing, strict rollback (its default: 0.01 of roc_auc).
    let config = |features: &str| {
        let path = dir.path().join("mlrig.toml");
        std::fs::write(
            &path,
            format!(
                "name = \"adult\"\n[data]\nfiles = [\"spans/*.csv\"]\ntarget = \"income\"\nwindow = 1\n\
                 [gates.anomalies]\nallow = [\"ENUM_TYPE_UNEXPECTED_STRING_VALUES\"]\n\
                 [gates.blessing.max_drop]\nroc_auc = 0.5\n[push]\nbase_path = \"models\"\n{features}"
            ),
        )
        .unwrap();
        Pipeline::from_config(&path).unwrap()
    };
    let first = config("").run().unwrap();
    assert!(matches!(
        first.outcome,
        RunOutcome::Pushed { version: 1, .. }
    ));
    let weak =
        config("[features.spec]\ncolumns = [{ name = \"age\", encode = \"standard_scale\" }]\n");
    let second = weak.run().unwrap();
    assert!(
        matches!(second.outcome, RunOutcome::Pushed { version: 2, .. }),
        "{second:#?}"
    );

    // The newest span is what version 2 trained on: no verdict yet.
    assert!(weak.check_rollback().unwrap().is_none());
    // Labelled rows that arrived after the push show version 2 worse.
    spans.write("b.csv", 2500..);
    let record = weak
        .check_rollback()
        .unwrap()
        .expect("version 2 is rolled back");
    assert_eq!(record.outcome, RunOutcome::RolledBack { version: 2, to: 1 });
    assert!(record.steps.is_empty());
    let rollback = record.rollback.as_ref().unwrap();
    assert!(
        rollback
            .reasons
            .iter()
            .any(|r| r.contains("roc_auc") && r.contains("below version 1")),
        "{rollback:#?}"
    );
    assert!(!dir.path().join("models/adult/2").exists());
    assert!(
        dir.path()
            .join("pipeline/rolled_back/adult/2/manifest.json")
            .is_file()
    );
    assert!(weak.check_rollback().unwrap().is_none(), "rolled back once");

    // The same candidate again (the same span, the same config): refused at push.
    std::fs::remove_file(spans.dir.join("b.csv")).unwrap();
    let again = weak.run().unwrap();
    let RunOutcome::Blocked { step, reasons } = &again.outcome else {
        panic!("{again:#?}");
    };
    assert_eq!(*step, StepName::Push);
    assert!(
        reasons[0].contains("version 2, which was rolled back"),
        "{reasons:?}"
    );
    assert!(!dir.path().join("models/adult/3").exists());
}

#[test]
fn rows_without_a_label_are_quarantined_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let text = std::fs::read_to_string(ADULT).unwrap();
    // Every 10th row loses its label (the last field).
    let unlabelled: String = text
        .lines()
        .enumerate()
        .map(|(i, line)| match line.rsplit_once(',') {
            Some((rest, _)) if i > 0 && i % 10 == 0 => format!("{rest},\n"),
            _ => format!("{line}\n"),
        })
        .collect();
    std::fs::write(dir.path().join("adult.csv"), unlabelled).unwrap();
    let record = Pipeline::from_config(&config).unwrap().run().unwrap();
    assert!(
        matches!(record.outcome, RunOutcome::Pushed { .. }),
        "{record:#?}"
    );
    let ingest = record.step(StepName::Ingest).unwrap();
    let summary = &ingest.summary;
    assert_eq!(summary["rows_unlabelled"], 407, "{summary}");
    assert_eq!(
        summary["rows_read"].as_u64().unwrap(),
        summary["rows_accepted"].as_u64().unwrap() + summary["rows_quarantined"].as_u64().unwrap()
    );
    assert_eq!(
        summary["rows_accepted"].as_u64().unwrap(),
        summary["train_rows"].as_u64().unwrap() + summary["eval_rows"].as_u64().unwrap()
    );
    let file = dir
        .path()
        .join("pipeline")
        .join(&ingest.outputs[0])
        .join("unlabelled.csv");
    assert_eq!(std::fs::read_to_string(file).unwrap().lines().count(), 408);
}

#[test]
fn a_label_moved_back_by_hand_stays_and_an_unfinished_label_move_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    let serving = dir.path().join("serving.toml");
    std::fs::write(
        &serving,
        "[[models]]\nname = \"adult\"\nbase_path = \"models/adult\"\nversion_policy = { all = {} }\n",
    )
    .unwrap();
    let push = "[gates.blessing.max_drop]\nroc_auc = 0.5\n[push]\nbase_path = \"models\"\nmodel_config = \"serving.toml\"\n";
    let config = |features: &str| {
        let path = write_config(dir.path(), "");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(
            "[push]\nbase_path = \"models\"\n",
            &format!("{push}{features}"),
        );
        std::fs::write(&path, text).unwrap();
        Pipeline::from_config(&path).unwrap()
    };
    let label = || {
        mlrig_serve::ModelConfig::from_file(&serving)
            .unwrap()
            .models[0]
            .labels
            .get("stable")
            .copied()
    };
    config("").run().unwrap();
    assert_eq!(label(), Some(1));
    let weak =
        config("[features.spec]\ncolumns = [{ name = \"age\", encode = \"standard_scale\" }]\n");
    assert!(matches!(
        weak.run().unwrap().outcome,
        RunOutcome::Pushed { version: 2, .. }
    ));
    assert_eq!(label(), Some(2));

    // An operator rolls back by hand: the next run does not push version 2 again.
    mlrig_serve::set_model_config_label(&serving, "adult", "stable", 1).unwrap();
    let record = weak.run().unwrap();
    assert_eq!(
        record.outcome,
        RunOutcome::Unchanged { version: 2 },
        "{record:#?}"
    );
    let push = record.step(StepName::Push).unwrap();
    assert!(push.notes[0].contains("moved by hand"), "{push:#?}");
    assert_eq!(label(), Some(1));
    assert!(!dir.path().join("models/adult/3").exists());

    // A run that stopped between the history and the label: the next one finishes it.
    let history_path = dir.path().join("pipeline/history.json");
    let mut history: mlrig_pipeline::PushHistory =
        serde_json::from_slice(&std::fs::read(&history_path).unwrap()).unwrap();
    history.pushes[1].label_set = false;
    history.write(&dir.path().join("pipeline")).unwrap();
    let record = weak.run().unwrap();
    assert_eq!(record.outcome, RunOutcome::Unchanged { version: 2 });
    assert_eq!(label(), Some(2));
    let history = mlrig_pipeline::PushHistory::read(&dir.path().join("pipeline")).unwrap();
    assert!(history.pushes[1].label_set);
}
