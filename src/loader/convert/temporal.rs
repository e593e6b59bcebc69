//! Calendar arithmetic and text forms of Debezium's temporal values: days and
//! epoch counts into `YYYY-MM-DD`, `HH:MM:SS[.ffffff]` and
//! `YYYY-MM-DD HH:MM:SS[.ffffff]`, ISO-8601 zoned timestamps into epoch
//! microseconds, and fixed-offset time zones (pure; no tz database, no clock).

use super::Error;

pub(crate) const MICROS_PER_SEC: i64 = 1_000_000;
pub(crate) const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SEC;

/// The time zone that ZonedTimestamp values are rendered in: a fixed offset
/// east of UTC, in seconds. Named zones need a tz database and are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeZone {
    offset_secs: i32,
}

impl TimeZone {
    /// UTC.
    pub const UTC: TimeZone = TimeZone { offset_secs: 0 };

    /// A fixed offset east of UTC, in seconds (at most ±18 hours).
    pub fn from_offset_secs(offset_secs: i32) -> Result<TimeZone, Error> {
        if offset_secs.unsigned_abs() > 18 * 3600 {
            return Err(Error::TimeZone {
                zone: offset_secs.to_string(),
                reason: "offset beyond ±18:00".into(),
            });
        }
        Ok(TimeZone { offset_secs })
    }

    /// Parses `UTC`, `Z`, `GMT`, `+08:00`, `-0530`, `+08` or `UTC+08:00`.
    pub fn parse(text: &str) -> Result<TimeZone, Error> {
        let t = text.trim();
        let rest = t
            .strip_prefix("UTC")
            .or_else(|| t.strip_prefix("GMT"))
            .unwrap_or(t);
        if rest.is_empty() || rest == "Z" {
            return Ok(TimeZone::UTC);
        }
        let err = |reason: &str| Error::TimeZone {
            zone: text.to_string(),
            reason: reason.to_string(),
        };
        let b = rest.as_bytes();
        match parse_offset(b) {
            Some((secs, used)) if used == b.len() => {
                TimeZone::from_offset_secs(secs).map_err(|_| err("offset beyond ±18:00"))
            }
            _ => Err(err(
                "only UTC or a fixed offset such as +08:00 is supported (no tz database)",
            )),
        }
    }

    /// The offset east of UTC, in seconds.
    pub fn offset_secs(self) -> i32 {
        self.offset_secs
    }
}

/// Parses `+HH[:MM[:SS]]` / `-HHMM` at the start of `b`: (seconds, bytes used).
fn parse_offset(b: &[u8]) -> Option<(i32, usize)> {
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = two(b, 1)?;
    let mut i = 3;
    let mut m = 0;
    let mut s = 0;
    if b.get(i) == Some(&b':') {
        m = two(b, i + 1)?;
        i += 3;
        if b.get(i) == Some(&b':') {
            s = two(b, i + 1)?;
            i += 3;
        }
    } else if b.len() >= i + 2 && b[i].is_ascii_digit() {
        m = two(b, i)?;
        i += 2;
    }
    if h > 18 || m > 59 || s > 59 {
        return None;
    }
    Some((sign * (h as i32 * 3600 + m as i32 * 60 + s as i32), i))
}

