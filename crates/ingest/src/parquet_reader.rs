//! [`ParquetReader`] (feature `parquet`): Parquet files as Arrow record
//! batches with the ingestion column types, read batch by batch.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{
    Float16Type, Float32Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use mlrig_core::arrow_array::{
    Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchReader, StringArray,
};
use mlrig_core::arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::batch_assembler::{BatchAssembler, Rejection, input_paths};
use crate::batch_stream::BatchStream;
use crate::column_type::ColumnType;
use crate::{FileSet, IngestError, IngestReport, IngestSummary, MISSING_KEY_REASON, ReadOptions};

/// Streams Parquet files as Arrow [`RecordBatch`]es of at most
/// [`batch_size`](ReadOptions::with_batch_size) rows, converted to the column
/// types of the other readers (feature `parquet`).
///
/// Columns are converted losslessly: `Boolean` stays; signed integers and
/// `UInt8`/`16`/`32` become `Int64`; `UInt64` becomes `Int64` (a value above
/// `i64::MAX` is an [`IngestError::Format`] naming the column and row);
/// `Float16`/`32`/`64` become `Float64`; `Utf8`, `LargeUtf8`, `Utf8View`
/// and dictionaries of strings (pandas categoricals) become `Utf8`. Any other
/// type (dates, timestamps, decimals, binary, lists, structs) is an
/// [`IngestError::UnsupportedColumnType`] naming the column, raised when
/// opening. Nulls are kept.
///
/// Parquet is typed, so nothing is inferred and no row is quarantined except,
/// with a [split](ReadOptions::with_split) on a key column, the rows whose key
/// is null ([`QuarantinedRow::line`](crate::QuarantinedRow::line) is then the
/// 1-based row number in the file and the record is the row as a JSON
/// object); a quarantine file, if asked for, is always written. Of the
/// [`ReadOptions`], `batch_size`, [`with_sample`](ReadOptions::with_sample),
/// [`with_split`](ReadOptions::with_split), the quarantine file and its
/// in-memory cap apply; a
/// [type override](crate::InferenceOptions::with_column_type) must name a column and
/// agree with its converted type (an [`IngestError::InvalidOption`]
/// otherwise); the [`CsvFormat`](crate::CsvFormat), the missing tokens and
/// the rest of the [`InferenceOptions`](crate::InferenceOptions) do not
/// apply. Several files must have the same column names and converted types.
///
/// Codecs: uncompressed, Snappy and Zstandard (the defaults of pyarrow and
/// polars).
///
/// ```
/// use std::sync::Arc;
/// use mlrig_core::arrow_array::{ArrayRef, Int32Array, RecordBatch, StringArray};
/// use mlrig_ingest::DataType;
/// use mlrig_ingest::{ReadOptions, ParquetReader};
///
/// // Write a small file (parquet's own writer, for the example).
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("t.parquet");
/// let batch = RecordBatch::try_from_iter([
///     ("n", Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])) as ArrayRef),
///     ("s", Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef),
/// ])?;
/// let mut writer = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path)?, batch.schema(), None)?;
/// writer.write(&batch)?;
/// writer.close()?;
///
/// let mut reader = ParquetReader::open(&path, ReadOptions::default())?;
/// assert_eq!(reader.schema().field(0).data_type(), &DataType::Int64);
/// let read = reader.next().unwrap()?;
/// assert_eq!((read.num_rows(), read.column(0).null_count()), (3, 1));
/// assert_eq!(reader.finish()?.summary.rows_accepted, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParquetReader {
    files: Vec<PathBuf>,
    next_file: usize,
    current: Option<(PathBuf, ParquetRecordBatchReader)>,
    batch_size: usize,
    /// Counts, sampling, split and quarantine (its builders are unused:
    /// Parquet batches are passed on as read).
    out: BatchAssembler,
    failed: bool,
}

impl std::fmt::Debug for ParquetReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetReader")
            .field("files", &self.files)
            .field("schema", &self.out.schema())
            .field("summary", self.out.summary())
            .finish_non_exhaustive()
    }
}

