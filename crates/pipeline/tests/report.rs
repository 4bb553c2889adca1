//! `mlrig_pipeline::report`: every section renders, the document is
//! well-formed (every element closed, attributes quoted), hostile names are
//! escaped, and arbitrary statistics never make it panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use mlrig_pipeline::TrainingJob;
use mlrig_pipeline::report::{DriftResults, Report, load_evaluation, load_statistics};
use mlrig_validate::{
    Anomalies, Anomaly, AnomalyKind, DatasetStatistics, DriftTestParams, StatisticsParams,
    compute_statistics, drift_tests, untested_features,
};
use proptest::prelude::*;
use std::sync::Arc;

/// Elements HTML allows without an end tag.
const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];

/// Checks that `html` is well-formed: one doctype, then properly nested
/// elements with every start tag closed (or self-closed inside SVG), quoted
/// attribute values, no raw `<` in text, and `<script>`/`<style>` contents
/// that cannot end early. Returns the element names in document order.
fn well_formed(html: &str) -> Result<Vec<String>, String> {
    let rest = html.strip_prefix("<!DOCTYPE html>").ok_or("no doctype")?;
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            if bytes[i] == b'>' {
                return Err(format!("raw > in text at {i}: {}", context(rest, i)));
            }
            i += 1;
            continue;
        }
        let end = rest[i..]
            .find('>')
            .map(|e| i + e)
            .ok_or_else(|| format!("unclosed tag at {i}"))?;
        let tag = &rest[i + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .ok_or_else(|| format!("</{name}> closes nothing"))?;
            if open != name {
                return Err(format!(
                    "</{name}> closes <{open}> at {i}: {}",
                    context(rest, i)
                ));
            }
            i = end + 1;
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if name.is_empty() {
            return Err(format!("raw < in text at {i}: {}", context(rest, i)));
        }
        check_attributes(&tag[name.len()..]).map_err(|e| format!("<{name}>: {e}"))?;
        seen.push(name.clone());
        i = end + 1;
        if tag.ends_with('/') {
            if !stack.iter().any(|s| s == "svg") {
                return Err(format!("self-closed <{name}> outside SVG"));
            }
            continue;
        }
        if VOID.contains(&name.as_str()) {
            continue;
        }
        if name == "script" || name == "style" {
            let close = format!("</{name}>");
            let body_end = rest[i..]
                .find(&close)
                .ok_or_else(|| format!("<{name}> never closed"))?;
            i += body_end + close.len();
            continue;
        }
        stack.push(name);
    }
    if let Some(open) = stack.pop() {
        return Err(format!("<{open}> never closed"));
    }
    Ok(seen)
}

/// Attributes are `name="value"` with no `<`, `>` or `"` inside the value.
fn check_attributes(mut attrs: &str) -> Result<(), String> {
    attrs = attrs.trim_end_matches('/').trim();
    while !attrs.is_empty() {
        let eq = attrs
            .find('=')
            .ok_or_else(|| format!("attribute without value: {attrs}"))?;
        let name = attrs[..eq].trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':')
        {
            return Err(format!("bad attribute name `{name}`"));
        }
        let value = attrs[eq + 1..]
            .strip_prefix('"')
            .ok_or_else(|| format!("unquoted value of {name}"))?;
        let close = value
            .find('"')
            .ok_or_else(|| format!("unterminated value of {name}"))?;
        if value[..close].contains('<') {
            return Err(format!("raw < in the value of {name}"));
        }
        attrs = value[close + 1..].trim_start();
    }
    Ok(())
}

fn context(text: &str, at: usize) -> String {
    let start = (0..=at.saturating_sub(60))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text[start..].chars().take(120).collect()
}

fn stats_of(columns: Vec<(&str, ArrayRef)>, name: &str) -> DatasetStatistics {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut stats = compute_statistics(
        std::slice::from_ref(&batch),
        &batch.schema(),
        &StatisticsParams::default(),
    )
    .unwrap();
    stats.name = name.into();
    stats
}

