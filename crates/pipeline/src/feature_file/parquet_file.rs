//! Parquet (dense or sparse) and CSV (dense) feature files: one Arrow batch
//! per written part, `[target,] features…`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_buffer::{OffsetBuffer, ScalarBuffer};
use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{Float64Type, UInt32Type};
use mlrig_core::arrow_array::{ArrayRef, Float64Array, ListArray, RecordBatch, UInt32Array};
use mlrig_core::arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef};
use mlrig_core::ndarray::Array2;
use mlrig_core::sprs::CsMat;
use mlrig_core::{AtomicFile, Features};
use mlrig_ingest::CsvWriter;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::{
    FeatureFileFormat, FeatureFileHeader, FeatureFileLayout, FeatureFileSummary, FeatureRows,
    HEADER_KEY, SUMMARY_KEY, as_csr, as_dense, check_rows_read, feature_file_error,
    missing_metadata, parse_metadata,
};
use crate::PipelineError;

/// The sparse layout's column of 0-based column indices.
pub(crate) const INDICES_COLUMN: &str = "indices";
/// The sparse layout's column of values.
pub(crate) const VALUES_COLUMN: &str = "values";

/// Largest data page of a dense column (the default is 1 MiB).
const DENSE_PAGE_BYTES: usize = 32 << 10;

/// Largest Parquet row group the writer buffers, in bytes.
const ROW_GROUP_BYTES: usize = 32 << 20;

/// A CSV or Parquet feature file being written.
pub(crate) struct TableSink {
    path: PathBuf,
    schema: SchemaRef,
    layout: FeatureFileLayout,
    writer: TableWriter,
}

enum TableWriter {
    Csv(CsvWriter),
    Parquet(Box<ArrowWriter<AtomicFile>>),
}

impl TableSink {
    pub(crate) fn create(
        path: &Path,
        format: FeatureFileFormat,
        header: &FeatureFileHeader,
        target: Option<&Field>,
    ) -> Result<Self, PipelineError> {
        let mut fields: Vec<Field> = target.iter().map(|f| (*f).clone()).collect();
        match header.layout {
            FeatureFileLayout::Dense => fields.extend(
                header
                    .feature_names
                    .iter()
                    .map(|n| Field::new(n, DataType::Float64, false)),
            ),
            FeatureFileLayout::Sparse => {
                fields.push(Field::new(
                    INDICES_COLUMN,
                    DataType::List(item(DataType::UInt32)),
                    false,
                ));
                fields.push(Field::new(
                    VALUES_COLUMN,
                    DataType::List(item(DataType::Float64)),
                    false,
                ));
            }
        }
        if let Some(t) = target
            && fields.iter().skip(1).any(|f| f.name() == t.name())
        {
            return Err(feature_file_error(
                path,
                &format!(
                    "the target column `{}` has the name of a feature column; rename it in the data or in the feature spec",
                    t.name()
                ),
            ));
        }
        let schema = Arc::new(Schema::new(fields));
        let writer = match format {
            FeatureFileFormat::Csv => TableWriter::Csv(CsvWriter::create(path, schema.clone())?),
            _ => {
                // Every column keeps an open page (and a dictionary) until it is
                // full: with a thousand dense columns those, not the row group,
                // fill memory. Small plain pages keep them to a few MiB.
                let sparse = header.layout == FeatureFileLayout::Sparse;
                let properties = WriterProperties::builder()
                    .set_dictionary_enabled(sparse)
                    .set_data_page_size_limit(if sparse { 1 << 20 } else { DENSE_PAGE_BYTES })
                    // Page statistics stay in memory until the file closes.
                    .set_statistics_enabled(EnabledStatistics::Chunk)
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
                    .set_key_value_metadata(Some(vec![KeyValue::new(
                        HEADER_KEY.to_string(),
                        json(header)?,
                    )]))
                    .build();
                let writer = ArrowWriter::try_new(
                    AtomicFile::create(path)?,
                    schema.clone(),
                    Some(properties),
                )
                .map_err(|e| parquet_error(path, e))?;
                TableWriter::Parquet(Box::new(writer))
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            schema,
            layout: header.layout,
            writer,
        })
    }

