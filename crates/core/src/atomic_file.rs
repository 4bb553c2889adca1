//! [`AtomicFile`] and [`write_atomic`]: output files that appear complete or
//! not at all.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};
use crate::temp_owner::{TEMP_FILE_PREFIX, owned_temp_prefix, remove_abandoned_temps};

/// A file written under a temporary name in its target's directory and
/// renamed into place by [`commit`](Self::commit) after an `fsync`: a reader
/// sees the old file or the new one, never half of it. Dropped without a
/// commit, the temporary file is deleted and the target is untouched.
///
/// The temporary file is named `.mlrig-tmp-<host>-<pid>-<random>`
/// ([`owned_temp_prefix`](crate::owned_temp_prefix)); creating an
/// `AtomicFile` first removes such files of processes that are gone (a killed
/// writer cannot remove its own), never those of a live one.
///
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("rows.csv");
/// let mut file = mlrig_core::AtomicFile::create(&path)?;
/// writeln!(file, "a,b")?;
/// assert!(!path.exists()); // not until the commit
/// file.commit()?;
/// assert_eq!(std::fs::read_to_string(&path)?, "a,b\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    file: NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    /// Starts an ordinary, world-readable file (0644 on Unix) at `target`.
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        Self::create_with(target.as_ref(), true)
    }

    /// Starts a file only its owner may read (0600 on Unix), e.g. for
    /// quarantined raw records, which may hold data that should not spread.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("quarantine.csv");
    /// mlrig_core::AtomicFile::create_private(&path)?.commit()?;
    /// #[cfg(unix)]
    /// {
    ///     use std::os::unix::fs::PermissionsExt;
    ///     assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_private(target: impl AsRef<Path>) -> Result<Self> {
        Self::create_with(target.as_ref(), false)
    }

    fn create_with(target: &Path, readable: bool) -> Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // Temporary files of killed writers (ours are named after their owner).
        remove_abandoned_temps(dir, TEMP_FILE_PREFIX);
        // Temporary files are created private (0600).
        let file = tempfile::Builder::new()
            .prefix(&owned_temp_prefix(TEMP_FILE_PREFIX))
            .tempfile_in(dir)
            .map_err(|e| Error::io(target, e))?;
        #[cfg(unix)]
        if readable {
            use std::os::unix::fs::PermissionsExt;
            file.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(|e| Error::io(target, e))?;
        }
        #[cfg(not(unix))]
        let _ = readable;
        Ok(Self {
            file,
            target: target.to_path_buf(),
        })
    }

    /// The path the file will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// A second handle to the temporary file, for a writer that wants to own
    /// a `File` (e.g. a Parquet writer); commit after that writer finished.
    pub fn reopen(&self) -> Result<File> {
        self.file.reopen().map_err(|e| Error::io(&self.target, e))
    }

    /// Flushes and syncs the temporary file without renaming it: with
    /// several files that belong together, sync each before committing any,
    /// so a full disk fails before the first one is renamed into place.
    ///
    /// ```
    /// use std::io::Write;
    /// let dir = tempfile::tempdir()?;
    /// let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    /// let mut first = mlrig_core::AtomicFile::create(&a)?;
    /// let mut second = mlrig_core::AtomicFile::create(&b)?;
    /// first.write_all(b"x\n")?;
    /// second.write_all(b"y\n")?;
    /// first.sync()?;
    /// second.sync()?;
    /// assert!(!a.exists() && !b.exists());
    /// first.commit()?;
    /// second.commit()?;
    /// assert_eq!(std::fs::read_to_string(&b)?, "y\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .as_file_mut()
            .flush()
            .map_err(|e| Error::io(&self.target, e))?;
        self.file
            .as_file()
            .sync_all()
            .map_err(|e| Error::io(&self.target, e))
    }

    /// Flushes, syncs and renames the file to its target, then syncs the
    /// directory (best effort) so the rename survives a power loss.
    pub fn commit(mut self) -> Result<()> {
        self.sync()?;
        let target = self.target;
        self.file
            .persist(&target)
            .map_err(|e| Error::io(&target, e.error))?;
        // The rename itself on disk, so a power loss after the commit keeps it.
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        crate::staged_dir::sync_dir(dir);
        Ok(())
    }
}

// Through the plain `File`: `NamedTempFile`'s own `Write` adds the temporary
// path to every error, and an error should name the target, not a file that
// is deleted by then.
impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.as_file_mut().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_file_mut().flush()
    }
}

/// Writes `bytes` to `path` atomically (an [`AtomicFile`], world-readable).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("out.txt");
/// mlrig_core::write_atomic(&path, b"hello").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_without_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        std::fs::write(&path, b"old").unwrap();
        {
            let mut file = AtomicFile::create(&path).unwrap();
            file.write_all(b"new").unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn committed_files_are_readable_and_replace_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        std::fs::write(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_it() {
        let error = write_atomic(Path::new("/nonexistent-mlrig-dir/x"), b"x").unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent-mlrig-dir"),
            "{error}"
        );
    }
}
