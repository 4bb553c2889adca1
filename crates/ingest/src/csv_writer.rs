//! [`CsvWriter`]: record batches back to a CSV file, written atomically.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mlrig_core::AtomicFile;
use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{Float64Type, Int64Type};
use mlrig_core::arrow_array::{Array, RecordBatch};
use mlrig_core::arrow_schema::{DataType, SchemaRef};

use crate::IngestError;
use crate::quarantine::csv_error;

/// Writes record batches with the ingestion column types (`Boolean`,
/// `Int64`, `Float64`, `Utf8`) as comma-separated CSV with a header, to a
/// temporary file in the target's directory that [`CsvWriter::commit`]
/// renames into place: the file appears complete or not at all (dropped
/// without a commit, nothing is written).
///
/// Values: nulls are empty fields; booleans `true`/`false`; integers in
/// decimal; floats in Rust's shortest round-trip form (`0.1`, `1.0`,
/// `1e300`, `inf`, `NaN`); text as stored, quoted only when it holds a
/// comma, quote or line break. Reading the file back with the default
/// [`ReadOptions`](crate::ReadOptions) gives the same values, except a text
/// value equal to a missing token (or empty) and `NaN`, which read back as
/// nulls.
///
/// ```
/// use mlrig_ingest::{ReadOptions, CsvWriter, read_csv};
/// let dir = tempfile::tempdir()?;
/// let input = dir.path().join("in.csv");
/// std::fs::write(&input, "id,name,score\n1,\"a, b\",0.5\n2,NA,\n")?;
/// let (schema, batches, _) = read_csv(&input, ReadOptions::default())?;
///
/// let output = dir.path().join("out.csv");
/// let mut writer = CsvWriter::create(&output, schema)?;
/// for batch in &batches {
///     writer.write(batch)?;
/// }
/// assert_eq!(writer.commit()?, 2);
/// assert_eq!(std::fs::read_to_string(&output)?, "id,name,score\n1,\"a, b\",0.5\n2,,\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CsvWriter {
    path: PathBuf,
    schema: SchemaRef,
    out: BufWriter<AtomicFile>,
    rows: u64,
}

impl std::fmt::Debug for CsvWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvWriter")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// The rows of one batch as CSV text ([`CsvRows::encode`]), ready for
/// [`CsvWriter::append`]: encoding needs no writer, so batches can be
/// encoded on several threads and appended in order by one.
///
/// ```
/// use mlrig_ingest::{CsvRows, CsvWriter, ReadOptions, read_csv};
/// let dir = tempfile::tempdir()?;
/// let input = dir.path().join("in.csv");
/// std::fs::write(&input, "x,s\n1,a\n2,\"b,c\"\n")?;
/// let (schema, batches, _) = read_csv(&input, ReadOptions::default())?;
/// let rows = CsvRows::encode(&batches[0])?;
/// assert_eq!((rows.as_bytes(), rows.rows()), (&b"1,a\n2,\"b,c\"\n"[..], 2));
/// let mut writer = CsvWriter::create(dir.path().join("out.csv"), schema)?;
/// writer.append(rows)?;
/// assert_eq!(writer.commit()?, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct CsvRows {
    schema: SchemaRef,
    bytes: Vec<u8>,
    rows: u64,
}

impl CsvRows {
    /// Encodes every row of `batch` (values as [`CsvWriter`] describes;
    /// no header). Errors: a column of another type than the four ingestion
    /// types ([`IngestError::UnsupportedColumnType`]).
    pub fn encode(batch: &RecordBatch) -> Result<CsvRows, IngestError> {
        let memory = Path::new("(memory)");
        check_types(memory, batch.schema_ref())?;
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut record = Vec::with_capacity(batch.num_columns());
        for row in 0..batch.num_rows() {
            record.clear();
            for column in batch.columns() {
                record.push(cell_text(column.as_ref(), row));
            }
            writer
                .write_record(&record)
                .map_err(|e| csv_error(memory, e))?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| IngestError::io(memory, e.into_error()))?;
        Ok(CsvRows {
            schema: batch.schema(),
            bytes,
            rows: batch.num_rows() as u64,
        })
    }

    /// The CSV text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The number of rows encoded.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

impl CsvWriter {
    /// Creates the temporary file beside `path` and writes the header.
    /// Errors: a column of another type than the four ingestion types
    /// ([`IngestError::UnsupportedColumnType`]), or an I/O failure.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlrig_core::arrow_schema::{DataType, Field, Schema};
    /// use mlrig_ingest::CsvWriter;
    /// let dir = tempfile::tempdir()?;
    /// let schema = Arc::new(Schema::new(vec![Field::new("d", DataType::Date32, true)]));
    /// assert!(CsvWriter::create(dir.path().join("x.csv"), schema).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: impl AsRef<Path>, schema: SchemaRef) -> Result<Self, IngestError> {
        let path = path.as_ref().to_path_buf();
        check_types(&path, &schema)?;
        let mut header = csv::Writer::from_writer(Vec::new());
        header
            .write_record(schema.fields().iter().map(|f| f.name().as_str()))
            .map_err(|e| csv_error(&path, e))?;
        let header = header
            .into_inner()
            .map_err(|e| IngestError::io(&path, e.into_error()))?;
        let mut out = BufWriter::with_capacity(1 << 20, AtomicFile::create(&path)?);
        out.write_all(&header)
            .map_err(|e| IngestError::io(&path, e))?;
        Ok(CsvWriter {
            path,
            schema,
            out,
            rows: 0,
        })
    }