impl ParquetReader {
    /// Opens one Parquet file (reading its footer) and checks its column
    /// types.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, IngestError, ParquetReader};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("not.parquet");
    /// std::fs::write(&path, "a,b\n1,2\n")?;
    /// let err = ParquetReader::open(&path, ReadOptions::default()).unwrap_err();
    /// assert!(matches!(err, IngestError::Format { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(
        path: impl AsRef<Path>,
        options: ReadOptions,
    ) -> Result<ParquetReader, IngestError> {
        ParquetReader::open_files(&FileSet::from(path.as_ref()), options)
    }

    /// Opens every file of `files` as one table; every file's converted
    /// schema must equal the first file's.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, FileSet, IngestError, ParquetReader};
    /// let err = ParquetReader::open_files(&FileSet::from_paths(Vec::<String>::new()), ReadOptions::default());
    /// assert!(matches!(err, Err(IngestError::NoFiles { .. })));
    /// ```
    pub fn open_files(files: &FileSet, options: ReadOptions) -> Result<ParquetReader, IngestError> {
        let paths = input_paths(files, &options)?;
        let first = &paths[0];
        let schema = converted_schema(first)?;
        for path in paths.iter().skip(1) {
            check_same_schema(&schema, first, converted_schema(path)?.as_ref(), path)?;
        }
        for (column, data_type) in options.inference().column_types() {
            let field = schema
                .field_with_name(column)
                .map_err(|_| IngestError::UnknownColumn {
                    path: first.clone(),
                    column: column.clone(),
                    available: mlrig_core::column_list(&schema),
                })?;
            if field.data_type() != data_type {
                return Err(IngestError::InvalidOption {
                    option: "column type".into(),
                    reason: format!(
                        "column `{column}` of {} is {} and Parquet columns are not re-typed; found an override to {data_type}",
                        first.display(),
                        field.data_type()
                    ),
                });
            }
        }
        let (names, types) = schema
            .fields()
            .iter()
            .map(|f| {
                ColumnType::from_data_type(f.data_type())
                    .map(|t| (f.name().clone(), t))
                    .ok_or_else(|| IngestError::UnsupportedColumnType {
                        path: first.clone(),
                        column: f.name().clone(),
                        data_type: f.data_type().to_string(),
                    })
            })
            .collect::<Result<(Vec<_>, Vec<_>), _>>()?;
        let out = BatchAssembler::new(names, types, &options, first)?;
        Ok(ParquetReader {
            files: paths,
            next_file: 0,
            current: None,
            batch_size: options.batch_size(),
            out,
            failed: false,
        })
    }

    /// The schema of every batch.
    ///
    /// See [`ParquetReader`] for an example.
    pub fn schema(&self) -> SchemaRef {
        self.out.schema()
    }

    /// The files, in reading order.
    ///
    /// See [`ParquetReader`] for an example.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The totals so far.
    ///
    /// See [`ParquetReader`] for an example.
    pub fn summary(&self) -> &IngestSummary {
        self.out.summary()
    }

    /// Reads the remaining batches (dropping them), commits the quarantine
    /// file and returns the report; [`IngestError::ReadAborted`]
    /// if the reader already returned an error.
    ///
    /// See [`ParquetReader`] for an example.
    pub fn finish(self) -> Result<IngestReport, IngestError> {
        self.finish_stream()
    }

    /// The next batch read, sampled and split; `None` at the end.
    fn read_batch(&mut self) -> Result<Option<RecordBatch>, IngestError> {
        loop {
            let Some((path, reader)) = self.current.as_mut() else {
                let Some(path) = self.files.get(self.next_file).cloned() else {
                    return Ok(None);
                };
                self.next_file += 1;
                let reader = open_reader(&path, self.batch_size)?;
                check_same_schema(
                    &self.out.schema(),
                    &self.out.summary().file,
                    converted_schema_of(&path, &reader.schema())?.as_ref(),
                    &path,
                )?;
                self.out.start_file(&path);
                self.current = Some((path, reader));
                continue;
            };
            let next = match without_panics(path, || reader.next()) {
                Ok(next) => next,
                Err(e) => {
                    // The decoder's state is unknown after a panic: drop it.
                    self.current = None;
                    return Err(e);
                }
            };
            let Some(batch) = next else {
                self.current = None;
                continue;
            };
            let batch = batch.map_err(|e| format_error(path, e))?;
            let path = path.clone();
            if let Some(batch) = self.admit_batch(&path, batch)? {
                return Ok(Some(batch));
            }
        }
    }

    /// Samples, quarantines rows without a split key, splits and counts one
    /// batch read from `path`; `None` when no row is left.
    fn admit_batch(
        &mut self,
        path: &Path,
        batch: RecordBatch,
    ) -> Result<Option<RecordBatch>, IngestError> {
        let first_row = self.out.summary().files.last().map_or(0, |f| f.rows_read);
        let batch = convert_batch(&self.out.schema(), &batch, path, first_row)?;
        let rows = batch.num_rows();
        let start = self.out.summary().rows_read;
        let mut keep: Vec<bool> = match self.out.sampler() {
            Some(sampler) => (start..start + rows as u64)
                .map(|i| sampler.keeps(i))
                .collect(),
            None => vec![true; rows],
        };
        let sampled_out = keep.iter().filter(|k| !**k).count() as u64;
        self.out.count_read(rows as u64, sampled_out);
        if let Some(k) = self.out.split_key() {
            for (i, kept) in keep.iter_mut().enumerate() {
                if *kept && batch.column(k).is_null(i) {
                    *kept = false;
                    let column = batch.schema_ref().field(k).name();
                    let rejection =
                        Rejection::value(column, "null".into(), MISSING_KEY_REASON.into());
                    self.out
                        .quarantine(first_row + i as u64 + 1, rejection, || {
                            row_as_json(&batch, i)
                        })?;
                }
            }
        }
        let batch = if keep.iter().all(|k| *k) {
            batch
        } else {
            arrow_select::filter::filter_record_batch(&batch, &BooleanArray::from(keep))
                .map_err(|e| format_error(path, e))?
        };
        let (batch, _) = self.out.accept_rows(batch)?;
        if batch.num_rows() == 0 {
            return Ok(None);
        }
        self.out.count_batch();
        Ok(Some(batch))
    }
}