fn two(b: &[u8], i: usize) -> Option<u32> {
    let d0 = b.get(i)?;
    let d1 = b.get(i + 1)?;
    if d0.is_ascii_digit() && d1.is_ascii_digit() {
        Some(u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'))
    } else {
        None
    }
}

fn digits(b: &[u8], i: usize, n: usize) -> Option<i64> {
    let s = b.get(i..i + n)?;
    let mut v = 0i64;
    for d in s {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    Some(v)
}

/// Days since 1970-01-01 into (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`). `z` must be within ±2^40.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) into days since 1970-01-01 (`days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn push_num(out: &mut String, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut n = v;
    let mut i = buf.len();
    while n > 0 {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let len = (buf.len() - i).max(width);
    for &c in &buf[buf.len() - len..] {
        out.push(c as char);
    }
}

/// Appends `YYYY-MM-DD`; the year must be within 0..=9999 (StarRocks' range).
fn push_date(out: &mut String, days: i64, field: &str) -> Result<(), Error> {
    if !(-800_000..=3_000_000).contains(&days) {
        return Err(Error::out_of_range(field, "DATE"));
    }
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return Err(Error::out_of_range(field, "DATE"));
    }
    push_num(out, y as u64, 4);
    out.push('-');
    push_num(out, u64::from(m), 2);
    out.push('-');
    push_num(out, u64::from(d), 2);
    Ok(())
}

fn push_frac(out: &mut String, micros: u64) {
    if micros != 0 {
        out.push('.');
        push_num(out, micros, 6);
    }
}

/// `io.debezium.time.Date`: days since the epoch into `YYYY-MM-DD`.
pub(crate) fn format_date(days: i64, field: &str) -> Result<String, Error> {
    let mut s = String::with_capacity(10);
    push_date(&mut s, days, field)?;
    Ok(s)
}

/// Epoch microseconds into `YYYY-MM-DD HH:MM:SS[.ffffff]` (wall clock of the
/// value as given: no zone shift).
pub(crate) fn format_datetime(micros: i64, field: &str) -> Result<String, Error> {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rem = micros.rem_euclid(MICROS_PER_DAY) as u64;
    let mut s = String::with_capacity(26);
    push_date(&mut s, days, field)?;
    s.push(' ');
    push_clock(&mut s, rem);
    Ok(s)
}

fn push_clock(s: &mut String, micros: u64) {
    let secs = micros / MICROS_PER_SEC as u64;
    push_num(s, secs / 3600, 2);
    s.push(':');
    push_num(s, secs / 60 % 60, 2);
    s.push(':');
    push_num(s, secs % 60, 2);
    push_frac(s, micros % MICROS_PER_SEC as u64);
}

/// Microseconds since midnight into `[-]HH:MM:SS[.ffffff]`; MySQL's TIME may be
/// negative or beyond 24 hours (`-838:59:59`), so hours are not wrapped.
pub(crate) fn format_time(micros: i64) -> String {
    let mut s = String::with_capacity(16);
    if micros < 0 {
        s.push('-');
    }
    push_clock(&mut s, micros.unsigned_abs());
    s
}

/// Parses an ISO-8601 timestamp with an offset (`2024-02-29T10:34:56.789012Z`,
/// `...+02:00`) into epoch microseconds (sub-microsecond digits are
/// truncated). A missing offset means UTC.
pub(crate) fn parse_zoned(text: &str, field: &str) -> Result<i64, Error> {
    let bad = || Error::invalid(field, format!("not an ISO-8601 timestamp: {text:?}"));
    let b = text.as_bytes();
    let (y, m, d) = (
        digits(b, 0, 4).ok_or_else(bad)?,
        digits(b, 5, 2).ok_or_else(bad)? as u32,
        digits(b, 8, 2).ok_or_else(bad)? as u32,
    );
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b' '))
    {
        return Err(bad());
    }
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(bad());
    }
    let (hh, mm, ss) = (
        digits(b, 11, 2).ok_or_else(bad)?,
        digits(b, 14, 2).ok_or_else(bad)?,
        digits(b, 17, 2).ok_or_else(bad)?,
    );
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') || hh > 23 || mm > 59 || ss > 60 {
        return Err(bad());
    }
    let mut i = 19;
    let mut frac = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                frac = frac * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        for _ in (i - start)..6 {
            frac *= 10;
        }
    }
    let offset = match b.get(i) {
        None => 0,
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(_) => match parse_offset(&b[i..]) {
            Some((secs, used)) if i + used == b.len() => i64::from(secs),
            _ => return Err(bad()),
        },
    };
    let days = days_from_civil(y, m, d);
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset;
    Ok(secs * MICROS_PER_SEC + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_over_the_whole_range() {
        for days in [-719_162, -354_285, -1, 0, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_date(-719_162, "f").unwrap(), "0001-01-01");
        assert_eq!(format_date(19_782, "f").unwrap(), "2024-02-29");
        assert_eq!(format_date(2_932_896, "f").unwrap(), "9999-12-31");
        assert!(format_date(2_932_897, "f").is_err());
        assert!(format_date(i64::from(i32::MIN), "f").is_err());
    }

    #[test]
    fn datetimes_and_times() {
        assert_eq!(format_datetime(0, "f").unwrap(), "1970-01-01 00:00:00");
        assert_eq!(
            format_datetime(1_709_210_096_789_012, "f").unwrap(),
            "2024-02-29 12:34:56.789012"
        );
        assert_eq!(
            format_datetime(-1, "f").unwrap(),
            "1969-12-31 23:59:59.999999"
        );
        assert_eq!(format_time(-3_020_399_000_000), "-838:59:59");
        assert_eq!(format_time(86_399_123_000), "23:59:59.123000");
        assert_eq!(format_time(i64::MIN).chars().next(), Some('-'));
    }

    #[test]
    fn zoned_timestamps_and_zones() {
        let z = parse_zoned("2024-02-29T10:34:56.789012Z", "f").unwrap();
        assert_eq!(
            format_datetime(z, "f").unwrap(),
            "2024-02-29 10:34:56.789012"
        );
        let z2 = parse_zoned("2024-02-29T12:34:56.789012+02:00", "f").unwrap();
        assert_eq!(z, z2);
        assert_eq!(parse_zoned("1970-01-01T00:00:01Z", "f").unwrap(), 1_000_000);
        assert!(parse_zoned("2024-02-30T00:00:00Z", "f").is_err());
        assert!(parse_zoned("2024-02-29T00:00:00+99:00", "f").is_err());
        assert!(parse_zoned("2024-02-29", "f").is_err());
        assert_eq!(TimeZone::parse("+08:00").unwrap().offset_secs(), 8 * 3600);
        assert_eq!(TimeZone::parse("UTC").unwrap(), TimeZone::UTC);
        assert_eq!(TimeZone::parse("UTC-0530").unwrap().offset_secs(), -19_800);
        assert!(TimeZone::parse("Asia/Shanghai").is_err());
        assert!(TimeZone::parse("+19:00").is_err());
    }
}