    /// Appends the rows of `batch`, whose schema must be the writer's
    /// (an [`IngestError::InvalidOption`] otherwise).
    ///
    /// See [`CsvWriter`] for an example.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), IngestError> {
        self.check_schema(batch.schema_ref())?;
        self.append(CsvRows::encode(batch)?)
    }

    /// Appends rows encoded by [`CsvRows::encode`] from a batch of the
    /// writer's schema (an [`IngestError::InvalidOption`] otherwise).
    ///
    /// See [`CsvRows`] for an example.
    pub fn append(&mut self, rows: CsvRows) -> Result<(), IngestError> {
        self.check_schema(&rows.schema)?;
        self.out
            .write_all(&rows.bytes)
            .map_err(|e| IngestError::io(&self.path, e))?;
        self.rows += rows.rows;
        Ok(())
    }

    fn check_schema(&self, schema: &SchemaRef) -> Result<(), IngestError> {
        if schema.fields() == self.schema.fields() {
            return Ok(());
        }
        Err(IngestError::InvalidOption {
            option: "batch schema".into(),
            reason: format!(
                "{}: the batch's columns ({}) differ from the file's ({})",
                self.path.display(),
                mlrig_core::column_list(schema),
                mlrig_core::column_list(&self.schema)
            ),
        })
    }

    /// The data rows written so far.
    ///
    /// See [`CsvWriter`] for an example.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and syncs the temporary file without renaming it. Files that
    /// belong together (a train/eval split) are each synced before any is
    /// committed, so a full disk fails before the first rename and leaves
    /// the previous pair as it was.
    ///
    /// ```
    /// use mlrig_ingest::{CsvWriter, ReadOptions, read_csv};
    /// let dir = tempfile::tempdir()?;
    /// let input = dir.path().join("in.csv");
    /// std::fs::write(&input, "id\n1\n2\n")?;
    /// let (schema, batches, _) = read_csv(&input, ReadOptions::default())?;
    /// let mut train = CsvWriter::create(dir.path().join("train.csv"), schema.clone())?;
    /// let mut eval = CsvWriter::create(dir.path().join("eval.csv"), schema)?;
    /// train.write(&batches[0].slice(0, 1))?;
    /// eval.write(&batches[0].slice(1, 1))?;
    /// train.sync()?;
    /// eval.sync()?;
    /// assert!(!dir.path().join("train.csv").exists());
    /// assert_eq!((train.commit()?, eval.commit()?), (1, 1));
    /// assert_eq!(std::fs::read_to_string(dir.path().join("eval.csv"))?, "id\n2\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sync(&mut self) -> Result<(), IngestError> {
        self.out
            .flush()
            .map_err(|e| IngestError::io(&self.path, e))?;
        Ok(self.out.get_mut().sync()?)
    }

    /// Flushes, syncs and renames the file into place; returns the number of
    /// data rows.
    ///
    /// See [`CsvWriter`] for an example.
    pub fn commit(self) -> Result<u64, IngestError> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|e| IngestError::io(&path, e.into_error()))?;
        file.commit()?;
        Ok(self.rows)
    }
}

/// Only the four ingestion types can be written.
fn check_types(path: &Path, schema: &SchemaRef) -> Result<(), IngestError> {
    for field in schema.fields() {
        if !matches!(
            field.data_type(),
            DataType::Boolean | DataType::Int64 | DataType::Float64 | DataType::Utf8
        ) {
            return Err(IngestError::UnsupportedColumnType {
                path: path.to_path_buf(),
                column: field.name().clone(),
                data_type: field.data_type().to_string(),
            });
        }
    }
    Ok(())
}

/// One value as CSV text (the types were checked by `create`).
fn cell_text(column: &dyn Array, row: usize) -> String {
    if column.is_null(row) {
        return String::new();
    }
    match column.data_type() {
        DataType::Boolean => column.as_boolean().value(row).to_string(),
        DataType::Int64 => column.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Float64 => format!("{:?}", column.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => column.as_string::<i32>().value(row).to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReadOptions, read_csv};

    #[test]
    fn written_files_read_back_to_the_same_values() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(
            &input,
            "b,i,f,s\ntrue,-3,0.1,\"multi\nline\"\nfalse,,1e300,  padded \n,7,-0.0,\"q\"\"uote\"\n",
        )
        .unwrap();
        let (schema, batches, _) = read_csv(&input, ReadOptions::default()).unwrap();
        let output = dir.path().join("out.csv");
        let mut writer = CsvWriter::create(&output, schema).unwrap();
        for batch in &batches {
            writer.write(batch).unwrap();
        }
        assert_eq!(writer.rows(), 3);
        assert!(!output.exists(), "nothing appears before the commit");
        writer.commit().unwrap();
        let (_, again, _) = read_csv(&output, ReadOptions::default()).unwrap();
        assert_eq!(again, batches);
    }

    #[test]
    fn a_batch_of_another_schema_is_refused_and_a_dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        std::fs::write(&a, "x\n1\n").unwrap();
        let (_, batches, _) = read_csv(&a, ReadOptions::default()).unwrap();
        let b = dir.path().join("b.csv");
        std::fs::write(&b, "y\nz\n").unwrap();
        let (schema, _, _) = read_csv(&b, ReadOptions::default()).unwrap();
        let out = dir.path().join("out.csv");
        let mut writer = CsvWriter::create(&out, schema).unwrap();
        let e = writer.write(&batches[0]).unwrap_err();
        assert!(e.to_string().contains("differ"), "{e}");
        drop(writer);
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
