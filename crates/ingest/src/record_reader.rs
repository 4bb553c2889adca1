//! Splitting a byte stream into raw CSV records with exact starting lines.
//!
//! The parsing itself is `csv-core` (the engine of the `csv` crate); this
//! module drives it directly so that it can report the line where each record
//! *starts* (1-based, counting `\n`), which stays correct across CRLF line
//! ends, skipped blank lines and quoted fields spanning several lines, and so
//! that it can cap the memory of one record.

use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::IngestError;

/// Bytes of field data kept from a record that exceeds the size limit, so the
/// quarantine can show how it starts.
const OVERSIZE_PREVIEW: usize = 1024;
/// Initial field buffer of a record; it doubles as needed up to the limit.
const INITIAL_FIELD_BYTES: usize = 4 * 1024;
/// Initial number of field ends of a record.
const INITIAL_FIELDS: usize = 64;
/// Scratch space used to parse (and drop) the rest of an oversized record.
const DISCARD_BYTES: usize = 64 * 1024;

/// One CSV record as bytes: unescaped field data and where each field ends.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawRecord {
    /// Field bytes, back to back (only `data[..used]` is meaningful).
    data: Vec<u8>,
    /// `ends[i]` is the end of field `i` in `data` (only `ends[..fields]`).
    ends: Vec<usize>,
    used: usize,
    fields: usize,
    /// 1-based line where the record starts.
    line: u64,
    /// `Some(size)` when the record exceeded the size limit: only a preview of
    /// its bytes was kept, and field boundaries are lost.
    oversize: Option<u64>,
    /// Whether `data` keeps the one-byte delimiter between fields (records
    /// split without csv-core): field `i + 1` then starts one byte after
    /// `ends[i]`.
    delimited: bool,
}

impl RawRecord {
    /// A copy holding only the meaningful bytes (for the inference sample).
    pub(crate) fn compact(&self) -> RawRecord {
        RawRecord {
            data: self.data[..self.used].to_vec(),
            ends: self.ends[..self.fields.min(self.ends.len())].to_vec(),
            used: self.used,
            fields: self.fields,
            line: self.line,
            oversize: self.oversize,
            delimited: self.delimited,
        }
    }

    /// Fills the record with the fields of `line`, a record without quotes
    /// or line ends, split at every `delimiter` (what csv-core would do); the
    /// delimiters stay in `data`.
    fn fill_unquoted(&mut self, line: &[u8], delimiter: u8) {
        // The buffers keep their length (csv-core writes into them).
        if self.data.len() < line.len() {
            self.data.resize(line.len(), 0);
        }
        self.data[..line.len()].copy_from_slice(line);
        let fields = delimiter_positions(line, delimiter, &mut self.ends);
        self.used = line.len();
        self.fields = fields;
        self.delimited = true;
    }

    #[cfg(test)]
    pub(crate) fn to_strings(&self) -> Vec<String> {
        self.fields()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }
}

/// Writes the position of every `delimiter` in `line`, then `line.len()`,
/// to the front of `ends` (grown as needed, never shrunk): the field ends of
/// a record without quotes. Returns how many were written.
///
/// Eight bytes at a time: a word with a zero byte wherever `line` holds the
/// delimiter, turned into one bit per such byte, whose positions are read
/// off with `trailing_zeros` — a few instructions per word and per field
/// instead of a compare and branch per byte.
fn delimiter_positions(line: &[u8], delimiter: u8, ends: &mut Vec<usize>) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let pattern = ONES * u64::from(delimiter);
    let mut fields = 0;
    let mut push = |end: usize, ends: &mut Vec<usize>| {
        if fields == ends.len() {
            ends.resize((fields * 2).max(INITIAL_FIELDS), 0);
        }
        ends[fields] = end;
        fields += 1;
    };
    let mut words = line.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes) ^ pattern;
        // High bit set exactly in the bytes of `x` that are zero (no carries
        // cross bytes: each byte adds at most 0x7f + 0x7f).
        let mut matches = !(((x & LOW7) + LOW7) | x | LOW7);
        while matches != 0 {
            push(base + (matches.trailing_zeros() / 8) as usize, ends);
            matches &= matches - 1;
        }
        base += 8;
    }
    for (k, &b) in words.remainder().iter().enumerate() {
        if b == delimiter {
            push(base + k, ends);
        }
    }
    push(line.len(), ends);
    fields
}