    /// Writes the rows; returns the number of stored values.
    pub(crate) fn write(
        &mut self,
        features: &Features,
        target: Option<&ArrayRef>,
    ) -> Result<u64, PipelineError> {
        let mut columns: Vec<ArrayRef> = target.cloned().into_iter().collect();
        let stored = match self.layout {
            FeatureFileLayout::Dense => {
                let matrix = as_dense(features);
                columns.extend(
                    matrix
                        .columns()
                        .into_iter()
                        .map(|c| Arc::new(Float64Array::from(c.to_vec())) as ArrayRef),
                );
                matrix.len()
            }
            FeatureFileLayout::Sparse => {
                let matrix = as_csr(features);
                let (indices, values) = sparse_columns(&self.path, &matrix)?;
                columns.push(indices);
                columns.push(values);
                matrix.nnz()
            }
        };
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| feature_file_error(&self.path, &e.to_string()))?;
        match &mut self.writer {
            TableWriter::Csv(w) => w.write(&batch)?,
            TableWriter::Parquet(w) => w.write(&batch).map_err(|e| parquet_error(&self.path, e))?,
        }
        Ok(stored as u64)
    }

    pub(crate) fn finish(
        self,
        summary: FeatureFileSummary,
    ) -> Result<FeatureFileSummary, PipelineError> {
        match self.writer {
            TableWriter::Csv(w) => {
                w.commit()?;
            }
            TableWriter::Parquet(mut w) => {
                w.append_key_value_metadata(KeyValue::new(
                    SUMMARY_KEY.to_string(),
                    json(&summary)?,
                ));
                w.into_inner()
                    .map_err(|e| parquet_error(&self.path, e))?
                    .commit()?;
            }
        }
        Ok(summary)
    }
}

fn item(data_type: DataType) -> FieldRef {
    Arc::new(Field::new("item", data_type, false))
}

