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
/// exchange) the old directory is renamed aside (`<staging>-old-<target
/// name>`) and the new one renamed into place; a crash between the two
/// renames leaves no target but the complete old content aside, and the
/// next `create` for that target renames it back. The replaced directory
/// keeps the old one's permission bits. The target's whole content is
/// replaced: keep other files elsewhere.
///
/// **Fallback, per file.** When the directory itself cannot be replaced —
/// it is a mount point (a Docker volume, a tmpfs), or its parent is not
/// writable — the staging directory is made *inside* the target
/// (`<target>/.mlrig-staging-…`) and `commit` renames each file into place
/// on its own, in the order of their names, then removes the old files the
/// new content lacks. Each file is then replaced atomically, but not the set
/// as a whole: a crash during the commit can leave some new files beside
/// some old ones.
///
/// A target that is the current directory or contains it is refused
/// (replacing it would leave the process in a deleted directory).
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
    /// Staged inside the target, committed file by file.
    inside: bool,
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
        let Some(target_name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Err(Error::InvalidParameter {
                name: "output directory".into(),
                reason: format!("`{}` names no directory to replace", target.display()),
            });
        };
        if let (Ok(real), Ok(cwd)) = (
            std::fs::canonicalize(&target),
            std::env::current_dir().and_then(std::fs::canonicalize),
        ) && cwd.starts_with(&real)
        {
            return Err(Error::InvalidParameter {
                name: "output directory".into(),
                reason: format!(
                    "`{}` is the current directory or contains it, and it is replaced as a \
                     whole: that would leave this process (and your shell) in a deleted \
                     directory; run from another directory or write to a subdirectory",
                    target.display()
                ),
            });
        }
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        restore_or_remove_aside(&parent, &target, &target_name);
        remove_abandoned_temps(&parent, STAGED_DIR_PREFIX);
        let target_is_dir = std::fs::metadata(&target).is_ok_and(|m| m.is_dir());
        if !(target_is_dir && is_mount_point(&target, &parent)) {
            match stage_in(&parent) {
                Ok(staging) => {
                    return Ok(Self {
                        staging,
                        target,
                        inside: false,
                    });
                }
                Err(e) if !(target_is_dir && cannot_write_in(&e)) => {
                    return Err(Error::io(&parent, e));
                }
                Err(_) => {}
            }
        }
        remove_abandoned_temps(&target, STAGED_DIR_PREFIX);
        let staging = stage_in(&target).map_err(|e| Error::io(&target, e))?;
        Ok(Self {
            staging,
            target,
            inside: true,
        })
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
        if self.inside {
            let staging = self.staging.keep();
            let result = move_files_into(&staging, &target, &|from, to| std::fs::rename(from, to));
            let _ = std::fs::remove_dir_all(&staging);
            sync_dir(&target);
            return result;
        }
        // The staging directory is private (0700); the output is an ordinary,
        // readable directory, or keeps the mode of the one it replaces.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target)
                .ok()
                .filter(std::fs::Metadata::is_dir)
                .map_or(0o755, |m| m.permissions().mode() & 0o7777);
            std::fs::set_permissions(self.staging.path(), std::fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io(self.staging.path(), e))?;
        }
        let staging = self.staging.keep();
        let result = match swap_into_place(&staging, &target) {
            // A mount point (or a bind mount) cannot be renamed: copy each
            // file into it instead.
            Err(e) if is_busy_or_cross_device(&e) => {
                move_files_into(&staging, &target, &copy_then_rename)
            }
            Err(e) => Err(Error::io(&target, e)),
            Ok(()) => Ok(()),
        };
        let _ = std::fs::remove_dir_all(&staging);
        if let Some(parent) = target.parent() {
            sync_dir(parent);
        }
        result
    }
}

