//! The evaluation section: the blessing, metrics (with thresholds and the
//! baseline), ROC / precision–recall / calibration charts, the confusion
//! matrix as a heat table, per-slice metrics and feature importances.

use mlrig_train::{Evaluation, EvaluationCurves};

use super::html::{Html, number, sort_key};
use super::svg::{self, Line, Range};

/// Writes the section.
pub(crate) fn render(h: &mut Html, evaluation: &Evaluation) {
    h.element("section", &[("id", "evaluation")], |h| {
        h.text_element("h2", &[], "Evaluation");
        let blessed = evaluation.blessed();
        h.element("div", &[("class", "cards")], |h| {
            h.element(
                "div",
                &[("class", if blessed { "card good" } else { "card bad" })],
                |h| {
                    h.text_element(
                        "div",
                        &[("class", "card-value")],
                        if blessed { "blessed" } else { "not blessed" },
                    );
                    h.text_element("div", &[("class", "card-label")], "Decision");
                },
            );
            for (label, value) in [
                ("Training rows", evaluation.train_rows()),
                ("Evaluation rows", evaluation.eval_rows()),
            ] {
                h.element("div", &[("class", "card")], |h| {
                    h.text_element("div", &[("class", "card-value")], &number(value as f64));
                    h.text_element("div", &[("class", "card-label")], label);
                });
            }
        });
        if !evaluation.reasons().is_empty() {
            h.element("ul", &[("class", "callout bad")], |h| {
                for reason in evaluation.reasons() {
                    h.text_element("li", &[], reason);
                }
            });
        }
        metrics_table(h, evaluation);
        if let Some(curves) = evaluation.curves() {
            charts(h, evaluation, curves);
        }
        if !evaluation.slices().is_empty() {
            slices_table(h, evaluation);
        }
        if !evaluation.importances().is_empty() {
            h.text_element("h3", &[], "Feature importance (gain)");
            let rows: Vec<(String, Vec<f64>)> = evaluation
                .importances()
                .iter()
                .take(30)
                .map(|i| (i.feature.clone(), vec![i.gain]))
                .collect();
            let scale = rows.iter().map(|r| r.1[0]).fold(0.0_f64, f64::max);
            h.element("div", &[("class", "panel")], |h| {
                h.raw(&svg::bars(&rows, scale, 640.0, ""));
            });
        }
        if !evaluation.checks().is_empty() {
            h.text_element("h3", &[], "Checks");
            h.element("table", &[("class", "data")], |h| {
                h.element("tbody", &[], |h| {
                    for check in evaluation.checks() {
                        h.element("tr", &[], |h| {
                            h.text_element("td", &[("class", "feature")], &check.name);
                            h.element("td", &[], |h| {
                                let (class, text) = if check.passed {
                                    ("badge good", "passed")
                                } else {
                                    ("badge bad", "failed")
                                };
                                h.text_element("span", &[("class", class)], text);
                            });
                            h.text_element("td", &[], &check.details.join(" "));
                        });
                    }
                });
            });
        }
    });
}

fn metrics_table(h: &mut Html, evaluation: &Evaluation) {
    let thresholds = evaluation.thresholds();
    let baseline = evaluation.baseline();
    h.text_element("h3", &[], "Metrics");
    h.element("table", &[("class", "data sortable")], |h| {
        h.element("thead", &[], |h| {
            h.element("tr", &[], |h| {
                h.text_element("th", &[], "Metric");
                h.text_element("th", &[], "Value");
                h.text_element("th", &[], "Bounds");
                if let Some(b) = baseline {
                    h.text_element("th", &[], &format!("Baseline ({})", b.label));
                    h.text_element("th", &[], "Change");
                }
            });
        });
        h.element("tbody", &[], |h| {
            for (name, value) in evaluation.metrics() {
                h.element("tr", &[], |h| {
                    h.text_element("td", &[("class", "feature")], name);
                    h.text_element(
                        "td",
                        &[("class", "num"), ("data-sort", &sort_key(*value))],
                        &number(*value),
                    );
                    let mut bounds = Vec::new();
                    if let Some(min) = thresholds.min.get(name) {
                        bounds.push(format!("≥ {}", number(*min)));
                    }
                    if let Some(max) = thresholds.max.get(name) {
                        bounds.push(format!("≤ {}", number(*max)));
                    }
                    h.text_element("td", &[], &bounds.join(", "));
                    if let Some(b) = baseline {
                        match b.delta(None, name) {
                            Some(d) => {
                                h.text_element("td", &[("class", "num")], &number(d.baseline));
                                let class = if d.worse_by.is_some_and(|w| w > 0.0) {
                                    "num bad-text"
                                } else {
                                    "num"
                                };
                                h.text_element(
                                    "td",
                                    &[("class", class)],
                                    &format!("{:+.4}", d.change),
                                );
                            }
                            None => {
                                h.text_element("td", &[], "—");
                                h.text_element("td", &[], "—");
                            }
                        }
                    }
                });
            }
            for (name, why) in evaluation.omitted() {
                h.element("tr", &[("class", "muted")], |h| {
                    h.text_element("td", &[("class", "feature")], name);
                    h.text_element("td", &[], "—");
                    h.text_element("td", &[], why);
                    if baseline.is_some() {
                        h.text_element("td", &[], "");
                        h.text_element("td", &[], "");
                    }
                });
            }
        });
    });
}

