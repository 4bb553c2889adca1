//! svmlight / libsvm text: `label index:value …` per row, indices 1-based and
//! ascending, with the mlrig header and summary as `#` comment lines (which
//! scikit-learn's `load_svmlight_file`, LightGBM and XGBoost skip).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{Float64Type, Int64Type};
use mlrig_core::arrow_array::{Array, ArrayRef};
use mlrig_core::arrow_schema::DataType;
use mlrig_core::{AtomicFile, Features};

use super::parquet_file::SparseRows;
use super::{
    FeatureFileHeader, FeatureFileSummary, FeatureRows, HEADER_KEY, SUMMARY_KEY, as_csr,
    check_rows_read, feature_file_error, missing_metadata, parse_metadata,
};
use crate::PipelineError;

/// Text buffered before it is written out.
const BUFFER_BYTES: usize = 1 << 20;

pub(crate) struct SvmlightWriter {
    path: PathBuf,
    out: BufWriter<AtomicFile>,
    line: Vec<u8>,
    /// Text classes in order of first appearance.
    classes: HashMap<String, usize>,
}

impl SvmlightWriter {
    pub(crate) fn create(path: &Path, header: &FeatureFileHeader) -> Result<Self, PipelineError> {
        let mut writer = Self {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(BUFFER_BYTES, AtomicFile::create(path)?),
            line: Vec::with_capacity(BUFFER_BYTES),
            classes: HashMap::new(),
        };
        let text = serde_json::to_string(header).map_err(|e| PipelineError::Json {
            context: "feature file header".into(),
            source: e,
        })?;
        writer.put(format!("# {HEADER_KEY} {text}\n").as_bytes())?;
        Ok(writer)
    }

    /// Writes the rows; returns the number of stored values.
    pub(crate) fn write(
        &mut self,
        features: &Features,
        target: Option<&ArrayRef>,
    ) -> Result<u64, PipelineError> {
        let matrix = as_csr(features);
        let mut numbers = ryu::Buffer::new();
        let mut integers = itoa::Buffer::new();
        for (r, row) in matrix.outer_iterator().enumerate() {
            match target {
                Some(t) => self.push_label(t.as_ref(), r)?,
                None => self.line.push(b'0'),
            }
            for (i, &v) in row.iter() {
                self.line.push(b' ');
                self.line
                    .extend_from_slice(integers.format(i + 1).as_bytes());
                self.line.push(b':');
                push_number(&mut self.line, &mut numbers, v);
            }
            self.line.push(b'\n');
            if self.line.len() >= BUFFER_BYTES {
                self.flush_line()?;
            }
        }
        Ok(matrix.nnz() as u64)
    }

