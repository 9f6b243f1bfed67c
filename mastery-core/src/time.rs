//! Instants, durations and IANA zones. The clock is always an argument: nothing here reads it.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::{MasteryError, Result};

/// A calendar date (`YYYY-MM-DD`).
pub type Date = NaiveDate;

/// An instant that keeps the offset it was recorded with.
pub type Instant = DateTime<FixedOffset>;

/// Serialises an optional instant as chrono does (RFC 3339, `Z` for UTC, the fraction's digits
/// only when it has one), as one string written on the stack: a serializer's `collect_str`
/// (chrono's own path) escapes it character by character, and chrono's `to_rfc3339_opts`
/// allocates; both showed in the directory store's journal and snapshots.
pub(crate) mod rfc3339_opt {
    use chrono::{Datelike, SecondsFormat, Timelike};

    use super::Instant;

    pub(crate) fn serialize<S: serde::Serializer>(at: &Option<Instant>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => {
                let mut buffer = [0u8; 35];
                match write(at, &mut buffer) {
                    Some(text) => s.serialize_some(text),
                    None => s.serialize_some(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
                }
            }
            None => s.serialize_none(),
        }
    }

    /// `at` as chrono's `to_rfc3339_opts(AutoSi, true)` writes it, into `buffer` (no
    /// allocation); `None` for what chrono writes otherwise (years outside 0-9999, offsets with
    /// seconds), left to chrono.
    fn write<'b>(at: &Instant, buffer: &'b mut [u8; 35]) -> Option<&'b str> {
        let offset = at.offset().local_minus_utc();
        let local = at.naive_local();
        let year = local.year();
        if !(0..=9999).contains(&year) || offset % 60 != 0 {
            return None;
        }
        let mut out = Cursor { buffer, len: 0 };
        out.digits(year as u32, 4);
        out.byte(b'-');
        out.digits(local.month(), 2);
        out.byte(b'-');
        out.digits(local.day(), 2);
        out.byte(b'T');
        out.digits(local.hour(), 2);
        out.byte(b':');
        out.digits(local.minute(), 2);
        out.byte(b':');
        // A leap second is a nanosecond count of a second or more.
        let (second, nanos) = match local.nanosecond() {
            n if n >= 1_000_000_000 => (local.second() + 1, n - 1_000_000_000),
            n => (local.second(), n),
        };
        out.digits(second, 2);
        if nanos != 0 {
            out.byte(b'.');
            match nanos {
                n if n % 1_000_000 == 0 => out.digits(n / 1_000_000, 3),
                n if n % 1_000 == 0 => out.digits(n / 1_000, 6),
                n => out.digits(n, 9),
            }
        }
        if offset == 0 {
            out.byte(b'Z');
        } else {
            out.byte(if offset < 0 { b'-' } else { b'+' });
            let minutes = offset.unsigned_abs() / 60;
            out.digits(minutes / 60, 2);
            out.byte(b':');
            out.digits(minutes % 60, 2);
        }
        let len = out.len;
        std::str::from_utf8(&buffer[..len]).ok()
    }

    struct Cursor<'b> {
        buffer: &'b mut [u8; 35],
        len: usize,
    }

    impl Cursor<'_> {
        fn byte(&mut self, b: u8) {
            self.buffer[self.len] = b;
            self.len += 1;
        }

        /// `value` in `width` decimal digits, zero-padded.
        fn digits(&mut self, mut value: u32, width: usize) {
            for i in (0..width).rev() {
                self.buffer[self.len + i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
            self.len += width;
        }
    }
}

/// Parses an ISO 8601 / RFC 3339 timestamp. A timestamp without an offset is read as UTC,
/// as xAPI prescribes; anything else that is not a calendar-valid instant is an error for `field`.
pub fn parse_instant(text: &str, field: &str) -> Result<Instant> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t);
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Ok(t);
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Utc.from_utc_datetime(&naive).fixed_offset());
        }
    }
    Err(MasteryError::invalid(field, "not an ISO 8601 date-time"))
}

/// Parses an ISO 8601 duration (`PT1H0M0S`, `P1DT2.5S`, `PT90M`) into seconds.
/// Years and months are refused: their length depends on the calendar.
pub fn parse_duration_seconds(text: &str, field: &str) -> Result<f64> {
    parse_duration(text, field, false)
}

/// Whether `text` is an ISO 8601 duration, calendar units (`P1Y2M`) allowed.
pub fn is_iso_duration(text: &str) -> bool {
    parse_duration(text, "duration", true).is_ok()
}

/// Seconds of a duration; with `calendar`, years and months count as 365 and 30 days.
fn parse_duration(text: &str, field: &str, calendar: bool) -> Result<f64> {
    let bad = || MasteryError::invalid(field, "not an ISO 8601 duration");
    let rest = text.strip_prefix('P').ok_or_else(bad)?;
    if rest.is_empty() {
        return Err(bad());
    }
    let (mut seconds, mut in_time, mut number, mut any) = (0.0, false, String::new(), false);
    for c in rest.chars() {
        match c {
            'T' if !in_time && number.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => number.push(if c == ',' { '.' } else { c }),
            unit => {
                let value: f64 = number.parse().map_err(|_| bad())?;
                number.clear();
                any = true;
                seconds += value
                    * match (in_time, unit) {
                        (false, 'Y') if calendar => 31_536_000.0,
                        (false, 'M') if calendar => 2_592_000.0,
                        (false, 'W') => 604_800.0,
                        (false, 'D') => 86_400.0,
                        (true, 'H') => 3_600.0,
                        (true, 'M') => 60.0,
                        (true, 'S') => 1.0,
                        _ => return Err(bad()),
                    };
            }
        }
    }
    if !number.is_empty() || !any || !seconds.is_finite() {
        return Err(bad());
    }
    Ok(seconds)
}

