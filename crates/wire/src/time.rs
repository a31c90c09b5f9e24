//! [`Timestamp`]: a moment in UTC as whole seconds, written on the wire exactly as chrono writes a
//! `DateTime<Utc>` with whole seconds (`"2026-11-22T10:00:00Z"`, RFC 3339). Its own few lines of
//! calendar arithmetic keep chrono (≈ 18 KB of wasm) out of the SPA, which formats times with the
//! browser's `Intl`; the server converts from and to chrono with the `chrono` feature.

use std::fmt;

/// Whole seconds since 1970-01-01T00:00:00Z; ordered as time is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The moment `secs` seconds after the Unix epoch.
    pub const fn from_timestamp(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch (chrono's name for it).
    pub const fn timestamp(self) -> i64 {
        self.0
    }

    /// Milliseconds since the Unix epoch, as JavaScript's `Date` counts.
    pub const fn timestamp_millis(self) -> i64 {
        self.0.saturating_mul(1000)
    }

    /// Reads an RFC 3339 date-time (`2026-11-22T10:00:00Z`, `2026-11-22T11:00:00.5+01:00`); a
    /// fraction of a second is dropped. `None` for anything else.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let digits = b.get(range)?;
            digits.iter().try_fold(0i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
        };
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let mut rest = 19;
        if b[rest] == b'.' {
            rest += 1;
            let start = rest;
            while b.get(rest).is_some_and(u8::is_ascii_digit) {
                rest += 1;
            }
            if rest == start {
                return None;
            }
        }
        let offset = match b.get(rest..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let (h, m) = (num(rest + 1..rest + 3)?, num(rest + 4..rest + 6)?);
                if h > 23 || m > 59 {
                    return None;
                }
                (h * 3600 + m * 60) * if *sign == b'-' { -1 } else { 1 }
            }
            _ => return None,
        };
        Some(Self(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset))
    }
}

/// `2026-11-22T10:00:00Z`: what chrono's serde writes for a `DateTime<Utc>` with whole seconds.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, secs) = (self.0.div_euclid(86_400), self.0.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        if (0..=9999).contains(&year) {
            write!(f, "{year:04}")?;
        } else {
            write!(f, "{year:+05}")?;
        }
        write!(f, "-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's `days_from_civil` and `civil_from_days` (proleptic Gregorian, day 0 = 1970-01-01).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Rfc3339;
        impl serde::de::Visitor<'_> for Rfc3339 {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 date-time")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(text).ok_or_else(|| E::custom("not an RFC 3339 date-time"))
            }
        }
        deserializer.deserialize_str(Rfc3339)
    }
}

#[cfg(feature = "chrono")]
impl From<chrono::DateTime<chrono::Utc>> for Timestamp {
    fn from(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(at.timestamp())
    }
}

#[cfg(feature = "chrono")]
impl From<Timestamp> for chrono::DateTime<chrono::Utc> {
    fn from(at: Timestamp) -> Self {
        chrono::DateTime::from_timestamp(at.0, 0).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_rfc_3339_in_utc() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_795_341_600, "2026-11-22T10:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(Timestamp(secs).to_string(), text);
            assert_eq!(Timestamp::parse_rfc3339(text), Some(Timestamp(secs)), "{text}");
            assert_eq!(serde_json::to_string(&Timestamp(secs)).unwrap(), format!("\"{text}\""));
        }
    }

    #[test]
    fn reads_offsets_and_fractions_and_refuses_the_rest() {
        let at = Timestamp::parse_rfc3339("2026-11-22T10:00:00Z");
        assert_eq!(Timestamp::parse_rfc3339("2026-11-22T11:30:00+01:30"), at);
        assert_eq!(Timestamp::parse_rfc3339("2026-11-22T05:00:00.123456-05:00"), at);
        assert_eq!(Timestamp::parse_rfc3339("2026-11-22t10:00:00z"), at);
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T10:00:00",
            "2026-02-30T10:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T10:00:00.Z",
            "2026-11-22T10:00:00+1:00",
            "x026-11-22T10:00:00Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        for day in -146_097..146_097 {
            let at = Timestamp(day * 86_400 + 3_661);
            assert_eq!(Timestamp::parse_rfc3339(&at.to_string()), Some(at));
        }
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn matches_what_chrono_writes() {
        for secs in [0, 1_795_341_600, 951_782_400, -86_401, 4_102_444_800] {
            let chrono = chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0).unwrap();
            assert_eq!(serde_json::to_string(&Timestamp::from(chrono)).unwrap(), serde_json::to_string(&chrono).unwrap());
            assert_eq!(chrono::DateTime::<chrono::Utc>::from(Timestamp(secs)), chrono);
        }
    }
}