fn charts(h: &mut Html, evaluation: &Evaluation, curves: &EvaluationCurves) {
    let regression = matches!(evaluation.task(), mlrig_core::Task::Regression);
    let positive = curves.positive_class.clone().unwrap_or_default();
    let metric = |name: &str| {
        evaluation
            .metrics()
            .get(name)
            .map(|v| format!(" = {}", number(*v)))
            .unwrap_or_default()
    };
    let has_charts = !curves.roc.is_empty()
        || !curves.precision_recall.is_empty()
        || !curves.calibration.is_empty();
    if has_charts {
        h.text_element("h3", &[], "Curves");
        h.element("div", &[("class", "charts")], |h| {
            if !curves.roc.is_empty() {
                figure(
                    h,
                    &format!(
                        "ROC curve (positive class: {positive}; AUC{})",
                        metric("roc_auc")
                    ),
                    |h| {
                        let line = Line {
                            name: "ROC".into(),
                            points: curves.roc.iter().map(|p| (p.x, p.y)).collect(),
                            dots: false,
                        };
                        h.raw(&svg::line_chart(
                            &[line],
                            "false positive rate",
                            "true positive rate",
                            Range::Unit,
                            true,
                        ));
                    },
                );
            }
            if !curves.precision_recall.is_empty() {
                figure(
                    h,
                    &format!(
                        "Precision–recall (average precision{})",
                        metric("average_precision")
                    ),
                    |h| {
                        let line = Line {
                            name: "precision–recall".into(),
                            points: curves.precision_recall.iter().map(|p| (p.x, p.y)).collect(),
                            dots: false,
                        };
                        h.raw(&svg::line_chart(
                            &[line],
                            "recall",
                            "precision",
                            Range::Unit,
                            false,
                        ));
                    },
                );
            }
            if !curves.calibration.is_empty() {
                let (title, x, y, range) = if regression {
                    (
                        "Predicted vs actual (10 groups of equal size)",
                        "mean prediction",
                        "mean actual value",
                        Range::Data,
                    )
                } else if curves.positive_class.is_some() {
                    (
                        "Calibration (reliability diagram)",
                        "mean predicted probability",
                        "fraction of positives",
                        Range::Unit,
                    )
                } else {
                    (
                        "Calibration of the predicted class",
                        "mean predicted probability",
                        "fraction predicted right",
                        Range::Unit,
                    )
                };
                figure(h, title, |h| {
                    let line = Line {
                        name: "calibration".into(),
                        points: curves
                            .calibration
                            .iter()
                            .map(|p| (p.predicted, p.observed))
                            .collect(),
                        dots: true,
                    };
                    h.raw(&svg::line_chart(&[line], x, y, range, true));
                });
            }
        });
    }
    if let Some(matrix) = &curves.confusion_matrix {
        h.text_element(
            "h3",
            &[],
            "Confusion matrix (rows: true class, columns: predicted class)",
        );
        let largest = matrix
            .counts
            .iter()
            .flatten()
            .copied()
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        h.element("table", &[("class", "confusion")], |h| {
            h.element("thead", &[], |h| {
                h.element("tr", &[], |h| {
                    h.text_element("th", &[], "true \\ predicted");
                    for class in &matrix.classes {
                        h.text_element("th", &[], class);
                    }
                    h.text_element("th", &[], "recall");
                });
            });
            h.element("tbody", &[], |h| {
                for (t, row) in matrix.counts.iter().enumerate() {
                    let class = matrix.classes.get(t).map_or("", String::as_str);
                    let total: u64 = row.iter().sum();
                    h.element("tr", &[], |h| {
                        h.text_element("th", &[], class);
                        for (p, &count) in row.iter().enumerate() {
                            let alpha = count as f64 / largest;
                            let diagonal = p == t;
                            let (r, g, b) = if diagonal {
                                (56, 103, 214)
                            } else {
                                (235, 59, 90)
                            };
                            let style = format!(
                                "background: rgba({r}, {g}, {b}, {alpha:.3}); color: {}",
                                if alpha > 0.55 { "#fff" } else { "#1e272e" }
                            );
                            h.text_element(
                                "td",
                                &[("style", &style), ("class", "num")],
                                &number(count as f64),
                            );
                        }
                        let recall = if total > 0 {
                            row.get(t).map_or(0.0, |&c| c as f64 / total as f64)
                        } else {
                            f64::NAN
                        };
                        h.text_element(
                            "td",
                            &[("class", "num muted")],
                            &if recall.is_nan() {
                                "—".into()
                            } else {
                                format!("{:.3}", recall)
                            },
                        );
                    });
                }
            });
        });
    }
}

