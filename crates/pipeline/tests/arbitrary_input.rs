#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Arbitrary text into every configuration file a user writes (issue 14,
//! item 6): the pipeline config (`mlrig.toml`, with its inline feature spec,
//! model spec, gates and monitoring thresholds), model specs and blessing
//! thresholds (JSON and TOML), the server config and the model config of
//! `mlrig serve` (JSON and TOML). Never a panic, never an allocation out of
//! proportion to a small input (the allocator below has a hard limit),
//! errors that name the line (and column) of the fault. A model spec that
//! parses also takes one optimiser step on 64 rows ([`smoke_step`]), so its
//! parameters (iterations, bins, leaves, rates) are fuzzed too.
//!
//! Request logs (`mlrig monitor`, JSON Lines and Parquet) are fuzzed here
//! too: a corrupt log is a `PipelineError::InvalidRequestLog` naming the
//! file, or lines skipped with their line number, never a panic.
//!
//! This crate composes the others, so their config types are all reachable
//! from here. Case counts follow `PROPTEST_CASES` when it is set.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use mlrig_pipeline::{OfflineMonitorJob, PipelineConfig, PipelineError};
use mlrig_serve::{ModelConfig, ServerConfig};
use mlrig_testkit::{Mix, apply_all, cases};
use mlrig_train::{BlessingThresholds, ModelSpec, smoke_step};
use proptest::prelude::*;

// The whole test binary may hold at most this much heap at once.
mlrig_testkit::capped_allocator!(256 MiB);

const PIPELINE_TOML: &str = include_str!("../../../examples/pipeline/adult/mlrig.toml");
const SERVER_TOML: &str = include_str!("../../../examples/config/server.toml");
const SERVER_JSON: &str = include_str!("../../../examples/config/server.json");
const MODELS_TOML: &str = include_str!("../../../examples/config/models.toml");
const THRESHOLDS_TOML: &str = include_str!("../../../examples/config/thresholds.toml");
const SGD_TOML: &str = include_str!("../../../examples/config/adult.model.toml");
const GBDT_TOML: &str = include_str!("../../../examples/config/gbdt.model.toml");
const WINE_JSON: &str = include_str!("../../../examples/config/wine.model.json");

fn mix() -> Mix {
    Mix {
        ..Mix::splicing(vec![
            "'",
            "[[",
            "]]",
            "=",
            "\n",
            "#",
            "-",
            "0",
            "9",
            ".5",
            "e308",
            "nan",
            "inf",
            "-inf",
            "NaN",
            "Infinity",
            "1e999999",
            "4294967296",
            "18446744073709551615",
            "9223372036854775807",
            "-9223372036854775808",
            "null",
            "true",
            "\\u0000",
            "\\ud800",
            "\"\"\"",
            "'''",
            "0x7fffffffffffffff",
            "1979-05-27T07:32:00Z",
            "\"10000000000000000h\"",
            "\"0s\"",
            "\"-1s\"",
            "\"1ns\"",
            "max_iter = 18446744073709551615\n",
            "max_bins = 4294967295\n",
            "max_leaf_nodes = 4294967295\n",
            "num_versions = 18446744073709551615\n",
            "buckets = 4294967295\n",
            "window = \"100000000000y\"\n",
            "max_rows = 0\n",
            "a = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
            "x = { y = { z = { w = { v = { u = { t = { s = {\n",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
        ])
    }
}

/// `valid` after 1–4 edits, as text (invalid UTF-8 replaced, as
/// `read_to_string` callers must).
fn mutated(valid: &'static str) -> impl Strategy<Value = String> {
    mix().mutate_text(valid, 1..5)
}

/// A TOML error names its line and column.
fn toml_located(error: &toml::de::Error, text: &str) -> Result<(), TestCaseError> {
    let message = error.to_string();
    prop_assert!(
        error.span().is_some() || message.contains("line "),
        "{message}\n---\n{text}"
    );
    Ok(())
}

fn json_located(error: &serde_json::Error) -> Result<(), TestCaseError> {
    prop_assert!(error.line() >= 1, "{error}");
    Ok(())
}

fn trained(spec: &ModelSpec) {
    let _ = smoke_step(spec, 7);
}

