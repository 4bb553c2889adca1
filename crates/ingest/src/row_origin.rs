//! [`RowOrigin`] and [`RowOrigins`]: where each accepted row of a batch
//! came from (file and starting line), so that a consumer (a validator
//! listing offending rows, a debugger) can point back into the input.
//!
//! Storage is one `u64` line per row plus one entry per change of file, so
//! a batch's origins cost about as much as one `Int64` column without
//! nulls.

/// Where one accepted row starts: the input file (an index into
/// [`CsvReader::files`](crate::CsvReader::files) /
/// [`JsonLinesReader::files`](crate::JsonLinesReader::files)) and the 1-based
/// line on which the record starts (a quoted CSV field spanning several lines
/// still names its first line).
///
/// ```
/// use mlrig_ingest::RowOrigin;
/// let origin = RowOrigin { file_index: 0, line: 7 };
/// assert!(origin < RowOrigin { file_index: 1, line: 2 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowOrigin {
    /// Index of the file in the reader's [`files`](crate::CsvReader::files).
    pub file_index: u32,
    /// 1-based line where the row's record starts.
    pub line: u64,
}

/// The origins of consecutive rows, in row order: one line per row and one
/// entry per change of file.
///
/// Readers hand out the origins of the batch they just yielded
/// ([`CsvReader::last_batch_origins`](crate::CsvReader::last_batch_origins));
/// a consumer that needs the origin of any row of the whole stream appends
/// each batch's origins with [`RowOrigins::extend_from`] (8 bytes per row).
///
/// ```
/// use mlrig_ingest::{RowOrigin, RowOrigins};
/// let mut origins = RowOrigins::new();
/// origins.push(RowOrigin { file_index: 0, line: 2 });
/// origins.push(RowOrigin { file_index: 0, line: 5 });
/// origins.push(RowOrigin { file_index: 1, line: 2 });
/// assert_eq!(origins.len(), 3);
/// assert_eq!(origins.get(2), Some(RowOrigin { file_index: 1, line: 2 }));
/// assert_eq!(origins.get(3), None);
/// assert_eq!(origins.lines(), [2, 5, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowOrigins {
    /// The starting line of every row.
    lines: Vec<u64>,
    /// `(first row, file index)` of every run of rows from one file, by
    /// increasing first row; the first run (if any) starts at row 0.
    runs: Vec<(usize, u32)>,
}

impl RowOrigins {
    /// No rows.
    ///
    /// ```
    /// assert!(mlrig_ingest::RowOrigins::new().is_empty());
    /// ```
    pub fn new() -> Self {
        RowOrigins::default()
    }

    /// The number of rows.
    ///
    /// ```
    /// use mlrig_ingest::{RowOrigin, RowOrigins};
    /// let mut origins = RowOrigins::new();
    /// origins.push(RowOrigin { file_index: 0, line: 1 });
    /// assert_eq!(origins.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// `true` when there is no row.
    ///
    /// ```
    /// assert!(mlrig_ingest::RowOrigins::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The origin of row `row` (0-based), `None` past the end.
    ///
    /// ```
    /// use mlrig_ingest::{RowOrigin, RowOrigins};
    /// let mut origins = RowOrigins::new();
    /// origins.push(RowOrigin { file_index: 3, line: 9 });
    /// assert_eq!(origins.get(0).map(|o| (o.file_index, o.line)), Some((3, 9)));
    /// assert!(origins.get(1).is_none());
    /// ```
    pub fn get(&self, row: usize) -> Option<RowOrigin> {
        let line = *self.lines.get(row)?;
        let run = self.runs.partition_point(|&(first, _)| first <= row);
        let file_index = run
            .checked_sub(1)
            .and_then(|r| self.runs.get(r))
            .map_or(0, |&(_, file)| file);
        Some(RowOrigin { file_index, line })
    }

    /// The starting line of every row, in order (the file of each is given by
    /// [`RowOrigins::get`] / [`RowOrigins::iter`]).
    ///
    /// ```
    /// use mlrig_ingest::{RowOrigin, RowOrigins};
    /// let mut origins = RowOrigins::new();
    /// origins.push(RowOrigin { file_index: 0, line: 4 });
    /// assert_eq!(origins.lines(), [4]);
    /// ```
    pub fn lines(&self) -> &[u64] {
        &self.lines
    }