/// A CSR matrix as the `indices` and `values` list columns (one list per row).
fn sparse_columns(path: &Path, m: &CsMat<f64>) -> Result<(ArrayRef, ArrayRef), PipelineError> {
    let too_big = || {
        feature_file_error(
            path,
            "more than 2^31 stored values in one batch; read the data in smaller batches",
        )
    };
    let indptr = m.indptr();
    let indptr = indptr.raw_storage();
    let (first, last) = (
        indptr.first().copied().unwrap_or(0),
        indptr.last().copied().unwrap_or(0),
    );
    let offsets: Vec<i32> = indptr
        .iter()
        .map(|&o| i32::try_from(o - first).map_err(|_| too_big()))
        .collect::<Result<_, _>>()?;
    // Output widths are capped far below 2^32 (mlrig_features::MAX_OUTPUT_COLUMNS).
    let indices: Vec<u32> = m.indices()[first..last]
        .iter()
        .map(|&i| u32::try_from(i).map_err(|_| too_big()))
        .collect::<Result<_, _>>()?;
    let data = m.data()[first..last].to_vec();
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    let indices = ListArray::try_new(
        item(DataType::UInt32),
        offsets.clone(),
        Arc::new(UInt32Array::from(indices)),
        None,
    )
    .map_err(|e| feature_file_error(path, &e.to_string()))?;
    let values = ListArray::try_new(
        item(DataType::Float64),
        offsets,
        Arc::new(Float64Array::from(data)),
        None,
    )
    .map_err(|e| feature_file_error(path, &e.to_string()))?;
    Ok((Arc::new(indices), Arc::new(values)))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, PipelineError> {
    serde_json::to_string(value).map_err(|e| PipelineError::Json {
        context: "feature file metadata".into(),
        source: e,
    })
}

fn parquet_error(path: &Path, e: parquet::errors::ParquetError) -> PipelineError {
    mlrig_core::Error::io(path, std::io::Error::other(e)).into()
}

/// Reads a Parquet feature file (see [`super::read_feature_file`]).
pub(crate) fn read(path: &Path, keep: &dyn Fn(u64) -> bool) -> Result<FeatureRows, PipelineError> {
    let file = std::fs::File::open(path).map_err(|e| mlrig_core::Error::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| feature_file_error(path, &format!("not a readable Parquet file: {e}")))?;
    let metadata = builder.metadata().file_metadata().key_value_metadata();
    let value = |key: &str| {
        metadata
            .and_then(|kv| kv.iter().find(|e| e.key == key))
            .and_then(|e| e.value.as_deref())
    };
    let metadata = |key: &str| value(key).ok_or_else(|| missing_metadata(path, key));
    let header: FeatureFileHeader = parse_metadata(path, HEADER_KEY, metadata(HEADER_KEY)?)?;
    let summary: FeatureFileSummary = parse_metadata(path, SUMMARY_KEY, metadata(SUMMARY_KEY)?)?;
    let schema = builder.schema().clone();
    let width = header.feature_names.len();
    let column = |name: &str, expected: &DataType| -> Result<usize, PipelineError> {
        match schema.index_of(name) {
            Ok(i) if schema.field(i).data_type() == expected => Ok(i),
            Ok(i) => Err(feature_file_error(
                path,
                &format!(
                    "column `{name}`: expected {expected}, found {}",
                    schema.field(i).data_type()
                ),
            )),
            Err(_) => Err(feature_file_error(path, &format!("no column `{name}`"))),
        }
    };
    let reader = builder
        .build()
        .map_err(|e| feature_file_error(path, &e.to_string()))?;
    let mut rows_read = 0u64;
    let features = match header.layout {
        FeatureFileLayout::Sparse => {
            let indices_at = column(INDICES_COLUMN, &DataType::List(item(DataType::UInt32)))?;
            let values_at = column(VALUES_COLUMN, &DataType::List(item(DataType::Float64)))?;
            let mut rows = SparseRows::default();
            for batch in reader {
                let batch = batch.map_err(|e| feature_file_error(path, &e.to_string()))?;
                let indices = batch.column(indices_at).as_list::<i32>();
                let values = batch.column(values_at).as_list::<i32>();
                for r in 0..batch.num_rows() {
                    let (i, v) = (indices.value(r), values.value(r));
                    let (i, v) = (
                        i.as_primitive::<UInt32Type>().values(),
                        v.as_primitive::<Float64Type>().values(),
                    );
                    let checked = if keep(rows_read) {
                        rows.push(i, v, width, 0)
                    } else {
                        SparseRows::check(i, v, width, 0)
                    };
                    checked.map_err(|reason| {
                        feature_file_error(path, &format!("row {rows_read}: {reason}"))
                    })?;
                    rows_read += 1;
                }
            }
            rows.into_features(&header.feature_names, width)
                .map_err(|e| feature_file_error(path, &e.to_string()))?
        }
        FeatureFileLayout::Dense => {
            let at: Vec<usize> = header
                .feature_names
                .iter()
                .map(|n| column(n, &DataType::Float64))
                .collect::<Result<_, _>>()?;
            let mut values = Vec::new();
            let mut kept = 0usize;
            for batch in reader {
                let batch = batch.map_err(|e| feature_file_error(path, &e.to_string()))?;
                let columns: Vec<&Float64Array> = at
                    .iter()
                    .map(|&i| batch.column(i).as_primitive::<Float64Type>())
                    .collect();
                for r in 0..batch.num_rows() {
                    if keep(rows_read) {
                        values.extend(columns.iter().map(|c| c.value(r)));
                        kept += 1;
                    }
                    rows_read += 1;
                }
            }
            let matrix = Array2::from_shape_vec((kept, width), values)
                .map_err(|e| feature_file_error(path, &e.to_string()))?;
            Features::dense(header.feature_names.clone(), matrix)?
        }
    };
    check_rows_read(path, rows_read, &summary)?;
    Ok(FeatureRows {
        header,
        summary,
        features,
    })
}

/// Kept sparse rows as CSR arrays, checked as they are appended.
#[derive(Default)]
pub(crate) struct SparseRows {
    indptr: Vec<usize>,
    indices: Vec<usize>,
    data: Vec<f64>,
}

impl SparseRows {
    /// Checks one row: as many indices as values, indices ascending and
    /// below `width`. Messages give indices as the file writes them
    /// (`base` added: 1 for svmlight).
    pub(crate) fn check(
        indices: &[u32],
        values: &[f64],
        width: usize,
        base: usize,
    ) -> Result<(), String> {
        if indices.len() != values.len() {
            return Err(format!(
                "{} indices but {} values",
                indices.len(),
                values.len()
            ));
        }
        let mut previous: Option<usize> = None;
        for &i in indices {
            let i = i as usize;
            if i >= width {
                return Err(format!(
                    "column index {} out of range: the file has {width} columns",
                    i + base
                ));
            }
            if let Some(p) = previous.filter(|&p| p >= i) {
                return Err(format!(
                    "column indices not ascending: {} after {}",
                    i + base,
                    p + base
                ));
            }
            previous = Some(i);
        }
        Ok(())
    }

    /// Appends one row after [`SparseRows::check`].
    pub(crate) fn push(
        &mut self,
        indices: &[u32],
        values: &[f64],
        width: usize,
        base: usize,
    ) -> Result<(), String> {
        Self::check(indices, values, width, base)?;
        if self.indptr.is_empty() {
            self.indptr.push(0);
        }
        self.indices.extend(indices.iter().map(|&i| i as usize));
        self.data.extend_from_slice(values);
        self.indptr.push(self.indices.len());
        Ok(())
    }

    pub(crate) fn into_features(
        mut self,
        names: &[String],
        width: usize,
    ) -> Result<Features, mlrig_core::Error> {
        if self.indptr.is_empty() {
            self.indptr.push(0);
        }
        let rows = self.indptr.len() - 1;
        let matrix = CsMat::try_new((rows, width), self.indptr, self.indices, self.data).map_err(
            |(_, _, _, e)| {
                mlrig_core::Error::component(
                    "mlrig-pipeline",
                    std::io::Error::other(e.to_string()),
                    false,
                )
            },
        )?;
        Features::sparse(names.to_vec(), matrix)
    }
}
