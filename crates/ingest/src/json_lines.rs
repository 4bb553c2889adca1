//! [`JsonLinesReader`]: JSON Lines files (one JSON object per line) as a
//! stream of Arrow record batches with the same types, counts and quarantine
//! as CSV.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use mlrig_core::arrow_array::{RecordBatch, RecordBatchReader};
use mlrig_core::arrow_schema::{ArrowError, SchemaRef};
use serde_json::{Map, Value};

use crate::batch_assembler::{BatchAssembler, Rejection, input_paths};
use crate::batch_stream::BatchStream;
use crate::column_type::{Cell, ColumnType, MissingTokens, ValueKind};
use crate::file_set::{decompressed, open_file};
use crate::inference::SampleProfile;
use crate::quarantine::QuarantinedRow;
use crate::row_origin::RowOrigins;
use crate::{FileSet, IngestError, IngestReport, IngestSummary, ReadOptions};

/// Bytes kept from a line over the size limit, for the quarantine.
const OVERSIZE_PREVIEW: usize = 1024;

/// Streams JSON Lines as Arrow [`RecordBatch`]es of at most
/// [`batch_size`](ReadOptions::with_batch_size) rows, with the same column
/// types (`Boolean`, `Int64`, `Float64`, `Utf8`), counts and quarantine as
/// [`CsvReader`](crate::CsvReader).
///
/// It takes the same [`ReadOptions`]; the CSV dialect
/// ([`CsvFormat`](crate::CsvFormat)) does not apply. Lines are split on `\n` (a trailing `\r` is ignored, a
/// UTF-8 byte-order mark at the start of a file is skipped); blank lines are
/// not rows; `max_record_bytes` caps the length of a line.
///
/// **Schema.** The columns are the keys of the objects in the sample (the
/// first [`infer_rows`](crate::InferenceOptions::with_infer_rows) non-blank lines, or
/// `ceil(infer_rows / files)` per file), in order of first appearance,
/// followed by the [overrides](crate::InferenceOptions::with_column_type) that name a key
/// not seen in the sample (sorted by name), so an override also declares a
/// sparse field. A column's type comes from the JSON types of its sampled
/// values with the CSV tolerance rules: booleans → `Boolean`; integers that
/// fit `i64` → `Int64`; other numbers → `Float64` (integers and floats mix);
/// strings, arrays and objects → `Utf8`.
///
/// **Values.** `null`, an absent key and a string equal to a missing token
/// are nulls. `Int64` takes integers that fit `i64`; `Float64` takes any
/// number; `Boolean` takes `true`/`false`; `Utf8` takes strings as they are
/// and any other value as its compact JSON text. A JSON string is never
/// parsed as a number.
///
/// **Quarantine**, with the file, the line, the field and the value: a line
/// that is not valid JSON or not an object, a value of the wrong type (for
/// example a string or `3.5` in an `Int64` column), a line over
/// `max_record_bytes`, and a key that is not a column (the row is
/// quarantined rather than the field dropped: raise `infer_rows` or declare
/// the field with an override to keep it).
///
/// ```
/// use mlrig_ingest::{ReadOptions, JsonLinesReader};
/// use mlrig_ingest::DataType;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("events.jsonl");
/// std::fs::write(&path, concat!(
///     "{\"user\": \"ada\", \"clicks\": 3, \"score\": 0.5}\n",
///     "{\"user\": \"bob\", \"clicks\": null}\n",
///     "[1, 2]\n",
///     "{\"user\": \"cy\", \"clicks\": \"many\", \"score\": 2}\n",
///     "{\"user\": \"dee\", \"clicks\": 7, \"score\": 1.5}\n",
///     "{\"user\": \"eve\", \"clicks\": 1, \"score\": 1}\n",
/// ))?;
/// let mut reader = JsonLinesReader::open(&path, ReadOptions::default())?;
/// let schema = reader.schema();
/// assert_eq!(schema.field(1).data_type(), &DataType::Int64);
/// assert_eq!(schema.field(2).data_type(), &DataType::Float64);
/// let batch = reader.next().unwrap()?;
/// assert_eq!(batch.num_rows(), 4);
/// let bad: Vec<(u64, &str)> = reader.quarantined().iter().map(|q| (q.line, q.reason.as_str())).collect();
/// assert_eq!(bad, [(3, "expected a JSON object, found an array"),
///                  (4, "expected Int64, found string \"many\"")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct JsonLinesReader {
    files: Vec<PathBuf>,
    next_file: usize,
    lines: Option<LineReader>,
    /// Sampled lines not yet streamed.
    pending: VecDeque<Line>,
    scratch: Line,
    cells: Vec<Cell>,
    texts: Vec<String>,
    options: ReadOptions,
    out: BatchAssembler,
    failed: bool,
    exhausted: bool,
}