    /// Every origin, in row order.
    ///
    /// ```
    /// use mlrig_ingest::{RowOrigin, RowOrigins};
    /// let mut origins = RowOrigins::new();
    /// origins.push(RowOrigin { file_index: 0, line: 2 });
    /// origins.push(RowOrigin { file_index: 1, line: 3 });
    /// let files: Vec<u32> = origins.iter().map(|o| o.file_index).collect();
    /// assert_eq!(files, [0, 1]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = RowOrigin> + '_ {
        let mut runs = self.runs.iter().peekable();
        let mut file_index = 0;
        self.lines.iter().enumerate().map(move |(row, &line)| {
            while let Some(&&(first, file)) = runs.peek() {
                if first > row {
                    break;
                }
                file_index = file;
                runs.next();
            }
            RowOrigin { file_index, line }
        })
    }

    /// Appends one row.
    ///
    /// ```
    /// use mlrig_ingest::{RowOrigin, RowOrigins};
    /// let mut origins = RowOrigins::new();
    /// origins.push(RowOrigin { file_index: 2, line: 10 });
    /// assert_eq!(origins.get(0), Some(RowOrigin { file_index: 2, line: 10 }));
    /// ```
    pub fn push(&mut self, origin: RowOrigin) {
        if self
            .runs
            .last()
            .is_none_or(|&(_, f)| f != origin.file_index)
        {
            self.runs.push((self.lines.len(), origin.file_index));
        }
        self.lines.push(origin.line);
    }

    /// Appends every row of `other`, in order (for example each batch's
    /// origins, to map row indices of a whole stream).
    ///
    /// ```
    /// use mlrig_ingest::{RowOrigin, RowOrigins};
    /// let mut batch = RowOrigins::new();
    /// batch.push(RowOrigin { file_index: 1, line: 3 });
    /// let mut all = RowOrigins::new();
    /// all.push(RowOrigin { file_index: 0, line: 2 });
    /// all.extend_from(&batch);
    /// assert_eq!(all.get(1), Some(RowOrigin { file_index: 1, line: 3 }));
    /// ```
    pub fn extend_from(&mut self, other: &RowOrigins) {
        let offset = self.lines.len();
        for &(first, file) in &other.runs {
            if self.runs.last().is_none_or(|&(_, f)| f != file) {
                self.runs.push((offset + first, file));
            }
        }
        self.lines.extend_from_slice(&other.lines);
    }

    /// Removes every row, keeping the allocation.
    ///
    /// ```
    /// use mlrig_ingest::{RowOrigin, RowOrigins};
    /// let mut origins = RowOrigins::new();
    /// origins.push(RowOrigin { file_index: 0, line: 2 });
    /// origins.clear();
    /// assert!(origins.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.lines.clear();
        self.runs.clear();
    }

    /// Appends the lines of rows read from file `file_index`.
    pub(crate) fn extend_lines(&mut self, file_index: u32, lines: &[u64]) {
        if lines.is_empty() {
            return;
        }
        if self.runs.last().is_none_or(|&(_, f)| f != file_index) {
            self.runs.push((self.lines.len(), file_index));
        }
        self.lines.extend_from_slice(lines);
    }

    /// Moves the first `n` rows (all when fewer) into `out`, which is
    /// cleared first.
    pub(crate) fn move_front_into(&mut self, n: usize, out: &mut RowOrigins) {
        out.clear();
        let n = n.min(self.lines.len());
        // Runs starting inside the moved rows, and the run the rest starts in.
        let split = self.runs.partition_point(|&(first, _)| first < n);
        out.runs.extend_from_slice(&self.runs[..split]);
        out.lines.extend(self.lines.drain(..n));
        let rest_starts_new_run = self.runs.get(split).is_some_and(|&(first, _)| first == n);
        let carried = if rest_starts_new_run || self.lines.is_empty() {
            None
        } else {
            split.checked_sub(1).and_then(|r| self.runs.get(r)).copied()
        };
        self.runs.drain(..split);
        for run in &mut self.runs {
            run.0 -= n;
        }
        if let Some((_, file)) = carried {
            self.runs.insert(0, (0, file));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(items: &[(u32, u64)]) -> RowOrigins {
        let mut out = RowOrigins::new();
        for &(file_index, line) in items {
            out.push(RowOrigin { file_index, line });
        }
        out
    }

    fn pairs(origins: &RowOrigins) -> Vec<(u32, u64)> {
        origins.iter().map(|o| (o.file_index, o.line)).collect()
    }

    #[test]
    fn get_and_iter_agree_across_file_changes() {
        let items = [(0, 2), (0, 3), (1, 2), (1, 7), (3, 2), (0, 9)];
        let o = origins(&items);
        assert_eq!(pairs(&o), items);
        for (row, &(file_index, line)) in items.iter().enumerate() {
            assert_eq!(o.get(row), Some(RowOrigin { file_index, line }));
        }
        assert_eq!(o.runs.len(), 4);
    }

    #[test]
    fn extend_from_merges_a_continuing_file() {
        let mut all = origins(&[(0, 2), (1, 2)]);
        all.extend_from(&origins(&[(1, 3), (2, 2)]));
        assert_eq!(pairs(&all), [(0, 2), (1, 2), (1, 3), (2, 2)]);
        assert_eq!(all.runs, [(0, 0), (1, 1), (3, 2)]);
        let mut empty = RowOrigins::new();
        empty.extend_from(&RowOrigins::new());
        assert!(empty.is_empty() && empty.runs.is_empty());
    }

    #[test]
    fn moving_the_front_keeps_both_halves_exact() {
        let items = [(0, 2), (0, 3), (1, 2), (1, 7), (1, 8), (3, 2), (3, 4)];
        for n in 0..=items.len() + 1 {
            let mut rest = origins(&items);
            let mut front = origins(&[(9, 9)]);
            rest.move_front_into(n, &mut front);
            let cut = n.min(items.len());
            assert_eq!(pairs(&front), items[..cut], "n={n}");
            assert_eq!(pairs(&rest), items[cut..], "n={n}");
            // Appending more rows to the rest keeps it consistent.
            rest.extend_lines(3, &[10]);
            let mut expected = items[cut..].to_vec();
            expected.push((3, 10));
            assert_eq!(pairs(&rest), expected, "n={n}");
            for (row, &(file_index, line)) in expected.iter().enumerate() {
                assert_eq!(rest.get(row), Some(RowOrigin { file_index, line }));
            }
        }
    }
}
