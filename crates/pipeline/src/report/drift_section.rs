//! The drift section: one row per feature and test with the statistic
//! against its threshold, drifted features first and highlighted, and the
//! features that could not be compared.

use mlrig_validate::{Anomalies, DriftTestResult, UntestedFeature};
use serde_json::Value;

use super::anomalies_section;
use super::html::{Html, number, sort_key};
use super::svg;

/// One drift test of one feature, from `mlrig drift` or a monitoring report.
///
/// ```
/// let row = mlrig_pipeline::report::DriftRow {
///     feature: "age".into(), test: "psi".into(), statistic: 0.3, p_value: None, threshold: 0.1, drifted: true,
/// };
/// assert!(row.drifted);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DriftRow {
    /// The feature.
    pub feature: String,
    /// The test (`ks`, `psi`, `wasserstein`, `chisquare`, `linf`, `jsd`).
    pub test: String,
    /// The test statistic.
    pub statistic: f64,
    /// The p-value, for tests that have one.
    pub p_value: Option<f64>,
    /// The threshold (on the p-value when there is one, else on the statistic).
    pub threshold: f64,
    /// Whether the test says the feature drifted.
    pub drifted: bool,
}

/// A group of drift results: a title, the tests, the features that could
/// not be compared (name, why, and whether that is itself a problem) and
/// schema-comparator anomalies.
///
/// ```
/// use mlrig_pipeline::report::DriftResults;
/// let json = serde_json::json!({"tests": [{"feature": "age", "test": "kolmogorov_smirnov",
///     "statistic": 0.4, "p_value": 0.001, "threshold": 0.05, "drift_detected": true}]});
/// let groups = DriftResults::from_json(&json)?;
/// assert_eq!(groups[0].rows[0].test, "ks");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DriftResults {
    /// The group's title (e.g. `Drift`, `Training/serving skew`).
    pub title: String,
    /// The tests.
    pub rows: Vec<DriftRow>,
    /// Features not compared: (name, reason, is a problem).
    pub untested: Vec<(String, String, bool)>,
    /// Anomalies of the schema's drift/skew comparators.
    pub anomalies: Option<Anomalies>,
}

impl DriftResults {
    /// Results of [`mlrig_validate::drift_tests`] and
    /// [`mlrig_validate::untested_features`].
    ///
    /// ```
    /// use mlrig_pipeline::report::DriftResults;
    /// use mlrig_validate::{DriftTest, DriftTestResult};
    /// let r = DriftResults::from_tests(&[DriftTestResult::new("x", DriftTest::ChiSquared, 9.0, Some(0.01), 0.05, true)], &[]);
    /// assert_eq!(r.rows[0].test, "chisquare");
    /// ```
    pub fn from_tests(tests: &[DriftTestResult], untested: &[UntestedFeature]) -> Self {
        Self {
            title: "Drift".into(),
            rows: tests
                .iter()
                .map(|t| DriftRow {
                    feature: t.feature.clone(),
                    test: t.test.name().into(),
                    statistic: t.statistic,
                    p_value: t.p_value,
                    threshold: t.threshold,
                    drifted: t.drift_detected,
                })
                .collect(),
            untested: untested
                .iter()
                .map(|u| {
                    (
                        u.feature.clone(),
                        u.detail.clone(),
                        u.reason.signals_a_problem(),
                    )
                })
                .collect(),
            anomalies: None,
        }
    }

