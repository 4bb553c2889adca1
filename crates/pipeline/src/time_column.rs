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
//! the Unix epoch, float columns and decimal strings (`1709294400.5`) as
//! fractional epoch seconds. Arrow timestamps and dates are read in their
//! units too, for batches that carry them (mlrig-ingest does not produce
//! them yet: its Parquet reader refuses such columns). A value that cannot
//! be read is counted, not fatal: one bad row must not stop a training run,
//! and the report says how many there were. Only a column with no readable
//! value at all is an error.

use std::time::{Duration, UNIX_EPOCH};

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use mlrig_core::arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use mlrig_core::arrow_schema::{DataType, Schema as ArrowSchema, TimeUnit};
use serde::Serialize;

use crate::PipelineError;

/// 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const MAX_UNIX: i64 = 253_402_300_799;
/// A newest time this far past the training run's clock (a day, for
/// clocks and time zones that disagree) is reported as in the future.
const FUTURE_SLACK_SECONDS: i64 = 86_400;
/// 1980-01-01T00:00:00Z: a newest time before it suggests integers that are
/// not epoch seconds.
const IMPLAUSIBLY_OLD_UNIX: i64 = 315_532_800;
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
    /// One-line notices for the user: values that were ignored, and a
    /// newest time that is implausible at `now_unix` (in the future, so the
    /// data age would be negative; or before 1980, as integers that are not
    /// epoch seconds read: `20240301` or a year).
    pub(crate) fn notices(&self, now_unix: i64) -> Vec<String> {
        let mut notices = Vec::new();
        if self.unparseable > 0 {
            notices.push(format!(
                "time column `{}`: {} of {} values could not be read as a time (e.g. `{}`) and were ignored; the newest of the {} others is {}",
                self.column,
                self.unparseable,
                self.parsed + self.missing + self.unparseable,
                self.unparseable_example.as_deref().unwrap_or_default(),
                self.parsed,
                self.newest
            ));
        }
        if self.newest_unix > now_unix.saturating_add(FUTURE_SLACK_SECONDS) {
            notices.push(format!(
                "time column `{}`: the newest value, {}, is in the future, so the data age a server reports stays negative until then; check the column for typos or a unit other than seconds",
                self.column, self.newest
            ));
        } else if self.newest_unix < IMPLAUSIBLY_OLD_UNIX {
            notices.push(format!(
                "time column `{}`: the newest value, {}, is before 1980; integers are read as seconds since the Unix epoch, not as YYYYMMDD dates or years",
                self.column, self.newest
            ));
        }
        notices
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
            return Err(not_in_data(column, &batch.schema()));
        };
        scan_array(column, array.as_ref(), &mut scan)?;
    }
    let Some(newest_unix) = scan.newest else {
        return Err(PipelineError::TimeColumn {
            column: column.to_string(),
            reason: format!(
                "no value could be read as a time ({} missing, {} unreadable{}); expected RFC 3339 \
                 (2024-03-01T12:00:00Z), YYYY-MM-DD[ HH:MM:SS] or seconds since the Unix epoch",
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

/// The error for a time column the data does not have.
pub(crate) fn not_in_data(column: &str, schema: &ArrowSchema) -> PipelineError {
    PipelineError::TimeColumn {
        column: column.to_string(),
        reason: format!(
            "not in the data; the columns are: {}",
            mlrig_core::column_list(schema)
        ),
    }
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
            Some(v) => scan.value(float_seconds(v), || v.to_string()),
        }
    }
}

/// Whole seconds (rounded down) of fractional epoch seconds; `None` for an
/// infinity. The cast saturates, so huge values fail the range check.
fn float_seconds(v: f64) -> Option<i64> {
    v.is_finite().then(|| v.floor() as i64)
}

/// Seconds since the Unix epoch of `text`: digits (epoch seconds, with an
/// optional fraction read like a float column), a date (`YYYY-MM-DD`,
/// midnight UTC), or an RFC 3339-like date and time with a `T` or a space,
/// optional fraction, and `Z`, `±HH:MM` or no offset (UTC). Fractions of a
/// second are dropped; anything else after the seconds makes it unreadable.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if is_digits(whole) && (fraction.is_empty() || is_digits(fraction)) {
        return if unsigned.len() == whole.len() {
            text.parse().ok()
        } else {
            text.parse::<f64>().ok().and_then(float_seconds)
        };
    }
    if text.len() == 10 {
        return parse_utc(&format!("{text}T00:00:00"));
    }
    let (local, offset_seconds) = split_offset(text)?;
    if offset_seconds.is_some() && local.ends_with('Z') {
        return None; // `Z` and an offset: two offsets
    }
    parse_utc(local)?.checked_sub(offset_seconds.unwrap_or(0))
}