/// Read access to one parsed CSV record, wherever its bytes are stored.
pub(crate) trait CsvRecord {
    /// The 1-based line where the record starts.
    fn line(&self) -> u64;
    /// The number of fields.
    fn len(&self) -> usize;
    /// `Some(size in bytes)` when the record was too large to hold.
    fn oversize(&self) -> Option<u64>;
    /// The unescaped bytes of every field, back to back (for an oversized
    /// record: the kept start of its bytes).
    fn bytes(&self) -> &[u8];
    /// Where field `i` lies in [`CsvRecord::bytes`] (empty for an oversized
    /// record or `i` out of range).
    fn field_range(&self, i: usize) -> Range<usize>;

    /// [`CsvRecord::bytes`] as text, `None` when they are not UTF-8. Every
    /// field is UTF-8 when this is `Some` and the field's range lies on
    /// character boundaries (`str::get`).
    fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.bytes()).ok()
    }

    /// The bytes of field `i` (empty for an oversized record or `i` out of range).
    fn field(&self, i: usize) -> &[u8] {
        self.bytes().get(self.field_range(i)).unwrap_or(&[])
    }

    /// The kept start of an oversized record's bytes.
    fn preview(&self) -> &[u8] {
        self.bytes()
    }

    /// [`CsvRecord::field_range`] of every field in order (none for an
    /// oversized record), computed in one walk over the field ends.
    fn field_ranges(&self) -> FieldRanges<'_>;

    /// The fields in order (none for an oversized record).
    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let n = if self.oversize().is_some() {
            0
        } else {
            self.len()
        };
        (0..n).map(|i| self.field(i))
    }
}

/// The ranges of a record's fields, relative to the record's bytes: what
/// [`field_range_in`] gives for each field in turn.
pub(crate) struct FieldRanges<'a> {
    ends: std::slice::Iter<'a, usize>,
    /// Where the next field starts (absolute).
    start: usize,
    record_start: usize,
    /// Bytes between one field's end and the next one's start.
    gap: usize,
}

impl<'a> FieldRanges<'a> {
    fn new(ends: &'a [usize], record_start: usize, delimited: bool) -> Self {
        FieldRanges {
            ends: ends.iter(),
            start: record_start,
            record_start,
            gap: usize::from(delimited),
        }
    }
}

impl Iterator for FieldRanges<'_> {
    type Item = Range<usize>;

    #[inline]
    fn next(&mut self) -> Option<Range<usize>> {
        let &end = self.ends.next()?;
        let start = self.start;
        self.start = end + self.gap;
        Some(
            start.saturating_sub(self.record_start)
                ..end.max(start).saturating_sub(self.record_start),
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ends.size_hint()
    }
}

/// The range of field `i` given absolute field `ends` (those of the record
/// only), the start of the record's bytes, and whether a delimiter byte
/// separates fields.
fn field_range_in(ends: &[usize], record_start: usize, delimited: bool, i: usize) -> Range<usize> {
    let start = match i.checked_sub(1) {
        None => record_start,
        Some(previous) => ends
            .get(previous)
            .map_or(record_start, |&end| end + usize::from(delimited)),
    };
    let end = ends.get(i).copied().unwrap_or(start);
    start.saturating_sub(record_start)..end.max(start).saturating_sub(record_start)
}

impl CsvRecord for RawRecord {
    fn line(&self) -> u64 {
        self.line
    }
    fn len(&self) -> usize {
        self.fields
    }
    fn oversize(&self) -> Option<u64> {
        self.oversize
    }
    fn bytes(&self) -> &[u8] {
        &self.data[..self.used.min(self.data.len())]
    }
    fn field_range(&self, i: usize) -> Range<usize> {
        if self.oversize.is_some() || i >= self.fields {
            return 0..0;
        }
        field_range_in(
            &self.ends[..self.fields.min(self.ends.len())],
            0,
            self.delimited,
            i,
        )
    }
    fn field_ranges(&self) -> FieldRanges<'_> {
        let ends = if self.oversize.is_some() {
            &[]
        } else {
            &self.ends[..self.fields.min(self.ends.len())]
        };
        FieldRanges::new(ends, 0, self.delimited)
    }
}