const HOSTILE: &str = "<script>alert('x')</script>\"&";

fn hostile_stats(shift: f64) -> DatasetStatistics {
    let values: Vec<Option<&str>> = (0..60)
        .map(|i| match i % 4 {
            0 => Some(HOSTILE),
            1 => Some("<=50K"),
            2 => None,
            _ => Some("plain"),
        })
        .collect();
    stats_of(
        vec![
            (HOSTILE, Arc::new(StringArray::from(values)) as ArrayRef),
            (
                "age",
                Arc::new(Float64Array::from_iter(
                    (0..60).map(|i| (i % 7 != 0).then_some(f64::from(i) + shift)),
                )) as ArrayRef,
            ),
        ],
        "<b>set</b>",
    )
}

fn assert_safe(html: &str) {
    if let Err(e) = well_formed(html) {
        panic!("not well-formed: {e}");
    }
    // The page's own script is the only script element.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(!html.contains("<b>set</b>"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"));
    // No external resource: nothing with a URL scheme besides the SVG namespace.
    for scheme in ["https://", "src=\"", "href=\"http", "@import", "url("] {
        assert!(!html.contains(scheme), "{scheme} in the page");
    }
}

#[test]
fn the_checker_catches_broken_markup() {
    assert!(well_formed("<!DOCTYPE html><html><body><p>x</body></html>").is_err());
    assert!(well_formed("<!DOCTYPE html><p>a < b</p>").is_err());
    assert!(well_formed("<!DOCTYPE html><p title=x>a</p>").is_err());
    assert!(well_formed("<!DOCTYPE html><p><br/></p>").is_err());
    assert!(well_formed("<!DOCTYPE html><div><p>ok</p></div>").is_ok());
}

#[test]
fn statistics_single_and_comparison() {
    let a = hostile_stats(0.0);
    let b = hostile_stats(25.0);
    let single = Report::new(HOSTILE).with_statistics(a.clone()).render();
    assert_safe(&single);
    assert!(single.contains("id=\"statistics\"") && single.contains("Numeric features (1)"));
    assert!(single.contains("Categorical features (1)") && !single.contains("swatch s1"));
    // Missing share of age: 9 of 60 rows.
    assert!(single.contains("15.0%"), "{single}");
    let compared = Report::new("cmp")
        .with_statistics(a)
        .with_statistics(b)
        .render();
    assert_safe(&compared);
    assert!(compared.contains("Statistics: comparison") && compared.contains("swatch s1"));
    assert_eq!(compared.matches("class=\"histogram\"").count(), 1);
}

#[test]
fn drift_anomalies_and_every_section() {
    let a = hostile_stats(0.0);
    let b = hostile_stats(25.0);
    let tests = drift_tests(&a, &b, &DriftTestParams::default()).unwrap();
    let untested = untested_features(&a, &b).unwrap();
    let mut anomalies = Anomalies::default();
    anomalies.push(Anomaly::new(
        HOSTILE,
        AnomalyKind::EnumTypeUnexpectedStringValues,
        "a value of the domain",
        "<img src=x onerror=alert(1)>",
        3,
        vec![1, 2],
    ));
    let drift = DriftResults::from_tests(&tests, &untested);
    assert!(drift.rows.iter().any(|r| r.feature == "age" && r.drifted));
    let html = Report::new("all")
        .with_statistics(a)
        .with_drift(drift)
        .with_anomalies(anomalies)
        .render();
    assert_safe(&html);
    for id in ["statistics", "drift", "anomalies"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        assert!(html.contains(&format!("href=\"#{id}\"")), "{id}");
    }
    assert!(html.contains("class=\"drifted\"") && html.contains("&lt;img src=x"));
    assert!(html.contains("ENUM_TYPE_UNEXPECTED_STRING_VALUES"));
}