impl std::fmt::Debug for JsonLinesReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLinesReader")
            .field("files", &self.files)
            .field("schema", &self.out.schema())
            .field("summary", self.out.summary())
            .finish_non_exhaustive()
    }
}

impl JsonLinesReader {
    /// Opens one JSON Lines file (gzip-compressed or not) and infers the
    /// schema from its first lines.
    ///
    /// Errors: the file cannot be read ([`IngestError::Io`]), it has no
    /// non-blank line and no override declares a column
    /// ([`IngestError::EmptyFile`]), or an option is invalid.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, IngestError, JsonLinesReader};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("empty.jsonl");
    /// std::fs::write(&path, "\n\n")?;
    /// let err = JsonLinesReader::open(&path, ReadOptions::default()).unwrap_err();
    /// assert!(matches!(err, IngestError::EmptyFile { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(
        path: impl AsRef<Path>,
        options: ReadOptions,
    ) -> Result<JsonLinesReader, IngestError> {
        JsonLinesReader::open_files(&FileSet::from(path.as_ref()), options)
    }

    /// Opens every file of `files` as one table, the schema inferred from a
    /// sample of each file; the files are streamed in order.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, FileSet, JsonLinesReader};
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("1.jsonl"), "{\"a\": 1}\n")?;
    /// std::fs::write(dir.path().join("2.jsonl"), "{\"a\": 2, \"b\": true}\n")?;
    /// let files = FileSet::new([dir.path().join("*.jsonl").to_str().unwrap()])?;
    /// let reader = JsonLinesReader::open_files(&files, ReadOptions::default())?;
    /// assert_eq!(reader.schema().fields().len(), 2);
    /// let report = reader.finish()?;
    /// assert_eq!(report.summary.rows_accepted, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_files(
        files: &FileSet,
        options: ReadOptions,
    ) -> Result<JsonLinesReader, IngestError> {
        let paths = input_paths(files, &options)?;
        let first = &paths[0];
        let lines = LineReader::new(open_file(first)?, first, options.max_record_bytes());
        JsonLinesReader::start(paths, lines, options)
    }

    /// Reads JSON Lines from any byte source; `name` stands for it in errors
    /// and the summary. Gzip data is recognized by its magic bytes.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, JsonLinesReader};
    /// let data = "{\"x\": 1.5}\n{\"x\": 2}\n";
    /// let reader = JsonLinesReader::from_reader(data.as_bytes(), "<stdin>", ReadOptions::default())?;
    /// assert_eq!(reader.finish()?.summary.rows_accepted, 2);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn from_reader(
        source: impl Read + Send + 'static,
        name: impl AsRef<Path>,
        options: ReadOptions,
    ) -> Result<JsonLinesReader, IngestError> {
        options.validate()?;
        let path = name.as_ref().to_path_buf();
        let source = decompressed(source, false).map_err(|e| IngestError::io(&path, e))?;
        let lines = LineReader::new(source, &path, options.max_record_bytes());
        JsonLinesReader::start(vec![path], lines, options)
    }

    fn start(
        files: Vec<PathBuf>,
        mut lines: LineReader,
        options: ReadOptions,
    ) -> Result<JsonLinesReader, IngestError> {
        let first_path = files.first().cloned().unwrap_or_default();
        let per_file = options
            .inference()
            .infer_rows()
            .div_ceil(files.len().max(1));
        let mut pending = VecDeque::new();
        let mut scratch = Line::default();
        while pending.len() < per_file && lines.read(&mut scratch)? {
            pending.push_back(std::mem::take(&mut scratch));
        }
        let mut seen_lines = !pending.is_empty();
        let mut sample = Sample::new(&options);
        for line in &pending {
            sample.observe(line);
        }
        for path in files.iter().skip(1) {
            let mut other = LineReader::new(open_file(path)?, path, options.max_record_bytes());
            let mut sampled = 0;
            while sampled < per_file && other.read(&mut scratch)? {
                sample.observe(&scratch);
                sampled += 1;
                seen_lines = true;
            }
        }
        let mut names = sample.names;
        for column in options.inference().column_types().keys() {
            if !names.contains(column) {
                names.push(column.clone());
            }
        }
        if !seen_lines && names.is_empty() {
            // Without a header there is nothing to take columns from.
            let more = lines.read(&mut scratch)?;
            if !more {
                return Err(IngestError::EmptyFile { path: first_path });
            }
            pending.push_back(std::mem::take(&mut scratch));
        }
        let types = sample.profile.column_types(&names, &options, &first_path)?;
        let mut out = BatchAssembler::new(names, types, &options, &first_path)?;
        out.start_file(&first_path);
        Ok(JsonLinesReader {
            files,
            next_file: 1,
            lines: Some(lines),
            pending,
            scratch,
            cells: Vec::with_capacity(out.names().len()),
            texts: vec![String::new(); out.names().len()],
            options,
            out,
            failed: false,
            exhausted: false,
        })
    }

    /// The schema of every batch (every field nullable).
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, JsonLinesReader};
    /// use mlrig_ingest::DataType;
    /// let r = JsonLinesReader::from_reader(&b"{\"ok\": true}\n"[..], "m.jsonl", ReadOptions::default())?;
    /// assert_eq!(r.schema().field(0).data_type(), &DataType::Boolean);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn schema(&self) -> SchemaRef {
        self.out.schema()
    }

    /// The totals so far.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, JsonLinesReader};
    /// let mut r = JsonLinesReader::from_reader(&b"{\"a\": 1}\n"[..], "m.jsonl", ReadOptions::default())?;
    /// r.next();
    /// assert_eq!(r.summary().rows_read, 1);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn summary(&self) -> &IngestSummary {
        self.out.summary()
    }

    /// The quarantined rows so far, up to the
    /// [`keep`](crate::QuarantineOptions::with_keep) cap.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, JsonLinesReader};
    /// let data = "{\"a\": 1}\n{\"a\": 2, \"extra\": 0}\n";
    /// let mut r = JsonLinesReader::from_reader(data.as_bytes(), "m.jsonl", ReadOptions::default().with_inference(mlrig_ingest::InferenceOptions::default().with_infer_rows(1)))?;
    /// r.next();
    /// assert_eq!(r.quarantined()[0].column.as_deref(), Some("extra"));
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn quarantined(&self) -> &[QuarantinedRow] {
        self.out.quarantined()
    }

    /// The input files, in reading order; [`RowOrigin::file_index`] indexes
    /// this list.
    ///
    /// [`RowOrigin::file_index`]: crate::RowOrigin::file_index
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, JsonLinesReader};
    /// let r = JsonLinesReader::from_reader(&b"{\"a\": 1}\n"[..], "m.jsonl", ReadOptions::default())?;
    /// assert_eq!(r.files(), [std::path::PathBuf::from("m.jsonl")]);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Where each row of the batch most recently returned by `next` comes
    /// from (file index and 1-based line), in row order; empty before the
    /// first batch. Costs one `u64` per row of a batch.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, JsonLinesReader};
    /// let data = "{\"a\": 1}\n\n{\"a\": \"x\"}\n{\"a\": 3}\n";
    /// let mut r = JsonLinesReader::from_reader(data.as_bytes(), "m.jsonl", ReadOptions::default().with_inference(mlrig_ingest::InferenceOptions::default().with_infer_rows(1)))?;
    /// let batch = r.next().unwrap()?;
    /// assert_eq!(batch.num_rows(), 2);
    /// assert_eq!(r.last_batch_origins().lines(), [1, 4]); // line 3 is quarantined
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn last_batch_origins(&self) -> &RowOrigins {
        self.out.last_origins()
    }

    /// Reads the remaining rows (their batches are dropped), commits the
    /// quarantine file and returns the report; [`IngestError::ReadAborted`]
    /// if the reader already returned an error.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, JsonLinesReader};
    /// let r = JsonLinesReader::from_reader(&b"{\"a\": 1}\nnot json\n"[..], "m.jsonl", ReadOptions::default())?;
    /// let report = r.finish()?;
    /// assert_eq!((report.summary.rows_accepted, report.summary.rows_quarantined), (1, 1));
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn finish(self) -> Result<IngestReport, IngestError> {
        self.finish_stream()
    }

    fn process(&mut self, line: &Line) -> Result<(), IngestError> {
        if !self.out.admit() {
            return Ok(());
        }
        let checked = check_line(
            line,
            self.out.names(),
            self.out.types(),
            self.out.missing(),
            self.out.split_key(),
            &mut self.cells,
            &mut self.texts,
        );
        match checked {
            Ok(()) => {
                let texts = &self.texts;
                self.out
                    .accept(line.number, &self.cells, |i| texts[i].as_str());
                Ok(())
            }
            Err(rejection) => self
                .out
                .quarantine(line.number, rejection, || line.display()),
        }
    }
}

