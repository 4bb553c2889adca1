//! The pipeline runner: `mlrig.toml` → cached steps → a pushed version.

mod history;

pub use history::{HISTORY_FILE, PushHistory, PushRecord, RollbackRecord};
