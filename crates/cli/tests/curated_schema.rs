//! `mlrig infer-schema --update` on a curated (hand-edited) schema, and
//! `mlrig validate` with dataset constraints and value counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{
    ADULT, ADULT_SHIFTED, assert_one_line_error, assert_status, json_stdout, mlrig, strings_at,
};
use serde_json::Value;

/// adult_sample's TFDV schema, curated (see make_curated_fixtures.py).
const CURATED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../validate/tests/fixtures/tfdv/adult_curated.schema.pbtxt"
);

/// `mlrig infer-schema INPUT... --update SCHEMA --out OUT EXTRA...`.
fn update(input: &[&str], schema: &str, out: &str, extra: &[&str]) -> Output {
    let update = ["--update", schema, "--out", out];
    mlrig([&["infer-schema"], input, &update[..], extra].concat())
}

fn entries<'a>(changes: &'a Value, group: &str) -> Vec<(&'a str, &'a str)> {
    changes[group]
        .as_array()
        .unwrap_or_else(|| panic!("no `{group}` in {changes}"))
        .iter()
        .map(|c| (c["feature"].as_str().unwrap(), c["field"].as_str().unwrap()))
        .collect()
}

/// Writes the statistics of `data` (`mlrig stats`) to `dir/stats.json`;
/// returns its path.
fn stats_file(data: &str, dir: &Path) -> String {
    let stats = dir.join("stats.json").to_str().unwrap().to_string();
    assert_status(&mlrig(["stats", data, "--out", &stats]), 0);
    stats
}

fn copy_curated(dir: &Path) -> String {
    let path = dir.join("schema.pbtxt");
    std::fs::copy(CURATED, &path).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn update_in_place_keeps_the_curation_and_lists_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let schema = copy_curated(dir.path());
    let output = update(&[ADULT_SHIFTED], &schema, &schema, &["--format", "json"]);
    assert_status(&output, 0);
    let report = json_stdout(&output);
    let changes = &report["changes"];
    assert_eq!(entries(changes, "added_features"), [("device", "feature")]);
    assert!(
        entries(changes, "extended_domains")
            .contains(&("workclass", "string_domain \"workclass\"")),
        "{changes}"
    );
    let relaxed = entries(changes, "relaxed_constraints");
    for expected in [
        ("age", "int_domain.max"),
        ("capital-gain", "int_domain.max"),
        ("race", "value_count.min"),
        ("relationship", "value_count.max"),
        ("hours-per-week", "presence.min_fraction"),
        ("hours-per-week", "shape"),
    ] {
        assert!(
            relaxed.contains(&expected),
            "{expected:?} not in {relaxed:?}"
        );
    }
    assert_eq!(
        changes["count"].as_u64().unwrap() as usize,
        [
            "added_features",
            "extended_domains",
            "relaxed_constraints",
            "deprecated_features"
        ]
        .iter()
        .map(|g| changes[g].as_array().unwrap().len())
        .sum::<usize>()
    );
    let age_max = changes["relaxed_constraints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["feature"] == "age")
        .unwrap();
    assert_eq!(
        (age_max["before"].as_str(), age_max["after"].as_str()),
        (Some("90"), Some("112"))
    );

    // The file keeps the edits the data meets.
    let text = std::fs::read_to_string(&schema).unwrap();
    for kept in [
        "lifecycle_stage: DEPRECATED",
        "min_examples_count: 1000",
        "num_examples_version_comparator",
        "not_in_environment: \"SERVING\"",
        "threshold: 0.01",
        "min: 17",
    ] {
        assert!(text.contains(kept), "{kept} lost:\n{text}");
    }

    // A second update with the same data changes nothing.
    let output = update(&[ADULT_SHIFTED], &schema, &schema, &[]);
    assert_status(&output, 0);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("unchanged"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&schema).unwrap(), text);
}

#[test]
fn update_from_a_statistics_file_equals_update_from_the_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let stats = stats_file(ADULT_SHIFTED, dir.path());
    let from_stats = dir.path().join("from_stats.json");
    let from_data = dir.path().join("from_data.json");
    let stats_input = ["--stats", &stats];
    let output = update(&stats_input, CURATED, from_stats.to_str().unwrap(), &[]);
    assert_status(&output, 0);
    let output = update(&[ADULT_SHIFTED], CURATED, from_data.to_str().unwrap(), &[]);
    assert_status(&output, 0);
    let a = std::fs::read_to_string(&from_stats).unwrap();
    assert_eq!(a, std::fs::read_to_string(&from_data).unwrap());
    assert!(a.contains("\"datasetConstraints\""), "{a}");
}

#[test]
fn a_misspelt_field_is_a_one_line_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.pbtxt");
    std::fs::write(
        &schema,
        "feature {\n  name: \"age\"\n  type: INT\n  anotation { tag: \"x\" }\n}\n",
    )
    .unwrap();
    let path = schema.to_str().unwrap();
    for args in [
        vec!["infer-schema", ADULT, "--update", path],
        vec!["validate", ADULT, "--schema", path],
    ] {
        let line = assert_one_line_error(&mlrig(&args));
        assert!(
            line.contains(&format!(
                "{path}:4:3: unknown field `anotation` in tensorflow.metadata.v0.Feature"
            )),
            "{line}"
        );
    }
}

