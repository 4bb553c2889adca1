//! `mlrig init` and the shipped pipeline config: what init prints is a valid
//! `mlrig.toml` (JSON Schema and mlrig's reader agree), errors name the file,
//! line and column, and `examples/pipeline/adult/mlrig.toml` loads, matches
//! the schema, and runs (`mlrig run`) through its own gates on the sample.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ADULT, assert_one_line_error, assert_status, mlrig, stdout, success_json};
use mlrig_pipeline::PipelineConfig;
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example() -> PathBuf {
    repo_root().join("examples/pipeline/adult/mlrig.toml")
}

/// The committed pipeline schema, as a validator.
fn pipeline_schema() -> jsonschema::Validator {
    let path = repo_root().join("docs/schemas/pipeline.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// The `$id` of the committed pipeline schema (its published URL).
fn committed_schema_id() -> String {
    let path = repo_root().join("docs/schemas/pipeline.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    schema["$id"].as_str().unwrap().to_string()
}

/// The schema's complaints about a TOML text (none when it is valid).
fn schema_errors(text: &str) -> Vec<String> {
    let document: Value = toml::from_str(text).unwrap();
    pipeline_schema()
        .iter_errors(&document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn init_prints_a_config_that_matches_the_schema_and_loads() {
    let california = repo_root().join("data/samples/california_sample.csv");
    for (data, target, task) in [
        (PathBuf::from(ADULT), "income", "classification"),
        (california, "MedHouseVal", "regression"),
    ] {
        let output = mlrig(["init", data.to_str().unwrap(), "--target", target]);
        assert_status(&output, 0);
        let text = stdout(&output);
        assert_eq!(schema_errors(&text), Vec::<String>::new(), "{text}");
        // The `#:schema` line names the published schema.
        let first = text.lines().next().unwrap();
        assert_eq!(first, format!("#:schema {}", committed_schema_id()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mlrig.toml");
        std::fs::write(&path, &text).unwrap();
        let config = PipelineConfig::from_file(&path).unwrap();
        assert_eq!(config.data.target, target);
        assert_eq!(config.push.base_path, PathBuf::from("models"));
        assert_eq!(
            config.spans(dir.path()).unwrap(),
            std::slice::from_ref(&data)
        );

        let json = success_json(&mlrig([
            "init",
            data.to_str().unwrap(),
            "--target",
            target,
            "--format",
            "json",
        ]));
        assert_eq!(json["config"], text.as_str());
        assert_eq!(json["task"], task);
        let columns = json["columns"].as_array().unwrap();
        assert!(columns.iter().any(|c| c == target), "{json}");
    }
}

#[test]
fn init_writes_the_data_path_as_given_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("spans")).unwrap();
    let data = dir.path().join("spans/day-1.csv");
    std::fs::copy(ADULT, &data).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["init", "spans/day-1.csv", "--target", "income"])
        .args(["--name", "churn", "--base-path", "serving/models"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_status(&output, 0);
    let path = dir.path().join("mlrig.toml");
    std::fs::write(&path, &output.stdout).unwrap();
    let config = PipelineConfig::from_file(&path).unwrap();
    assert_eq!(config.name, "churn");
    assert_eq!(config.data.files, ["spans/day-1.csv"]);
    assert_eq!(config.push.base_path, PathBuf::from("serving/models"));
    assert_eq!(config.spans(dir.path()).unwrap(), [data]);
}

#[test]
fn init_with_a_missing_target_names_the_file_and_its_columns() {
    let line = assert_one_line_error(&mlrig(["init", ADULT, "--target", "incme"]));
    assert!(line.contains("adult_sample.csv"), "{line}");
    assert!(line.contains("`incme`"), "{line}");
    assert!(line.contains("age, workclass"), "{line}");

    let json_error = mlrig(["init", ADULT, "--target", "incme", "--format", "json"]);
    assert_status(&json_error, 2);
    assert!(
        common::json_stdout(&json_error)["error"]
            .as_str()
            .unwrap()
            .contains("incme")
    );

    let line = assert_one_line_error(&mlrig(["init", "no/such.csv", "--target", "y"]));
    assert!(line.contains("no/such.csv"), "{line}");
    let line = assert_one_line_error(&mlrig([
        "init", ADULT, "--target", "income", "--name", "a/b",
    ]));
    assert!(line.contains("name: expected a model name"), "{line}");
    let output = mlrig(["init", ADULT]);
    assert_status(&output, 2);
}

#[test]
fn edited_init_configs_name_file_line_and_column() {
    let text = stdout(&mlrig(["init", ADULT, "--target", "income"]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlrig.toml");
    for (from, to, expected) in [
        ("target = ", "taget = ", "unknown field `taget`"),
        (
            "leakage_policy = \"block\"",
            "leakage_policy = \"never\"",
            "unknown variant `never`",
        ),
        (
            "block = [\"all\"]",
            "block = \"all\"",
            "expected a sequence",
        ),
    ] {
        let edited = text.replacen(from, to, 1);
        let line = edited.lines().position(|l| l.starts_with(to)).unwrap() + 1;
        std::fs::write(&path, &edited).unwrap();
        let message = PipelineConfig::from_file(&path).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("{}: ", path.display())),
            "{message}"
        );
        assert!(
            message.contains(&format!("line {line}, column")),
            "{message}"
        );
        assert!(message.contains(expected), "{message}");
        // The schema refuses what mlrig refuses.
        assert!(!schema_errors(&edited).is_empty(), "{to}");
    }
}

#[test]
fn adult_example_matches_the_schema_loads_and_ignores_its_outputs() {
    let text = std::fs::read_to_string(example()).unwrap();
    assert!(text.starts_with("#:schema ../../../docs/schemas/pipeline.schema.json\n"));
    assert_eq!(schema_errors(&text), Vec::<String>::new());
    let config = PipelineConfig::from_file(&example()).unwrap();
    assert_eq!(config.name, "adult");
    assert_eq!(config.data.target, "income");
    assert_eq!(config.push.base_path, PathBuf::from("models"));
    assert_eq!(config.schema.path, PathBuf::from("schema.json"));
    let base = example().parent().unwrap().to_path_buf();
    let spans = config.spans(&base).unwrap();
    assert_eq!(spans.len(), 1);
    assert_eq!(
        spans[0].canonicalize().unwrap(),
        Path::new(ADULT).canonicalize().unwrap()
    );
    // What a run writes next to the config stays out of git.
    let ignored = std::fs::read_to_string(base.join(".gitignore")).unwrap();
    for entry in [
        config.root.display().to_string() + "/",
        "models/".into(),
        "schema.json".into(),
    ] {
        assert!(
            ignored.lines().any(|l| l == entry),
            "{entry} is not in .gitignore"
        );
    }
}

/// The example runs with one command and its gates pass on the sample: run
/// from a copy whose data path points at the sample (a test writes nothing
/// into the repository), then again, fully cached.
#[test]
fn adult_example_runs_pushes_and_reruns_cached() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(example()).unwrap();
    let files = "files = [\"../../../data/samples/adult_sample.csv\"]";
    assert!(text.contains(files));
    let data = toml::Value::String(ADULT.into()).to_string();
    let config = dir.path().join("mlrig.toml");
    std::fs::write(&config, text.replace(files, &format!("files = [{data}]"))).unwrap();

    let record = success_json(&mlrig([
        "run",
        config.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!(record["outcome"]["status"], "pushed", "{record}");
    assert!(dir.path().join("models/adult/1/manifest.json").is_file());
    assert!(dir.path().join("schema.json").is_file());
    let evaluate = record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "evaluate")
        .unwrap();
    assert_eq!(evaluate["gate"]["passed"], true, "{evaluate}");

    let again = success_json(&mlrig([
        "run",
        config.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!(again["outcome"]["status"], "unchanged", "{again}");
    assert!(
        again["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "cached"),
        "{again}"
    );
}

/// `mlrig init DATA --target COL > mlrig.toml && mlrig run mlrig.toml`
/// trains, gates and pushes as it is.
#[test]
fn init_then_run_pushes_a_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_root().join("data/samples/iris.csv"),
        dir.path().join("iris.csv"),
    )
    .unwrap();
    let init = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["init", "iris.csv", "--target", "species"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_status(&init, 0);
    std::fs::write(dir.path().join("mlrig.toml"), &init.stdout).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["run", "mlrig.toml", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let record = success_json(&run);
    assert_eq!(record["outcome"]["status"], "pushed", "{record}");
    assert!(dir.path().join("models/iris/1/manifest.json").is_file());
}
