//! [`EvaluationCurves`]: the points behind an evaluation's pictures — ROC
//! and precision–recall curves, a reliability (calibration) diagram and the
//! confusion matrix — stored in `evaluation.json` so a report can draw them
//! without the evaluation rows.

use std::collections::BTreeMap;

use mlrig_core::Predictions;
use serde::{Deserialize, Serialize};

use super::task_metrics::{CALIBRATION_BINS, Truth};
use crate::error::{Result, TrainError};
use crate::metrics;

/// At most this many points are kept per curve (evenly spaced over the
/// thresholds, first and last kept), so `evaluation.json` stays small
/// whatever the number of evaluation rows.
///
/// ```
/// assert_eq!(mlrig_train::MAX_CURVE_POINTS, 201);
/// ```
pub const MAX_CURVE_POINTS: usize = 201;

/// One point of a curve: `x`, `y` and the score threshold that gives it
/// (rows whose score is at least `threshold` are predicted positive).
///
/// ```
/// let p = mlrig_train::CurvePoint { x: 0.0, y: 1.0, threshold: 0.5 };
/// assert_eq!(p.y, 1.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// ROC: false positive rate; precision–recall: recall.
    pub x: f64,
    /// ROC: true positive rate; precision–recall: precision.
    pub y: f64,
    /// The score threshold.
    pub threshold: f64,
}

/// One bin of a reliability diagram: the mean prediction of the bin's rows
/// and what was observed for them.
///
/// ```
/// let bin = mlrig_train::CalibrationPoint { predicted: 0.8, observed: 0.75, count: 4 };
/// assert!(bin.predicted > bin.observed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationPoint {
    /// Mean predicted probability (regression: mean predicted value).
    pub predicted: f64,
    /// Fraction of positives (regression: mean true value).
    pub observed: f64,
    /// Rows in the bin.
    pub count: u64,
}

/// Counts of true class (rows) × predicted class (columns).
///
/// ```
/// let m = mlrig_train::ConfusionMatrix { classes: vec!["no".into(), "yes".into()], counts: vec![vec![3, 1], vec![0, 2]] };
/// assert_eq!(m.counts[0][1], 1); // one "no" predicted as "yes"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// The model's classes, in its order.
    pub classes: Vec<String>,
    /// `counts[t][p]`: rows of true class `t` predicted as class `p`.
    pub counts: Vec<Vec<u64>>,
}

/// The points behind an evaluation's charts (see [`evaluation_curves`]).
///
/// ```
/// let curves = mlrig_train::EvaluationCurves::default();
/// assert!(curves.roc.is_empty() && curves.confusion_matrix.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EvaluationCurves {
    /// The class whose probability is the score of `roc` and
    /// `precision_recall` (binary classifiers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive_class: Option<String>,
    /// ROC curve (binary classifiers), from (0, 0) to (1, 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roc: Vec<CurvePoint>,
    /// Precision–recall curve (binary classifiers), by decreasing threshold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precision_recall: Vec<CurvePoint>,
    /// Reliability diagram: binary classifiers bin the positive-class
    /// probability, multiclass ones the predicted class's probability
    /// (observed = fraction predicted right), both in [`CALIBRATION_BINS`]
    /// equal-width bins; regression bins the predictions into
    /// [`CALIBRATION_BINS`] groups of equal size (observed = mean true value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calibration: Vec<CalibrationPoint>,
    /// Confusion matrix (classifiers; predicted class = highest probability).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confusion_matrix: Option<ConfusionMatrix>,
}

