//! Checking a schema's [`DatasetConstraints`] (constraints on a dataset as a
//! whole; the tfmd message itself lives with the other schema messages) as
//! TFDV does: [`DatasetConstraints::check`] on example counts
//! ([`NumExamples`]) and [`check_dataset_constraints`] on statistics.
//!
//! | constraint | anomaly (dataset-level) |
//! |---|---|
//! | `min_examples_count` above the number of examples | `DATASET_LOW_NUM_EXAMPLES` |
//! | `max_examples_count` below the number of examples | `DATASET_HIGH_NUM_EXAMPLES` |
//! | `num_examples_drift_comparator` / `num_examples_version_comparator`: the ratio of examples to the previous span's / version's below `min_fraction_threshold` | `COMPARATOR_LOW_NUM_EXAMPLES` |
//! | … above `max_fraction_threshold` | `COMPARATOR_HIGH_NUM_EXAMPLES` |
//!
//! The comparators are checked only when the previous span's (or
//! version's) example count is known and not zero (with no examples there is
//! no ratio). Descriptions are TFDV's, word for word; `expected` and `found`
//! give the numbers.
//!
//! ```text
//! dataset_constraints {
//!   num_examples_drift_comparator {
//!     min_fraction_threshold: 0.5
//!     max_fraction_threshold: 2.0
//!   }
//!   min_examples_count: 1000
//! }
//! ```

use serde::{Deserialize, Serialize};

use crate::anomalies::{Anomalies, Anomaly, AnomalyKind};
use crate::schema::{DatasetConstraints, NumericValueComparator, Schema};
use crate::statistics::DatasetStatistics;

/// The example counts [`DatasetConstraints::check`] compares.
///
/// ```
/// let n = mlrig_validate::NumExamples::new(120).with_previous_span(100);
/// assert_eq!((n.current, n.previous_span, n.previous_version), (120, Some(100), None));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NumExamples {
    /// Examples in the dataset being validated.
    pub current: u64,
    /// Examples in the previous span (for `num_examples_drift_comparator`).
    pub previous_span: Option<u64>,
    /// Examples in the previous version (for `num_examples_version_comparator`).
    pub previous_version: Option<u64>,
}

impl NumExamples {
    /// `current` examples, no previous span or version.
    ///
    /// ```
    /// assert_eq!(mlrig_validate::NumExamples::new(3).previous_span, None);
    /// ```
    pub fn new(current: u64) -> Self {
        Self {
            current,
            previous_span: None,
            previous_version: None,
        }
    }

    /// Sets [`previous_span`](Self::previous_span).
    ///
    /// ```
    /// assert_eq!(mlrig_validate::NumExamples::new(3).with_previous_span(4).previous_span, Some(4));
    /// ```
    pub fn with_previous_span(mut self, count: u64) -> Self {
        self.previous_span = Some(count);
        self
    }

    /// Sets [`previous_version`](Self::previous_version).
    ///
    /// ```
    /// assert_eq!(mlrig_validate::NumExamples::new(3).with_previous_version(4).previous_version, Some(4));
    /// ```
    pub fn with_previous_version(mut self, count: u64) -> Self {
        self.previous_version = Some(count);
        self
    }
}