#[test]
fn monitoring_report_groups() {
    let json = serde_json::json!({
        "skew": {"features": [{"feature": "workclass", "test": "linf", "value": 0.4, "p_value": null,
                                "threshold": 0.1, "over_threshold": true}], "anomalies": {}},
        "drift": null,
        "prediction_drift": {"features": [{"feature": "score", "test": "ks", "value": 0.2, "p_value": 0.3,
                                           "threshold": 0.05, "over_threshold": false}]},
    });
    let groups = DriftResults::from_json(&json).unwrap();
    assert_eq!(groups.len(), 2);
    assert!(
        groups[0].rows[0].drifted && groups[0].anomalies.as_ref().is_some_and(|a| a.is_empty())
    );
    let html = groups
        .into_iter()
        .fold(Report::new("m"), Report::with_drift)
        .render();
    well_formed(&html).unwrap();
    assert!(html.contains("Training/serving skew") && html.contains("id=\"drift-1\""));
    assert!(DriftResults::from_json(&serde_json::json!({"x": 1})).is_err());
}

#[test]
fn evaluation_of_a_trained_model_has_curves_and_slices() {
    let data = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/samples/adult_sample.csv"
    );
    let out = tempfile::tempdir().unwrap();
    let report = TrainingJob::new(data, "income")
        .with_name("adult")
        .with_output_dir(out.path())
        .with_slice("gender")
        .run()
        .unwrap();
    let curves = report.evaluation.curves().expect("curves are recorded");
    assert!(!curves.roc.is_empty() && !curves.precision_recall.is_empty());
    let matrix = curves.confusion_matrix.as_ref().unwrap();
    let total: u64 = matrix.counts.iter().flatten().sum();
    assert_eq!(total, report.evaluation.eval_rows());
    // The bundle's evaluation.json round-trips the curves, read from the version directory.
    let version = out.path().join("adult").join("1");
    let loaded = load_evaluation(&version).unwrap();
    assert_eq!(loaded.curves(), Some(curves));
    let stats = load_statistics(&version.join("statistics.json")).unwrap();
    let html = Report::new("adult")
        .with_statistics(stats)
        .with_evaluation(loaded)
        .render();
    well_formed(&html).unwrap();
    for needle in [
        "ROC curve",
        "Precision–recall",
        "Calibration",
        "Confusion matrix",
        "gender=Female",
        "&lt;=50K",
        "<polyline",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(!html.contains("<=50K"));
}

#[test]
fn errors_name_the_file_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drift.json");
    std::fs::write(&path, "not json").unwrap();
    let err = mlrig_pipeline::report::load_drift(&path)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(
        err.contains("not JSON") && err.contains("mlrig drift"),
        "{err}"
    );
    let err = mlrig_pipeline::report::load_anomalies(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Anomalies JSON"), "{err}");
    let err = load_evaluation(&path).unwrap_err().to_string();
    assert!(err.contains("an evaluation"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_statistics_render_well_formed(
        names in proptest::collection::vec("\\PC{0,12}", 1..4),
        values in proptest::collection::vec(proptest::option::of("\\PC{0,8}"), 1..30),
        numbers in proptest::collection::vec(proptest::option::of(proptest::num::f64::ANY), 1..30),
    ) {
        let mut columns: Vec<(String, ArrayRef)> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let name = format!("{name}{i}");
            let column: ArrayRef = if i % 2 == 0 {
                Arc::new(StringArray::from(values.clone()))
            } else {
                let mut n = numbers.clone();
                n.resize(values.len(), None);
                Arc::new(Float64Array::from(n))
            };
            columns.push((name, column));
        }
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let stats = compute_statistics(std::slice::from_ref(&batch), &batch.schema(), &StatisticsParams::default()).unwrap();
        let mut other = stats.clone();
        other.name = names[0].clone();
        let html = Report::new(&names[0]).with_statistics(stats).with_statistics(other).render();
        prop_assert!(well_formed(&html).is_ok(), "{:?}", well_formed(&html));
        prop_assert_eq!(html.matches("<script").count(), 1);
    }
}
