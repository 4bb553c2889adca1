//! A servable for unit tests: no inputs, predicts 0 for every row.

use std::sync::Arc;

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::{Schema, SchemaRef};
use mlrig_core::{Predictions, Servable, ServableInfo};

/// Answers 0 for every row under the name and version of its info.
pub(crate) struct Constant(pub ServableInfo);

impl Servable for Constant {
    fn input_schema(&self) -> SchemaRef {
        Arc::new(Schema::empty())
    }
    fn info(&self) -> &ServableInfo {
        &self.0
    }
    fn predict(&self, batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
        Ok(Predictions::Regression {
            values: mlrig_core::ndarray::Array1::zeros(batch.num_rows()),
        })
    }
}