    /// Reads the JSON output of `mlrig drift --format json` (one group) or
    /// a monitoring report (`GET /v1/models/{m}/monitoring`: its `skew`,
    /// `drift` and `prediction_drift` groups). Errors say what is missing.
    ///
    /// See [`DriftResults`] for an example.
    pub fn from_json(json: &Value) -> Result<Vec<Self>, String> {
        if let Some(tests) = json.get("tests") {
            let tests: Vec<DriftTestResult> = serde_json::from_value(tests.clone())
                .map_err(|e| format!("`tests` is not a list of drift test results: {e}"))?;
            let untested: Vec<UntestedFeature> = match json.get("untested") {
                Some(Value::Null) | None => Vec::new(),
                Some(u) => serde_json::from_value(u.clone())
                    .map_err(|e| format!("`untested` is not a list of untested features: {e}"))?,
            };
            let mut group = Self::from_tests(&tests, &untested);
            group.anomalies = anomalies_of(json.get("anomalies"))?;
            return Ok(vec![group]);
        }
        let mut groups = Vec::new();
        for (key, title) in [
            ("skew", "Training/serving skew"),
            ("drift", "Drift since the previous window"),
            ("prediction_drift", "Prediction drift"),
        ] {
            let Some(group) = json.get(key).filter(|g| !g.is_null()) else {
                continue;
            };
            let features = group
                .get("features")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("`{key}` has no `features` list"))?;
            let rows = features
                .iter()
                .map(|f| {
                    let text = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_string);
                    let float = |k: &str| f.get(k).and_then(Value::as_f64);
                    Ok(DriftRow {
                        feature: text("feature").ok_or("a feature comparison without `feature`")?,
                        test: text("test").unwrap_or_default(),
                        statistic: float("value").unwrap_or(f64::NAN),
                        p_value: float("p_value"),
                        threshold: float("threshold").unwrap_or(f64::NAN),
                        drifted: f
                            .get("over_threshold")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    })
                })
                .collect::<Result<Vec<_>, &str>>()
                .map_err(|e| format!("`{key}.features`: {e}"))?;
            groups.push(Self {
                title: title.into(),
                rows,
                untested: Vec::new(),
                anomalies: anomalies_of(group.get("anomalies"))?,
            });
        }
        if groups.is_empty() {
            return Err(
                "no `tests` (mlrig drift) nor `skew`/`drift` (monitoring report) key".into(),
            );
        }
        Ok(groups)
    }
}

fn anomalies_of(json: Option<&Value>) -> Result<Option<Anomalies>, String> {
    match json {
        None | Some(Value::Null) => Ok(None),
        Some(value) => Anomalies::from_tfmd_json(&value.to_string())
            .map(Some)
            .map_err(|e| format!("`anomalies` is not tensorflow-metadata Anomalies JSON: {e}")),
    }
}

/// Writes one section per group.
pub(crate) fn render(h: &mut Html, groups: &[DriftResults]) {
    for (g, group) in groups.iter().enumerate() {
        let id = if g == 0 {
            "drift".to_string()
        } else {
            format!("drift-{g}")
        };
        h.element("section", &[("id", &id)], |h| {
            h.text_element("h2", &[], &group.title);
            let mut features: Vec<&str> = group.rows.iter().map(|r| r.feature.as_str()).collect();
            features.dedup();
            features.sort_unstable();
            features.dedup();
            let mut drifted: Vec<&str> = group
                .rows
                .iter()
                .filter(|r| r.drifted)
                .map(|r| r.feature.as_str())
                .collect();
            drifted.sort_unstable();
            drifted.dedup();
            let problems = group.untested.iter().filter(|u| u.2).count();
            h.element("div", &[("class", "cards")], |h| {
                card(h, "Features tested", &features.len().to_string(), "");
                card(
                    h,
                    "Drifted",
                    &drifted.len().to_string(),
                    if drifted.is_empty() { "good" } else { "bad" },
                );
                card(
                    h,
                    "Tests over threshold",
                    &format!(
                        "{} of {}",
                        group.rows.iter().filter(|r| r.drifted).count(),
                        group.rows.len()
                    ),
                    "",
                );
                if !group.untested.is_empty() {
                    card(
                        h,
                        "Not compared",
                        &group.untested.len().to_string(),
                        if problems > 0 { "bad" } else { "" },
                    );
                }
            });
            if !drifted.is_empty() {
                h.element("p", &[("class", "callout bad")], |h| {
                    h.text("Drifted: ");
                    h.text(&drifted.join(", "));
                });
            }
            let mut rows: Vec<&DriftRow> = group.rows.iter().collect();
            // Drifted first, then by how far over the threshold.
            rows.sort_by(|a, b| {
                b.drifted
                    .cmp(&a.drifted)
                    .then(severity(b).total_cmp(&severity(a)))
            });
            if !rows.is_empty() {
                table(h, &rows);
            }
            if !group.untested.is_empty() {
                h.text_element("h3", &[], "Not compared");
                h.element("table", &[("class", "data sortable filterable")], |h| {
                    h.element("thead", &[], |h| {
                        h.element("tr", &[], |h| {
                            h.text_element("th", &[], "Feature");
                            h.text_element("th", &[], "Why");
                        });
                    });
                    h.element("tbody", &[], |h| {
                        for (feature, why, problem) in &group.untested {
                            h.element(
                                "tr",
                                &[("class", if *problem { "drifted" } else { "" })],
                                |h| {
                                    h.text_element("td", &[("class", "feature")], feature);
                                    h.text_element("td", &[], why);
                                },
                            );
                        }
                    });
                });
            }
            if let Some(anomalies) = &group.anomalies {
                h.text_element("h3", &[], "Schema comparators");
                anomalies_section::table(h, anomalies);
            }
        });
    }
}

