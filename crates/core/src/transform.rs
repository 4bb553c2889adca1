//! [`Transform`], [`Predict`] and [`Servable`]: the fitted things that run on data.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};

use crate::{Contributions, Error, Features, Predictions, Result};

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
#[non_exhaustive]
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
///
/// Built with [`ServableInfo::new`] (and
/// [`with_created_at_unix`](ServableInfo::with_created_at_unix)), so a field
/// can be added without breaking implementations of [`Servable`].
///
/// ```
/// use mlrig_core::{ServableInfo, Task};
/// let info = ServableInfo::new("iris", 3, Task::Regression, "petal_width")
///     .with_created_at_unix(1_700_000_000);
/// assert_eq!((info.name.as_str(), info.version, info.created_at_unix), ("iris", 3, 1_700_000_000));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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

impl ServableInfo {
    /// The info of version `version` of model `name`, predicting `target`
    /// for `task`; `created_at_unix` is 0 (unknown) until set with
    /// [`with_created_at_unix`](Self::with_created_at_unix).
    ///
    /// ```
    /// use mlrig_core::{ServableInfo, Task};
    /// let info = ServableInfo::new("m", 1, Task::Regression, "y");
    /// assert_eq!((info.created_at_unix, info.target.as_str()), (0, "y"));
    /// ```
    pub fn new(
        name: impl Into<String>,
        version: u64,
        task: Task,
        target: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            version,
            created_at_unix: 0,
            task,
            target: target.into(),
        }
    }

    /// The same info, trained at `seconds` since the Unix epoch.
    ///
    /// ```
    /// use mlrig_core::{ServableInfo, Task};
    /// let info = ServableInfo::new("m", 1, Task::Regression, "y").with_created_at_unix(60);
    /// assert_eq!(info.created_at_unix, 60);
    /// ```
    pub fn with_created_at_unix(mut self, seconds: u64) -> Self {
        self.created_at_unix = seconds;
        self
    }
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

    /// What requests to this servable must look like (types, required
    /// fields, training values), checked by a server before it builds the
    /// batch; `None` (the default) checks nothing beyond
    /// [`records_to_batch`](crate::records_to_batch), so a servable written
    /// before contracts existed keeps its behaviour.
    ///
    /// ```
    /// use mlrig_core::{InputContract, Predictions, Result, Servable, ServableInfo};
    /// use mlrig_core::arrow_array::RecordBatch;
    /// use mlrig_core::arrow_schema::SchemaRef;
    /// struct Plain(ServableInfo, SchemaRef);
    /// impl Servable for Plain {
    ///     fn input_schema(&self) -> SchemaRef { self.1.clone() }
    ///     fn info(&self) -> &ServableInfo { &self.0 }
    ///     fn predict(&self, _: &RecordBatch) -> Result<Predictions> { unimplemented!() }
    /// }
    /// # let schema = std::sync::Arc::new(mlrig_core::arrow_schema::Schema::empty());
    /// let s = Plain(ServableInfo::new("m", 1, mlrig_core::Task::Regression, "y"), schema);
    /// assert!(s.input_contract().is_none());
    /// ```
    fn input_contract(&self) -> Option<&crate::InputContract> {
        None
    }

    /// How much each feature moved each of [`predict`](Servable::predict)'s
    /// scores for the same `batch`, one row per row of `batch` (see
    /// [`Contributions`] for the layout, the groups and the scale).
    ///
    /// Optional: the default answers [`Error::Unsupported`], which
    /// satisfies [`Error::is_invalid_input`] (the caller asked for something
    /// this model cannot give; a server answers 400 with the message).
    /// Implement it for models that can explain their predictions.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlrig_core::{Contributions, Predictions, Result, Servable, ServableInfo, Task};
    /// use mlrig_core::arrow_array::{Float64Array, RecordBatch, cast::AsArray, types::Float64Type};
    /// use mlrig_core::arrow_schema::SchemaRef;
    /// use mlrig_core::ndarray::Array3;
    ///
    /// /// y = 2x + 1, explained: x contributes 2x, the bias is 1.
    /// struct Linear(ServableInfo);
    /// impl Servable for Linear {
    ///     fn input_schema(&self) -> SchemaRef { unimplemented!() }
    ///     fn info(&self) -> &ServableInfo { &self.0 }
    ///     fn predict(&self, batch: &RecordBatch) -> Result<Predictions> {
    ///         let x = batch.column(0).as_primitive::<Float64Type>();
    ///         Ok(Predictions::Regression { values: x.values().iter().map(|x| 2.0 * x + 1.0).collect() })
    ///     }
    ///     fn contributions(&self, batch: &RecordBatch) -> Result<Contributions> {
    ///         let x = batch.column(0).as_primitive::<Float64Type>();
    ///         let values = Array3::from_shape_fn((x.len(), 1, 2), |(r, _, f)| [2.0 * x.value(r), 1.0][f]);
    ///         Contributions::new(vec!["x".into()], vec![self.0.target.clone()], values)
    ///     }
    /// }
    /// /// The same model, unexplained: the default method.
    /// struct Opaque(ServableInfo);
    /// impl Servable for Opaque {
    ///     fn input_schema(&self) -> SchemaRef { unimplemented!() }
    ///     fn info(&self) -> &ServableInfo { &self.0 }
    ///     fn predict(&self, batch: &RecordBatch) -> Result<Predictions> { Linear(self.0.clone()).predict(batch) }
    /// }
    ///
    /// let info = ServableInfo::new("linear", 1, Task::Regression, "y");
    /// let batch = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![3.0])) as _)]).unwrap();
    /// let c = Linear(info.clone()).contributions(&batch)?;
    /// assert_eq!((c.groups(), c.row_sum(0, 0)), (&["y".to_string()][..], Some(7.0)));
    ///
    /// let e = Opaque(info).contributions(&batch).unwrap_err();
    /// assert!(e.is_invalid_input());
    /// assert_eq!(e.to_string(), "contributions not supported: model `linear` version 1 \
    ///     does not compute per-prediction feature contributions");
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    fn contributions(&self, batch: &RecordBatch) -> Result<Contributions> {
        let _ = batch;
        let info = self.info();
        Err(Error::Unsupported {
            what: "contributions".into(),
            reason: format!(
                "model `{}` version {} does not compute per-prediction feature contributions",
                info.name, info.version
            ),
        })
    }
}
