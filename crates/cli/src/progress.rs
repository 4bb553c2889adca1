//! Progress on stderr for work that can take seconds (hidden when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner counting rows, e.g. "reading adult.csv  48,842 rows".
pub(crate) fn rows_spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg} {human_pos} rows ({per_sec}) {elapsed}")
    {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A spinner naming the stage of a multi-stage job, e.g. "training on x.csv: fitting model".
pub(crate) fn stage_spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
