//! Reports people can look at: statistics (one data set or two side by
//! side), drift results, anomalies and evaluations rendered into **one
//! self-contained HTML file** — inline CSS, a little inline script (sorting
//! and filtering; the page is complete without it) and inline SVG charts.
//! The page loads nothing from the network (its Content-Security-Policy
//! forbids it), so it works offline and can be attached to a ticket.
//!
//! ```text
//! statistics.json ─┐
//! drift JSON ──────┤  load_* ─▶ Report::new(title).with_…(…) ─render─▶ HTML ─write (atomic)─▶ report.html
//! anomalies JSON ──┤            sections: statistics_section, drift_section,
//! evaluation.json ─┘            anomalies_section, evaluation_section (svg charts, html escaping)
//! ```
//!
//! Every string that comes from data (feature names, category values,
//! descriptions) is escaped ([`escape`]).
//!
//! ```
//! use mlrig_pipeline::report::{Report, escape};
//! use mlrig_validate::{Anomalies, Anomaly, AnomalyKind};
//! let mut anomalies = Anomalies::default();
//! anomalies.push(Anomaly::new("<script>", AnomalyKind::SchemaNewColumn, "no such column", "-", 3, vec![]));
//! let html = Report::new("Nightly check").with_anomalies(anomalies).render();
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert!(html.contains("&lt;script&gt;"));
//! assert_eq!(html.matches("<script").count(), 1); // the page's own script only
//! let out = tempfile::tempdir()?;
//! Report::new("empty").write(&out.path().join("r.html"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod anomalies_section;
mod drift_section;
mod evaluation_section;
mod html;
mod inputs;
mod page;
mod statistics_section;
mod svg;

use std::path::Path;

use mlrig_train::Evaluation;
use mlrig_validate::{Anomalies, DatasetStatistics};

pub use drift_section::{DriftResults, DriftRow};
pub use html::escape;
pub use inputs::{load_anomalies, load_drift, load_evaluation, load_statistics};

use crate::PipelineError;

/// The sections of a report, in page order, with their anchors.
///
/// ```
/// assert_eq!(mlrig_pipeline::report::SECTIONS, ["statistics", "drift", "anomalies", "evaluation"]);
/// ```
pub const SECTIONS: [&str; 4] = ["statistics", "drift", "anomalies", "evaluation"];

/// A report under construction: add inputs, then [`render`](Self::render)
/// or [`write`](Self::write). See the [module](self) for an example.
#[derive(Debug, Clone, Default)]
pub struct Report {
    title: String,
    sources: Vec<String>,
    statistics: Vec<DatasetStatistics>,
    drift: Vec<DriftResults>,
    anomalies: Option<Anomalies>,
    evaluation: Option<Evaluation>,
}

