//! The statistics section: one data set, or two side by side (Facets
//! Overview style) — per-feature counts, missing share, moments, quantiles,
//! histograms and top values.

use mlrig_validate::{
    DatasetStatistics, FeatureStatistics, HistogramType, NumericStatistics, ValueStatistics,
};

use super::html::{Html, number, percent, sort_key};
use super::svg;

/// Most frequent values shown per categorical feature.
const TOP_VALUES: usize = 10;

/// Writes the section for `datasets` (one or two; a third and more are ignored).
pub(crate) fn render(h: &mut Html, datasets: &[&DatasetStatistics]) {
    let datasets = &datasets[..datasets.len().min(2)];
    let names: Vec<String> = datasets
        .iter()
        .enumerate()
        .map(|(i, d)| dataset_name(d, i))
        .collect();
    h.element("section", &[("id", "statistics")], |h| {
        h.text_element(
            "h2",
            &[],
            if datasets.len() == 2 {
                "Statistics: comparison"
            } else {
                "Statistics"
            },
        );
        h.element("div", &[("class", "cards")], |h| {
            for (i, d) in datasets.iter().enumerate() {
                h.element("div", &[("class", "card")], |h| {
                    swatch(h, i, datasets.len());
                    h.text_element("strong", &[], &names[i]);
                    h.text_element(
                        "p",
                        &[],
                        &format!(
                            "{} rows · {} features",
                            number(d.num_examples() as f64),
                            d.features().len()
                        ),
                    );
                });
            }
        });
        let features = union(datasets);
        let kind = |f: &[Option<&FeatureStatistics>]| {
            f.iter()
                .flatten()
                .map(|f| match f.stats {
                    ValueStatistics::Numeric(_) => 0,
                    ValueStatistics::String(_) => 1,
                    _ => 2,
                })
                .min()
                .unwrap_or(2)
        };
        let numeric: Vec<_> = features.iter().filter(|(_, f)| kind(f) == 0).collect();
        let categorical: Vec<_> = features.iter().filter(|(_, f)| kind(f) == 1).collect();
        let other: Vec<_> = features.iter().filter(|(_, f)| kind(f) == 2).collect();
        if !numeric.is_empty() {
            h.text_element("h3", &[], &format!("Numeric features ({})", numeric.len()));
            numeric_table(h, &numeric);
        }
        if !categorical.is_empty() {
            h.text_element(
                "h3",
                &[],
                &format!("Categorical features ({})", categorical.len()),
            );
            categorical_table(h, &categorical);
        }
        if !other.is_empty() {
            h.text_element("h3", &[], &format!("Other features ({})", other.len()));
            other_table(h, &other);
        }
    });
}

type Row<'a> = (String, Vec<Option<&'a FeatureStatistics>>);

/// Every feature name (first data set's order, then new ones) with its
/// statistics in each data set.
fn union<'a>(datasets: &[&'a DatasetStatistics]) -> Vec<Row<'a>> {
    let mut names: Vec<&str> = Vec::new();
    for d in datasets {
        for f in d.features() {
            if !names.contains(&f.name.as_str()) {
                names.push(&f.name);
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            (
                name.to_string(),
                datasets.iter().map(|d| d.feature(name)).collect(),
            )
        })
        .collect()
}

fn dataset_name(d: &DatasetStatistics, i: usize) -> String {
    if d.name.trim().is_empty() {
        if i == 0 {
            "reference".into()
        } else {
            "current".into()
        }
    } else {
        d.name.clone()
    }
}

fn swatch(h: &mut Html, i: usize, of: usize) {
    if of > 1 {
        h.element("span", &[("class", &format!("swatch s{i}"))], |_| {});
    }
}

fn table_head(h: &mut Html, columns: &[&str]) {
    h.element("thead", &[], |h| {
        h.element("tr", &[], |h| {
            for c in columns {
                h.text_element("th", &[], c);
            }
        });
    });
}

