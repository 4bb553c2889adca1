//! [`BatchStream`]: the part of the CSV, JSON Lines and Parquet readers that
//! is the same for all three — a stream of batches that ends for good after
//! its first error, is drained by `finish`, and is read whole by `read_*`.
//!
//! Internally every step returns [`IngestError`]; only the public
//! `Iterator` (arrow's [`RecordBatchReader`](crate::RecordBatchReader)
//! contract) wraps it in an [`ArrowError`], through [`BatchStream::next_arrow`].

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::{ArrowError, SchemaRef};

use crate::batch_assembler::BatchAssembler;
use crate::{IngestError, IngestReport};

/// A reader whose rows go through a [`BatchAssembler`]; implementing the
/// four required methods gives it the shared iteration and finishing.
pub(crate) trait BatchStream: Sized {
    /// The assembler (schema, counts, quarantine, row origins).
    fn assembler(&self) -> &BatchAssembler;
    /// The assembler, once the reader is done.
    fn into_assembler(self) -> BatchAssembler;
    /// Whether an error was returned (nothing more is read then).
    fn failed(&mut self) -> &mut bool;
    /// The next batch, `None` at the end of the input.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>, IngestError>;

    /// `Iterator::next`: the next batch, the first error (after which the
    /// stream is over), or `None`.
    fn next_fused(&mut self) -> Option<Result<RecordBatch, IngestError>> {
        if *self.failed() {
            return None;
        }
        match self.next_batch() {
            Ok(batch) => batch.map(Ok),
            Err(e) => {
                *self.failed() = true;
                Some(Err(e))
            }
        }
    }

    /// `Iterator::next` of the public readers: [`next_fused`](Self::next_fused)
    /// with the error carried by an [`ArrowError::ExternalError`] (see
    /// `impl From<IngestError> for ArrowError`).
    fn next_arrow(&mut self) -> Option<Result<RecordBatch, ArrowError>> {
        self.next_fused()
            .map(|batch| batch.map_err(ArrowError::from))
    }

    /// Reads the remaining batches (dropping them), commits the quarantine
    /// file and returns the report; [`IngestError::ReadAborted`] if an error
    /// was returned before, since the counts would be incomplete.
    fn finish_stream(mut self) -> Result<IngestReport, IngestError> {
        if *self.failed() {
            return Err(IngestError::ReadAborted {
                path: self.assembler().summary().file.clone(),
            });
        }
        while let Some(batch) = self.next_fused() {
            batch?;
        }
        self.into_assembler().finish()
    }

    /// Every batch, then the report: the body of `read_csv` and its kin.
    fn read_whole(mut self) -> Result<(SchemaRef, Vec<RecordBatch>, IngestReport), IngestError> {
        let schema = self.assembler().schema();
        let mut batches = Vec::new();
        while let Some(batch) = self.next_fused() {
            batches.push(batch?);
        }
        let report = self.finish_stream()?;
        Ok((schema, batches, report))
    }
}
