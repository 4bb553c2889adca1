//! [`StagedDir`]: an output directory that is replaced as a whole, so a
//! reader (or a crash) sees the complete old directory or the complete new
//! one, never a mix.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::temp_owner::{STAGED_DIR_PREFIX, owned_temp_prefix, remove_abandoned_temps};

/// A directory of several output files, filled under a staging name beside
/// its target (`<parent>/.mlrig-staging-<host>-<pid>-…`) and swapped into
/// place by [`commit`](Self::commit).
///
/// On Linux the swap is one `renameat2(RENAME_EXCHANGE)`: at every instant
/// the target holds the complete old directory or the complete new one, and
/// the old one is then removed. Elsewhere (or on a file system without the
/// exchange) the old directory is renamed aside and the new one renamed into
/// place, so a crash between the two renames leaves no target, but the
/// complete old content in an owned staging name. The target's whole
/// content is replaced: keep other files elsewhere.
///
/// Creating one removes the staging directories of crashed writers in the
/// parent directory ([`remove_abandoned_temps`]); dropped without a commit,
/// the staging directory is deleted.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("split");
/// std::fs::create_dir(&out)?;
/// std::fs::write(out.join("old.csv"), "a\n")?;
///
/// let staged = mlrig_core::StagedDir::create(&out)?;
/// mlrig_core::write_atomic(&staged.path().join("train.csv"), b"a\n1\n")?;
/// assert!(out.join("old.csv").exists()); // not until the commit
/// staged.commit()?;
/// assert!(!out.join("old.csv").exists());
/// assert_eq!(std::fs::read_to_string(out.join("train.csv"))?, "a\n1\n");
/// assert_eq!(std::fs::read_dir(dir.path())?.count(), 1); // nothing left beside it
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct StagedDir {
    staging: tempfile::TempDir,
    target: PathBuf,
}

impl StagedDir {
    /// Starts a new content for the directory `target` (which need not exist;
    /// its parent is created if missing). A symbolic link to a directory is
    /// followed: the directory it names is replaced.
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref();
        let target = match std::fs::canonicalize(target) {
            Ok(real) => real,
            Err(_) => target.to_path_buf(),
        };
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if target.file_name().is_none() {
            return Err(Error::InvalidParameter {
                name: "output directory".into(),
                reason: format!("`{}` names no directory to replace", target.display()),
            });
        }
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        remove_abandoned_temps(&parent, STAGED_DIR_PREFIX);
        let staging = tempfile::Builder::new()
            .prefix(&owned_temp_prefix(STAGED_DIR_PREFIX))
            .tempdir_in(&parent)
            .map_err(|e| Error::io(&parent, e))?;
        Ok(Self { staging, target })
    }

    /// The staging directory to write the new content into.
    pub fn path(&self) -> &Path {
        self.staging.path()
    }

    /// The directory the content will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the new content into place and removes the old one.
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        // The staging directory is private (0700); the output is an ordinary, readable directory.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(self.staging.path(), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::io(self.staging.path(), e))?;
        }
        let staging = self.staging.keep();
        let result = swap_into_place(&staging, &target);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result
    }
}

/// Puts `staging` at `target`; the old target, if any, ends at `staging` and
/// is removed.
fn swap_into_place(staging: &Path, target: &Path) -> Result<()> {
    match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return std::fs::rename(staging, target).map_err(|e| Error::io(target, e));
        }
        Err(e) => return Err(Error::io(target, e)),
        Ok(meta) if !meta.is_dir() => {
            return Err(Error::io(
                target,
                std::io::Error::other("exists and is not a directory"),
            ));
        }
        Ok(_) => {}
    }
    if !exchange(staging, target)? {
        // Without an atomic exchange: the old directory aside (under an
        // owned staging name, so a crash here leaves it to the next
        // cleanup), then the new one into place.
        let mut aside = staging.as_os_str().to_owned();
        aside.push("-old");
        let aside = PathBuf::from(aside);
        std::fs::rename(target, &aside).map_err(|e| Error::io(target, e))?;
        std::fs::rename(staging, target).map_err(|e| Error::io(target, e))?;
        let _ = std::fs::remove_dir_all(&aside);
        return Ok(());
    }
    // `staging` now holds the old content.
    std::fs::remove_dir_all(staging).map_err(|e| Error::io(staging, e))
}

/// Exchanges `a` and `b` atomically; `false` when this platform or file
/// system cannot.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => Ok(false),
        Err(e) => Err(Error::io(b, e.into())),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(_: &Path, _: &Path) -> Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_directory_is_created_and_an_old_one_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/out");
        let first = StagedDir::create(&out).unwrap();
        std::fs::write(first.path().join("x"), b"1").unwrap();
        std::fs::write(first.path().join("y"), b"1").unwrap();
        first.commit().unwrap();
        assert_eq!(names(&out), ["x", "y"]);

        let second = StagedDir::create(&out).unwrap();
        std::fs::write(second.path().join("x"), b"2").unwrap();
        second.commit().unwrap();
        assert_eq!(names(&out), ["x"]);
        assert_eq!(std::fs::read(out.join("x")).unwrap(), b"2");
        assert_eq!(names(&dir.path().join("a")), ["out"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }

    #[test]
    fn dropped_without_commit_leaves_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("x"), b"old").unwrap();
        {
            let staged = StagedDir::create(&out).unwrap();
            std::fs::write(staged.path().join("x"), b"new").unwrap();
        }
        assert_eq!(std::fs::read(out.join("x")).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn a_file_in_the_way_is_an_error_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::write(&out, b"a file").unwrap();
        let err = StagedDir::create(&out).unwrap().commit().unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
        assert_eq!(std::fs::read(&out).unwrap(), b"a file");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn the_staging_of_a_crashed_writer_is_removed_and_a_live_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let host = owned_temp_prefix("");
        let host = host.split('-').next().unwrap();
        let crashed = dir
            .path()
            .join(format!("{STAGED_DIR_PREFIX}{host}-4294967295-zzzzzz"));
        std::fs::create_dir(&crashed).unwrap();
        std::fs::write(crashed.join("train.csv"), b"half").unwrap();
        let live = StagedDir::create(dir.path().join("one")).unwrap();
        let other = StagedDir::create(dir.path().join("two")).unwrap();
        assert!(live.path().is_dir(), "a live writer's staging is kept");
        assert_eq!(crashed.exists(), !cfg!(target_os = "linux"));
        drop((live, other));
    }

    #[test]
    fn a_link_to_a_directory_keeps_pointing_at_the_new_content() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("x"), b"old").unwrap();
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            let staged = StagedDir::create(&link).unwrap();
            std::fs::write(staged.path().join("x"), b"new").unwrap();
            staged.commit().unwrap();
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(std::fs::read(link.join("x")).unwrap(), b"new");
        }
    }
}