proptest! {
    #![proptest_config(cases(192))]

    #[test]
    fn mutated_pipeline_configs_never_panic(text in mutated(PIPELINE_TOML)) {
        match PipelineConfig::from_toml_str(&text, "mlrig.toml") {
            Ok(config) => {
                let _ = config.read_options();
                let _ = config.spans(std::path::Path::new("."));
            }
            Err(PipelineError::Config { file, message }) => {
                prop_assert_eq!(file, std::path::PathBuf::from("mlrig.toml"));
                prop_assert!(!message.is_empty());
            }
            Err(other) => prop_assert!(false, "not a config error: {other}"),
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = PipelineConfig::from_toml_str(&text, "mlrig.toml");
        let _ = ServerConfig::from_toml_str_for_tests(&text);
        let _ = ModelConfig::from_toml_str(&text);
        let _ = ModelConfig::from_json_str(&text);
        if let Ok(spec) = serde_json::from_str::<ModelSpec>(&text) { trained(&spec); }
        if let Ok(spec) = toml::from_str::<ModelSpec>(&text) { trained(&spec); }
        let _ = toml::from_str::<BlessingThresholds>(&text);
        let _ = serde_json::from_str::<BlessingThresholds>(&text);
    }

    #[test]
    fn mutated_model_specs_never_panic(
        text in prop_oneof![mutated(SGD_TOML), mutated(GBDT_TOML)],
        json in mutated(WINE_JSON),
    ) {
        match toml::from_str::<ModelSpec>(&text) {
            Ok(spec) => trained(&spec),
            Err(e) => toml_located(&e, &text)?,
        }
        match serde_json::from_str::<ModelSpec>(&json) {
            Ok(spec) => trained(&spec),
            Err(e) => json_located(&e)?,
        }
    }

    #[test]
    fn mutated_thresholds_never_panic(text in mutated(THRESHOLDS_TOML)) {
        if let Err(e) = toml::from_str::<BlessingThresholds>(&text) {
            toml_located(&e, &text)?;
        }
    }

    #[test]
    fn mutated_server_configs_never_panic(text in mutated(SERVER_TOML), json in mutated(SERVER_JSON)) {
        if let Err(e) = toml::from_str::<ServerConfig>(&text) {
            toml_located(&e, &text)?;
        }
        if let Err(e) = serde_json::from_str::<ServerConfig>(&json) {
            json_located(&e)?;
        }
    }

    #[test]
    fn mutated_model_configs_never_panic(text in mutated(MODELS_TOML)) {
        if let Err(e) = ModelConfig::from_toml_str(&text) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

/// `ServerConfig` has no string constructor of its own; the CLI reads it
/// with `toml::from_str`, as here.
trait FromTomlForTests: Sized {
    fn from_toml_str_for_tests(text: &str) -> Result<Self, toml::de::Error>;
}

impl FromTomlForTests for ServerConfig {
    fn from_toml_str_for_tests(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

#[test]
fn the_examples_parse() {
    PipelineConfig::from_toml_str(PIPELINE_TOML, "mlrig.toml").unwrap();
    toml::from_str::<ServerConfig>(SERVER_TOML).unwrap();
    serde_json::from_str::<ServerConfig>(SERVER_JSON).unwrap();
    ModelConfig::from_toml_str(MODELS_TOML).unwrap();
    toml::from_str::<BlessingThresholds>(THRESHOLDS_TOML).unwrap();
    for text in [SGD_TOML, GBDT_TOML] {
        trained(&toml::from_str::<ModelSpec>(text).unwrap());
    }
    trained(&serde_json::from_str::<ModelSpec>(WINE_JSON).unwrap());
}

#[test]
fn config_errors_name_the_line() {
    let text = PIPELINE_TOML.replacen("[data]", "[data]\nbogus_key = 1", 1);
    let err = PipelineConfig::from_toml_str(&text, "mlrig.toml").unwrap_err();
    let line = text
        .lines()
        .position(|l| l.starts_with("bogus_key"))
        .unwrap()
        + 1;
    assert!(err.to_string().contains(&format!("line {line}")), "{err}");
    let err =
        ModelConfig::from_toml_str("[[models]]\nname = \"a\"\nbase_pth = \"x\"\n").unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn deep_nesting_in_a_config_is_an_error() {
    let toml = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(PipelineConfig::from_toml_str(&toml, "mlrig.toml").is_err());
    let toml = format!("a = {}1{}", "{ b = ".repeat(100_000), "}".repeat(100_000));
    assert!(ModelConfig::from_toml_str(&toml).is_err());
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(ModelConfig::from_json_str(&json).is_err());
}

/// The bytes of a small request log in `format`, as `mlrig serve` writes it.
fn valid_log(format: mlrig_serve::RequestLogFormat) -> Vec<u8> {
    static LOGS: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    let (jsonl, parquet) = LOGS.get_or_init(|| {
        let write = |format| {
            let dir = tempfile::tempdir().unwrap();
            let log = mlrig_serve::RequestLog::start(
                &mlrig_serve::RequestLogConfig::new(dir.path()).with_format(format),
            )
            .unwrap();
            for i in 0..12 {
                let mut entry = mlrig_serve::RequestLogEntry::new(
                    &format!("r{i}"),
                    "housing",
                    1,
                    "model",
                    vec![serde_json::json!({"MedInc": 2.0 + f64::from(i) / 10.0, "HouseAge": 10 + i})],
                    vec![serde_json::json!({"prediction": 1.0 + f64::from(i) / 20.0})],
                );
                entry.timestamp =
                    std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + 60 * u64::from(i as u32));
                log.submit(entry);
            }
            log.close();
            let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
            std::fs::read(file).unwrap()
        };
        (
            write(mlrig_serve::RequestLogFormat::Jsonl),
            write(mlrig_serve::RequestLogFormat::Parquet),
        )
    });
    match format {
        mlrig_serve::RequestLogFormat::Parquet => parquet.clone(),
        _ => jsonl.clone(),
    }
}

/// Runs the offline monitor over `bytes` saved as `name`.
fn monitored(name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    match OfflineMonitorJob::new(common::housing_model(), [path.display().to_string()])
        .with_window(Duration::from_secs(600))
        .run()
    {
        Ok(report) => {
            let rows = &report.rows;
            prop_assert_eq!(rows.rows_used + rows.rows_skipped, rows.rows_read);
        }
        Err(PipelineError::InvalidRequestLog { path: named, .. }) => prop_assert_eq!(named, path),
        Err(e) => prop_assert!(e.is_invalid_input(), "{e}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn mutated_request_logs_never_panic(
        edits in mix().edits(1..4),
        parquet in any::<bool>(),
    ) {
        let format = if parquet {
            mlrig_serve::RequestLogFormat::Parquet
        } else {
            mlrig_serve::RequestLogFormat::Jsonl
        };
        let mut bytes = valid_log(format);
        apply_all(&mut bytes, &edits);
        monitored(if parquet { "log.parquet" } else { "log.jsonl" }, &bytes)?;
    }
}

#[test]
fn the_valid_request_logs_are_read() {
    for (format, name) in [
        (mlrig_serve::RequestLogFormat::Jsonl, "log.jsonl"),
        (mlrig_serve::RequestLogFormat::Parquet, "log.parquet"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, valid_log(format)).unwrap();
        let report = OfflineMonitorJob::new(common::housing_model(), [path.display().to_string()])
            .with_window(Duration::from_secs(600))
            .run()
            .unwrap();
        assert_eq!(report.rows.rows_read, 12, "{name}");
    }
}

#[test]
fn a_log_line_that_is_not_utf8_is_skipped_with_its_line() {
    // Found by `mutated_request_logs_never_panic`: one byte flipped to 0x80
    // used to end the whole run with "stream did not contain valid UTF-8".
    let mut bytes = valid_log(mlrig_serve::RequestLogFormat::Jsonl);
    bytes[0] ^= 0x80;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, &bytes).unwrap();
    let report = OfflineMonitorJob::new(common::housing_model(), [path.display().to_string()])
        .with_window(Duration::from_secs(600))
        .run()
        .unwrap();
    assert_eq!(report.rows.rows_read, 11);
    assert_eq!(report.rows.unreadable_entries, 1);
    assert!(
        report.rows.unreadable[0].contains("log.jsonl:1: not UTF-8 text"),
        "{:?}",
        report.rows.unreadable
    );
}