/// How far past its threshold a test is (statistic / threshold, or
/// threshold / p-value), for ordering.
fn severity(row: &DriftRow) -> f64 {
    let ratio = match row.p_value {
        Some(p) => row.threshold / p.max(1e-300),
        None => row.statistic / row.threshold.max(1e-300),
    };
    if ratio.is_nan() { 0.0 } else { ratio }
}

fn card(h: &mut Html, label: &str, value: &str, class: &str) {
    h.element("div", &[("class", &format!("card {class}"))], |h| {
        h.text_element("div", &[("class", "card-value")], value);
        h.text_element("div", &[("class", "card-label")], label);
    });
}

fn table(h: &mut Html, rows: &[&DriftRow]) {
    h.element("table", &[("class", "data sortable filterable")], |h| {
        h.element("thead", &[], |h| {
            h.element("tr", &[], |h| {
                for c in [
                    "Feature",
                    "Test",
                    "Statistic",
                    "p-value",
                    "Threshold",
                    "Against threshold",
                    "Drift",
                ] {
                    h.text_element("th", &[], c);
                }
            });
        });
        h.element("tbody", &[], |h| {
            for row in rows {
                h.element(
                    "tr",
                    &[("class", if row.drifted { "drifted" } else { "" })],
                    |h| {
                        h.text_element(
                            "td",
                            &[("class", "feature"), ("data-sort", &row.feature)],
                            &row.feature,
                        );
                        h.text_element("td", &[], &row.test);
                        h.text_element(
                            "td",
                            &[("class", "num"), ("data-sort", &sort_key(row.statistic))],
                            &number(row.statistic),
                        );
                        let p = row.p_value.map_or("—".to_string(), number);
                        h.text_element(
                            "td",
                            &[
                                ("class", "num"),
                                ("data-sort", &row.p_value.map(sort_key).unwrap_or_default()),
                            ],
                            &p,
                        );
                        h.text_element("td", &[("class", "num")], &number(row.threshold));
                        h.element(
                            "td",
                            &[("class", "chart"), ("data-sort", &sort_key(severity(row)))],
                            |h| {
                                // p-value tests: drift when the p-value is *below* the threshold,
                                // so the bar shows -log10(p) against -log10(threshold).
                                let (value, threshold) = match row.p_value {
                                    Some(p) => (
                                        -libm::log10(p.max(1e-300)),
                                        -libm::log10(row.threshold.max(1e-300)),
                                    ),
                                    None => (row.statistic, row.threshold),
                                };
                                h.raw(&svg::threshold_bar(value, threshold, row.drifted, 140.0));
                            },
                        );
                        h.element(
                            "td",
                            &[("data-sort", if row.drifted { "1" } else { "0" })],
                            |h| {
                                if row.drifted {
                                    h.text_element("span", &[("class", "badge bad")], "drift");
                                } else {
                                    h.text_element("span", &[("class", "badge good")], "ok");
                                }
                            },
                        );
                    },
                );
            }
        });
    });
}
