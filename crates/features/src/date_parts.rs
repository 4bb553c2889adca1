//! Parsing date/time strings into calendar parts for the `date_parts`
//! encoding.
//!
//! Accepted forms (anything else is **missing**, like a null):
//!
//! * `YYYY-MM-DD`
//! * `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS` (`t` too), optionally
//!   with a fraction (`.123`) and, per RFC 3339, a `Z` or `±HH:MM` offset.
//!
//! The parts are those of the wall-clock time as written: an offset is
//! validated but not applied (as pandas does for a timezone-aware string), so
//! `2024-03-01T23:30:00-05:00` has day 1 and hour 23. The date must exist
//! (no February 30), hours are 0–23, minutes 0–59, seconds 0–60 (a leap
//! second). Weekday counts from Monday = 0 to Sunday = 6 (Python's
//! `weekday()`, pandas' `dayofweek`).

/// A parsed date and hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTimeParts {
    pub(crate) year: i32,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    /// Monday = 0 … Sunday = 6.
    pub(crate) weekday: u32,
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0')),
    )
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Parses `HH:MM:SS[.fff][Z|±HH:MM]`; returns the hour.
fn parse_time(bytes: &[u8]) -> Option<u32> {
    if bytes.len() < 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let hour = digits(&bytes[0..2])?;
    let minute = digits(&bytes[3..5])?;
    let second = digits(&bytes[6..8])?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &bytes[8..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let end = fraction
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return None;
        }
        rest = &fraction[end..];
    }
    match rest {
        [] | [b'Z'] | [b'z'] => Some(hour),
        [sign, h1, h2, b':', m1, m2] if *sign == b'+' || *sign == b'-' => {
            let offset_hours = digits(&[*h1, *h2])?;
            let offset_minutes = digits(&[*m1, *m2])?;
            (offset_hours <= 23 && offset_minutes <= 59).then_some(hour)
        }
        _ => None,
    }
}

/// Parses a date or date-time; `None` for anything not accepted.
pub(crate) fn parse_date_time(text: &str) -> Option<DateTimeParts> {
    let bytes = text.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(&bytes[0..4])?).ok()?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let hour = match &bytes[10..] {
        [] => 0,
        [b' ' | b'T' | b't', time @ ..] => parse_time(time)?,
        _ => return None,
    };
    let weekday = (days_from_civil(year, month, day) + 3).rem_euclid(7) as u32;
    Some(DateTimeParts {
        year,
        month,
        day,
        hour,
        weekday,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let p = parse_date_time("2024-02-29").unwrap();
        assert_eq!(
            (p.year, p.month, p.day, p.hour, p.weekday),
            (2024, 2, 29, 0, 3)
        );
        let p = parse_date_time("1970-01-01 13:05:09").unwrap();
        assert_eq!((p.hour, p.weekday), (13, 3));
        let p = parse_date_time("2000-03-01T23:30:00.123-05:00").unwrap();
        assert_eq!((p.day, p.hour, p.weekday), (1, 23, 2));
        assert_eq!(parse_date_time("2026-11-24T09:00:00Z").unwrap().weekday, 1);
        assert_eq!(parse_date_time("1900-01-01").unwrap().weekday, 0);
        assert_eq!(parse_date_time("0001-01-01").unwrap().weekday, 0);
        assert_eq!(parse_date_time("2016-12-31T23:59:60z").unwrap().hour, 23);
    }

    #[test]
    fn rejected_forms() {
        for text in [
            "",
            "2024",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-01-32",
            "2024-1-05",
            "24-01-05",
            "2024-01-05 24:00:00",
            "2024-01-05 12:60:00",
            "2024-01-05T12:00",
            "2024-01-05T12:00:00.",
            "2024-01-05T12:00:00+5",
            "2024-01-05T12:00:00+05:00x",
            "2024-01-05x",
            "２０２４-01-05",
            "+024-01-05",
        ] {
            assert_eq!(parse_date_time(text), None, "{text:?}");
        }
    }
}