impl BatchStream for JsonLinesReader {
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
        while !self.exhausted && !self.out.is_full() {
            if let Some(line) = self.pending.pop_front() {
                self.process(&line)?;
                continue;
            }
            let Some(lines) = self.lines.as_mut() else {
                match self.files.get(self.next_file).cloned() {
                    Some(path) => {
                        self.next_file += 1;
                        let source = open_file(&path)?;
                        self.lines = Some(LineReader::new(
                            source,
                            &path,
                            self.options.max_record_bytes(),
                        ));
                        self.out.start_file(&path);
                    }
                    None => self.exhausted = true,
                }
                continue;
            };
            let mut line = std::mem::take(&mut self.scratch);
            let result = match lines.read(&mut line) {
                Ok(true) => self.process(&line),
                Ok(false) => {
                    self.lines = None;
                    Ok(())
                }
                Err(e) => Err(e),
            };
            self.scratch = line;
            result?;
        }
        self.out.flush()
    }
}

/// Batches in order; an error (an [`IngestError`] inside
/// [`ArrowError::ExternalError`]) ends the stream.
impl Iterator for JsonLinesReader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_arrow()
    }
}

impl RecordBatchReader for JsonLinesReader {
    fn schema(&self) -> SchemaRef {
        self.assembler().schema()
    }
}

