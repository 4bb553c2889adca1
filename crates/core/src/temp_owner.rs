//! Temporary files and directories that name their owner, and the removal of
//! those a crashed process left behind: [`owned_temp_prefix`],
//! [`remove_abandoned_temps`], [`is_abandoned_temp`].
//!
//! A writer that is killed (SIGKILL, power loss) cannot delete its temporary
//! file or staging directory. Every temporary name mlrig creates therefore
//! starts with `<prefix><host>-<pid>-`: the next writer into the same
//! directory removes the names whose process is gone on this host, and never
//! those of a live process (a concurrent writer) or of another host sharing
//! the directory (unless a day old). Names not exactly of that shape are
//! never touched.

use std::path::Path;

/// The prefix of [`AtomicFile`](crate::AtomicFile)'s temporary files.
///
/// ```
/// assert_eq!(mlrig_core::TEMP_FILE_PREFIX, ".mlrig-tmp-");
/// ```
pub const TEMP_FILE_PREFIX: &str = ".mlrig-tmp-";

/// The prefix of [`StagedDir`](crate::StagedDir)'s staging directories (and
/// of a replaced directory's old content until it is removed).
///
/// ```
/// assert_eq!(mlrig_core::STAGED_DIR_PREFIX, ".mlrig-staging-");
/// ```
pub const STAGED_DIR_PREFIX: &str = ".mlrig-staging-";

/// Leftovers of a host that cannot be checked for live processes (another
/// machine sharing the directory, or no `/proc`) are removed after this long.
const FOREIGN_LEFTOVER_AGE_SECS: u64 = 24 * 3600;

/// `<prefix><host>-<pid>-`: the start of the name of a temporary file or
/// directory this process owns, so that [`remove_abandoned_temps`] can tell
/// whose it is. The host is this machine's name reduced to ASCII letters,
/// digits and dots (so `-` separates the parts).
///
/// ```
/// let prefix = mlrig_core::owned_temp_prefix(".tmp-");
/// assert!(prefix.starts_with(".tmp-"));
/// assert!(prefix.ends_with(&format!("-{}-", std::process::id())));
/// ```
pub fn owned_temp_prefix(prefix: &str) -> String {
    format!("{prefix}{}-{}-", host_name(), std::process::id())
}

/// This machine's name (Linux: the kernel's; elsewhere `$HOSTNAME`), reduced
/// to characters safe in a file name; `host` when unknown. Read once: every
/// temporary name and every entry a cleanup looks at needs it.
fn host_name() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default();
        let safe: String = name
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        if safe.is_empty() { "host".into() } else { safe }
    })
}

/// How many random characters follow `<prefix><host>-<pid>-` in the names
/// this crate creates (`tempfile`'s default: ASCII letters and digits).
pub(crate) const RANDOM_SUFFIX_LEN: usize = 6;