/// One row of a converted batch (Boolean, Int64, Float64 or Utf8 columns) as
/// a JSON object; non-finite floats are strings.
fn row_as_json(batch: &RecordBatch, row: usize) -> String {
    use serde_json::Value;
    let mut object = serde_json::Map::new();
    for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        let value = if column.is_null(row) {
            Value::Null
        } else {
            match column.data_type() {
                DataType::Boolean => Value::Bool(column.as_boolean().value(row)),
                DataType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(row)),
                DataType::Float64 => {
                    let v = column
                        .as_primitive::<mlrig_core::arrow_array::types::Float64Type>()
                        .value(row);
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| Value::String(v.to_string()), Value::Number)
                }
                DataType::Utf8 => Value::String(column.as_string::<i32>().value(row).to_string()),
                other => Value::String(format!("<{other}>")),
            }
        };
        object.insert(field.name().clone(), value);
    }
    Value::Object(object).to_string()
}

impl BatchStream for ParquetReader {
    fn assembler(&self) -> &BatchAssembler {
        &self.out
    }

    fn into_assembler(self) -> BatchAssembler {
        self.out
    }

    fn failed(&mut self) -> &mut bool {
        &mut self.failed
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, IngestError> {
        self.read_batch()
    }
}

/// Batches in order; an error (an [`IngestError`] inside
/// [`ArrowError::ExternalError`]) ends the stream.
impl Iterator for ParquetReader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_arrow()
    }
}

impl RecordBatchReader for ParquetReader {
    fn schema(&self) -> SchemaRef {
        self.assembler().schema()
    }
}