impl std::iter::FusedIterator for JsonLinesReader {}

/// Reads a whole JSON Lines file into memory: the schema, every batch and
/// the report.
///
/// ```
/// use mlrig_ingest::{ReadOptions, read_json_lines};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.jsonl");
/// std::fs::write(&path, "{\"a\": \"x\"}\n{\"a\": \"y\"}\n")?;
/// let (schema, batches, report) = read_json_lines(&path, ReadOptions::default())?;
/// assert_eq!(schema.field(0).name(), "a");
/// assert_eq!(batches[0].num_rows(), 2);
/// assert_eq!(report.summary.rows_read, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_json_lines(
    path: impl AsRef<Path>,
    options: ReadOptions,
) -> Result<(SchemaRef, Vec<RecordBatch>, IngestReport), IngestError> {
    JsonLinesReader::open(path, options)?.read_whole()
}

/// Column names and value kinds gathered from sampled lines.
struct Sample {
    names: Vec<String>,
    positions: HashMap<String, usize>,
    profile: SampleProfile,
}

impl Sample {
    fn new(options: &ReadOptions) -> Self {
        Sample {
            names: Vec::new(),
            positions: HashMap::new(),
            profile: SampleProfile::new(0, options),
        }
    }

    /// Adds the keys and value kinds of one line (left out unless it is a
    /// JSON object within the size limit).
    fn observe(&mut self, line: &Line) {
        if line.oversize.is_some() {
            return;
        }
        let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&line.bytes) else {
            return;
        };
        // `Map` is sorted by key; the keys' written order comes from a second,
        // value-skipping pass over the (sampled) line.
        let Ok(KeyOrder(keys)) = serde_json::from_slice::<KeyOrder>(&line.bytes) else {
            return;
        };
        for key in &keys {
            let Some(value) = object.get(key) else {
                continue;
            };
            let column = match self.positions.get(key) {
                Some(&i) => i,
                None => {
                    self.names.push(key.clone());
                    self.positions.insert(key.clone(), self.names.len() - 1);
                    self.names.len() - 1
                }
            };
            let kind = match value {
                Value::Null => None,
                Value::Bool(_) => Some(ValueKind::Boolean),
                Value::Number(n) if n.is_i64() => Some(ValueKind::Int),
                Value::Number(_) => Some(ValueKind::Float),
                Value::String(s) if self.profile.is_missing(s) => None,
                Value::String(_) | Value::Array(_) | Value::Object(_) => Some(ValueKind::Text),
            };
            if let Some(kind) = kind {
                self.profile.observe(column, kind);
            }
        }
    }
}

