//! Capture timestamps as RFC 3339 text (UTC, microseconds), without a date crate.

/// `2024-05-01T12:34:56.123456Z` for nanoseconds since the Unix epoch (negative allowed).
pub fn rfc3339_us(ns: i64) -> String {
    Rfc3339Us(ns).to_string()
}

/// [`rfc3339_us`] written where it is displayed or serialized, without a `String` of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339Us(pub i64);

/// An instant split into what its text shows.
struct Fields {
    year: i64,
    month: u32,
    day: u32,
    /// Second of the day.
    sod: u32,
    micros: u32,
}

impl Rfc3339Us {
    fn fields(&self) -> Fields {
        let us = self.0.div_euclid(1_000);
        let secs = us.div_euclid(1_000_000);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        Fields { year, month, day, sod: secs.rem_euclid(86_400) as u32, micros: us.rem_euclid(1_000_000) as u32 }
    }
}

impl Rfc3339Us {
    /// The text of years 0 to 9999 in a fixed buffer, without the formatting machinery: a
    /// report writes two per flow, on the JSON writer's hot path.
    fn digits(&self) -> Option<[u8; 27]> {
        let Fields { year, month, day, sod, micros } = self.fields();
        let year = u32::try_from(year).ok().filter(|y| *y <= 9999)?;
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, sod / 3600);
        put(14, 2, sod % 3600 / 60);
        put(17, 2, sod % 60);
        put(20, 6, micros);
        Some(b)
    }
}

impl std::fmt::Display for Rfc3339Us {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(b) = self.digits() {
            return f.write_str(std::str::from_utf8(&b).map_err(|_| std::fmt::Error)?);
        }
        let Fields { year, month, day, sod, micros } = self.fields();
        let (h, m, s) = (sod / 3600, sod % 3600 / 60, sod % 60);
        write!(f, "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{micros:06}Z")
    }
}

impl serde::Serialize for Rfc3339Us {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.digits() {
            Some(b) => serializer.serialize_str(std::str::from_utf8(&b).map_err(serde::ser::Error::custom)?),
            None => serializer.collect_str(self),
        }
    }
}

/// Whole seconds since the Unix epoch as `2024-05-01T12:34:56Z`, for certificate validity dates,
/// which reach far past what nanoseconds in an i64 can (`9999-12-31` is common).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339S(pub i64);

impl std::fmt::Display for Rfc3339S {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (year, month, day) = civil_from_days(self.0.div_euclid(86_400));
        let sod = self.0.rem_euclid(86_400);
        let (h, m, s) = (sod / 3600, sod % 3600 / 60, sod % 60);
        write!(f, "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    }
}

impl serde::Serialize for Rfc3339S {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds with millisecond precision, for durations in text views.
pub fn secs(ns: i64) -> String {
    format!("{:.3}", ns as f64 / 1e9)
}

/// The wall clock in nanoseconds since the Unix epoch (live captures stamp their events with it).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_far_from_now() {
        assert_eq!(Rfc3339S(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Rfc3339S(253_402_300_799).to_string(), "9999-12-31T23:59:59Z");
        assert_eq!(Rfc3339S(-1).to_string(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn serialized_text_is_the_displayed_text() {
        for ns in [0, 1_587_041_676_449_862_000, -1_000, 4_102_444_800_000_000_000, i64::MAX, i64::MIN] {
            let json = serde_json::to_string(&Rfc3339Us(ns)).unwrap();
            assert_eq!(json, format!("\"{}\"", Rfc3339Us(ns)), "{ns}");
        }
        assert_eq!(Rfc3339Us(i64::MIN).to_string(), "1677-09-21T00:12:43.145224Z");
    }

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_us(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339_us(1_587_041_676_449_862_000), "2020-04-16T12:54:36.449862Z");
        assert_eq!(rfc3339_us(951_782_400_000_000_000), "2000-02-29T00:00:00.000000Z");
        assert_eq!(rfc3339_us(-1_000), "1969-12-31T23:59:59.999999Z");
        assert_eq!(rfc3339_us(4_102_444_800_000_000_000), "2100-01-01T00:00:00.000000Z");
    }
}
