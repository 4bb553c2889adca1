//! [`PushLock`]: one push at a time per pipeline root, so that two runs at
//! once neither push the same candidate twice nor lose a record in
//! `history.json` (a read-modify-write). Only the push holds it — a second
//! or so — so runs may overlap everywhere else.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::PipelineError;

/// The lock file under the pipeline root.
const LOCK_FILE: &str = "push.lock";

/// How long a run waits for another run's push before giving up.
const WAIT: Duration = Duration::from_secs(120);

/// Held while a run pushes; removed on drop.
#[derive(Debug)]
pub(crate) struct PushLock {
    path: PathBuf,
}

impl PushLock {
    /// Takes the lock, waiting (up to two minutes) for another run's push. A
    /// lock left by a process of this host that is gone (Linux), or older
    /// than a day, is taken over.
    pub(crate) fn acquire(root: &Path) -> Result<Self, PipelineError> {
        std::fs::create_dir_all(root).map_err(|e| mlrig_core::Error::io(root, e))?;
        let path = root.join(LOCK_FILE);
        let owner = mlrig_core::owned_temp_prefix("");
        let started = Instant::now();
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    file.write_all(owner.as_bytes())
                        .map_err(|e| mlrig_core::Error::io(&path, e))?;
                    return Ok(PushLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    if mlrig_core::is_abandoned_temp(&holder, &path) {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > WAIT {
                        return Err(PipelineError::PipelineState {
                            path,
                            reason: format!(
                                "another run ({}) has been pushing for over {} s; run again later, or delete the file if that run is gone",
                                holder.trim_end_matches('-'),
                                WAIT.as_secs()
                            ),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(mlrig_core::Error::io(&path, e).into()),
            }
        }
    }
}

impl Drop for PushLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_abandoned_locks_are_taken_over() {
        let root = tempfile::tempdir().unwrap();
        let lock = PushLock::acquire(root.path()).unwrap();
        let path = root.path().join(LOCK_FILE);
        assert!(path.is_file());
        let waiter = {
            let root = root.path().to_path_buf();
            std::thread::spawn(move || PushLock::acquire(&root).map(drop))
        };
        std::thread::sleep(Duration::from_millis(300));
        assert!(!waiter.is_finished(), "the second push waits");
        drop(lock);
        waiter.join().unwrap().unwrap();
        assert!(!path.exists());

        if cfg!(target_os = "linux") {
            // A gone process of this host (far above any pid_max).
            let host = mlrig_core::owned_temp_prefix("");
            let host = host.rsplitn(3, '-').nth(2).unwrap().to_string();
            std::fs::write(&path, format!("{host}-4294967295-")).unwrap();
            drop(PushLock::acquire(root.path()).unwrap());
        }
    }
}