/// The keys of a JSON object in the order they are written.
struct KeyOrder(Vec<String>);

impl<'de> serde::Deserialize<'de> for KeyOrder {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = KeyOrder;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<KeyOrder, A::Error> {
                let mut keys: Vec<String> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(KeyOrder(keys))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

/// Converts one line into `cells` (and `texts` for text cells), or says why
/// it is rejected (including a null value in the split key column
/// `split_key`).
fn check_line(
    line: &Line,
    names: &[String],
    types: &[ColumnType],
    missing: &MissingTokens,
    split_key: Option<usize>,
    cells: &mut Vec<Cell>,
    texts: &mut [String],
) -> Result<(), Rejection> {
    if let Some(size) = line.oversize {
        return Err(Rejection::row(format!(
            "line of {size} bytes is larger than max_record_bytes"
        )));
    }
    let object: Map<String, Value> = match serde_json::from_slice::<Value>(&line.bytes) {
        Ok(Value::Object(object)) => object,
        Ok(other) => {
            return Err(Rejection::row(format!(
                "expected a JSON object, found {}",
                mlrig_core::describe_json(&other)
            )));
        }
        Err(e) => return Err(Rejection::row(format!("invalid JSON: {e}"))),
    };
    cells.clear();
    let mut present = 0;
    for (i, (name, &column_type)) in names.iter().zip(types).enumerate() {
        let value = match object.get(name) {
            Some(value) => {
                present += 1;
                value
            }
            None => &Value::Null,
        };
        let cell = match (column_type, value) {
            (_, Value::Null) => Some(Cell::Null),
            (_, Value::String(s)) if missing.contains(s.trim_ascii()) => Some(Cell::Null),
            (ColumnType::Boolean, Value::Bool(b)) => Some(Cell::Bool(*b)),
            (ColumnType::Int64, Value::Number(n)) => n.as_i64().map(Cell::Int),
            (ColumnType::Float64, Value::Number(n)) => n.as_f64().map(Cell::Float),
            (ColumnType::Utf8, Value::String(s)) => {
                texts[i].clone_from(s);
                Some(Cell::Text)
            }
            (ColumnType::Utf8, other) => {
                texts[i] = other.to_string();
                Some(Cell::Text)
            }
            _ => None,
        };
        match cell {
            Some(Cell::Null) if split_key == Some(i) => {
                return Err(Rejection::value(
                    name,
                    value.to_string(),
                    crate::MISSING_KEY_REASON.to_string(),
                ));
            }
            Some(cell) => cells.push(cell),
            None => {
                return Err(Rejection::value(
                    name,
                    value.to_string(),
                    format!(
                        "expected {}, found {}",
                        column_type.data_type(),
                        mlrig_core::describe_json(value)
                    ),
                ));
            }
        }
    }
    if present < object.len() {
        // Keys are unique, so some key is not a column.
        if let Some((key, value)) = object.iter().find(|(k, _)| !names.contains(k)) {
            return Err(Rejection::value(
                key,
                value.to_string(),
                format!(
                    "unknown field `{key}`: not a column of the schema inferred from the sample"
                ),
            ));
        }
    }
    Ok(())
}

/// One non-blank line.
#[derive(Debug, Clone, Default)]
struct Line {
    /// 1-based line number in its file.
    number: u64,
    /// The line without its terminator (a preview when oversized).
    bytes: Vec<u8>,
    /// `Some(size)` when the line exceeded the size limit.
    oversize: Option<u64>,
}

impl Line {
    /// The line as text for the quarantine.
    fn display(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        match self.oversize {
            Some(_) => format!("{text}…"),
            None => text.into_owned(),
        }
    }
}

/// Splits a byte source into lines, with a size cap.
struct LineReader {
    source: BufReader<Box<dyn Read + Send>>,
    path: PathBuf,
    /// Lines consumed so far.
    lines: u64,
    max_bytes: usize,
}

impl LineReader {
    fn new(source: Box<dyn Read + Send>, path: &Path, max_bytes: usize) -> Self {
        LineReader {
            source: BufReader::with_capacity(64 * 1024, source),
            path: path.to_path_buf(),
            lines: 0,
            max_bytes,
        }
    }