#[test]
fn validate_reports_dataset_constraints_and_value_count_rows() {
    let dir = tempfile::tempdir().unwrap();
    let previous = &stats_file(ADULT, dir.path());
    let validate = |extra: &[&str]| {
        let args = [
            "validate",
            ADULT_SHIFTED,
            "--schema",
            CURATED,
            "--previous-stats",
            previous,
        ];
        mlrig([&args[..], extra].concat())
    };
    let output = validate(&["--previous-version-stats", previous, "--rows"]);
    assert_status(&output, 1);
    let text = String::from_utf8(output.stdout).unwrap();
    for line in [
        "(dataset): DATASET_LOW_NUM_EXAMPLES: expected at least 1000 examples, found 400 examples",
        "(dataset): COMPARATOR_LOW_NUM_EXAMPLES: expected at least 0.5 × the previous span's 4071 examples",
        "(dataset): COMPARATOR_HIGH_NUM_EXAMPLES: expected at most 0.05 × the previous version's 4071 examples",
        "race: FEATURE_TYPE_LOW_NUMBER_VALUES: expected at least 2 values per example, found 1 value in each of 400 examples",
        "relationship: FEATURE_TYPE_HIGH_NUMBER_VALUES: expected at most 0 values per example",
    ] {
        assert!(text.contains(line), "{line}\nnot in:\n{text}");
    }
    // --rows: every one of the 400 rows, as file:line (line 2 is the first record).
    let shifted_rows = text.matches("adult_shifted.csv:").count();
    assert!(shifted_rows >= 800, "{shifted_rows}\n{text}");
    assert!(text.contains("adult_shifted.csv:2\n") && text.contains("adult_shifted.csv:401\n"));

    let output = validate(&["--rows", "--format", "json"]);
    assert_status(&output, 1);
    let report = json_stdout(&output);
    let dataset = &report["anomalies"]["datasetAnomalyInfo"]["reason"];
    let kinds = strings_at(dataset, "type");
    assert_eq!(
        kinds,
        ["COMPARATOR_LOW_NUM_EXAMPLES", "DATASET_LOW_NUM_EXAMPLES"]
    );
    assert_eq!(
        dataset[1]["description"],
        "The dataset has 400 examples, which is fewer than expected."
    );
    let race = &report["anomalies"]["anomalyInfo"]["race"]["reason"][0];
    assert_eq!(race["type"], "FEATURE_TYPE_LOW_NUMBER_VALUES");
    assert_eq!(race["rows"].as_array().unwrap().len(), 400);
    assert_eq!(race["rows"][0]["line"], 2);
}

/// A schema TFDV wrote with every tensorflow-metadata field set.
const EVERY_FIELD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../validate/tests/fixtures/tfdv/every_field.schema.pbtxt"
);

#[test]
fn a_tfdv_schema_with_every_field_validates_and_survives_an_update() {
    use mlrig_validate::Schema;
    let dir = tempfile::tempdir().unwrap();
    // Loads and validates (its features are not adult's: anomalies, exit 1, not a usage error).
    let out = mlrig([
        "validate",
        ADULT,
        "--schema",
        EVERY_FIELD,
        "--format",
        "json",
    ]);
    assert_status(&out, 1);
    let json = json_stdout(&out);
    assert!(
        json["unchecked_schema_fields"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "tensorRepresentationGroup")),
        "{json}"
    );
    // `--update` keeps every field it does not have to change.
    let new = dir.path().join("new.pbtxt");
    let new = new.to_str().unwrap();
    assert_status(&update(&[ADULT], EVERY_FIELD, new, &[]), 0);
    let before = Schema::load(Path::new(EVERY_FIELD)).unwrap();
    let after = Schema::load(Path::new(new)).unwrap();
    assert_eq!(after.unmodelled, before.unmodelled);
    // The schema's own features come first, in order (names repeat in the fixture).
    for (kept, feature) in after.features().iter().zip(before.features()) {
        assert_eq!(kept.unmodelled, feature.unmodelled, "{}", feature.name);
    }
    for (a, b) in after.string_domain.iter().zip(&before.string_domain) {
        assert_eq!(a.unmodelled, b.unmodelled);
    }
}

#[test]
fn statistics_are_written_as_json_text_or_binary_protobuf() {
    use mlrig_validate::{DatasetStatistics, TfmdFile};
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for name in ["s.json", "s.pbtxt", "s.pb"] {
        let path = dir.path().join(name);
        assert_status(&mlrig(["stats", ADULT, "--out", path.to_str().unwrap()]), 0);
        written.push(DatasetStatistics::load_file(&path).unwrap());
    }
    assert_eq!(written[0], written[1]);
    assert_eq!(written[0], written[2]);
    // Any of them is a drift reference.
    let pb = dir.path().join("s.pb");
    let out = mlrig([
        "drift",
        "--reference",
        pb.to_str().unwrap(),
        "--current",
        ADULT,
    ]);
    assert_status(&out, 0);
}