/// The curves of `predictions` against `truth`. Rows whose true class the
/// model does not know are left out (they are counted by the
/// `unknown_class_rows` metric); a curve that is undefined on the rows (ROC
/// with one class present) is left empty.
///
/// ```
/// use mlrig_train::{Predictions, Truth, evaluation_curves, ndarray::array};
/// let predictions = Predictions::Classification {
///     classes: vec!["no".into(), "yes".into()],
///     probabilities: array![[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]],
/// };
/// let curves = evaluation_curves(&predictions, &Truth::from_labels(["no", "no", "yes", "yes"]))?;
/// assert_eq!(curves.positive_class.as_deref(), Some("yes"));
/// assert_eq!((curves.roc[0].x, curves.roc[0].y), (0.0, 0.0));
/// assert_eq!(curves.roc.last().map(|p| (p.x, p.y)), Some((1.0, 1.0)));
/// assert_eq!(curves.confusion_matrix.unwrap().counts, vec![vec![1, 1], vec![0, 2]]);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn evaluation_curves(predictions: &Predictions, truth: &Truth) -> Result<EvaluationCurves> {
    metrics::check_pair("curves", truth.len(), "predictions", predictions.len())?;
    match (predictions, truth) {
        (Predictions::Regression { values }, Truth::Values(truth)) => Ok(EvaluationCurves {
            calibration: regression_calibration(&values.to_vec(), truth),
            ..EvaluationCurves::default()
        }),
        (
            Predictions::Classification {
                classes,
                probabilities,
            },
            Truth::Classes {
                classes: true_classes,
                labels,
            },
        ) => {
            let k = classes.len();
            if probabilities.ncols() != k || k < 2 {
                return Err(TrainError::LengthMismatch {
                    what: "curves: probability columns vs model classes (at least 2)".into(),
                    expected: k.max(2),
                    found: probabilities.ncols(),
                });
            }
            let mut index: BTreeMap<&str, usize> = BTreeMap::new();
            for (i, name) in classes.iter().enumerate() {
                index.entry(name.as_str()).or_insert(i);
            }
            // (row, model class of its truth) for the rows of known classes.
            let known: Vec<(usize, usize)> = labels
                .iter()
                .enumerate()
                .filter_map(|(row, &label)| {
                    let name = true_classes.get(label)?;
                    Some((row, *index.get(name.as_str())?))
                })
                .collect();
            let predicted = |row: usize| {
                let mut best = 0;
                for c in 1..k {
                    if probabilities[[row, c]] > probabilities[[row, best]] {
                        best = c;
                    }
                }
                best
            };
            let mut counts = vec![vec![0u64; k]; k];
            for &(row, t) in &known {
                if let Some(cell) = counts.get_mut(t).and_then(|r| r.get_mut(predicted(row))) {
                    *cell += 1;
                }
            }
            let mut curves = EvaluationCurves {
                confusion_matrix: Some(ConfusionMatrix {
                    classes: classes.clone(),
                    counts,
                }),
                ..EvaluationCurves::default()
            };
            let (y, p): (Vec<bool>, Vec<f64>) = if k == 2 {
                known
                    .iter()
                    .map(|&(row, t)| (t == 1, probabilities[[row, 1]]))
                    .unzip()
            } else {
                known
                    .iter()
                    .map(|&(row, t)| {
                        let c = predicted(row);
                        (t == c, probabilities[[row, c]])
                    })
                    .unzip()
            };
            if !p.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p)) {
                return Err(TrainError::invalid_parameter(
                    "probabilities",
                    "curves: probabilities must be finite and in [0, 1]",
                ));
            }
            if !y.is_empty() {
                curves.calibration = metrics::calibration_curve(&y, &p, CALIBRATION_BINS)?
                    .into_iter()
                    .map(|bin| CalibrationPoint {
                        predicted: bin.mean_predicted_probability,
                        observed: bin.fraction_of_positives,
                        count: bin.count,
                    })
                    .collect();
            }
            if k == 2 {
                let (roc, pr) = threshold_curves(&y, &p);
                curves.positive_class = classes.get(1).cloned();
                curves.roc = thin(roc);
                curves.precision_recall = thin(pr);
            }
            Ok(curves)
        }
        _ => Err(TrainError::invalid_parameter(
            "truth",
            "curves: the truth does not match the kind of predictions",
        )),
    }
}