    /// Reads the next non-blank line into `line`; `false` at the end.
    fn read(&mut self, line: &mut Line) -> Result<bool, IngestError> {
        loop {
            line.bytes.clear();
            line.oversize = None;
            let mut size: u64 = 0;
            let mut any = false;
            loop {
                let buf = self
                    .source
                    .fill_buf()
                    .map_err(|e| IngestError::io(&self.path, e))?;
                if buf.is_empty() {
                    break;
                }
                any = true;
                let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
                    Some(end) => (&buf[..end], true),
                    None => (buf, false),
                };
                size += chunk.len() as u64;
                let room = if line.oversize.is_some() {
                    0
                } else {
                    self.max_bytes.saturating_sub(line.bytes.len())
                };
                if chunk.len() > room && line.oversize.is_none() {
                    line.oversize = Some(0);
                    line.bytes.truncate(OVERSIZE_PREVIEW);
                    let keep = OVERSIZE_PREVIEW.saturating_sub(line.bytes.len());
                    line.bytes
                        .extend_from_slice(&chunk[..keep.min(chunk.len())]);
                } else if line.oversize.is_none() {
                    line.bytes.extend_from_slice(chunk);
                }
                let consumed = chunk.len() + usize::from(done);
                self.source.consume(consumed);
                if done {
                    break;
                }
            }
            if !any {
                return Ok(false);
            }
            self.lines += 1;
            line.number = self.lines;
            if let Some(s) = line.oversize.as_mut() {
                *s = size;
            } else {
                if line.bytes.last() == Some(&b'\r') {
                    line.bytes.pop();
                }
                if self.lines == 1 && line.bytes.starts_with(b"\xEF\xBB\xBF") {
                    line.bytes.drain(..3);
                }
            }
            if !line.bytes.trim_ascii().is_empty() || line.oversize.is_some() {
                return Ok(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(u64, String, Option<u64>)> {
        let mut reader = LineReader::new(
            Box::new(std::io::Cursor::new(input.to_vec())),
            Path::new("l.jsonl"),
            max,
        );
        let mut line = Line::default();
        let mut out = Vec::new();
        while reader.read(&mut line).unwrap() {
            out.push((line.number, line.display(), line.oversize));
        }
        out
    }

    #[test]
    fn lines_are_numbered_blank_lines_skipped_and_crlf_bom_removed() {
        let got = lines(b"\xEF\xBB\xBF{}\r\n\n  \n{\"a\":1}", 1 << 20);
        assert_eq!(
            got,
            [
                (1, "{}".to_string(), None),
                (4, "{\"a\":1}".to_string(), None)
            ]
        );
        assert!(lines(b"", 10).is_empty());
        assert!(lines(b"\n\r\n", 10).is_empty());
    }

    #[test]
    fn oversized_lines_are_flagged_with_their_size() {
        let mut input = vec![b'x'; 5000];
        input.extend(b"\n{}\n");
        let got = lines(&input, 100);
        assert_eq!(got[0].0, 1);
        assert_eq!(got[0].2, Some(5000));
        assert!(got[0].1.ends_with('…'));
        assert_eq!(got[1], (2, "{}".to_string(), None));
    }
}