/// Non-empty and ASCII digits only.
fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The text without a trailing `±HH:MM` offset, and the offset in seconds
/// (`None` when there is none; `Z` stays in the text). `None` for a
/// malformed offset.
fn split_offset(text: &str) -> Option<(&str, Option<i64>)> {
    if text.len() <= 19 || !text.is_char_boundary(text.len() - 6) {
        return Some((text, None));
    }
    let (local, tail) = text.split_at(text.len() - 6);
    let sign = match tail.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Some((text, None)),
    };
    let (hours, minutes) = tail.get(1..)?.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 || !is_digits(hours) || !is_digits(minutes) {
        return None;
    }
    let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((local, Some(sign * (hours * 3_600 + minutes * 60))))
}

/// humantime's lenient RFC 3339 parser (a `T` or a space), as whole
/// seconds, after checking that the seconds are followed by nothing but an
/// optional fraction (`.` and digits) and an optional `Z` (humantime lets
/// some other trailing text through).
fn parse_utc(text: &str) -> Option<i64> {
    let tail = text.get(19..)?;
    let tail = tail.strip_suffix('Z').unwrap_or(tail);
    if !(tail.is_empty() || tail.strip_prefix('.').is_some_and(is_digits)) {
        return None;
    }
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
        // Decimal strings read as a float column reads them (rounded down).
        assert_eq!(parse_time("1709294400.75"), Some(noon));
        assert_eq!(parse_time("12.5"), Some(12));
        assert_eq!(parse_time("-0.5"), Some(-1));
        // Leap years: 2000 and 2024 have a 29 February, 1900 (< 1970) and 2100 do not.
        assert_eq!(parse_time("2024-02-29"), Some(1_709_164_800));
        assert_eq!(parse_time("2000-02-29 00:00:00"), Some(951_782_400));
        assert_eq!(parse_time("2100-03-01"), Some(4_107_542_400));
        for bad in [
            "yesterday",
            "2024-13-01",
            "2024-02-30 00:00:00",
            "01/03/2024",
            "2024-03-01T12:00:00+25:00",
            "2024-03-01T12:00:00 CET",
            "1969-12-31",
            "2023-02-29",
            "2100-02-29",
            "2024-03-01T24:00:00",
            "",
            // Malformed offsets, and text after the seconds humantime would let through.
            "2024-03-01T12:00:00+-1:30",
            "2024-03-01T12:00:00++1:00",
            "2024-03-01T12:00:00+05:-1",
            "2024-03-01T12:00:00+0:500",
            "2024-03-01T12:00:00Z+02:00",
            "2024-03-01T12:00:00Zjunk",
            "2024-03-01T12:00:00Z1234",
            "2024-03-01T12:00:00.",
            "2024-03-01T12:00:00.5x",
            "1.2.3",
            ".5",
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

    #[test]
    fn implausible_newest_times_get_a_notice() {
        let now = 1_765_000_000; // 2025-12-06
        let summary = |values: Vec<i64>| {
            let column: mlrig_core::arrow_array::ArrayRef =
                std::sync::Arc::new(mlrig_core::arrow_array::Int64Array::from(values));
            newest_row("t", &[&[batch(column)]]).unwrap()
        };
        assert!(summary(vec![now - 10, now + 3_600]).notices(now).is_empty());
        let future = summary(vec![now, now + 2 * 86_400]).notices(now);
        assert_eq!(future.len(), 1);
        assert!(future[0].contains("is in the future"), "{future:?}");
        // YYYYMMDD integers read as seconds: 1970-08-23.
        let old = summary(vec![20_240_301, 20_231_231]).notices(now);
        assert_eq!(old.len(), 1);
        assert!(
            old[0].contains("1970-08-23T06:18:21Z, is before 1980"),
            "{old:?}"
        );
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

        /// Epoch seconds with a fraction read as the whole second, from a
        /// string as from a float column.
        #[test]
        fn decimal_epoch_strings_read_like_float_columns(seconds in 0..=MAX_UNIX, millis in 0..1_000u32) {
            let text = format!("{seconds}.{millis:03}");
            prop_assert_eq!(parse_time(&text), Some(seconds));
            let column: mlrig_core::arrow_array::ArrayRef = std::sync::Arc::new(
                mlrig_core::arrow_array::StringArray::from(vec![text.clone()]),
            );
            let from_string = newest_row("t", &[&[batch(column)]]).unwrap();
            let column: mlrig_core::arrow_array::ArrayRef = std::sync::Arc::new(
                mlrig_core::arrow_array::Float64Array::from(vec![text.parse::<f64>().unwrap()]),
            );
            let from_float = newest_row("t", &[&[batch(column)]]).unwrap();
            prop_assert_eq!(from_string.newest_unix, seconds);
            prop_assert_eq!(from_float.newest_unix, seconds);
        }

        /// Anything but a fraction and `Z` after the seconds of a valid
        /// time makes it unreadable (never silently dropped).
        #[test]
        fn text_after_the_seconds_is_refused(seconds in 0..=MAX_UNIX, junk in "[^0-9.Z][ -~]{0,6}") {
            let utc = humantime::format_rfc3339_seconds(
                UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs()),
            )
            .to_string();
            // `±HH:MM` is the one valid suffix.
            let is_offset = junk.len() == 6
                && junk.starts_with(['+', '-'])
                && split_offset(&format!("{}{junk}", &utc[..19])).is_some_and(|(_, o)| o.is_some());
            prop_assume!(!is_offset);
            prop_assert_eq!(parse_time(&format!("{utc}{junk}")), None);
            prop_assert_eq!(parse_time(&format!("{}{junk}", &utc[..19])), None);
        }

        /// The scan's newest time is the largest in-range value; the
        /// others in range are counted as read, the rest as unreadable.
        #[test]
        fn the_newest_is_the_largest_readable_value(values in proptest::collection::vec(proptest::option::of(-1_000i64..=MAX_UNIX + 1_000), 1..40)) {
            let column: mlrig_core::arrow_array::ArrayRef =
                std::sync::Arc::new(mlrig_core::arrow_array::Int64Array::from(values.clone()));
            let readable: Vec<i64> =
                values.iter().flatten().copied().filter(|v| (0..=MAX_UNIX).contains(v)).collect();
            let result = newest_row("t", &[&[batch(column)]]);
            match readable.iter().max() {
                None => prop_assert!(result.is_err()),
                Some(&max) => {
                    let s = result.unwrap();
                    prop_assert_eq!(s.newest_unix, max);
                    prop_assert_eq!(s.parsed, readable.len() as u64);
                    prop_assert_eq!(s.missing, values.iter().filter(|v| v.is_none()).count() as u64);
                    prop_assert_eq!(s.parsed + s.missing + s.unparseable, values.len() as u64);
                }
            }
        }

        /// No string panics the parser.
        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = parse_time(&text);
        }
    }
}