/// Many records stored back to back in three flat buffers (few
/// allocations, good locality), for handing chunks to other threads.
#[derive(Debug, Default)]
pub(crate) struct RecordBlock {
    data: Vec<u8>,
    /// Absolute end offsets in `data` of every field of every record.
    ends: Vec<usize>,
    entries: Vec<BlockEntry>,
}

#[derive(Debug, Clone, Copy)]
struct BlockEntry {
    line: u64,
    /// Start of the record's bytes in `data`.
    data_start: usize,
    /// End of the record's bytes (its preview when oversized).
    data_end: usize,
    /// Index in `ends` of its first field end.
    first_end: usize,
    fields: usize,
    oversize: Option<u64>,
    /// A delimiter byte separates fields (see [`RawRecord`]).
    delimited: bool,
}

impl RecordBlock {
    /// An empty block with room for about `records` records.
    pub(crate) fn with_capacity(records: usize) -> Self {
        RecordBlock {
            data: Vec::with_capacity(records * 64),
            ends: Vec::with_capacity(records * 8),
            entries: Vec::with_capacity(records),
        }
    }

    /// An empty block with room for as many records, bytes and fields as
    /// `other` holds.
    pub(crate) fn with_room_of(other: &RecordBlock) -> Self {
        RecordBlock {
            data: Vec::with_capacity(other.data.len()),
            ends: Vec::with_capacity(other.ends.len()),
            entries: Vec::with_capacity(other.entries.len()),
        }
    }

    /// Appends a copy of `record`.
    pub(crate) fn push(&mut self, record: &RawRecord) {
        let data_start = self.data.len();
        let first_end = self.ends.len();
        if record.oversize.is_some() {
            self.data.extend_from_slice(record.preview());
        } else {
            let used = record.used.min(record.data.len());
            self.data.extend_from_slice(&record.data[..used]);
            let fields = record.fields.min(record.ends.len());
            self.ends
                .extend(record.ends[..fields].iter().map(|&e| data_start + e));
        }
        self.entries.push(BlockEntry {
            line: record.line,
            data_start,
            data_end: self.data.len(),
            first_end,
            fields: record.fields,
            oversize: record.oversize,
            delimited: record.delimited,
        });
    }

    /// The number of records.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// All the block's bytes as text, `None` when they are not UTF-8.
    pub(crate) fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }

    /// Whether record `k` can be typed column by column from the block's
    /// text `text` ([`RecordBlock::text`]): it is not oversized, has
    /// `fields` fields and its bytes are text on their own (its bounds are
    /// character boundaries, so its fields read from the block's text are
    /// the fields read from its own).
    pub(crate) fn is_plain(&self, k: usize, fields: usize, text: &str) -> bool {
        self.entries.get(k).is_some_and(|e| {
            e.oversize.is_none()
                && e.fields == fields
                && e.first_end + fields <= self.ends.len()
                && text.get(e.data_start..e.data_end).is_some()
        })
    }

    /// Field `i` of record `k` in the block's text `text`: the same text as
    /// [`CsvRecord::field_range`] of the record gives, for a record that
    /// [`is_plain`](Self::is_plain); `None` when it does not lie on
    /// character boundaries.
    #[inline]
    pub(crate) fn plain_field<'t>(&self, text: &'t str, k: usize, i: usize) -> Option<&'t str> {
        let e = self.entries.get(k)?;
        let start = match i.checked_sub(1) {
            None => e.data_start,
            Some(previous) => *self.ends.get(e.first_end + previous)? + usize::from(e.delimited),
        };
        let end = (*self.ends.get(e.first_end + i)?).max(start);
        text.get(start..end)
    }

    /// The 1-based starting line of record `k`.
    pub(crate) fn line(&self, k: usize) -> u64 {
        self.entries.get(k).map_or(0, |e| e.line)
    }

    /// The records in order. The block's bytes are checked to be UTF-8 once
    /// here, so that [`CsvRecord::text`] of its records costs no scan.
    pub(crate) fn records(&self) -> impl Iterator<Item = BlockRecord<'_>> {
        let text = std::str::from_utf8(&self.data).ok();
        self.entries.iter().map(move |entry| BlockRecord {
            block: self,
            entry,
            text,
        })
    }
}