impl DatasetConstraints {
    /// The dataset-level anomalies of `counts` (see the module docs), in
    /// TFDV's order: drift comparator, version comparator, min count, max
    /// count.
    ///
    /// ```
    /// use mlrig_validate::{AnomalyKind, DatasetConstraints, NumExamples, NumericValueComparator};
    /// let c = DatasetConstraints {
    ///     num_examples_drift_comparator: Some(NumericValueComparator { unmodelled: Default::default(),
    ///         min_fraction_threshold: Some(0.5),
    ///         max_fraction_threshold: Some(1.5),
    ///     }),
    ///     min_examples_count: Some(10),
    ///     ..DatasetConstraints::default()
    /// };
    /// let found = c.check(NumExamples::new(4).with_previous_span(10));
    /// let kinds: Vec<_> = found.iter().map(|a| a.kind.name()).collect();
    /// assert_eq!(kinds, ["COMPARATOR_LOW_NUM_EXAMPLES", "DATASET_LOW_NUM_EXAMPLES"]);
    /// assert_eq!(found[0].description,
    ///     "The ratio of num examples in the current dataset versus the previous span is 0.4 \
    ///      (up to six significant digits), which is below the threshold 0.5.");
    /// assert_eq!(found[1].to_string(),
    ///     "(dataset): DATASET_LOW_NUM_EXAMPLES: expected at least 10 examples, found 4 examples");
    /// ```
    pub fn check(&self, counts: NumExamples) -> Vec<Anomaly> {
        let mut found = Vec::new();
        let comparators = [
            (
                &self.num_examples_drift_comparator,
                counts.previous_span,
                "previous span",
            ),
            (
                &self.num_examples_version_comparator,
                counts.previous_version,
                "previous version",
            ),
        ];
        for (comparator, control, control_name) in comparators {
            if let (Some(comparator), Some(control)) = (comparator, control) {
                compare_counts(
                    comparator,
                    counts.current,
                    control,
                    control_name,
                    &mut found,
                );
            }
        }
        let n = counts.current;
        if let Some(min) = self.min_examples_count
            && i128::from(n) < i128::from(min)
        {
            found.push(dataset_anomaly(
                AnomalyKind::DatasetLowNumExamples,
                format!("at least {min} examples"),
                format!("{n} examples"),
                format!("The dataset has {n} examples, which is fewer than expected."),
            ));
        }
        if let Some(max) = self.max_examples_count
            && i128::from(n) > i128::from(max)
        {
            found.push(dataset_anomaly(
                AnomalyKind::DatasetHighNumExamples,
                format!("at most {max} examples"),
                format!("{n} examples"),
                format!("The dataset has {n} examples, which is more than expected."),
            ));
        }
        found
    }
}

fn compare_counts(
    comparator: &NumericValueComparator,
    current: u64,
    control: u64,
    control_name: &str,
    found: &mut Vec<Anomaly>,
) {
    if control == 0 {
        return;
    }
    let ratio = current as f64 / control as f64;
    let sentence = |side: &str, threshold: f64| {
        format!(
            "The ratio of num examples in the current dataset versus the {control_name} is {} \
             (up to six significant digits), which is {side} the threshold {}.",
            six_significant_digits(ratio),
            six_significant_digits(threshold)
        )
    };
    let found_text = format!(
        "{current} examples, {} × the {control_name}'s {control}",
        six_significant_digits(ratio)
    );
    if let Some(min) = comparator.min_fraction_threshold
        && ratio < min
    {
        found.push(dataset_anomaly(
            AnomalyKind::ComparatorLowNumExamples,
            format!(
                "at least {} × the {control_name}'s {control} examples",
                six_significant_digits(min)
            ),
            found_text.clone(),
            sentence("below", min),
        ));
    }
    if let Some(max) = comparator.max_fraction_threshold
        && ratio > max
    {
        found.push(dataset_anomaly(
            AnomalyKind::ComparatorHighNumExamples,
            format!(
                "at most {} × the {control_name}'s {control} examples",
                six_significant_digits(max)
            ),
            found_text,
            sentence("above", max),
        ));
    }
}

fn dataset_anomaly(
    kind: AnomalyKind,
    expected: String,
    found: String,
    description: String,
) -> Anomaly {
    Anomaly::new(Anomaly::DATASET, kind, expected, found, 0, Vec::new())
        .with_description(description)
}

