//! Printing results and errors in the chosen format, and the exit status.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::process::ExitCode;

use mlrig_validate::{Anomalies, Anomaly};
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
        Format::Json => {
            let json = if outcome.json_line {
                serde_json::to_string(&outcome.json)
            } else {
                serde_json::to_string_pretty(&outcome.json)
            }
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
            print_out(&format!("{json}\n"));
        }
        Format::Text => print_out(&outcome.text),
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
        print_out(&format!("{}\n", serde_json::json!({ "error": message })));
    }
    print_err(&format!("error: {message}\n"));
    ExitCode::from(2)
}

/// Writes `text` to stdout. When the reader has gone away (`mlrig … | head`)
/// the process ends quietly with status 0, as `head` users expect of a Unix
/// tool; any other write error (a full disk behind a redirect) is one line
/// on stderr and status 2.
pub(crate) fn print_out(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        print_err(&format!("error: writing the output to stdout: {e}\n"));
        std::process::exit(2);
    }
}

/// Writes `text` to stdout and ignores a closed or failing stdout (a server
/// keeps serving when nobody reads its log lines).
pub(crate) fn print_out_best_effort(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Writes `text` to stderr; a closed stderr is ignored (there is nowhere
/// left to say so).
pub(crate) fn print_err(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The widest value or name text output shows; JSON output is never shortened.
const TEXT_VALUE_CHARS: usize = 60;

/// The widest `expected …, found …` part of an anomaly in text output (it
/// may list several values, each of any length).
const TEXT_DETAIL_CHARS: usize = 200;

/// `value` shortened for a text table: at most [`TEXT_VALUE_CHARS`]
/// characters, ending in `…` when cut (a 10 MB field must not flood the
/// terminal).
pub(crate) fn clip(value: &str) -> Cow<'_, str> {
    clip_to(value, TEXT_VALUE_CHARS)
}

/// `value` cut to at most `max_chars` characters (`max_chars ≥ 1`), the
/// last one `…` when cut; cuts fall on character boundaries.
fn clip_to(value: &str, max_chars: usize) -> Cow<'_, str> {
    let max_chars = max_chars.max(1);
    match value.char_indices().nth(max_chars) {
        None => Cow::Borrowed(value),
        Some((end, _)) => {
            let keep = value[..end]
                .char_indices()
                .nth(max_chars - 1)
                .map_or(end, |(i, _)| i);
            Cow::Owned(format!("{}…", &value[..keep]))
        }
    }
}

/// `1 anomaly`, `3 anomalies`.
pub(crate) fn count_of(count: usize, singular: &str, plural: &str) -> String {
    format!("{count} {}", if count == 1 { singular } else { plural })
}

/// `anomaly` with its name, expectation, finding and description clipped
/// for text output (see [`clip`]); the rest unchanged.
pub(crate) fn clipped_anomaly(anomaly: &Anomaly) -> Anomaly {
    let mut clipped = Anomaly::new(
        clip(&anomaly.feature),
        anomaly.kind.clone(),
        clip_to(&anomaly.expected, TEXT_DETAIL_CHARS),
        clip_to(&anomaly.found, TEXT_DETAIL_CHARS),
        anomaly.count,
        anomaly.example_rows.clone(),
    )
    .with_description(clip_to(&anomaly.description, TEXT_DETAIL_CHARS));
    clipped.severity = anomaly.severity;
    clipped
}

/// One line per anomaly, each ending in a newline, with long names and
/// values clipped: `(dataset): no examples` first when the data had none.
pub(crate) fn anomalies_text(anomalies: &Anomalies) -> String {
    let mut text = String::new();
    if anomalies.data_missing {
        text.push_str("(dataset): no examples\n");
    }
    for anomaly in anomalies {
        let _ = writeln!(text, "{}", clipped_anomaly(anomaly));
    }
    text
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
        assert_eq!(clip_to("abc", 0), "…");
        assert_eq!(clip_to("abc", 3), "abc");
    }

    #[test]
    fn counts_agree_in_number() {
        assert_eq!(count_of(1, "anomaly", "anomalies"), "1 anomaly");
        assert_eq!(count_of(0, "anomaly", "anomalies"), "0 anomalies");
        assert_eq!(count_of(2, "feature", "features"), "2 features");
    }

    #[test]
    fn anomaly_lines_clip_long_names_and_values() {
        use mlrig_validate::AnomalyKind;
        let mut anomalies = Anomalies::default();
        anomalies.data_missing = true;
        let long_name = "n".repeat(1_000);
        let long_value = format!("12.50% of values outside it: {:?} (1)", "v".repeat(100_000));
        anomalies.push(Anomaly::new(
            long_name.as_str(),
            AnomalyKind::EnumTypeUnexpectedStringValues,
            "values from domain `d` (2 values)",
            long_value.as_str(),
            1,
            vec![3],
        ));
        let text = anomalies_text(&anomalies);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0], "(dataset): no examples");
        let clipped_name = format!("{}…", "n".repeat(TEXT_VALUE_CHARS - 1));
        assert!(lines[1].starts_with(&format!("{clipped_name}: ENUM_TYPE_UNEXPECTED_STRING_VALUES: expected values from domain `d` (2 values), found 12.50% of values outside it: \"vvv")), "{}", lines[1]);
        assert!(lines[1].ends_with("… (1 example; rows 3)"), "{}", lines[1]);
        assert!(lines[1].chars().count() < TEXT_VALUE_CHARS + 2 * TEXT_DETAIL_CHARS + 100);
        // Short anomalies print exactly as their Display.
        let short = Anomaly::new(
            "age",
            AnomalyKind::IntTypeBigInt,
            "at most 90",
            "120",
            3,
            vec![0],
        );
        assert_eq!(clipped_anomaly(&short).to_string(), short.to_string());
        assert_eq!(clipped_anomaly(&short), short);
    }
}
