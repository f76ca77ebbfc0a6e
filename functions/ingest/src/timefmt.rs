//! UTC calendar arithmetic and RFC 3339 parsing/formatting, without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// A receive time split the way the object layout and the index need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Hour of day, 0–23 (UTC).
    pub hour: u32,
    /// RFC 3339 with milliseconds and `Z`: sortable as text.
    pub rfc3339: String,
    /// Milliseconds since the Unix epoch.
    pub epoch_millis: i64,
}

impl Received {
    pub fn at(t: SystemTime) -> Received {
        let millis = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        Received::from_millis(millis)
    }

    pub fn from_millis(epoch_millis: i64) -> Received {
        let secs = epoch_millis.div_euclid(1000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let hour = u32::try_from(secs.rem_euclid(86_400) / 3600).expect("hour fits");
        Received {
            date: format!("{y:04}-{m:02}-{d:02}"),
            hour,
            rfc3339: format_millis(epoch_millis),
            epoch_millis,
        }
    }

    pub fn epoch_secs(&self) -> i64 {
        self.epoch_millis.div_euclid(1000)
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).expect("month"),
        u32::try_from(d).expect("day"),
    )
}

/// (year, month, day) → days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
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

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the epoch.
pub fn format_millis(epoch_millis: i64) -> String {
    let secs = epoch_millis.div_euclid(1000);
    let ms = epoch_millis.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Parses an RFC 3339 date-time (`2026-11-27T09:54:08.5+01:00`) to milliseconds since
/// the epoch (fractions beyond milliseconds are truncated). `None` if it is not one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let mo = u32::try_from(mo).ok()?;
    let d = u32::try_from(d).ok()?;
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..3 {
            millis *= 10;
        }
    }
    let offset_secs = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_secs;
    Some(secs * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn splits_receive_time_in_utc() {
        // 2026-11-27T09:54:08.123Z
        let t = UNIX_EPOCH + Duration::from_millis(1_795_773_248_123);
        let r = Received::at(t);
        assert_eq!(r.date, "2026-11-27");
        assert_eq!(r.hour, 9);
        assert_eq!(r.rfc3339, "2026-11-27T09:54:08.123Z");
        assert_eq!(r.epoch_secs(), 1_795_773_248);
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-719_468i64, -1, 0, 59, 10_957, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn parses_rfc3339_with_offsets_and_fractions() {
        let z = parse_rfc3339("2026-11-27T09:54:08Z").unwrap();
        assert_eq!(format_millis(z), "2026-11-27T09:54:08.000Z");
        assert_eq!(parse_rfc3339("2026-11-27T10:54:08.5+01:00"), Some(z + 500));
        assert_eq!(
            parse_rfc3339("2026-11-27t04:24:08.123456-05:30"),
            Some(z + 123)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z")
                .map(format_millis)
                .as_deref(),
            Some("2024-02-29T00:00:00.000Z")
        );
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for s in [
            "",
            "2026-11-27",
            "2026-11-27T09:54:08",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-27T24:00:00Z",
            "2026-11-27T09:54:08.Z",
            "2026-11-27T09:54:08+0100",
            "2026-11-27T09:54:08Zjunk",
            "２026-11-27T09:54:08Z",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s:?}");
        }
    }
}