/// Looks up an IANA zone name such as `Europe/London`.
pub fn parse_zone(name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| MasteryError::invalid("time_zone", "not an IANA zone name"))
}

/// The learner's calendar day for an instant, in the zone they were in at that instant.
pub fn local_date(instant: &Instant, zone: Tz) -> NaiveDate {
    instant.with_timezone(&zone).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_keep_their_offset_and_default_to_utc() {
        let t = parse_instant("2015-11-18T12:17:00+09:00", "t").unwrap();
        assert_eq!(t.offset().local_minus_utc(), 9 * 3600);
        let t = parse_instant("2013-05-18T05:32:34.804", "t").unwrap();
        assert_eq!(t.to_rfc3339(), "2013-05-18T05:32:34.804+00:00");
        assert_eq!(parse_instant("2019-13-01T00:00:00Z", "t").unwrap_err().field(), Some("t"));
    }

    #[test]
    fn instants_serialise_as_chrono_serialises_them() {
        #[derive(serde::Serialize)]
        struct At(#[serde(serialize_with = "rfc3339_opt::serialize")] Option<Instant>);
        let texts = [
            "2026-01-05T08:00:00Z",
            "0001-01-01T00:00:00.5-23:59",
            "9999-12-31T23:59:59.999999999+23:59",
            "2026-06-30T12:30:45.120+05:45",
            "2026-06-30T12:30:45.000120-00:30",
            "2026-06-30T12:30:45.000000120+01:00",
            "2015-11-18T12:17:00+09:00",
            "2013-05-18T05:32:34.804-04:30",
            "2013-05-18T05:32:34.000001+00:00",
            "1899-12-31T23:59:59.123456789+14:00",
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5+01:00",
            "0000-01-01T00:00:00Z",
            "2026-03-01T00:00:00.000000001-12:00",
        ];
        for text in texts {
            let at = DateTime::parse_from_rfc3339(text).unwrap();
            let chrono = serde_json::to_string(&Some(at)).unwrap();
            assert_eq!(serde_json::to_string(&At(Some(at))).unwrap(), chrono, "{text}");
        }
        // Offsets with seconds and years outside 0-9999: chrono writes them.
        let odd = FixedOffset::east_opt(3600 + 17).unwrap().from_utc_datetime(&NaiveDateTime::default());
        let far = NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
        let early = NaiveDate::from_ymd_opt(-44, 3, 15).unwrap().and_hms_opt(12, 0, 0).unwrap().and_utc();
        for at in [odd, far.fixed_offset(), early.fixed_offset()] {
            assert_eq!(serde_json::to_string(&At(Some(at))).unwrap(), serde_json::to_string(&at).unwrap());
        }
        assert_eq!(serde_json::to_string(&At(None)).unwrap(), "null");
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #[test]
        fn any_instant_serialises_as_chrono_serialises_it(
            seconds in -70_000_000_000i64..260_000_000_000,
            nanos in proptest::prop_oneof![
                proptest::strategy::Just(0u32),
                (0u32..1_000).prop_map(|n| n * 1_000_000),
                (0u32..1_000_000).prop_map(|n| n * 1_000),
                0u32..2_000_000_000,
            ],
            offset_minutes in -1439i32..=1439,
        ) {
            #[derive(serde::Serialize)]
            struct At(#[serde(serialize_with = "rfc3339_opt::serialize")] Option<Instant>);
            let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
            // Nanoseconds past a second are a leap second, which chrono allows only at :59.
            let at_second = if nanos >= 1_000_000_000 { seconds - seconds.rem_euclid(60) + 59 } else { seconds };
            let utc = DateTime::from_timestamp(at_second, nanos).unwrap();
            let at = utc.with_timezone(&offset);
            proptest::prop_assert_eq!(
                serde_json::to_string(&At(Some(at))).unwrap(),
                serde_json::to_string(&at).unwrap()
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_seconds("PT1H0M0S", "d").unwrap(), 3600.0);
        assert_eq!(parse_duration_seconds("P1DT2.5S", "d").unwrap(), 86_402.5);
        assert_eq!(parse_duration_seconds("PT90M", "d").unwrap(), 5400.0);
        for bad in ["", "P", "PT", "1H", "PT1X", "P1M", "PT1H2"] {
            assert!(parse_duration_seconds(bad, "d").is_err(), "{bad}");
        }
        assert!(is_iso_duration("P1Y2MT3H") && is_iso_duration("P1M") && !is_iso_duration("PT1Y"));
    }

    #[test]
    fn local_dates_follow_the_zone() {
        let t = parse_instant("2026-03-08T04:30:00Z", "t").unwrap();
        assert_eq!(local_date(&t, parse_zone("America/New_York").unwrap()).to_string(), "2026-03-07");
        assert!(parse_zone("Mars/Olympus").is_err());
    }
}
