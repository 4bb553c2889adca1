//! The training data's time column: its newest value, the origin of the
//! data age a server reports (`data_newest_row` in the bundle manifest).
//!
//! ```text
//! accepted rows (train + eval) ─column─▶ each value ─parse─▶ seconds since the epoch
//!   ─max─▶ TimeColumnSummary { newest, parsed, missing, unparseable }
//! ```
//!
//! Values read as times: strings in RFC 3339 (`2024-03-01T12:00:00Z`, any
//! fraction, `Z` or a `±HH:MM` offset) or `YYYY-MM-DD[ HH:MM:SS]` (UTC when no
//! offset is given), strings of digits and integer columns as seconds since
//! the Unix epoch, float columns as (fractional) epoch seconds, Arrow
//! timestamps and dates. A value that cannot be read is counted, not fatal:
//! one bad row must not stop a training run, and the report says how many
//! there were. Only a column with no readable value at all is an error.

use std::time::{Duration, UNIX_EPOCH};

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use mlrig_core::arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use mlrig_core::arrow_schema::{DataType, TimeUnit};
use serde::Serialize;

use crate::PipelineError;

/// 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const MAX_UNIX: i64 = 253_402_300_799;
/// Unreadable values quoted in messages are cut to this many characters.
const EXAMPLE_CHARS: usize = 40;

/// What the training job found in its time column
/// ([`TrainingJob::with_time_column`](crate::TrainingJob::with_time_column)).
///
/// ```
/// use mlrig_pipeline::TimeColumnSummary;
/// let s = TimeColumnSummary::default();
/// assert_eq!((s.parsed, s.unparseable), (0, 0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TimeColumnSummary {
    /// The column.
    pub column: String,
    /// The newest value, RFC 3339 UTC (whole seconds): the manifest's `data_newest_row`.
    pub newest: String,
    /// The newest value as seconds since the Unix epoch.
    pub newest_unix: i64,
    /// Rows whose value was read as a time.
    pub parsed: u64,
    /// Rows with no value (null or empty).
    pub missing: u64,
    /// Rows whose value could not be read as a time (ignored).
    pub unparseable: u64,
    /// The first unreadable value (cut to 40 characters), to show the user.
    pub unparseable_example: Option<String>,
}

impl TimeColumnSummary {
    /// A one-line notice for the user when some values were ignored.
    pub(crate) fn notice(&self) -> Option<String> {
        (self.unparseable > 0).then(|| {
            format!(
                "time column `{}`: {} of {} values could not be read as a time (e.g. `{}`) and were ignored; the newest of the {} others is {}",
                self.column,
                self.unparseable,
                self.parsed + self.missing + self.unparseable,
                self.unparseable_example.as_deref().unwrap_or_default(),
                self.parsed,
                self.newest
            )
        })
    }
}

/// Scans `column` in every batch for its newest time.
pub(crate) fn newest_row(
    column: &str,
    batches: &[&[RecordBatch]],
) -> Result<TimeColumnSummary, PipelineError> {
    let mut scan = Scan::default();
    for batch in batches.iter().flat_map(|b| b.iter()) {
        let Some(array) = batch.column_by_name(column) else {
            return Err(PipelineError::TimeColumn {
                column: column.to_string(),
                reason: format!(
                    "not in the data; the columns are: {}",
                    mlrig_core::column_list(&batch.schema())
                ),
            });
        };
        scan_array(column, array.as_ref(), &mut scan)?;
    }
    let Some(newest_unix) = scan.newest else {
        return Err(PipelineError::TimeColumn {
            column: column.to_string(),
            reason: format!(
                "no value could be read as a time ({} missing, {} unreadable{}); expected RFC 3339 \
                 (2024-03-01T12:00:00Z), YYYY-MM-DD[ HH:MM:SS] or integer seconds since the Unix epoch",
                scan.missing,
                scan.unparseable,
                scan.example
                    .as_deref()
                    .map(|e| format!(", e.g. `{e}`"))
                    .unwrap_or_default()
            ),
        });
    };
    let newest = humantime::format_rfc3339_seconds(
        UNIX_EPOCH + Duration::from_secs(newest_unix.unsigned_abs()),
    )
    .to_string();
    Ok(TimeColumnSummary {
        column: column.to_string(),
        newest,
        newest_unix,
        parsed: scan.parsed,
        missing: scan.missing,
        unparseable: scan.unparseable,
        unparseable_example: scan.example,
    })
}

#[derive(Default)]
struct Scan {
    newest: Option<i64>,
    parsed: u64,
    missing: u64,
    unparseable: u64,
    example: Option<String>,
}

impl Scan {
    fn missing(&mut self) {
        self.missing += 1;
    }

