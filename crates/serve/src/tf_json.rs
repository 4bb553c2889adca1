//! TF Serving's JSON form of [`Predictions`], shared by TF Serving's
//! `:predict` and MLflow's `/invocations` (whose rows are TF Serving's row
//! entries): a regression value per row, or `{"classes", "scores",
//! "label"}` per row for a classifier.

use mlrig_core::Predictions;
use serde_json::{Value, json};

use crate::ServeError;
use crate::inference::unencodable_predictions;

/// How the caller laid out the instances, which decides the response layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Rows,
    Columns,
}

/// `Predictions` → TF Serving's `:predict` answer: `predictions` (one entry
/// per row) for [`Layout::Rows`], `outputs` (one list per output) for
/// [`Layout::Columns`].
pub(crate) fn encode_predict(
    predictions: Predictions,
    layout: Layout,
) -> Result<Value, ServeError> {
    let labels = predictions.labels().unwrap_or_default();
    Ok(match (predictions, layout) {
        (Predictions::Regression { values }, Layout::Rows) => {
            json!({ "predictions": values.to_vec() })
        }
        (Predictions::Regression { values }, Layout::Columns) => {
            json!({ "outputs": values.to_vec() })
        }
        (
            Predictions::Classification {
                classes,
                probabilities,
            },
            Layout::Rows,
        ) => {
            let rows: Vec<Value> = probabilities
                .rows()
                .into_iter()
                .zip(&labels)
                .map(|(scores, &label)| {
                    json!({ "classes": classes, "scores": scores.to_vec(), "label": classes[label] })
                })
                .collect();
            json!({ "predictions": rows })
        }
        (
            Predictions::Classification {
                classes,
                probabilities,
            },
            Layout::Columns,
        ) => {
            let n = probabilities.nrows();
            json!({ "outputs": {
                "classes": vec![&classes; n],
                "scores": probabilities.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
                "label": labels.iter().map(|&l| &classes[l]).collect::<Vec<_>>(),
            }})
        }
        // `Predictions` is non-exhaustive: a kind added to mlrig-core later.
        (_, _) => return Err(unencodable_predictions()),
    })
}
