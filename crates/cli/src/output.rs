//! Printing results and errors in the chosen format, and the exit status.

use std::process::ExitCode;

use serde::Serialize;

/// Errors of any component, printed as one line with their causes.
pub(crate) type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// What a command reports: a JSON value for scripts, text for people, and
/// whether the data passed the command's check.
pub(crate) struct Outcome {
    pub json: serde_json::Value,
    pub text: String,
    pub check_failed: bool,
    pub json_line: bool,
}

impl Outcome {
    /// A successful outcome from a JSON value and its text rendering.
    pub fn from_json(json: serde_json::Value, text: String) -> Self {
        Self {
            json,
            text,
            check_failed: false,
            json_line: false,
        }
    }

    /// A successful outcome from any serializable report.
    pub fn new(report: &impl Serialize, text: String) -> Result<Self, CliError> {
        Ok(Self::from_json(serde_json::to_value(report)?, text))
    }

    /// Prints `json` as one compact line instead of a pretty document (for
    /// commands that emit a stream of events, such as `serve`).
    pub fn with_json_line(mut self, json: serde_json::Value) -> Self {
        self.json = json;
        self.json_line = true;
        self
    }

    /// Marks the data as having failed the command's check (exit status 1).
    pub fn failed_check(mut self, failed: bool) -> Self {
        self.check_failed = failed;
        self
    }
}

pub(crate) fn emit(format: Format, outcome: &Outcome) -> ExitCode {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&outcome.json)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        ),
        Format::Text => print!("{}", outcome.text),
    }
    if outcome.check_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints the error as one line (`error: … : cause`) on stderr, and as
/// `{"error": …}` on stdout in JSON mode; exit status 2.
pub(crate) fn fail(format: Format, error: &(dyn std::error::Error + 'static)) -> ExitCode {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    let message = message.replace('\n', " ");
    if format == Format::Json {
        println!("{}", serde_json::json!({ "error": message }));
    }
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// The widest value text output shows; JSON output is never shortened.
const TEXT_VALUE_CHARS: usize = 60;

/// `value` shortened for a text table: at most [`TEXT_VALUE_CHARS`]
/// characters, ending in `…` when cut (a 10 MB field must not flood the
/// terminal).
pub(crate) fn clip(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(TEXT_VALUE_CHARS) {
        None => std::borrow::Cow::Borrowed(value),
        Some((end, _)) => {
            let keep = value[..end]
                .char_indices()
                .nth(TEXT_VALUE_CHARS - 1)
                .map_or(end, |(i, _)| i);
            std::borrow::Cow::Owned(format!("{}…", &value[..keep]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_values_and_cuts_long_ones_on_char_boundaries() {
        assert_eq!(clip("short"), "short");
        let exact = "é".repeat(TEXT_VALUE_CHARS);
        assert_eq!(clip(&exact), exact);
        let long = "é".repeat(TEXT_VALUE_CHARS + 1);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), TEXT_VALUE_CHARS);
        assert!(clipped.ends_with('…'));
    }
}
