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

/// Prints the outcome on stdout; its exit status: 1 when the data failed
/// the check, else 0. A reader that has gone away (`mlrig … | head`) does
/// not change the status; any other failure to write stdout (a full disk
/// behind a redirect) is one line on stderr and status 2.
pub(crate) fn emit(format: Format, outcome: &Outcome) -> ExitCode {
    let text = match format {
        Format::Json => {
            let json = if outcome.json_line {
                serde_json::to_string(&outcome.json)
            } else {
                serde_json::to_string_pretty(&outcome.json)
            }
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
            format!("{json}\n")
        }
        Format::Text => outcome.text.clone(),
    };
    match deliver(&mut std::io::stdout().lock(), &text) {
        Delivery::Written | Delivery::ReaderGone if outcome.check_failed => ExitCode::from(1),
        Delivery::Written | Delivery::ReaderGone => ExitCode::SUCCESS,
        Delivery::Failed(line) => {
            print_err(&line);
            ExitCode::from(2)
        }
    }
}

/// Prints the error as one line (`error: … : cause`) on stderr, and as
/// `{"error": …}` on stdout in JSON mode; exit status 2, whether or not
/// stdout and stderr could still be written.
pub(crate) fn fail(format: Format, error: &(dyn std::error::Error + 'static)) -> ExitCode {
    let message = error_message(error);
    if format == Format::Json {
        // The line on stderr says what went wrong, even when stdout failed.
        let _ = deliver(
            &mut std::io::stdout().lock(),
            &format!("{}\n", serde_json::json!({ "error": message })),
        );
    }
    print_err(&format!("error: {message}\n"));
    ExitCode::from(2)
}

/// `error` and its causes as one line; a full disk adds what to do next.
fn error_message(error: &(dyn std::error::Error + 'static)) -> String {
    let (mut message, disk_full) = one_line(error);
    // (unless the error already says what to do, naming its own flag)
    if disk_full && !message.contains("; free space on ") {
        message.push_str(&disk_full_advice(&message));
    }
    message
}

/// `error` and its causes as one line, and whether one of them says the
/// disk (or the user's quota) is full.
pub(crate) fn one_line(error: &(dyn std::error::Error + 'static)) -> (String, bool) {
    let mut message = error.to_string();
    let mut disk_full = is_disk_full(error);
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        disk_full |= is_disk_full(cause);
        source = cause.source();
    }
    let message = message.replace('\n', " ");
    let disk_full = disk_full || message.contains(DISK_FULL_TEXT);
    (message, disk_full)
}

/// How the C library (and so `std::io::Error`'s `Display`) says ENOSPC: the
/// fallback for causes a dependency flattened to text.
const DISK_FULL_TEXT: &str = "No space left on device";

/// The error is an I/O error saying the disk (or the user's quota) is full.
fn is_disk_full(error: &(dyn std::error::Error + 'static)) -> bool {
    error.downcast_ref::<std::io::Error>().is_some_and(|e| {
        matches!(
            e.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        )
    })
}

/// What to do about a full disk: `; free space on the disk holding DIR or
/// choose another --out`, DIR the directory of the file the message starts
/// with (every write error names its file first).
fn disk_full_advice(message: &str) -> String {
    let file = message.split(": ").next().unwrap_or_default();
    let looks_like_path =
        !file.is_empty() && !file.contains(char::is_whitespace) && file.contains(['/', '.']);
    if !looks_like_path {
        return "; free space on that disk or choose another --out".into();
    }
    let dir = match std::path::Path::new(file).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.display().to_string(),
        _ => ".".into(),
    };
    format!("; free space on the disk holding {dir} or choose another --out")
}

/// How a write to stdout ended.
#[derive(Debug, PartialEq, Eq)]
enum Delivery {
    /// Every byte was written and flushed.
    Written,
    /// The reader has gone away (EPIPE): nobody wants the rest.
    ReaderGone,
    /// Any other error, as the one line to print on stderr.
    Failed(String),
}

/// Writes and flushes `text` to `out` (stdout, or a failing writer in tests).
fn deliver(out: &mut impl std::io::Write, text: &str) -> Delivery {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Delivery::Written,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Delivery::ReaderGone,
        Err(e) => {
            let advice = if is_disk_full(&e) {
                "; free space on the disk stdout goes to or redirect it elsewhere"
            } else {
                ""
            };
            Delivery::Failed(format!(
                "error: writing the output to stdout: {e}{advice}\n"
            ))
        }
    }
}

/// Writes `text` to stdout. When the reader has gone away (`mlrig … | head`)
/// the process ends quietly with status 0, as `head` users expect of a Unix
/// tool (used between the runs of `mlrig run --watch`: nobody reads them
/// any more); any other write error (a full disk behind a redirect) is one
/// line on stderr and status 2.
pub(crate) fn print_out(text: &str) {
    match deliver(&mut std::io::stdout().lock(), text) {
        Delivery::Written => {}
        Delivery::ReaderGone => std::process::exit(0),
        Delivery::Failed(line) => {
            print_err(&line);
            std::process::exit(2);
        }
    }
}

/// Writes `text` to stdout and ignores a closed or failing stdout (a server
/// keeps serving when nobody reads its log lines).
pub(crate) fn print_out_best_effort(text: &str) {
    let _ = deliver(&mut std::io::stdout().lock(), text);
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

    use std::io::{ErrorKind, Write};

    /// A writer that takes `room` bytes, then fails every write with `kind`
    /// (a disk that fills up, a reader that goes away).
    struct FailingWriter {
        written: Vec<u8>,
        room: usize,
        kind: ErrorKind,
    }

    impl FailingWriter {
        fn new(room: usize, kind: ErrorKind) -> Self {
            Self {
                written: Vec::new(),
                room,
                kind,
            }
        }
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let take = buf.len().min(self.room - self.written.len());
            if take == 0 && !buf.is_empty() {
                return Err(self.kind.into());
            }
            self.written.extend_from_slice(&buf[..take]);
            Ok(take)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_stdout_is_one_error_line_with_advice_and_a_gone_reader_is_not_an_error() {
        let mut roomy = FailingWriter::new(100, ErrorKind::StorageFull);
        assert_eq!(deliver(&mut roomy, "{\"a\": 1}\n"), Delivery::Written);
        assert_eq!(roomy.written, b"{\"a\": 1}\n");

        let mut full = FailingWriter::new(4, ErrorKind::StorageFull);
        let Delivery::Failed(line) = deliver(&mut full, "{\"a\": 1}\n") else {
            panic!("a full disk must fail")
        };
        assert_eq!(line.lines().count(), 1, "{line:?}");
        assert!(
            line.starts_with("error: writing the output to stdout: "),
            "{line}"
        );
        assert!(
            line.ends_with("; free space on the disk stdout goes to or redirect it elsewhere\n"),
            "{line}"
        );

        let mut gone = FailingWriter::new(2, ErrorKind::BrokenPipe);
        assert_eq!(deliver(&mut gone, "0123456789"), Delivery::ReaderGone);

        let mut denied = FailingWriter::new(0, ErrorKind::PermissionDenied);
        let Delivery::Failed(line) = deliver(&mut denied, "x") else {
            panic!("any other error fails")
        };
        assert!(!line.contains("free space"), "{line}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn enospc_from_the_kernel_is_recognized_as_a_full_disk() {
        // 28 = ENOSPC, 122 = EDQUOT on Linux.
        for code in [28, 122] {
            let error = std::io::Error::from_raw_os_error(code);
            assert!(is_disk_full(&error), "{error}");
        }
        let mut full = FailingWriter::new(0, ErrorKind::StorageFull);
        assert!(matches!(deliver(&mut full, "x"), Delivery::Failed(_)));
    }

    #[test]
    fn a_full_disk_error_names_the_file_first_and_says_what_to_do() {
        let error = mlrig_core::Error::io(
            "out/models/adult/1/model.json",
            std::io::Error::from(ErrorKind::StorageFull),
        );
        let message = error_message(&error);
        assert!(
            message.starts_with("out/models/adult/1/model.json: "),
            "{message}"
        );
        assert!(
            message.ends_with(
                "; free space on the disk holding out/models/adult/1 or choose another --out"
            ),
            "{message}"
        );
        // A cause a dependency flattened to text (`External: …` from parquet).
        let flattened: CliError =
            "stats.json: External: No space left on device (os error 28)".into();
        assert!(
            error_message(flattened.as_ref()).ends_with(
                "(os error 28); free space on the disk holding . or choose another --out"
            ),
            "{}",
            error_message(flattened.as_ref())
        );
        let unnamed: CliError = "writing rows: No space left on device (os error 28)".into();
        assert!(
            error_message(unnamed.as_ref())
                .ends_with("; free space on that disk or choose another --out")
        );
        // Other errors are left alone.
        let missing = mlrig_core::Error::io("data.csv", std::io::Error::from(ErrorKind::NotFound));
        assert!(!error_message(&missing).contains("free space"));
    }

    proptest::proptest! {
        /// Whatever the text and wherever the writer fails, `deliver` ends in
        /// exactly one of its three outcomes and never panics.
        #[test]
        fn delivery_reports_how_the_write_ended(
            text in ".{0,200}",
            room in 0usize..300,
            broken_pipe in proptest::bool::ANY,
        ) {
            let kind = if broken_pipe { ErrorKind::BrokenPipe } else { ErrorKind::StorageFull };
            let mut out = FailingWriter::new(room, kind);
            let delivery = deliver(&mut out, &text);
            if text.len() <= room {
                proptest::prop_assert_eq!(delivery, Delivery::Written);
                proptest::prop_assert_eq!(out.written, text.as_bytes());
            } else if broken_pipe {
                proptest::prop_assert_eq!(delivery, Delivery::ReaderGone);
            } else {
                let Delivery::Failed(line) = delivery else {
                    return Err(proptest::test_runner::TestCaseError::fail("a full disk must fail"));
                };
                proptest::prop_assert_eq!(line.lines().count(), 1);
            }
        }
    }

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