/// One record of a [`RecordBlock`].
pub(crate) struct BlockRecord<'a> {
    block: &'a RecordBlock,
    entry: &'a BlockEntry,
    /// The whole block's bytes, when they are UTF-8.
    text: Option<&'a str>,
}

impl CsvRecord for BlockRecord<'_> {
    fn line(&self) -> u64 {
        self.entry.line
    }
    fn len(&self) -> usize {
        self.entry.fields
    }
    fn oversize(&self) -> Option<u64> {
        self.entry.oversize
    }
    fn bytes(&self) -> &[u8] {
        self.block
            .data
            .get(self.entry.data_start..self.entry.data_end)
            .unwrap_or(&[])
    }
    fn field_range(&self, i: usize) -> Range<usize> {
        if self.entry.oversize.is_some() || i >= self.entry.fields {
            return 0..0;
        }
        let first = self.entry.first_end;
        let ends = self
            .block
            .ends
            .get(first..first + self.entry.fields)
            .unwrap_or(&[]);
        field_range_in(ends, self.entry.data_start, self.entry.delimited, i)
    }
    fn field_ranges(&self) -> FieldRanges<'_> {
        let first = self.entry.first_end;
        let ends = match self.entry.oversize {
            Some(_) => &[],
            None => self
                .block
                .ends
                .get(first..first + self.entry.fields)
                .unwrap_or(&[]),
        };
        FieldRanges::new(ends, self.entry.data_start, self.entry.delimited)
    }
    fn text(&self) -> Option<&str> {
        // A record of a UTF-8 block is UTF-8 unless a character straddles
        // its bounds, which `get` catches.
        match self.text {
            Some(text) => text.get(self.entry.data_start..self.entry.data_end),
            None => std::str::from_utf8(self.bytes()).ok(),
        }
    }
}

/// Reads [`RawRecord`]s from any byte source.
pub(crate) struct RecordReader {
    source: BufReader<Box<dyn Read + Send>>,
    parser: csv_core::Reader,
    path: PathBuf,
    /// `\n` bytes consumed so far.
    newlines: u64,
    max_record_bytes: usize,
    /// The field delimiter, for records split without csv-core.
    delimiter: u8,
    /// Whether records without quotes may be split without csv-core (the
    /// delimiter is none of `"`, `\r`, `\n`).
    unquoted_fast_path: bool,
    /// Bytes consumed so far.
    consumed: u64,
    /// The input before this offset (from `consumed` on) holds no quote
    /// character: the position of the next quote in the buffered input, or
    /// the end of the buffer when it has none.
    quote_free_until: u64,
}

impl RecordReader {
    /// A reader over `source`; `path` names it in errors.
    pub(crate) fn new(
        source: Box<dyn Read + Send>,
        path: &Path,
        delimiter: u8,
        max_record_bytes: usize,
    ) -> Self {
        let parser = csv_core::ReaderBuilder::new()
            .delimiter(delimiter)
            .quote(b'"')
            .double_quote(true)
            .escape(None)
            .comment(None)
            .terminator(csv_core::Terminator::CRLF)
            .build();
        RecordReader {
            source: BufReader::with_capacity(64 * 1024, Box::new(BomSkipping::new(source))),
            parser,
            path: path.to_path_buf(),
            newlines: 0,
            max_record_bytes,
            delimiter,
            unquoted_fast_path: !matches!(delimiter, b'"' | b'\r' | b'\n'),
            consumed: 0,
            quote_free_until: 0,
        }
    }