/// A new private staging directory in `dir`.
fn stage_in(dir: &Path) -> std::io::Result<tempfile::TempDir> {
    #[cfg(test)]
    if let Some((_, errno)) = tests::FAIL_STAGING_IN
        .with(|f| f.borrow().clone())
        .filter(|(failing, _)| failing == dir)
    {
        return Err(std::io::Error::from_raw_os_error(errno));
    }
    tempfile::Builder::new()
        .prefix(&owned_temp_prefix(STAGED_DIR_PREFIX))
        .tempdir_in(dir)
}

/// Whether creating in a directory failed because it is not writable.
fn cannot_write_in(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

fn is_busy_or_cross_device(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ResourceBusy | std::io::ErrorKind::CrossesDevices
    )
}

/// Whether `dir` is on another file system than its parent (a mount point).
#[cfg(unix)]
fn is_mount_point(dir: &Path, parent: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(dir), std::fs::metadata(parent)) {
        (Ok(d), Ok(p)) => d.dev() != p.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn is_mount_point(_: &Path, _: &Path) -> bool {
    false
}

/// Flushes a directory's entries (a rename in it) to disk; best effort.
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

type MoveFile = dyn Fn(&Path, &Path) -> std::io::Result<()>;

/// Moves each entry of `staging` into `target` with `move_file`, in the
/// order of their names, then removes the entries of `target` the new
/// content lacks (but not mlrig's temporary names, left to their cleanup).
fn move_files_into(staging: &Path, target: &Path, move_file: &MoveFile) -> Result<()> {
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(staging)
        .map_err(|e| Error::io(staging, e))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(staging, e))?;
    names.sort();
    for name in &names {
        let to = target.join(name);
        if std::fs::symlink_metadata(&to).is_ok_and(|m| m.is_dir()) {
            std::fs::remove_dir_all(&to).map_err(|e| Error::io(&to, e))?;
        }
        move_file(&staging.join(name), &to).map_err(|e| Error::io(&to, e))?;
    }
    let old = std::fs::read_dir(target).map_err(|e| Error::io(target, e))?;
    for entry in old.filter_map(std::result::Result::ok) {
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if names.contains(&name)
            || entry.path() == staging
            || text.starts_with(STAGED_DIR_PREFIX)
            || text.starts_with(crate::temp_owner::TEMP_FILE_PREFIX)
        {
            continue;
        }
        let path = entry.path();
        let gone = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        gone.map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// Copies a staged file into another file system: to a temporary file
/// beside `to`, synced, then renamed over it.
fn copy_then_rename(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut file = crate::AtomicFile::create(to).map_err(into_io)?;
    let mut source = std::fs::File::open(from)?;
    std::io::copy(&mut source, &mut file)?;
    file.commit().map_err(into_io)
}

fn into_io(e: Error) -> std::io::Error {
    match e {
        Error::Io { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    }
}

/// The name an old directory gets while set aside: the staging name, `-old-`
/// and the target's name, so the next `create` for that target finds it.
fn aside_name(staging: &Path, target: &Path) -> PathBuf {
    let mut aside = staging.as_os_str().to_owned();
    aside.push("-old-");
    aside.push(target.file_name().unwrap_or_default());
    PathBuf::from(aside)
}

/// After a crash between the two renames of the swap without exchange: puts
/// the old directory set aside for `target` back when the target is
/// missing, or removes it when the new one made it into place.
fn restore_or_remove_aside(parent: &Path, target: &Path, target_name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let suffix = format!("-old-{target_name}");
    for entry in entries.filter_map(std::result::Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(staging_name) = name.strip_suffix(&suffix) else {
            continue;
        };
        let path = entry.path();
        if !crate::temp_owner::is_abandoned_temp_name(staging_name, STAGED_DIR_PREFIX, &path)
            || !entry.file_type().is_ok_and(|t| t.is_dir())
        {
            continue;
        }
        if std::fs::symlink_metadata(target).is_err() {
            let _ = std::fs::rename(&path, target);
        } else {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Puts `staging` at `target`; the old target, if any, ends at `staging` and
/// is removed.
fn swap_into_place(staging: &Path, target: &Path) -> std::io::Result<()> {
    #[cfg(test)]
    if let Some(errno) = tests::FAIL_SWAP.with(std::cell::Cell::get) {
        return Err(std::io::Error::from_raw_os_error(errno));
    }
    match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return std::fs::rename(staging, target);
        }
        Err(e) => return Err(e),
        Ok(meta) if !meta.is_dir() => {
            return Err(std::io::Error::other("exists and is not a directory"));
        }
        Ok(_) => {}
    }
    if !exchange(staging, target)? {
        // Without an atomic exchange: the old directory aside (under a name
        // the next `create` for this target recognises, so a crash here
        // leaves it to be restored), then the new one into place.
        let aside = aside_name(staging, target);
        std::fs::rename(target, &aside)?;
        if let Err(e) = rename_into_place(staging, target) {
            let _ = std::fs::rename(&aside, target);
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&aside);
        return Ok(());
    }
    // `staging` now holds the old content.
    let _ = std::fs::remove_dir_all(staging);
    Ok(())
}

/// The second rename of the swap without exchange (a test can make it fail).
fn rename_into_place(staging: &Path, target: &Path) -> std::io::Result<()> {
    #[cfg(test)]
    if tests::FAIL_SECOND_RENAME.with(std::cell::Cell::get) {
        return Err(std::io::Error::other("injected failure"));
    }
    std::fs::rename(staging, target)
}

/// Exchanges `a` and `b` atomically; `false` when this platform or file
/// system cannot.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    #[cfg(test)]
    if tests::NO_EXCHANGE.with(std::cell::Cell::get) {
        return Ok(false);
    }
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::cell::{Cell, RefCell};

    thread_local! {
        /// Creating a staging directory in this directory fails with this errno.
        pub(super) static FAIL_STAGING_IN: RefCell<Option<(PathBuf, i32)>> = const { RefCell::new(None) };
        /// Behave as a file system without `RENAME_EXCHANGE`.
        pub(super) static NO_EXCHANGE: Cell<bool> = const { Cell::new(false) };
        /// The rename of the new directory into place fails.
        pub(super) static FAIL_SECOND_RENAME: Cell<bool> = const { Cell::new(false) };
        /// Swapping the directory fails with this errno (a mount point).
        pub(super) static FAIL_SWAP: Cell<Option<i32>> = const { Cell::new(None) };
    }

    const EACCES: i32 = 13;
    const EROFS: i32 = 30;
    const EBUSY: i32 = 16;
    const EXDEV: i32 = 18;

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

    fn old_split(dir: &Path) -> PathBuf {
        let out = dir.join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("x"), b"old").unwrap();
        std::fs::write(out.join("gone"), b"old").unwrap();
        out
    }

    #[test]
    fn without_a_writable_parent_the_files_are_staged_inside_and_moved_one_by_one() {
        for errno in [EACCES, EROFS] {
            let dir = tempfile::tempdir().unwrap();
            let out = old_split(dir.path());
            FAIL_STAGING_IN.with(|f| *f.borrow_mut() = Some((dir.path().to_path_buf(), errno)));
            let staged = StagedDir::create(&out).unwrap();
            assert_eq!(staged.path().parent(), Some(out.as_path()));
            std::fs::write(staged.path().join("x"), b"new").unwrap();
            std::fs::write(staged.path().join("y"), b"new").unwrap();
            assert_eq!(std::fs::read(out.join("x")).unwrap(), b"old");
            staged.commit().unwrap();
            assert_eq!(names(&out), ["x", "y"]);
            assert_eq!(std::fs::read(out.join("x")).unwrap(), b"new");
            assert_eq!(names(dir.path()), ["out"]);

            // Dropped without commit: the staging inside goes, the rest stays.
            let staged = StagedDir::create(&out).unwrap();
            std::fs::write(staged.path().join("x"), b"newer").unwrap();
            drop(staged);
            assert_eq!(names(&out), ["x", "y"]);
            assert_eq!(std::fs::read(out.join("x")).unwrap(), b"new");
        }
    }

    #[test]
    fn without_a_writable_parent_a_missing_target_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        FAIL_STAGING_IN.with(|f| *f.borrow_mut() = Some((dir.path().to_path_buf(), EACCES)));
        let err = StagedDir::create(dir.path().join("out")).unwrap_err();
        assert!(err.to_string().contains("ermission denied"), "{err}");
    }

    #[test]
    fn the_current_directory_or_an_ancestor_is_refused() {
        let cwd = std::env::current_dir().unwrap();
        for target in [cwd.clone(), cwd.parent().unwrap().to_path_buf(), ".".into()] {
            let err = StagedDir::create(&target).unwrap_err();
            assert!(err.to_string().contains("current directory"), "{err}");
        }
        assert!(cwd.is_dir());
    }

    #[test]
    fn without_exchange_the_swap_replaces_the_directory() {
        NO_EXCHANGE.with(|f| f.set(true));
        let dir = tempfile::tempdir().unwrap();
        let out = old_split(dir.path());
        let staged = StagedDir::create(&out).unwrap();
        std::fs::write(staged.path().join("x"), b"new").unwrap();
        staged.commit().unwrap();
        assert_eq!(names(&out), ["x"]);
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn a_failed_second_rename_puts_the_old_directory_back() {
        NO_EXCHANGE.with(|f| f.set(true));
        FAIL_SECOND_RENAME.with(|f| f.set(true));
        let dir = tempfile::tempdir().unwrap();
        let out = old_split(dir.path());
        let staged = StagedDir::create(&out).unwrap();
        std::fs::write(staged.path().join("x"), b"new").unwrap();
        assert!(staged.commit().is_err());
        assert_eq!(names(&out), ["gone", "x"]);
        assert_eq!(std::fs::read(out.join("x")).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn an_old_directory_left_aside_by_a_crash_is_restored_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let out = old_split(dir.path());
        let host = owned_temp_prefix("");
        let host = host.split('-').next().unwrap();
        let staging = dir
            .path()
            .join(format!("{STAGED_DIR_PREFIX}{host}-4294967295-AbCdEf"));
        let aside = aside_name(&staging, &out);
        // The crash: after the first rename, before the second.
        std::fs::rename(&out, &aside).unwrap();
        std::fs::create_dir(&staging).unwrap();
        // Another target's aside in the same parent is not ours to restore.
        let other = aside_name(&staging, &dir.path().join("other"));
        std::fs::create_dir(&other).unwrap();

        let staged = StagedDir::create(&out).unwrap();
        assert_eq!(names(&out), ["gone", "x"]);
        assert!(other.is_dir());
        assert!(!staging.exists(), "the crashed staging is removed");
        drop(staged);

        // Crashed after the second rename: the aside is removed.
        let aside_again = aside_name(&staging, &out);
        std::fs::create_dir(&aside_again).unwrap();
        drop(StagedDir::create(&out).unwrap());
        assert!(!aside_again.exists());
        assert_eq!(names(&out), ["gone", "x"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_directory_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = old_split(dir.path());
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o2770)).unwrap();
        let staged = StagedDir::create(&out).unwrap();
        std::fs::write(staged.path().join("x"), b"new").unwrap();
        staged.commit().unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o2770);
    }

    #[test]
    fn a_directory_that_cannot_be_swapped_gets_the_files_copied_in() {
        for errno in [EBUSY, EXDEV] {
            FAIL_SWAP.with(|f| f.set(Some(errno)));
            let dir = tempfile::tempdir().unwrap();
            let out = old_split(dir.path());
            let staged = StagedDir::create(&out).unwrap();
            std::fs::write(staged.path().join("x"), b"new").unwrap();
            std::fs::write(staged.path().join("y"), b"new").unwrap();
            staged.commit().unwrap();
            assert_eq!(names(&out), ["x", "y"]);
            assert_eq!(std::fs::read(out.join("y")).unwrap(), b"new");
            assert_eq!(names(dir.path()), ["out"]);
        }
    }
}
