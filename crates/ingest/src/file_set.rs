//! [`FileSet`]: the input files of one ingestion, from paths and glob
//! patterns, and how each file's bytes are opened (gzip or plain).

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::IngestError;

/// The two bytes every gzip member starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An ordered, deterministic list of input files.
///
/// Each argument is either a path or a glob pattern (it contains `*`, `?` or
/// `[`; syntax of the [`glob`] crate, where `**` matches any number of
/// directories). The matches of one pattern are sorted by path (byte order);
/// arguments keep the order they were given in; a file named twice is kept
/// at its first place. Only regular files match a pattern, and a pattern that
/// matches nothing is an error, so a typo never silently reads no data.
///
/// All files of a set are read as one table: they must have the same header
/// (CSV) and are streamed in order. Files ending in `.gz`, or starting with
/// the gzip magic bytes, are decompressed on the fly.
///
/// ```
/// use mlrig_ingest::FileSet;
/// let dir = tempfile::tempdir()?;
/// for name in ["part-2.csv", "part-10.csv", "part-1.csv", "notes.txt"] {
///     std::fs::write(dir.path().join(name), "x\n1\n")?;
/// }
/// let pattern = dir.path().join("part-*.csv");
/// let files = FileSet::new([pattern.to_str().unwrap()])?;
/// let names: Vec<_> = files.files().iter().map(|f| f.file_name().unwrap().to_owned()).collect();
/// assert_eq!(names, ["part-1.csv", "part-10.csv", "part-2.csv"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSet {
    files: Vec<PathBuf>,
}

impl FileSet {
    /// Expands paths and glob patterns, in order (see the type docs).
    ///
    /// Errors: no argument at all or a pattern that matches no file
    /// ([`IngestError::NoFiles`]), a malformed pattern
    /// ([`IngestError::InvalidOption`]), or a directory that cannot be read
    /// while matching ([`IngestError::Io`]). Plain paths are not checked
    /// here; a missing one is an I/O error when it is opened.
    ///
    /// ```
    /// use mlrig_ingest::{FileSet, IngestError};
    /// let err = FileSet::new(["/nonexistent-mlrig/*.csv"]).unwrap_err();
    /// assert!(matches!(err, IngestError::NoFiles { .. }));
    /// ```
    pub fn new<I, S>(paths_or_patterns: I) -> Result<FileSet, IngestError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut files: Vec<PathBuf> = Vec::new();
        let mut any = false;
        for arg in paths_or_patterns {
            any = true;
            let arg = arg.as_ref();
            if !is_pattern(arg) {
                push_unique(&mut files, PathBuf::from(arg));
                continue;
            }
            let entries = glob::glob(arg).map_err(|e| IngestError::InvalidOption {
                option: "file pattern".into(),
                reason: format!("{arg:?}: {e}"),
            })?;
            let mut matched = Vec::new();
            for entry in entries {
                let path = entry.map_err(|e| {
                    let path = e.path().to_path_buf();
                    IngestError::io(path, e.into())
                })?;
                if path.is_file() {
                    matched.push(path);
                }
            }
            if matched.is_empty() {
                return Err(IngestError::NoFiles {
                    pattern: arg.to_string(),
                });
            }
            matched.sort();
            for path in matched {
                push_unique(&mut files, path);
            }
        }
        if !any {
            return Err(IngestError::NoFiles {
                pattern: String::new(),
            });
        }
        Ok(FileSet { files })
    }

    /// A set of exactly these files, in this order (no pattern expansion).
    ///
    /// ```
    /// use mlrig_ingest::FileSet;
    /// let set = FileSet::from_paths(["b.csv", "a.csv"]);
    /// assert_eq!(set.files().len(), 2);
    /// assert_eq!(set.files()[0].to_str(), Some("b.csv"));
    /// ```
    pub fn from_paths<I, P>(paths: I) -> FileSet
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        FileSet {
            files: paths.into_iter().map(Into::into).collect(),
        }
    }

    /// The files, in reading order.
    ///
    /// ```
    /// let set = mlrig_ingest::FileSet::from_paths(["a.csv"]);
    /// assert_eq!(set.files(), [std::path::PathBuf::from("a.csv")]);
    /// ```
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl From<&Path> for FileSet {
    fn from(path: &Path) -> Self {
        FileSet::from_paths([path])
    }
}

fn is_pattern(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

fn push_unique(files: &mut Vec<PathBuf>, path: PathBuf) {
    if !files.contains(&path) {
        files.push(path);
    }
}

/// `true` when `path` ends in `.gz` (any case).
pub(crate) fn has_gzip_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Opens `path` for reading, decompressing gzip (by extension or magic bytes).
pub(crate) fn open_file(path: &Path) -> Result<Box<dyn Read + Send>, IngestError> {
    let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    decompressed(file, has_gzip_extension(path)).map_err(|e| IngestError::io(path, e))
}

/// `source`, gunzipped when `gzip` is set or its first bytes are the gzip
/// magic. Concatenated gzip members are read as one stream.
pub(crate) fn decompressed(
    mut source: impl Read + Send + 'static,
    gzip: bool,
) -> std::io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; 2];
    let mut filled = 0;
    while filled < head.len() {
        match source.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let restored = Cursor::new(head[..filled].to_vec()).chain(source);
    if gzip || head[..filled] == GZIP_MAGIC {
        Ok(Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            64 * 1024,
            restored,
        ))))
    } else {
        Ok(Box::new(restored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn read_all(mut r: Box<dyn Read + Send>) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn gzip_is_detected_by_magic_and_members_are_concatenated() {
        let mut data = gzip(b"a,b\n1,");
        data.extend(gzip(b"2\n"));
        let out = read_all(decompressed(Cursor::new(data), false).unwrap()).unwrap();
        assert_eq!(out, b"a,b\n1,2\n");
        let plain = read_all(decompressed(Cursor::new(b"x".to_vec()), false).unwrap()).unwrap();
        assert_eq!(plain, b"x");
        let empty = read_all(decompressed(Cursor::new(Vec::new()), false).unwrap()).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn a_gz_name_without_gzip_content_is_an_error_not_garbage() {
        let err = read_all(decompressed(Cursor::new(b"a,b\n".to_vec()), true).unwrap());
        assert!(err.is_err());
        let truncated = gzip(b"a,b\n1,2\n3,4\n");
        let cut = truncated[..truncated.len() - 6].to_vec();
        assert!(read_all(decompressed(Cursor::new(cut), false).unwrap()).is_err());
    }

    #[test]
    fn patterns_expand_sorted_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv", "c.txt"] {
            std::fs::write(dir.path().join(name), "x\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("d.csv")).unwrap();
        let b = dir.path().join("b.csv");
        let pattern = dir.path().join("*.csv");
        let set = FileSet::new([b.to_str().unwrap(), pattern.to_str().unwrap()]).unwrap();
        let names: Vec<_> = set
            .files()
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["b.csv", "a.csv"]);
        let e = FileSet::new([dir.path().join("*.json").to_str().unwrap()]).unwrap_err();
        assert!(e.to_string().contains("*.json"), "{e}");
        assert!(e.is_invalid_input());
        assert!(FileSet::new(Vec::<String>::new()).is_err());
        assert!(FileSet::new(["[unclosed*"]).is_err());
    }
}