    /// Reads the next record without csv-core when the buffered input holds
    /// all of it, it has no quote character and it is within the size
    /// limit: then the record is its bytes up to the first `\r` or `\n`,
    /// split at every delimiter, exactly what csv-core would produce (blank
    /// lines before it are skipped the same way). `false` (nothing consumed)
    /// when the record needs the full parser.
    fn read_unquoted(&mut self, record: &mut RawRecord) -> Result<bool, IngestError> {
        if !self.unquoted_fast_path {
            return Ok(false);
        }
        let buffer = self
            .source
            .fill_buf()
            .map_err(|e| IngestError::io(&self.path, e))?;
        if self.quote_free_until <= self.consumed {
            let clean = memchr::memchr(b'"', buffer).unwrap_or(buffer.len());
            self.quote_free_until = self.consumed + clean as u64;
        }
        let clean_len = usize::try_from(self.quote_free_until - self.consumed)
            .unwrap_or(usize::MAX)
            .min(buffer.len());
        let clean = &buffer[..clean_len];
        let Some(start) = clean.iter().position(|&b| b != b'\n' && b != b'\r') else {
            return Ok(false);
        };
        let Some(len) = memchr::memchr2(b'\r', b'\n', &clean[start..]) else {
            return Ok(false);
        };
        // Field bytes plus one per field: the line plus one.
        if len >= self.max_record_bytes {
            return Ok(false);
        }
        self.newlines += count_newlines(&clean[..start]);
        record.line = self.newlines + 1;
        if clean[start + len] == b'\n' {
            self.newlines += 1;
        }
        record.fill_unquoted(&clean[start..start + len], self.delimiter);
        let taken = start + len + 1;
        self.source.consume(taken);
        self.consumed += taken as u64;
        Ok(true)
    }

    /// Reads the next record into `record`; `false` at the end of the input.
    pub(crate) fn read(&mut self, record: &mut RawRecord) -> Result<bool, IngestError> {
        use csv_core::ReadRecordResult;

        if record.data.len() < INITIAL_FIELD_BYTES.min(self.max_record_bytes.saturating_add(1)) {
            record.data.resize(
                INITIAL_FIELD_BYTES.min(self.max_record_bytes.saturating_add(1)),
                0,
            );
        }
        if record.ends.len() < INITIAL_FIELDS {
            record.ends.resize(INITIAL_FIELDS, 0);
        }
        record.used = 0;
        record.fields = 0;
        record.oversize = None;
        record.line = 0;
        record.delimited = false;
        if self.read_unquoted(record)? {
            return Ok(true);
        }

        let mut started = false;
        // Bytes and fields of the record so far, including any discarded.
        let mut total_bytes: u64 = 0;
        let mut total_fields: u64 = 0;
        loop {
            let input = self
                .source
                .fill_buf()
                .map_err(|e| IngestError::io(&self.path, e))?;
            let oversize = record.oversize.is_some();
            let (output, ends) = if oversize {
                let keep = record.used;
                (&mut record.data[keep..], &mut record.ends[..])
            } else {
                (
                    &mut record.data[record.used..],
                    &mut record.ends[record.fields..],
                )
            };
            let (result, nin, nout, nend) = self.parser.read_record(input, output, ends);
            track_lines(
                &input[..nin],
                &mut self.newlines,
                &mut started,
                &mut record.line,
            );
            self.source.consume(nin);
            self.consumed += nin as u64;
            total_bytes += nout as u64;
            total_fields += nend as u64;
            if !oversize {
                record.used += nout;
                record.fields += nend;
            }
            let size = total_bytes.saturating_add(total_fields);
            if !oversize && size > self.max_record_bytes as u64 {
                start_discarding(record);
            }
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if record.oversize.is_none() {
                        let len = record.data.len();
                        let grown = len
                            .saturating_mul(2)
                            .min(self.max_record_bytes.saturating_add(1));
                        if grown > len {
                            record.data.resize(grown, 0);
                        } else {
                            start_discarding(record);
                        }
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    if record.oversize.is_none() {
                        let len = record.ends.len();
                        record.ends.resize(len.saturating_mul(2), 0);
                    }
                }
                ReadRecordResult::Record => {
                    if let Some(s) = record.oversize.as_mut() {
                        *s = size;
                        record.fields = usize::try_from(total_fields).unwrap_or(usize::MAX);
                    }
                    return Ok(true);
                }
                ReadRecordResult::End => return Ok(false),
            }
        }
    }
}