fn figure(h: &mut Html, caption: &str, content: impl FnOnce(&mut Html)) {
    h.element("figure", &[("class", "panel")], |h| {
        content(h);
        h.text_element("figcaption", &[], caption);
    });
}

fn slices_table(h: &mut Html, evaluation: &Evaluation) {
    let mut names: Vec<&String> = evaluation
        .slices()
        .iter()
        .flat_map(|s| s.metrics.keys())
        .collect();
    names.sort_unstable();
    names.dedup();
    h.text_element("h3", &[], "Slices");
    h.element("div", &[("class", "scroll")], |h| {
        slices_rows(h, evaluation, &names);
    });
}

fn slices_rows(h: &mut Html, evaluation: &Evaluation, names: &[&String]) {
    h.element(
        "table",
        &[("class", "data sortable filterable wide")],
        |h| {
            h.element("thead", &[], |h| {
                h.element("tr", &[], |h| {
                    h.text_element("th", &[], "Slice");
                    h.text_element("th", &[], "Rows");
                    for name in names {
                        // `expected calibration error` wraps; `expected_calibration_error` cannot.
                        h.text_element("th", &[("title", name)], &name.replace('_', " "));
                    }
                });
            });
            h.element("tbody", &[], |h| {
                for slice in evaluation.slices() {
                    let failing = evaluation
                        .reasons()
                        .iter()
                        .any(|r| r.starts_with(&format!("slice {}:", slice.key())));
                    h.element(
                        "tr",
                        &[("class", if failing { "drifted" } else { "" })],
                        |h| {
                            h.text_element(
                                "td",
                                &[("class", "feature"), ("data-sort", &slice.key())],
                                &slice.key(),
                            );
                            h.text_element(
                                "td",
                                &[("class", "num"), ("data-sort", &slice.rows.to_string())],
                                &number(slice.rows as f64),
                            );
                            for name in names {
                                match slice.metrics.get(*name) {
                                    Some(v) => {
                                        let overall = evaluation.metrics().get(*name);
                                        let worse =
                                            match (overall, mlrig_train::higher_is_better(name)) {
                                                (Some(o), Some(true)) => *v < *o,
                                                (Some(o), Some(false)) => *v > *o,
                                                _ => false,
                                            };
                                        let class = if worse { "num worse" } else { "num" };
                                        h.text_element(
                                            "td",
                                            &[("class", class), ("data-sort", &sort_key(*v))],
                                            &number(*v),
                                        );
                                    }
                                    None => {
                                        h.text_element("td", &[("class", "muted")], "—");
                                    }
                                }
                            }
                        },
                    );
                }
            });
        },
    );
}