    /// Records one value: `Some` seconds (checked against the RFC 3339
    /// range), or `None` with the text shown for it.
    fn value(&mut self, seconds: Option<i64>, shown: impl FnOnce() -> String) {
        match seconds.filter(|s| (0..=MAX_UNIX).contains(s)) {
            Some(s) => {
                self.parsed += 1;
                self.newest = Some(self.newest.map_or(s, |n| n.max(s)));
            }
            None => {
                self.unparseable += 1;
                if self.example.is_none() {
                    self.example = Some(shown().chars().take(EXAMPLE_CHARS).collect());
                }
            }
        }
    }
}

fn scan_array(column: &str, array: &dyn Array, scan: &mut Scan) -> Result<(), PipelineError> {
    match array.data_type() {
        DataType::Utf8 => scan_strings(array.as_string::<i32>().iter(), scan),
        DataType::LargeUtf8 => scan_strings(array.as_string::<i64>().iter(), scan),
        DataType::Utf8View => scan_strings(array.as_string_view().iter(), scan),
        DataType::Int8 => scan_integers::<Int8Type>(array, Unit::PerSecond(1), scan),
        DataType::Int16 => scan_integers::<Int16Type>(array, Unit::PerSecond(1), scan),
        DataType::Int32 => scan_integers::<Int32Type>(array, Unit::PerSecond(1), scan),
        DataType::Int64 => scan_integers::<Int64Type>(array, Unit::PerSecond(1), scan),
        DataType::UInt8 => scan_integers::<UInt8Type>(array, Unit::PerSecond(1), scan),
        DataType::UInt16 => scan_integers::<UInt16Type>(array, Unit::PerSecond(1), scan),
        DataType::UInt32 => scan_integers::<UInt32Type>(array, Unit::PerSecond(1), scan),
        DataType::UInt64 => scan_integers::<UInt64Type>(array, Unit::PerSecond(1), scan),
        DataType::Date32 => scan_integers::<Date32Type>(array, Unit::Days, scan),
        DataType::Date64 => scan_integers::<Date64Type>(array, Unit::PerSecond(1_000), scan),
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => {
                scan_integers::<TimestampSecondType>(array, Unit::PerSecond(1), scan)
            }
            TimeUnit::Millisecond => {
                scan_integers::<TimestampMillisecondType>(array, Unit::PerSecond(1_000), scan)
            }
            TimeUnit::Microsecond => {
                scan_integers::<TimestampMicrosecondType>(array, Unit::PerSecond(1_000_000), scan)
            }
            TimeUnit::Nanosecond => scan_integers::<TimestampNanosecondType>(
                array,
                Unit::PerSecond(1_000_000_000),
                scan,
            ),
        },
        DataType::Float32 => scan_floats(
            array
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(f64::from)),
            scan,
        ),
        DataType::Float64 => scan_floats(array.as_primitive::<Float64Type>().iter(), scan),
        other => {
            return Err(PipelineError::TimeColumn {
                column: column.to_string(),
                reason: format!(
                    "has type {other}; a time column holds strings (RFC 3339 or YYYY-MM-DD[ HH:MM:SS]), integer epoch seconds, timestamps or dates"
                ),
            });
        }
    }
    Ok(())
}

fn scan_strings<'a>(values: impl Iterator<Item = Option<&'a str>>, scan: &mut Scan) {
    for value in values {
        match value.map(str::trim) {
            None | Some("") => scan.missing(),
            Some(text) => scan.value(parse_time(text), || text.to_string()),
        }
    }
}

/// How an integer column's unit converts to seconds.
#[derive(Clone, Copy)]
enum Unit {
    /// `n` units per second (1 for seconds, 1000 for milliseconds, …).
    PerSecond(i64),
    /// Days (Arrow `Date32`).
    Days,
}

/// Integer values in `unit`s since the Unix epoch.
fn scan_integers<T>(array: &dyn Array, unit: Unit, scan: &mut Scan)
where
    T: ArrowPrimitiveType,
    T::Native: TryInto<i64> + Copy + std::fmt::Display,
{
    let values: &PrimitiveArray<T> = array.as_primitive::<T>();
    for value in values.iter() {
        match value {
            None => scan.missing(),
            Some(v) => {
                let seconds = v.try_into().ok().and_then(|units: i64| match unit {
                    Unit::PerSecond(n) => units.checked_div_euclid(n),
                    Unit::Days => units.checked_mul(86_400),
                });
                scan.value(seconds, || v.to_string());
            }
        }
    }
}

fn scan_floats(values: impl Iterator<Item = Option<f64>>, scan: &mut Scan) {
    for value in values {
        match value {
            None => scan.missing(),
            Some(v) if v.is_nan() => scan.missing(),
            Some(v) => {
                // Saturating cast; out-of-range values fail the range check.
                let seconds = v.is_finite().then(|| v.floor() as i64);
                scan.value(seconds, || v.to_string());
            }
        }
    }
}

/// Seconds since the Unix epoch of `text`: digits (epoch seconds), a date
/// (`YYYY-MM-DD`, midnight UTC), or an RFC 3339-like date and time with a
/// `T` or a space, optional fraction, and `Z`, `±HH:MM` or no offset (UTC).
/// Fractions of a second are dropped.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    if text.len() == 10 {
        return parse_utc(&format!("{text}T00:00:00"));
    }
    let (local, offset_seconds) = split_offset(text)?;
    parse_utc(local)?.checked_sub(offset_seconds)
}

