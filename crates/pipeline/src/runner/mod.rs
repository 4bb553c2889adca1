//! The pipeline runner: `mlrig.toml` → cached steps → a pushed version.

mod history;
// Called by the runner's rollback step; dead code until it is wired.
#[allow(dead_code)]
mod rollback;

pub use history::{HISTORY_FILE, PushHistory, PushRecord, RollbackRecord};