/// A cell with one line per data set; sorted by the first data set's value.
fn stacked(h: &mut Html, values: &[Option<(f64, String, &'static str)>]) {
    let key = values
        .iter()
        .flatten()
        .next()
        .map(|v| sort_key(v.0))
        .unwrap_or_default();
    h.element("td", &[("class", "num"), ("data-sort", &key)], |h| {
        let n = values.len();
        for (i, value) in values.iter().enumerate() {
            h.element(
                "div",
                &[("class", value.as_ref().map_or("", |v| v.2))],
                |h| {
                    swatch(h, i, n);
                    match value {
                        Some((_, text, _)) => h.text(text),
                        None => h.text("—"),
                    };
                },
            );
        }
    });
}

fn common_counts(f: &FeatureStatistics) -> (u64, u64) {
    f.common()
        .map_or((0, 0), |c| (c.num_non_missing, c.num_missing))
}

fn missing_cell(
    features: &[Option<&FeatureStatistics>],
) -> Vec<Option<(f64, String, &'static str)>> {
    features
        .iter()
        .map(|f| {
            f.map(|f| {
                let (present, missing) = common_counts(f);
                let total = (present + missing) as f64;
                let share = if total > 0.0 {
                    missing as f64 / total
                } else {
                    0.0
                };
                let class = if share >= 0.5 {
                    "bad"
                } else if share > 0.0 {
                    "warn"
                } else {
                    ""
                };
                (share, percent(missing as f64, total), class)
            })
        })
        .collect()
}

fn count_cell(features: &[Option<&FeatureStatistics>]) -> Vec<Option<(f64, String, &'static str)>> {
    features
        .iter()
        .map(|f| {
            f.map(|f| {
                let present = common_counts(f).0 as f64;
                (present, number(present), "")
            })
        })
        .collect()
}

fn feature_cell(h: &mut Html, name: &str) {
    h.element("td", &[("class", "feature"), ("data-sort", name)], |h| {
        h.text(name);
    });
}

fn numeric_table(h: &mut Html, rows: &[&Row<'_>]) {
    h.element("table", &[("class", "data sortable filterable")], |h| {
        table_head(
            h,
            &[
                "Feature",
                "Count",
                "Missing",
                "Mean",
                "Std dev",
                "Zeros",
                "Min",
                "Median",
                "Max",
                "Distribution",
            ],
        );
        h.element("tbody", &[], |h| {
            for (name, features) in rows {
                h.element("tr", &[], |h| {
                    feature_cell(h, name);
                    stacked(h, &count_cell(features));
                    stacked(h, &missing_cell(features));
                    let stat = |get: &dyn Fn(&NumericStatistics) -> f64| {
                        features
                            .iter()
                            .map(|f| {
                                f.and_then(|f| f.numeric())
                                    .map(|n| (get(n), number(get(n)), ""))
                            })
                            .collect::<Vec<_>>()
                    };
                    stacked(h, &stat(&|n: &NumericStatistics| n.mean));
                    stacked(h, &stat(&|n: &NumericStatistics| n.std_dev));
                    let zeros: Vec<_> = features
                        .iter()
                        .map(|f| {
                            f.and_then(|f| f.numeric()).map(|n| {
                                let total = n.common_stats.num_non_missing as f64;
                                let share = if total > 0.0 {
                                    n.num_zeros as f64 / total
                                } else {
                                    0.0
                                };
                                (
                                    share,
                                    percent(n.num_zeros as f64, total),
                                    if share >= 0.5 { "warn" } else { "" },
                                )
                            })
                        })
                        .collect();
                    stacked(h, &zeros);
                    stacked(h, &stat(&|n: &NumericStatistics| n.min));
                    stacked(h, &stat(&|n: &NumericStatistics| n.median));
                    stacked(h, &stat(&|n: &NumericStatistics| n.max));
                    let series: Vec<svg::Buckets> = features
                        .iter()
                        .map(|f| {
                            f.and_then(|f| f.numeric())
                                .and_then(|n| n.histogram(HistogramType::Standard))
                                .map(|hist| {
                                    hist.buckets
                                        .iter()
                                        .map(|b| (b.low_value, b.high_value, b.sample_count))
                                        .collect()
                                })
                                .unwrap_or_default()
                        })
                        .collect();
                    h.element("td", &[("class", "chart")], |h| {
                        h.raw(&svg::histogram(&series, 180.0, 54.0));
                    });
                });
            }
        });
    });
}

fn categorical_table(h: &mut Html, rows: &[&Row<'_>]) {
    h.element("table", &[("class", "data sortable filterable")], |h| {
        table_head(
            h,
            &[
                "Feature",
                "Count",
                "Missing",
                "Unique",
                "Top value",
                "Avg length",
                "Top values (share of rows with a value)",
            ],
        );
        h.element("tbody", &[], |h| {
            for (name, features) in rows {
                h.element("tr", &[], |h| {
                    feature_cell(h, name);
                    stacked(h, &count_cell(features));
                    stacked(h, &missing_cell(features));
                    let strings: Vec<_> = features
                        .iter()
                        .map(|f| f.and_then(|f| f.string()))
                        .collect();
                    let unique: Vec<_> = strings
                        .iter()
                        .zip(features.iter())
                        .map(|(s, f)| {
                            s.map(|s| {
                                let capped = f.is_some_and(|f| f.distinct_capped());
                                let text = format!(
                                    "{}{}",
                                    number(s.unique as f64),
                                    if capped { "+" } else { "" }
                                );
                                (s.unique as f64, text, "")
                            })
                        })
                        .collect();
                    stacked(h, &unique);
                    let top: Vec<_> = strings
                        .iter()
                        .map(|s| {
                            s.map(|s| {
                                let value = s
                                    .top_values
                                    .first()
                                    .map_or("—".to_string(), |t| t.value.clone());
                                (0.0, value, "")
                            })
                        })
                        .collect();
                    // Sort by name rather than by an arbitrary number.
                    let top_key = top
                        .iter()
                        .flatten()
                        .next()
                        .map(|t| t.1.clone())
                        .unwrap_or_default();
                    h.element("td", &[("data-sort", &top_key)], |h| {
                        let n = top.len();
                        for (i, t) in top.iter().enumerate() {
                            h.element("div", &[], |h| {
                                swatch(h, i, n);
                                h.text(t.as_ref().map_or("—", |t| t.1.as_str()));
                            });
                        }
                    });
                    let lengths: Vec<_> = strings
                        .iter()
                        .map(|s| {
                            s.map(|s| {
                                (f64::from(s.avg_length), number(f64::from(s.avg_length)), "")
                            })
                        })
                        .collect();
                    stacked(h, &lengths);
                    h.element("td", &[("class", "chart")], |h| {
                        h.raw(&top_values_chart(features));
                    });
                });
            }
        });
    });
}

/// Bars of the top values of the first data set (then the second's own top
/// values), as percentages of each data set's rows with a value.
fn top_values_chart(features: &[Option<&FeatureStatistics>]) -> String {
    let mut labels: Vec<String> = Vec::new();
    for f in features.iter().flatten() {
        if let Some(s) = f.string() {
            for t in &s.top_values {
                if labels.len() >= TOP_VALUES {
                    break;
                }
                if !labels.contains(&t.value) {
                    labels.push(t.value.clone());
                }
            }
        }
    }
    let rows: Vec<(String, Vec<f64>)> = labels
        .into_iter()
        .map(|label| {
            let shares = features
                .iter()
                .map(|f| {
                    let Some(f) = f else { return 0.0 };
                    let present = common_counts(f).0 as f64;
                    let frequency = f
                        .string()
                        .and_then(|s| s.top_values.iter().find(|t| t.value == label))
                        .map_or(0.0, |t| t.frequency);
                    if present > 0.0 {
                        100.0 * frequency / present
                    } else {
                        0.0
                    }
                })
                .collect();
            (label, shares)
        })
        .collect();
    let scale = rows
        .iter()
        .flat_map(|r| r.1.iter().copied())
        .fold(0.0_f64, f64::max);
    svg::bars(&rows, scale, 300.0, "%")
}

fn other_table(h: &mut Html, rows: &[&Row<'_>]) {
    h.element("table", &[("class", "data sortable filterable")], |h| {
        table_head(h, &["Feature", "Count", "Missing"]);
        h.element("tbody", &[], |h| {
            for (name, features) in rows {
                h.element("tr", &[], |h| {
                    feature_cell(h, name);
                    stacked(h, &count_cell(features));
                    stacked(h, &missing_cell(features));
                });
            }
        });
    });
}
