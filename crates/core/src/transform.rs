//! [`Transform`], [`Predict`] and [`Servable`]: the fitted things that run on data.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};

use crate::{Features, Predictions, Result};

/// A fitted transform of a table: into [`Features`] or into another table.
///
/// There is one implementation per transform, used on a million-row batch
/// and on the one-row batch built from a serving request alike.
///
/// ```
/// use mlrig_core::{Features, Transform, Error};
/// use mlrig_core::arrow_array::{RecordBatch, Float64Array, cast::AsArray, types::Float64Type};
/// use mlrig_core::ndarray::Array2;
/// use std::sync::Arc;
///
/// struct Double;
/// impl Transform for Double {
///     type Output = Features;
///     type Error = Error;
///     fn transform(&self, batch: &RecordBatch) -> Result<Features, Error> {
///         let col = batch.column(0).as_primitive::<Float64Type>();
///         let data = col.values().iter().map(|v| v * 2.0).collect();
///         Features::dense(vec!["x2".into()], Array2::from_shape_vec((col.len(), 1), data).unwrap())
///     }
/// }
/// let batch = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![1.5])) as _)]).unwrap();
/// assert_eq!(Double.transform(&batch).unwrap().to_dense()[[0, 0]], 3.0);
/// ```
pub trait Transform: Send + Sync {
    /// What the transform produces ([`Features`] or a `RecordBatch`).
    type Output;
    /// The error it reports.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Transforms one batch.
    fn transform(&self, batch: &RecordBatch) -> Result<Self::Output, Self::Error>;
}

/// A fitted model.
///
/// ```
/// use mlrig_core::{Features, Predict, Predictions, Error};
/// struct Zero;
/// impl Predict for Zero {
///     type Error = Error;
///     fn predict(&self, f: &Features) -> Result<Predictions, Error> {
///         Ok(Predictions::Regression { values: mlrig_core::ndarray::Array1::zeros(f.nrows()) })
///     }
/// }
/// ```
pub trait Predict: Send + Sync {
    /// The error it reports.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Predicts one value or class distribution per row.
    fn predict(&self, features: &Features) -> Result<Predictions, Self::Error>;
}

/// What a model predicts, for serving metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// A real-valued target.
    Regression,
    /// A categorical target with these class labels.
    Classification {
        /// Class labels in probability-column order.
        classes: Vec<String>,
    },
}

/// Descriptive facts about a loaded model, for status and metadata endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServableInfo {
    /// Model name.
    pub name: String,
    /// Model version (a positive integer, as in TF Serving).
    pub version: u64,
    /// When the model was trained, seconds since the Unix epoch.
    pub created_at_unix: u64,
    /// The prediction task.
    pub task: Task,
    /// The target column it was trained on.
    pub target: String,
}

/// A complete inference path: raw input table → predictions. The server holds
/// `Arc<dyn Servable>`; implementations compose a fitted [`Transform`] and a
/// [`Predict`] (see `mlrig-pipeline`).
///
/// ```
/// use mlrig_core::Servable;
/// fn rows_expected(s: &dyn Servable) -> usize { s.input_schema().fields().len() }
/// ```
pub trait Servable: Send + Sync {
    /// The input table schema a request is converted to (the training schema
    /// without the target).
    fn input_schema(&self) -> SchemaRef;

    /// Facts about the model.
    fn info(&self) -> &ServableInfo;

    /// Predicts for a batch that has [`Servable::input_schema`]. Errors that
    /// are the caller's fault satisfy [`crate::Error::is_invalid_input`].
    fn predict(&self, batch: &RecordBatch) -> Result<Predictions>;
}