impl Report {
    /// An empty report with a title.
    ///
    /// ```
    /// let r = mlrig_pipeline::report::Report::new("Weekly data check");
    /// assert!(r.sections().is_empty());
    /// ```
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    /// Names an input in the page's subtitle (e.g. a file name).
    ///
    /// ```
    /// let html = mlrig_pipeline::report::Report::new("r").with_source("train.csv").render();
    /// assert!(html.contains("train.csv"));
    /// ```
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.sources.push(source.into());
        self
    }

    /// Adds the statistics of a data set: the first call gives the
    /// statistics section, a second one the comparison (the first data set
    /// in blue, the second in orange, histograms overlaid); later ones are
    /// ignored.
    ///
    /// ```
    /// use mlrig_pipeline::report::Report;
    /// let r = Report::new("r").with_statistics(mlrig_validate::DatasetStatistics::default());
    /// assert_eq!(r.sections(), ["statistics"]);
    /// ```
    pub fn with_statistics(mut self, statistics: DatasetStatistics) -> Self {
        if self.statistics.len() < 2 {
            self.statistics.push(statistics);
        }
        self
    }

    /// Adds drift results (each group becomes a section).
    ///
    /// ```
    /// use mlrig_pipeline::report::{DriftResults, Report};
    /// let r = Report::new("r").with_drift(DriftResults::from_tests(&[], &[]));
    /// assert_eq!(r.sections(), ["drift"]);
    /// ```
    pub fn with_drift(mut self, drift: DriftResults) -> Self {
        self.drift.push(drift);
        self
    }

    /// Sets the anomalies of a validation.
    ///
    /// ```
    /// let r = mlrig_pipeline::report::Report::new("r").with_anomalies(Default::default());
    /// assert!(r.render().contains("No anomalies"));
    /// ```
    pub fn with_anomalies(mut self, anomalies: Anomalies) -> Self {
        self.anomalies = Some(anomalies);
        self
    }

    /// Sets the evaluation of a model (a bundle's `evaluation.json`).
    ///
    /// ```
    /// use mlrig_train::{BlessingThresholds, Evaluation, Task};
    /// let metrics = std::collections::BTreeMap::from([("r2".to_string(), 0.7)]);
    /// let e = Evaluation::new(Task::Regression, metrics, 80, 20, BlessingThresholds::default())?;
    /// let html = mlrig_pipeline::report::Report::new("r").with_evaluation(e).render();
    /// assert!(html.contains("id=\"evaluation\"") && html.contains("blessed"));
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_evaluation(mut self, evaluation: Evaluation) -> Self {
        self.evaluation = Some(evaluation);
        self
    }

    /// The sections the report has, in page order (names of [`SECTIONS`]).
    ///
    /// See [`Report::with_statistics`] for an example.
    pub fn sections(&self) -> Vec<&'static str> {
        let present = [
            !self.statistics.is_empty(),
            !self.drift.is_empty(),
            self.anomalies.is_some(),
            self.evaluation.is_some(),
        ];
        SECTIONS
            .iter()
            .zip(present)
            .filter_map(|(name, p)| p.then_some(*name))
            .collect()
    }

    /// The HTML document.
    ///
    /// See the [module](self) for an example.
    pub fn render(&self) -> String {
        let mut body = html::Html::new();
        let mut nav = Vec::new();
        if !self.statistics.is_empty() {
            let refs: Vec<&DatasetStatistics> = self.statistics.iter().collect();
            statistics_section::render(&mut body, &refs);
            nav.push(page::NavItem {
                anchor: "statistics".into(),
                title: "Statistics".into(),
            });
        }
        if !self.drift.is_empty() {
            drift_section::render(&mut body, &self.drift);
            for (g, group) in self.drift.iter().enumerate() {
                nav.push(page::NavItem {
                    anchor: if g == 0 {
                        "drift".into()
                    } else {
                        format!("drift-{g}")
                    },
                    title: group.title.clone(),
                });
            }
        }
        if let Some(anomalies) = &self.anomalies {
            anomalies_section::render(&mut body, anomalies);
            nav.push(page::NavItem {
                anchor: "anomalies".into(),
                title: "Anomalies".into(),
            });
        }
        if let Some(evaluation) = &self.evaluation {
            evaluation_section::render(&mut body, evaluation);
            nav.push(page::NavItem {
                anchor: "evaluation".into(),
                title: "Evaluation".into(),
            });
        }
        if nav.is_empty() {
            body.text_element("p", &[("class", "callout")], "This report has no inputs.");
        }
        let subtitle = if self.sources.is_empty() {
            "mlrig report".to_string()
        } else {
            self.sources.join(" · ")
        };
        page::document(&self.title, &subtitle, &nav, &body.finish())
    }

    /// Renders the report and writes it to `path` atomically.
    ///
    /// See the [module](self) for an example.
    pub fn write(&self, path: &Path) -> Result<(), PipelineError> {
        mlrig_core::write_atomic(path, self.render().as_bytes())?;
        Ok(())
    }
}