/// Removes the entries of `dir` named exactly as this crate names its
/// temporary files and directories (`<prefix><host>-<pid>-` and
/// six ASCII letters or digits, `tempfile`'s default) whose owner is gone (see
/// [`is_abandoned_temp`]): files and whole directories left by killed
/// writers. Entries of live processes and any other name (a user's
/// `.mlrig-tmp-keep`) are never touched; errors (a vanished entry, no
/// permission) are ignored, as the cleanup is best effort. Returns how many
/// entries were removed.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// // pid 4294967295 exceeds any pid_max: that process is gone.
/// let host = mlrig_core::owned_temp_prefix("").split('-').next().unwrap_or_default().to_string();
/// let dead = dir.path().join(format!(".mlrig-tmp-{host}-4294967295-x1Ab9Z"));
/// let live = dir.path().join(format!("{}x2Ab9Z", mlrig_core::owned_temp_prefix(".mlrig-tmp-")));
/// let user = dir.path().join(format!(".mlrig-tmp-{host}-4294967295-keep"));
/// let other = dir.path().join("notes.txt");
/// for path in [&dead, &live, &user, &other] {
///     std::fs::write(path, b"")?;
/// }
/// let removed = mlrig_core::remove_abandoned_temps(dir.path(), ".mlrig-tmp-");
/// assert!(live.exists() && user.exists() && other.exists());
/// if cfg!(target_os = "linux") {
///     assert_eq!(removed, 1);
///     assert!(!dead.exists());
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn remove_abandoned_temps(dir: &Path, prefix: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.filter_map(std::result::Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if !is_abandoned_temp_name(&name, prefix, &path) {
            continue;
        }
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        let gone = if is_dir {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether `name` (of the entry at `path`) is exactly a temporary name this
/// crate creates with `prefix` (see [`remove_abandoned_temps`]) and its
/// owner is gone ([`is_abandoned_temp`]).
pub(crate) fn is_abandoned_temp_name(name: &str, prefix: &str, path: &Path) -> bool {
    name.strip_prefix(prefix)
        .filter(|owner| is_generated_owner(owner))
        .is_some_and(|owner| is_abandoned_temp(owner, path))
}

/// `<host>-<pid>-<random>` exactly as [`owned_temp_prefix`] and `tempfile`
/// write it.
fn is_generated_owner(owner: &str) -> bool {
    let mut parts = owner.split('-');
    let (Some(host), Some(pid), Some(random), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
        && !pid.is_empty()
        && pid.chars().all(|c| c.is_ascii_digit())
        && pid.parse::<u32>().is_ok()
        && random.len() == RANDOM_SUFFIX_LEN
        && random.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Whether the temporary file or directory at `path`, owned by `owner`
/// (`<host>-<pid>-…`, the part of its name after the prefix, as
/// [`owned_temp_prefix`] writes it), is left over. On this host: iff its
/// process is gone (known on Linux through `/proc`, so a killed process must
/// have been reaped; never by age, so a writer running for days keeps its
/// temporaries; without `/proc` never). For another host's, or an owner
/// that does not name this host: when last modified more than a day ago.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let mine = mlrig_core::owned_temp_prefix("");
/// // This process is alive, and the file is new.
/// assert!(!mlrig_core::is_abandoned_temp(&format!("{mine}abc"), dir.path()));
/// assert!(!mlrig_core::is_abandoned_temp("otherhost-1-abc", dir.path()));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn is_abandoned_temp(owner: &str, path: &Path) -> bool {
    let pid = owner
        .strip_prefix(host_name())
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.split('-').next())
        .and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) => {
            cfg!(target_os = "linux")
                && Path::new("/proc/self").exists()
                && !Path::new("/proc").join(pid.to_string()).exists()
        }
        None => older_than(path, FOREIGN_LEFTOVER_AGE_SECS),
    }
}

fn older_than(path: &Path, seconds: u64) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > seconds)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A pid above any `pid_max` (at most 2^22 on Linux): no such process.
    const DEAD_PID: u32 = u32::MAX;

    #[test]
    fn leftovers_of_gone_processes_are_removed_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let live_file = dir
            .path()
            .join(format!("{}aaaaaa", owned_temp_prefix(".p-")));
        let live_dir = dir
            .path()
            .join(format!("{}bbbbbb", owned_temp_prefix(".p-")));
        let dead_file = dir
            .path()
            .join(format!(".p-{}-{DEAD_PID}-cccccc", host_name()));
        let dead_dir = dir
            .path()
            .join(format!(".p-{}-{DEAD_PID}-dddddd", host_name()));
        // Another host's: its processes cannot be seen from here.
        let elsewhere = dir.path().join(format!(".p-otherhost-{DEAD_PID}-eeeeee"));
        // Other names, even with a dead owner, are not ours to remove.
        let foreign = dir
            .path()
            .join(format!(".q-{}-{DEAD_PID}-ffffff", host_name()));
        let plain = dir.path().join("data.csv");
        for file in [&live_file, &dead_file, &elsewhere, &foreign, &plain] {
            std::fs::write(file, b"x").unwrap();
        }
        for d in [&live_dir, &dead_dir] {
            std::fs::create_dir_all(d.join("inner")).unwrap();
            std::fs::write(d.join("inner/file"), b"x").unwrap();
        }
        let removed = remove_abandoned_temps(dir.path(), ".p-");
        for kept in [&live_file, &live_dir, &elsewhere, &foreign, &plain] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }
        if cfg!(target_os = "linux") {
            assert_eq!(removed, 2);
            assert!(!dead_file.exists() && !dead_dir.exists());
        }
    }

    #[test]
    fn a_child_that_exited_and_was_reaped_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let theirs = dir.path().join(format!(".p-{}-{pid}-xxxxxx", host_name()));
        std::fs::write(&theirs, b"x").unwrap();
        remove_abandoned_temps(dir.path(), ".p-");
        assert_eq!(theirs.exists(), !cfg!(target_os = "linux"));
    }

    fn age(path: &Path, days: u64) {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(days * 24 * 3600);
        let file = std::fs::File::open(path).unwrap();
        file.set_modified(old).unwrap();
    }

    #[test]
    fn a_live_writer_keeps_its_temporaries_however_old() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir
            .path()
            .join(format!("{}AbC123", owned_temp_prefix(".p-")));
        std::fs::create_dir(&live).unwrap();
        std::fs::write(live.join("train.csv"), b"x").unwrap();
        age(&live, 3);
        assert_eq!(remove_abandoned_temps(dir.path(), ".p-"), 0);
        assert!(live.join("train.csv").exists());
    }

    #[test]
    fn names_we_do_not_generate_are_never_removed() {
        let dir = tempfile::tempdir().unwrap();
        let host = host_name();
        let names = [
            ".p-keep".to_string(),
            format!(".p-{host}-{DEAD_PID}-short"),
            format!(".p-{host}-{DEAD_PID}-toolong1"),
            format!(".p-{host}-{DEAD_PID}-ab_cde"),
            format!(".p-{host}-{DEAD_PID}-abcdef-extra"),
            format!(".p-{host}-x{DEAD_PID}-abcdef"),
            format!(".p-otherhost-{DEAD_PID}-abc"),
        ];
        for name in &names {
            let path = dir.path().join(name);
            std::fs::create_dir(&path).unwrap();
            std::fs::write(path.join("mine"), b"x").unwrap();
            age(&path, 30);
        }
        assert_eq!(remove_abandoned_temps(dir.path(), ".p-"), 0);
        for name in &names {
            assert!(dir.path().join(name).join("mine").exists(), "{name}");
        }
    }

    #[test]
    fn another_hosts_temporaries_are_removed_when_a_day_old() {
        let dir = tempfile::tempdir().unwrap();
        let recent = dir.path().join(".p-otherhost-12-abcdef");
        let old = dir.path().join(".p-otherhost-12-ghijkl");
        std::fs::write(&recent, b"x").unwrap();
        std::fs::write(&old, b"x").unwrap();
        age(&old, 2);
        assert_eq!(remove_abandoned_temps(dir.path(), ".p-"), 1);
        assert!(recent.exists() && !old.exists());
    }

    #[test]
    fn a_missing_directory_removes_nothing() {
        assert_eq!(
            remove_abandoned_temps(Path::new("/nonexistent-mlrig-dir"), ".p-"),
            0
        );
    }

    #[test]
    fn unreadable_owners_are_only_removed_when_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".p-Xy12z");
        std::fs::write(&path, b"x").unwrap();
        assert!(!is_abandoned_temp("Xy12z", &path));
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 24 * 3600);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(is_abandoned_temp("Xy12z", &path));
    }
}