/// The text without a trailing `±HH:MM` offset, and the offset in seconds
/// (0 when there is none or it is `Z`).
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if text.len() <= 19 || !text.is_char_boundary(text.len() - 6) {
        return Some((text, 0));
    }
    let (local, tail) = text.split_at(text.len() - 6);
    let b = tail.as_bytes();
    let sign = match b.first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Some((text, 0)),
    };
    if b.get(3) != Some(&b':') {
        return None;
    }
    let hours: i64 = tail.get(1..3)?.parse().ok()?;
    let minutes: i64 = tail.get(4..6)?.parse().ok()?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((local, sign * (hours * 3_600 + minutes * 60)))
}

/// humantime's lenient RFC 3339 parser (a `T` or a space, optional fraction
/// and `Z`), as whole seconds.
fn parse_utc(text: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(text).ok()?;
    let seconds = t.duration_since(UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_documented_forms() {
        let noon = 1_709_294_400; // 2024-03-01T12:00:00Z
        for text in [
            "2024-03-01T12:00:00Z",
            "2024-03-01T12:00:00",
            "2024-03-01 12:00:00",
            "2024-03-01T12:00:00.75Z",
            "2024-03-01T12:00:00+00:00",
            "2024-03-01T14:00:00+02:00",
            "2024-03-01T07:30:00.5-04:30",
            "1709294400",
        ] {
            assert_eq!(parse_time(text), Some(noon), "{text}");
        }
        assert_eq!(parse_time("2024-03-01"), Some(noon - 12 * 3_600));
        assert_eq!(parse_time("-5"), Some(-5)); // range-checked by the scan
        for bad in [
            "yesterday",
            "2024-13-01",
            "2024-02-30 00:00:00",
            "01/03/2024",
            "2024-03-01T12:00:00+25:00",
            "2024-03-01T12:00:00 CET",
            "1969-12-31",
            "12.5",
            "",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    fn batch(array: mlrig_core::arrow_array::ArrayRef) -> RecordBatch {
        RecordBatch::try_from_iter([("t", array)]).unwrap()
    }

    #[test]
    fn arrow_times_dates_and_floats_are_read_in_their_units() {
        use mlrig_core::arrow_array::{
            BooleanArray, Date32Array, Float64Array, TimestampMillisecondArray,
        };
        use std::sync::Arc;
        let cases: Vec<(mlrig_core::arrow_array::ArrayRef, i64, (u64, u64, u64))> = vec![
            (
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_709_294_400_999),
                    None,
                    Some(-1_000),
                ])),
                1_709_294_400,
                (1, 1, 1),
            ),
            (
                Arc::new(Date32Array::from(vec![Some(19_783), Some(19_000)])),
                19_783 * 86_400,
                (2, 0, 0),
            ),
            (
                Arc::new(Float64Array::from(vec![
                    Some(1_709_294_400.75),
                    Some(f64::NAN),
                    Some(f64::INFINITY),
                    Some(1e300),
                ])),
                1_709_294_400,
                (1, 1, 2),
            ),
        ];
        for (array, newest, counts) in cases {
            let kind = array.data_type().clone();
            let s = newest_row("t", &[&[batch(array)]]).unwrap();
            assert_eq!(s.newest_unix, newest, "{kind}");
            assert_eq!((s.parsed, s.missing, s.unparseable), counts, "{kind}");
        }
        let err =
            newest_row("t", &[&[batch(Arc::new(BooleanArray::from(vec![true])))]]).unwrap_err();
        assert!(err.to_string().contains("has type Boolean"), "{err}");
    }

    proptest! {
        /// Any second from 1970 to 9999, written as RFC 3339 by humantime,
        /// with any offset, reads back as the same instant.
        #[test]
        fn formatted_times_read_back(seconds in 0..=MAX_UNIX - 86_400, offset_minutes in -(23 * 60 + 59)..=(23 * 60 + 59i64)) {
            let utc = humantime::format_rfc3339_seconds(
                UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs()),
            )
            .to_string();
            prop_assert_eq!(parse_time(&utc), Some(seconds));
            // The same instant as local time at `offset_minutes` east of UTC.
            let local = seconds + offset_minutes * 60;
            prop_assume!((0..=MAX_UNIX).contains(&local));
            let local_text = humantime::format_rfc3339_seconds(
                UNIX_EPOCH + Duration::from_secs(local.unsigned_abs()),
            )
            .to_string();
            let sign = if offset_minutes < 0 { '-' } else { '+' };
            let abs = offset_minutes.abs();
            let text = format!("{}{sign}{:02}:{:02}", local_text.trim_end_matches('Z'), abs / 60, abs % 60);
            prop_assert_eq!(parse_time(&text), Some(seconds));
        }

        /// No string panics the parser.
        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = parse_time(&text);
        }
    }
}
