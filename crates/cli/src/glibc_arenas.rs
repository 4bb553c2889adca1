//! `mlrig serve` bounds glibc's malloc arenas to one.
//!
//! glibc gives threads their own arenas (up to 8 per core) and each arena
//! keeps the memory it once held for reuse. A server whose predictions of
//! large batches run on several threads (the tokio workers, the blocking
//! pool, rayon) so ends up holding the high-water of every thread's largest
//! request: in the soak (`scripts/soak_serve.py`, `docs/benchmarks.md`
//! "Server soak") resident memory grew by a quarter after the first 10,000
//! requests before levelling off, while with one arena it stays within 2 %.
//! glibc reads `MALLOC_ARENA_MAX` only when the process starts (setting the
//! limit at run time takes `mallopt`, a C call that the workspace's
//! `forbid(unsafe_code)` rules out), so the server re-executes itself once
//! with the variable set, before it starts any thread (not when it was
//! started through the dynamic loader, `ld-linux….so mlrig serve`). A value the user set is kept (`MALLOC_ARENA_MAX=4 mlrig
//! serve ...` for a many-core machine where the allocator's lock matters
//! more than the retained memory). Other C libraries: nothing to do.

/// Re-executes this process with `MALLOC_ARENA_MAX=1` unless the variable is
/// set; returns only when it is set already or re-executing failed (then the
/// server runs with glibc's default arenas, which is only a matter of memory).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn limit_to_one() {
    use std::os::unix::process::CommandExt;
    /// The environment variable glibc reads its arena limit from.
    const VARIABLE: &str = "MALLOC_ARENA_MAX";

    if std::env::var_os(VARIABLE).is_some() {
        return;
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => {
            tracing::debug!(%error, "cannot find the mlrig binary to set {VARIABLE}; glibc's default arenas");
            return;
        }
    };
    if is_dynamic_loader(&exe) {
        // Started as `ld-linux….so mlrig serve …`: the executable is the
        // loader, which would not find mlrig again from these arguments.
        tracing::debug!("started through the dynamic loader; glibc's default arenas");
        return;
    }
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(VARIABLE, "1")
        .exec();
    tracing::debug!(%error, "cannot re-execute mlrig with {VARIABLE}=1; glibc's default arenas");
}

/// Whether `exe` is glibc's dynamic loader (`ld-linux-x86-64.so.2`, `ld.so`, …).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn is_dynamic_loader(exe: &std::path::Path) -> bool {
    exe.file_name()
        .map(|name| name.to_string_lossy())
        .is_some_and(|name| name.starts_with("ld-") || name.starts_with("ld.so"))
}

/// Other C libraries than glibc: nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn limit_to_one() {}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::is_dynamic_loader;
    use std::path::Path;

    #[test]
    fn the_loader_is_recognised_and_mlrig_is_not() {
        assert!(is_dynamic_loader(Path::new("/lib64/ld-linux-x86-64.so.2")));
        assert!(is_dynamic_loader(Path::new("/usr/lib/ld.so")));
        assert!(!is_dynamic_loader(Path::new("/usr/local/bin/mlrig")));
        assert!(!is_dynamic_loader(Path::new("target/debug/mlrig")));
    }
}