/// Switches `record` to oversize mode: keep a preview, parse the rest into
/// scratch space.
fn start_discarding(record: &mut RawRecord) {
    record.used = record.used.min(OVERSIZE_PREVIEW);
    record.oversize = Some(0);
    let needed = record.used + DISCARD_BYTES;
    if record.data.len() < needed {
        record.data.resize(needed, 0);
    }
}

/// A reader that drops a UTF-8 byte-order mark at the start of its source,
/// however few bytes each `read` of the source returns.
struct BomSkipping<R> {
    inner: R,
    /// The first bytes of the source when they were not a BOM, served first.
    prefix: [u8; 3],
    prefix_len: usize,
    prefix_pos: usize,
    checked: bool,
}

impl<R: Read> BomSkipping<R> {
    fn new(inner: R) -> Self {
        BomSkipping {
            inner,
            prefix: [0; 3],
            prefix_len: 0,
            prefix_pos: 0,
            checked: false,
        }
    }
}

impl<R: Read> Read for BomSkipping<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.checked {
            while self.prefix_len < 3 {
                match self.inner.read(&mut self.prefix[self.prefix_len..]) {
                    Ok(0) => break,
                    Ok(n) => self.prefix_len += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.checked = true;
            if self.prefix[..self.prefix_len] == *b"\xEF\xBB\xBF" {
                self.prefix_len = 0;
            }
        }
        if self.prefix_pos < self.prefix_len {
            let n = (self.prefix_len - self.prefix_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[self.prefix_pos..self.prefix_pos + n]);
            self.prefix_pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// Advances the line counter over `consumed` bytes. Until the record's first
/// byte of content, `\r` and `\n` are line ends skipped by the parser (blank
/// lines, the `\n` of a CRLF); the first other byte fixes the record's line.
fn track_lines(consumed: &[u8], newlines: &mut u64, started: &mut bool, line: &mut u64) {
    let mut rest = consumed;
    if !*started {
        match rest.iter().position(|&b| b != b'\n' && b != b'\r') {
            Some(k) => {
                *newlines += count_newlines(&rest[..k]);
                *started = true;
                *line = *newlines + 1;
                rest = &rest[k..];
            }
            None => {
                *newlines += count_newlines(rest);
                return;
            }
        }
    }
    *newlines += count_newlines(rest);
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{Just, Strategy, prop, prop_oneof};

    proptest::proptest! {
        #[test]
        fn delimiter_positions_are_those_of_a_byte_scan(
            line in prop::collection::vec(prop_oneof![Just(b','), Just(b';'), Just(0u8), Just(0xffu8), proptest::num::u8::ANY], 0..200),
            delimiter in prop_oneof![Just(b','), Just(b'\t'), Just(0u8), Just(0xffu8), Just(0x80u8), proptest::num::u8::ANY],
            initial in 0usize..3,
        ) {
            let expected: Vec<usize> = line
                .iter()
                .enumerate()
                .filter_map(|(k, &b)| (b == delimiter).then_some(k))
                .chain(std::iter::once(line.len()))
                .collect();
            let mut ends = vec![usize::MAX; initial];
            let n = delimiter_positions(&line, delimiter, &mut ends);
            proptest::prop_assert_eq!(&ends[..n], &expected[..]);
        }
    }

    fn read_all(input: &[u8], max: usize) -> Vec<(u64, Vec<String>, Option<u64>)> {
        let mut reader = RecordReader::new(
            Box::new(std::io::Cursor::new(input.to_vec())),
            Path::new("mem.csv"),
            b',',
            max,
        );
        let mut record = RawRecord::default();
        let mut out = Vec::new();
        while reader.read(&mut record).unwrap() {
            out.push((record.line(), record.to_strings(), record.oversize()));
        }
        out
    }

    fn lines(input: &[u8]) -> Vec<u64> {
        read_all(input, 1 << 20).into_iter().map(|r| r.0).collect()
    }

    #[test]
    fn lines_are_where_records_start() {
        assert_eq!(lines(b"h\na\nb\n"), [1, 2, 3]);
        assert_eq!(lines(b"h\r\na\r\nb\r\n"), [1, 2, 3]);
        assert_eq!(lines(b"h\n\n\na\n\"x\ny\"\nb"), [1, 4, 5, 7]);
        assert_eq!(lines(b"h\r\n\r\na\r\n\"x\r\ny\"\r\nb\r\n"), [1, 3, 4, 6]);
        assert_eq!(lines(b"\n\nh\n"), [3]);
    }

    #[test]
    fn bom_is_skipped_and_quotes_are_unescaped() {
        let records = read_all(b"\xEF\xBB\xBFa,\"b,\"\"c\"\"\"\r\n1,2", 1 << 20);
        assert_eq!(records[0].1, ["a", "b,\"c\""]);
        assert_eq!(records[1].1, ["1", "2"]);
        assert_eq!(records[1].0, 2);
    }

    #[test]
    fn bom_split_across_reads_is_skipped() {
        struct OneByte(Vec<u8>, usize);
        impl Read for OneByte {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.1 >= self.0.len() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[self.1];
                self.1 += 1;
                Ok(1)
            }
        }
        let mut reader = RecordReader::new(
            Box::new(OneByte(b"\xEF\xBB\xBFx,y\n".to_vec(), 0)),
            Path::new("mem.csv"),
            b',',
            1 << 20,
        );
        let mut record = RawRecord::default();
        assert!(reader.read(&mut record).unwrap());
        assert_eq!(record.to_strings(), ["x", "y"]);
    }

    #[test]
    fn oversized_records_are_flagged_and_the_next_record_is_intact() {
        let mut input = b"a,b\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100_000));
        input.extend(b",y\n1,2\n");
        let records = read_all(&input, 1000);
        assert_eq!(records.len(), 3);
        assert_eq!(records[1].0, 2);
        assert_eq!(records[1].2, Some(100_003));
        assert_eq!(records[2].1, ["1", "2"]);
        assert_eq!(records[2].0, 3);
    }

    #[test]
    fn many_fields_grow_the_ends_buffer() {
        let input = vec![b','; 10_000];
        let records = read_all(&input, 1 << 20);
        assert_eq!(records[0].1.len(), 10_001);
    }

    #[test]
    fn oversize_by_field_count() {
        let input = vec![b','; 10_000];
        let records = read_all(&input, 100);
        assert_eq!(records[0].2, Some(10_001));
    }

    #[test]
    fn a_block_holds_records_exactly_as_read() {
        let mut input = b"a,\"b\nc\",\n\n1,22,333\n".to_vec();
        input.extend(std::iter::repeat_n(b'z', 3000));
        input.extend(b"\nlast");
        let mut reader = RecordReader::new(
            Box::new(std::io::Cursor::new(input)),
            Path::new("b.csv"),
            b',',
            1000,
        );
        let mut block = RecordBlock::with_capacity(2);
        let mut record = RawRecord::default();
        let mut expected = Vec::new();
        while reader.read(&mut record).unwrap() {
            block.push(&record);
            expected.push((
                CsvRecord::line(&record),
                record.to_strings(),
                CsvRecord::oversize(&record),
                CsvRecord::len(&record),
                record.preview().to_vec(),
            ));
        }
        assert_eq!(block.len(), 4);
        let got: Vec<_> = block
            .records()
            .map(|r| {
                let fields: Vec<String> = r
                    .fields()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                let preview = if r.oversize().is_some() {
                    r.preview().to_vec()
                } else {
                    expected[0].4.clone()
                };
                (r.line(), fields, r.oversize(), r.len(), preview)
            })
            .collect();
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!((g.0, &g.1, g.2, g.3), (e.0, &e.1, e.2, e.3));
            if e.2.is_some() {
                assert_eq!(g.4, e.4);
            }
        }
        assert_eq!(got[0].1, ["a", "b\nc", ""]);
        assert_eq!(got[2].2, Some(3001), "field bytes plus one per field");
        assert_eq!(got[3].1, ["last"]);
    }

    /// Serves its bytes at most `step` at a time.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    type Seen = (u64, Vec<Vec<u8>>, Option<u64>, Vec<u8>);

    /// Every record as (line, fields, oversize, preview), read with or
    /// without the fast path, straight and through a block.
    fn read_both_ways(input: &[u8], max: usize, step: usize, fast: bool) -> (Vec<Seen>, Vec<Seen>) {
        let source = Trickle {
            data: input.to_vec(),
            pos: 0,
            step,
        };
        let mut reader = RecordReader::new(Box::new(source), Path::new("p.csv"), b',', max);
        reader.unquoted_fast_path = fast;
        fn seen(r: &impl CsvRecord) -> Seen {
            let preview = if r.oversize().is_some() {
                r.preview().to_vec()
            } else {
                Vec::new()
            };
            // What check_record reads: a field through the record's text is
            // the field itself (when absent, the field is checked alone).
            let text = r.text();
            // The one-walk ranges are the ranges field by field.
            let n = if r.oversize().is_some() { 0 } else { r.len() };
            let one_by_one: Vec<Range<usize>> = (0..n).map(|i| r.field_range(i)).collect();
            assert_eq!(r.field_ranges().collect::<Vec<_>>(), one_by_one);
            for i in 0..r.len() {
                if let Some(value) = text.and_then(|t| t.get(r.field_range(i))) {
                    assert_eq!(value.as_bytes(), r.field(i));
                }
            }
            (
                r.line(),
                r.fields().map(<[u8]>::to_vec).collect(),
                r.oversize(),
                preview,
            )
        }
        let mut record = RawRecord::default();
        let mut block = RecordBlock::with_capacity(4);
        let mut straight = Vec::new();
        while reader.read(&mut record).unwrap() {
            straight.push(seen(&record));
            block.push(&record);
        }
        (straight, block.records().map(|r| seen(&r)).collect())
    }

    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            8 => Just(b'a'),
            3 => Just(b','),
            2 => Just(b'\n'),
            1 => Just(b'\r'),
            1 => Just(b'"'),
            1 => Just(b' '),
            1 => prop::sample::select(vec![0xC3u8, 0xA9, 0xEF, 0xBB, 0xBF, 0xFF]),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        #[test]
        fn the_unquoted_fast_path_reads_exactly_what_csv_core_reads(
            input in proptest::collection::vec(byte(), 0..400),
            max in 1usize..60,
            step in 1usize..70,
        ) {
            let (fast, fast_block) = read_both_ways(&input, max, step, true);
            let (slow, slow_block) = read_both_ways(&input, max, step, false);
            proptest::prop_assert_eq!(&fast, &slow);
            proptest::prop_assert_eq!(&fast_block, &slow_block);
            proptest::prop_assert_eq!(&fast_block, &fast);
        }
    }

    #[test]
    fn unquoted_records_keep_lines_across_crlf_lone_cr_and_blank_lines() {
        let input = b"h,i\r\n1,2\r\n\r\n3,\r4,5\n\n\"6\n\",7\n8,9";
        let records = read_all(input, 1 << 20);
        let got: Vec<(u64, Vec<String>)> = records.into_iter().map(|r| (r.0, r.1)).collect();
        let expected: Vec<(u64, Vec<&str>)> = vec![
            (1, vec!["h", "i"]),
            (2, vec!["1", "2"]),
            (4, vec!["3", ""]),
            (4, vec!["4", "5"]),
            (6, vec!["6\n", "7"]),
            (8, vec!["8", "9"]),
        ];
        let expected: Vec<(u64, Vec<String>)> = expected
            .into_iter()
            .map(|(l, f)| (l, f.into_iter().map(String::from).collect()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn empty_input_has_no_records() {
        assert!(read_all(b"", 10).is_empty());
        assert!(read_all(b"\xEF\xBB\xBF\r\n\n", 10).is_empty());
    }
}
