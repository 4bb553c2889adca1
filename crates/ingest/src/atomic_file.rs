//! Output files written atomically: under a temporary name beside the
//! target, then synced and renamed into place (dropped uncommitted, the
//! temporary file is deleted), so a reader never sees half a file.

use std::path::Path;

use tempfile::NamedTempFile;

use crate::IngestError;

/// Who may read the committed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Owner only (the temporary file's 0600 on Unix).
    Private,
    /// An ordinary, world-readable file (0644 on Unix).
    Readable,
}

/// Creates the temporary file for `target` in `target`'s directory.
pub(crate) fn create_beside(target: &Path, access: Access) -> Result<NamedTempFile, IngestError> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file = tempfile::Builder::new()
        .prefix(".mlrig-tmp-")
        .tempfile_in(dir)
        .map_err(|e| IngestError::io(target, e))?;
    #[cfg(unix)]
    if access == Access::Readable {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| IngestError::io(target, e))?;
    }
    #[cfg(not(unix))]
    let _ = access;
    Ok(file)
}

/// Syncs `file` and renames it to `target`.
pub(crate) fn commit(file: NamedTempFile, target: &Path) -> Result<(), IngestError> {
    file.as_file()
        .sync_all()
        .map_err(|e| IngestError::io(target, e))?;
    file.persist(target)
        .map_err(|e| IngestError::io(target, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_appears_before_commit_and_drop_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        let file = create_beside(&target, Access::Private).unwrap();
        std::fs::write(file.path(), "x").unwrap();
        assert!(!target.exists());
        drop(file);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let file = create_beside(&target, Access::Readable).unwrap();
        std::fs::write(file.path(), "done").unwrap();
        commit(file, &target).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "done");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }
}