    fn push_label(&mut self, target: &dyn Array, row: usize) -> Result<(), PipelineError> {
        if target.is_null(row) {
            self.line.extend_from_slice(b"nan");
            return Ok(());
        }
        let mut numbers = ryu::Buffer::new();
        match target.data_type() {
            DataType::Int64 => {
                let v = target.as_primitive::<Int64Type>().value(row);
                self.line
                    .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
            }
            DataType::Float64 => {
                let v = target.as_primitive::<Float64Type>().value(row);
                push_number(&mut self.line, &mut numbers, v);
            }
            DataType::Boolean => {
                let v = target.as_boolean().value(row);
                self.line.push(if v { b'1' } else { b'0' });
            }
            DataType::Utf8 => {
                let class = target.as_string::<i32>().value(row);
                let next = self.classes.len();
                let index = match self.classes.get(class) {
                    Some(&i) => i,
                    None => {
                        self.classes.insert(class.to_string(), next);
                        next
                    }
                };
                self.line
                    .extend_from_slice(itoa::Buffer::new().format(index).as_bytes());
            }
            other => {
                return Err(feature_file_error(
                    &self.path,
                    &format!(
                        "an svmlight label must be a number, a boolean or a text class; the target is {other}"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), PipelineError> {
        self.out
            .write_all(bytes)
            .map_err(|e| mlrig_core::Error::io(&self.path, e).into())
    }

    fn flush_line(&mut self) -> Result<(), PipelineError> {
        let line = std::mem::take(&mut self.line);
        self.put(&line)?;
        self.line = line;
        self.line.clear();
        Ok(())
    }

    pub(crate) fn finish(
        mut self,
        mut summary: FeatureFileSummary,
    ) -> Result<FeatureFileSummary, PipelineError> {
        let mut classes: Vec<(String, usize)> = self.classes.drain().collect();
        classes.sort_by_key(|(_, i)| *i);
        summary.classes = classes.into_iter().map(|(c, _)| c).collect();
        let text = serde_json::to_string(&summary).map_err(|e| PipelineError::Json {
            context: "feature file summary".into(),
            source: e,
        })?;
        self.line
            .extend_from_slice(format!("# {SUMMARY_KEY} {text}\n").as_bytes());
        self.flush_line()?;
        self.out
            .into_inner()
            .map_err(|e| mlrig_core::Error::io(&self.path, e.into_error()))?
            .commit()?;
        Ok(summary)
    }
}

/// Shortest round-trip text of `v`; integral values without `.0` (`1`, not `1.0`).
fn push_number(line: &mut Vec<u8>, buffer: &mut ryu::Buffer, v: f64) {
    if v == 1.0 {
        line.push(b'1');
        return;
    }
    let text = buffer.format(v);
    line.extend_from_slice(text.strip_suffix(".0").unwrap_or(text).as_bytes());
}

/// Reads an svmlight feature file (see [`super::read_feature_file`]).
pub(crate) fn read(path: &Path, keep: &dyn Fn(u64) -> bool) -> Result<FeatureRows, PipelineError> {
    let file = std::fs::File::open(path).map_err(|e| mlrig_core::Error::io(path, e))?;
    let mut lines = BufReader::with_capacity(BUFFER_BYTES, file);
    let mut header: Option<FeatureFileHeader> = None;
    let mut summary: Option<FeatureFileSummary> = None;
    let mut rows = SparseRows::default();
    let (mut indices, mut values) = (Vec::new(), Vec::new());
    let mut rows_read = 0u64;
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = lines
            .read_line(&mut line)
            .map_err(|e| feature_file_error(path, &format!("line {}: {e}", number + 1)))?;
        if read == 0 {
            break;
        }
        number += 1;
        let at = |reason: String| feature_file_error(path, &format!("line {number}: {reason}"));
        let text = line.trim_end();
        if let Some(comment) = text.strip_prefix('#') {
            let comment = comment.trim_start();
            if let Some(json) = comment
                .strip_prefix(SUMMARY_KEY)
                .filter(|j| j.starts_with(' '))
            {
                summary = Some(parse_metadata(path, SUMMARY_KEY, json)?);
            } else if let Some(json) = comment
                .strip_prefix(HEADER_KEY)
                .filter(|j| j.starts_with(' '))
            {
                header = Some(parse_metadata(path, HEADER_KEY, json)?);
            }
            continue;
        }
        if text.is_empty() {
            continue;
        }
        let Some(header) = &header else {
            return Err(at(format!(
                "a row before the `# {HEADER_KEY}` line: not a feature file written by `mlrig features apply`"
            )));
        };
        if summary.is_some() {
            return Err(at(format!("a row after the `# {SUMMARY_KEY}` line")));
        }
        // Comments may also end a data line.
        let text = text.split('#').next().unwrap_or_default();
        indices.clear();
        values.clear();
        let mut fields = text.split_ascii_whitespace();
        let label = fields.next().unwrap_or_default();
        if label.parse::<f64>().is_err() {
            return Err(at(format!("label: expected a number, found {label:?}")));
        }
        for pair in fields {
            let parsed = pair
                .split_once(':')
                .and_then(|(i, v)| Some((i.parse::<u32>().ok()?, v.parse::<f64>().ok()?)));
            match parsed {
                Some((i, v)) if i >= 1 => {
                    indices.push(i - 1);
                    values.push(v);
                }
                Some(_) => return Err(at("column index 0: svmlight indices start at 1".into())),
                None if pair.starts_with("qid:") => {}
                None => {
                    return Err(at(format!(
                        "expected index:value (a positive integer and a number), found {pair:?}"
                    )));
                }
            }
        }
        let width = header.feature_names.len();
        if keep(rows_read) {
            rows.push(&indices, &values, width, 1)
        } else {
            SparseRows::check(&indices, &values, width, 1)
        }
        .map_err(at)?;
        rows_read += 1;
    }
    let header = header.ok_or_else(|| missing_metadata(path, HEADER_KEY))?;
    let summary = summary.ok_or_else(|| missing_metadata(path, SUMMARY_KEY))?;
    check_rows_read(path, rows_read, &summary)?;
    let features = rows
        .into_features(&header.feature_names, header.feature_names.len())
        .map_err(|e| feature_file_error(path, &e.to_string()))?;
    Ok(FeatureRows {
        header,
        summary,
        features,
    })
}
