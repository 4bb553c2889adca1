//! The anomalies section: what a validation against a schema found, one
//! row per feature and kind.

use mlrig_validate::{Anomalies, Severity};

use super::html::{Html, number};

/// Writes the section.
pub(crate) fn render(h: &mut Html, anomalies: &Anomalies) {
    h.element("section", &[("id", "anomalies")], |h| {
        h.text_element("h2", &[], "Anomalies");
        if anomalies.is_empty() {
            h.text_element(
                "p",
                &[("class", "callout good")],
                "No anomalies: the data matches the schema.",
            );
            return;
        }
        h.text_element(
            "p",
            &[("class", "callout bad")],
            &format!(
                "{} {} found.",
                anomalies.len(),
                if anomalies.len() == 1 {
                    "anomaly"
                } else {
                    "anomalies"
                }
            ),
        );
        table(h, anomalies);
    });
}

/// The anomalies table alone (also used by the drift section for the schema
/// comparators' anomalies).
pub(crate) fn table(h: &mut Html, anomalies: &Anomalies) {
    if anomalies.is_empty() {
        h.text_element("p", &[("class", "callout good")], "No anomalies.");
        return;
    }
    h.element("table", &[("class", "data sortable filterable")], |h| {
        h.element("thead", &[], |h| {
            h.element("tr", &[], |h| {
                for c in [
                    "Feature",
                    "Kind",
                    "Severity",
                    "Description",
                    "Expected",
                    "Found",
                    "Examples",
                ] {
                    h.text_element("th", &[], c);
                }
            });
        });
        h.element("tbody", &[], |h| {
            if anomalies.data_missing {
                h.element("tr", &[("class", "drifted")], |h| {
                    h.text_element("td", &[("class", "feature")], "(data set)");
                    h.text_element("td", &[], "DATA_MISSING");
                    h.text_element("td", &[], "ERROR");
                    h.text_element("td", &[], "The data has no examples.");
                    for _ in 0..3 {
                        h.text_element("td", &[], "");
                    }
                });
            }
            for a in anomalies {
                let severity = match a.severity {
                    Severity::Error => "ERROR",
                    Severity::Warning => "WARNING",
                    _ => "UNKNOWN",
                };
                let class = if a.severity == Severity::Error {
                    "drifted"
                } else {
                    ""
                };
                h.element("tr", &[("class", class)], |h| {
                    let feature = if a.feature.is_empty() {
                        "(data set)"
                    } else {
                        a.feature.as_str()
                    };
                    h.text_element("td", &[("class", "feature")], feature);
                    h.element("td", &[("title", a.kind.short_description())], |h| {
                        h.text_element("code", &[], a.kind.name());
                    });
                    h.element("td", &[], |h| {
                        h.text_element(
                            "span",
                            &[(
                                "class",
                                if a.severity == Severity::Error {
                                    "badge bad"
                                } else {
                                    "badge warn"
                                },
                            )],
                            severity,
                        );
                    });
                    h.text_element("td", &[], &a.description);
                    h.text_element("td", &[], &a.expected);
                    h.text_element("td", &[], &a.found);
                    h.text_element(
                        "td",
                        &[("class", "num"), ("data-sort", &a.count.to_string())],
                        &number(a.count as f64),
                    );
                });
            }
        });
    });
}