/// ROC and precision–recall points at every distinct score (ties form one
/// point); both empty unless both classes are present.
fn threshold_curves(y: &[bool], scores: &[f64]) -> (Vec<CurvePoint>, Vec<CurvePoint>) {
    let positives = y.iter().filter(|&&v| v).count();
    let negatives = y.len() - positives;
    if positives == 0 || negatives == 0 {
        return (Vec::new(), Vec::new());
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (p, n) = (positives as f64, negatives as f64);
    // Above every score: nothing is predicted positive.
    let first = order.first().map_or(0.0, |&i| scores[i]);
    let mut roc = vec![CurvePoint {
        x: 0.0,
        y: 0.0,
        threshold: first + 1.0,
    }];
    let mut pr = vec![CurvePoint {
        x: 0.0,
        y: 1.0,
        threshold: first + 1.0,
    }];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut start = 0;
    while start < order.len() {
        let score = scores[order[start]];
        let mut end = start;
        while end < order.len() && scores[order[end]] == score {
            if y[order[end]] {
                tp += 1;
            } else {
                fp += 1;
            }
            end += 1;
        }
        roc.push(CurvePoint {
            x: fp as f64 / n,
            y: tp as f64 / p,
            threshold: score,
        });
        pr.push(CurvePoint {
            x: tp as f64 / p,
            y: tp as f64 / (tp + fp) as f64,
            threshold: score,
        });
        start = end;
    }
    (roc, pr)
}

/// At most [`MAX_CURVE_POINTS`] points, evenly spaced, first and last kept.
fn thin(points: Vec<CurvePoint>) -> Vec<CurvePoint> {
    let len = points.len();
    if len <= MAX_CURVE_POINTS {
        return points;
    }
    let last = MAX_CURVE_POINTS - 1;
    (0..MAX_CURVE_POINTS)
        .filter_map(|i| points.get(i * (len - 1) / last).copied())
        .collect()
}

/// Predictions sorted and cut into [`CALIBRATION_BINS`] groups of (nearly)
/// equal size: mean prediction vs mean truth per group.
fn regression_calibration(predicted: &[f64], truth: &[f64]) -> Vec<CalibrationPoint> {
    let mut rows: Vec<(f64, f64)> = predicted
        .iter()
        .zip(truth)
        .filter(|(p, t)| p.is_finite() && t.is_finite())
        .map(|(&p, &t)| (p, t))
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = rows.len();
    let bins = CALIBRATION_BINS.min(n);
    (0..bins)
        .filter_map(|b| {
            let group = rows.get(b * n / bins..(b + 1) * n / bins)?;
            if group.is_empty() {
                return None;
            }
            let mut predicted = mlrig_core::ExactSum::default();
            let mut observed = mlrig_core::ExactSum::default();
            for &(p, t) in group {
                predicted.add(p);
                observed.add(t);
            }
            let count = group.len() as f64;
            Some(CalibrationPoint {
                predicted: predicted.value() / count,
                observed: observed.value() / count,
                count: group.len() as u64,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::ndarray::{Array2, array};
    use proptest::prelude::*;

    fn binary(p: &[f64]) -> Predictions {
        let rows: Vec<f64> = p.iter().flat_map(|&p| [1.0 - p, p]).collect();
        Predictions::Classification {
            classes: vec!["no".into(), "yes".into()],
            probabilities: Array2::from_shape_vec((p.len(), 2), rows).unwrap(),
        }
    }

    #[test]
    fn roc_area_matches_the_auc_metric() {
        let p = [0.1, 0.4, 0.35, 0.8, 0.8, 0.2];
        let y = ["no", "no", "yes", "yes", "no", "yes"];
        let curves = evaluation_curves(&binary(&p), &Truth::from_labels(y)).unwrap();
        let area: f64 = curves
            .roc
            .windows(2)
            .map(|w| (w[1].x - w[0].x) * (w[1].y + w[0].y) / 2.0)
            .sum();
        let truth: Vec<bool> = y.iter().map(|&v| v == "yes").collect();
        let auc = metrics::roc_auc(&truth, &p).unwrap();
        assert!((area - auc).abs() < 1e-12, "{area} vs {auc}");
        // Precision at full recall is the positive rate.
        let last = curves.precision_recall.last().unwrap();
        assert_eq!((last.x, last.y), (1.0, 0.5));
        assert_eq!(curves.calibration.iter().map(|b| b.count).sum::<u64>(), 6);
    }

    #[test]
    fn unknown_classes_are_left_out_and_one_class_has_no_roc() {
        let curves =
            evaluation_curves(&binary(&[0.2, 0.9]), &Truth::from_labels(["no", "maybe"])).unwrap();
        assert!(curves.roc.is_empty() && curves.precision_recall.is_empty());
        let matrix = curves.confusion_matrix.unwrap();
        assert_eq!(matrix.counts, vec![vec![1, 0], vec![0, 0]]);
    }

    #[test]
    fn multiclass_and_regression() {
        let predictions = Predictions::Classification {
            classes: vec!["a".into(), "b".into(), "c".into()],
            probabilities: array![[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.1, 0.4]],
        };
        let curves = evaluation_curves(&predictions, &Truth::from_labels(["a", "b", "c"])).unwrap();
        assert!(curves.roc.is_empty() && curves.positive_class.is_none());
        let m = curves.confusion_matrix.unwrap();
        assert_eq!(m.counts, vec![vec![1, 0, 0], vec![0, 1, 0], vec![1, 0, 0]]);
        let regression = Predictions::Regression {
            values: array![1.0, 2.0, 3.0, 4.0],
        };
        let curves =
            evaluation_curves(&regression, &Truth::Values(vec![1.5, 2.5, 2.5, 4.5])).unwrap();
        assert_eq!(curves.calibration.len(), 4);
        assert_eq!(curves.calibration[3].observed, 4.5);
        assert!(evaluation_curves(&regression, &Truth::from_labels(["a"; 4])).is_err());
    }

    #[test]
    fn curves_are_thinned() {
        let n = 1000;
        let p: Vec<f64> = (0..n).map(|i| i as f64 / n as f64).collect();
        let y: Vec<&str> = (0..n)
            .map(|i| if i % 3 == 0 { "yes" } else { "no" })
            .collect();
        let curves = evaluation_curves(&binary(&p), &Truth::from_labels(y)).unwrap();
        assert_eq!(curves.roc.len(), MAX_CURVE_POINTS);
        assert_eq!(curves.roc.last().map(|p| (p.x, p.y)), Some((1.0, 1.0)));
        assert_eq!((curves.roc[0].x, curves.roc[0].y), (0.0, 0.0));
    }

    proptest! {
        #[test]
        fn roc_is_monotone_and_serializes(
            rows in proptest::collection::vec((0.0f64..=1.0, any::<bool>()), 1..300)
        ) {
            let p: Vec<f64> = rows.iter().map(|r| r.0).collect();
            let y: Vec<&str> = rows.iter().map(|r| if r.1 { "yes" } else { "no" }).collect();
            let curves = evaluation_curves(&binary(&p), &Truth::from_labels(y)).unwrap();
            for w in curves.roc.windows(2) {
                prop_assert!(w[0].x <= w[1].x && w[0].y <= w[1].y);
            }
            let json = serde_json::to_string(&curves).unwrap();
            let back: EvaluationCurves = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.roc.len(), curves.roc.len());
        }
    }
}