impl std::iter::FusedIterator for ParquetReader {}

/// Reads a whole Parquet file into memory: the schema, every batch and the
/// report.
///
/// ```
/// use mlrig_ingest::{ReadOptions, read_parquet};
/// let err = read_parquet("/nonexistent-mlrig/t.parquet", ReadOptions::default()).unwrap_err();
/// assert!(err.to_string().starts_with("/nonexistent-mlrig/t.parquet: "));
/// ```
pub fn read_parquet(
    path: impl AsRef<Path>,
    options: ReadOptions,
) -> Result<(SchemaRef, Vec<RecordBatch>, IngestReport), IngestError> {
    ParquetReader::open(path, options)?.read_whole()
}

fn format_error(path: &Path, error: impl std::error::Error + Send + Sync + 'static) -> IngestError {
    IngestError::Format {
        path: path.to_path_buf(),
        source: Box::new(error),
    }
}

/// Runs a call into the `parquet` decoder, turning a panic on corrupt input
/// (the decoder asserts on some inconsistent page and level data instead of
/// returning an error) into [`IngestError::Format`] naming the file.
fn without_panics<T>(path: &Path, call: impl FnOnce() -> T) -> Result<T, IngestError> {
    mlrig_core::catch_panic(call).map_err(|message| IngestError::Format {
        path: path.to_path_buf(),
        source: format!("corrupt Parquet data (the decoder failed: {message})").into(),
    })
}

fn open_builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, IngestError> {
    let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    without_panics(path, || ParquetRecordBatchReaderBuilder::try_new(file))?
        .map_err(|e| format_error(path, e))
}

fn open_reader(path: &Path, batch_size: usize) -> Result<ParquetRecordBatchReader, IngestError> {
    let builder = open_builder(path)?.with_batch_size(batch_size);
    without_panics(path, || builder.build())?.map_err(|e| format_error(path, e))
}

/// The schema of `path` after conversion (reads only the footer).
fn converted_schema(path: &Path) -> Result<SchemaRef, IngestError> {
    let builder = open_builder(path)?;
    converted_schema_of(path, builder.schema())
}