/// `x` as C's `%g` (and so TFDV's `absl::StrCat`) writes it: six
/// significant digits, trailing zeros dropped, exponent form outside
/// `[1e-4, 1e6)`.
fn six_significant_digits(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if x == 0.0 {
        return "0".into();
    }
    let scientific = format!("{x:.5e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..6).contains(&exponent) {
        let decimals = usize::try_from(5 - exponent).unwrap_or(0);
        trim(&format!("{x:.decimals$}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    }
}

/// The dataset-level anomalies of `statistics` against the schema's
/// [`DatasetConstraints`], as TFDV's `validate_statistics` with
/// `previous_span_statistics` / `previous_version_statistics` reports them.
/// A schema without `dataset_constraints` gives no anomalies.
///
/// ```
/// use mlrig_validate::*;
/// let mut schema = Schema::default();
/// schema.dataset_constraints = Some(DatasetConstraints {
///     max_examples_count: Some(2),
///     ..DatasetConstraints::default()
/// });
/// let mut stats = DatasetStatistics::default();
/// stats.num_examples = 3;
/// let found = check_dataset_constraints(&schema, &stats, None, None);
/// assert_eq!(found.get(Anomaly::DATASET, &AnomalyKind::DatasetHighNumExamples).unwrap().found,
///            "3 examples");
/// ```
pub fn check_dataset_constraints(
    schema: &Schema,
    statistics: &DatasetStatistics,
    previous_span: Option<&DatasetStatistics>,
    previous_version: Option<&DatasetStatistics>,
) -> Anomalies {
    let mut anomalies = Anomalies::default();
    if let Some(constraints) = &schema.dataset_constraints {
        let counts = NumExamples {
            current: statistics.num_examples,
            previous_span: previous_span.map(|s| s.num_examples),
            previous_version: previous_version.map(|s| s.num_examples),
        };
        for anomaly in constraints.check(counts) {
            anomalies.push(anomaly);
        }
    }
    anomalies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_significant_digits_is_percent_g() {
        for (x, expected) in [
            (0.4, "0.4"),
            (4.0 / 3.0, "1.33333"),
            (1.5, "1.5"),
            (2.0, "2"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (9.9999996, "10"),
            (-0.25, "-0.25"),
            (0.0, "0"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(six_significant_digits(x), expected, "{x}");
        }
    }

    #[test]
    fn comparators_match_tfdv_descriptions_and_skip_an_empty_control() {
        let constraints = DatasetConstraints {
            num_examples_drift_comparator: Some(NumericValueComparator {
                unmodelled: Default::default(),
                min_fraction_threshold: Some(0.5),
                max_fraction_threshold: Some(1.5),
            }),
            num_examples_version_comparator: Some(NumericValueComparator {
                unmodelled: Default::default(),
                min_fraction_threshold: Some(0.9),
                max_fraction_threshold: Some(1.2),
            }),
            ..DatasetConstraints::default()
        };
        let found = constraints.check(
            NumExamples::new(4)
                .with_previous_span(10)
                .with_previous_version(3),
        );
        let described: Vec<(&str, &str)> = found
            .iter()
            .map(|a| (a.kind.name(), a.description.as_str()))
            .collect();
        assert_eq!(
            described,
            [
                (
                    "COMPARATOR_LOW_NUM_EXAMPLES",
                    "The ratio of num examples in the current dataset versus the previous span is \
                     0.4 (up to six significant digits), which is below the threshold 0.5."
                ),
                (
                    "COMPARATOR_HIGH_NUM_EXAMPLES",
                    "The ratio of num examples in the current dataset versus the previous version \
                     is 1.33333 (up to six significant digits), which is above the threshold 1.2."
                ),
            ]
        );
        assert_eq!(
            found[1].expected,
            "at most 1.2 × the previous version's 3 examples"
        );
        assert_eq!(
            found[1].found,
            "4 examples, 1.33333 × the previous version's 3"
        );
        assert!(found.iter().all(|a| a.feature == Anomaly::DATASET));
        assert!(
            constraints
                .check(NumExamples::new(4).with_previous_span(0))
                .is_empty()
        );
        assert!(constraints.check(NumExamples::new(4)).is_empty());
    }

    #[test]
    fn counts_at_the_bounds_are_fine() {
        let constraints = DatasetConstraints {
            min_examples_count: Some(5),
            max_examples_count: Some(5),
            ..DatasetConstraints::default()
        };
        assert!(constraints.check(NumExamples::new(5)).is_empty());
        let kinds = |n| -> Vec<AnomalyKind> {
            constraints
                .check(NumExamples::new(n))
                .into_iter()
                .map(|a| a.kind)
                .collect()
        };
        assert_eq!(kinds(4), [AnomalyKind::DatasetLowNumExamples]);
        assert_eq!(kinds(6), [AnomalyKind::DatasetHighNumExamples]);
    }
}