fn converted_schema_of(path: &Path, schema: &Schema) -> Result<SchemaRef, IngestError> {
    let fields = schema
        .fields()
        .iter()
        .map(|f| {
            target_type(f.data_type())
                .map(|t| Field::new(f.name(), t, true))
                .ok_or_else(|| IngestError::UnsupportedColumnType {
                    path: path.to_path_buf(),
                    column: f.name().clone(),
                    data_type: f.data_type().to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// The ingestion type a Parquet column's Arrow type converts to.
fn target_type(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Boolean => Some(DataType::Boolean),
        t if t.is_integer() => Some(DataType::Int64),
        t if t.is_floating() => Some(DataType::Float64),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(DataType::Utf8),
        DataType::Dictionary(_, values) => match target_type(values) {
            Some(DataType::Utf8) => Some(DataType::Utf8),
            _ => None,
        },
        _ => None,
    }
}

fn check_same_schema(
    expected: &Schema,
    first: &Path,
    found: &Schema,
    file: &Path,
) -> Result<(), IngestError> {
    let width = expected.fields().len().max(found.fields().len());
    for i in 0..width {
        let (a, b) = (expected.fields().get(i), found.fields().get(i));
        if a.map(|f| f.name()) != b.map(|f| f.name()) {
            return Err(IngestError::HeaderMismatch {
                first: first.to_path_buf(),
                file: file.to_path_buf(),
                column: i + 1,
                expected: a.map(|f| f.name().clone()),
                found: b.map(|f| f.name().clone()),
            });
        }
        if let (Some(a), Some(b)) = (a, b)
            && a.data_type() != b.data_type()
        {
            return Err(IngestError::Format {
                path: file.to_path_buf(),
                source: format!(
                    "column `{}` is {} but {} in {}",
                    b.name(),
                    b.data_type(),
                    a.data_type(),
                    first.display()
                )
                .into(),
            });
        }
    }
    Ok(())
}

/// Converts every column of `batch` to `schema`; `first_row` is the 0-based
/// row of the file where the batch starts (for error messages).
fn convert_batch(
    schema: &SchemaRef,
    batch: &RecordBatch,
    path: &Path,
    first_row: u64,
) -> Result<RecordBatch, IngestError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(array, field)| {
            convert_column(array).map_err(|reason| IngestError::Format {
                path: path.to_path_buf(),
                source: format!("column `{}`: {reason}", field.name()).into(),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| match e {
            IngestError::Format { path, source } => IngestError::Format {
                path,
                source: format!("{source} (in the batch starting at row {})", first_row + 1).into(),
            },
            other => other,
        })?;
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(|e| IngestError::from(mlrig_core::Error::from(e)))
}

/// One column converted to its ingestion type.
fn convert_column(array: &ArrayRef) -> Result<ArrayRef, String> {
    let wrong = || format!("unexpected array for {}", array.data_type());
    let converted: ArrayRef = match array.data_type() {
        DataType::Boolean | DataType::Int64 | DataType::Float64 | DataType::Utf8 => {
            Arc::clone(array)
        }
        DataType::Int8 => Arc::new(widen::<Int8Type>(array).ok_or_else(wrong)?),
        DataType::Int16 => Arc::new(widen::<Int16Type>(array).ok_or_else(wrong)?),
        DataType::Int32 => Arc::new(widen::<Int32Type>(array).ok_or_else(wrong)?),
        DataType::UInt8 => Arc::new(widen::<UInt8Type>(array).ok_or_else(wrong)?),
        DataType::UInt16 => Arc::new(widen::<UInt16Type>(array).ok_or_else(wrong)?),
        DataType::UInt32 => Arc::new(widen::<UInt32Type>(array).ok_or_else(wrong)?),
        DataType::UInt64 => {
            let values = array.as_primitive_opt::<UInt64Type>().ok_or_else(wrong)?;
            Arc::new(values.try_unary::<_, Int64Type, String>(|v| {
                i64::try_from(v).map_err(|_| format!("value {v} does not fit Int64"))
            })?)
        }
        DataType::Float16 => Arc::new(
            array
                .as_primitive_opt::<Float16Type>()
                .ok_or_else(wrong)?
                .unary::<_, mlrig_core::arrow_array::types::Float64Type>(|v| v.to_f64()),
        ),
        DataType::Float32 => Arc::new(
            array
                .as_primitive_opt::<Float32Type>()
                .ok_or_else(wrong)?
                .unary::<_, mlrig_core::arrow_array::types::Float64Type>(f64::from),
        ),
        DataType::LargeUtf8 => Arc::new(
            array
                .as_string_opt::<i64>()
                .ok_or_else(wrong)?
                .iter()
                .collect::<StringArray>(),
        ),
        DataType::Utf8View => Arc::new(
            array
                .as_string_view_opt()
                .ok_or_else(wrong)?
                .iter()
                .collect::<StringArray>(),
        ),
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary_opt().ok_or_else(wrong)?;
            let values = convert_column(dictionary.values())?;
            let values = values.as_string_opt::<i32>().ok_or_else(wrong)?;
            let keys = dictionary.normalized_keys();
            let strings: StringArray = (0..array.len())
                .map(|i| {
                    let k = keys.get(i).copied()?;
                    (array.is_valid(i) && k < values.len() && values.is_valid(k))
                        .then(|| values.value(k))
                })
                .collect();
            Arc::new(strings)
        }
        other => return Err(format!("unsupported type {other}")),
    };
    Ok(converted)
}

/// A signed or small unsigned integer column as `Int64`.
fn widen<T>(array: &ArrayRef) -> Option<mlrig_core::arrow_array::Int64Array>
where
    T: mlrig_core::arrow_array::ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    Some(
        array
            .as_primitive_opt::<T>()?
            .unary::<_, Int64Type>(Into::into),
    )
}
