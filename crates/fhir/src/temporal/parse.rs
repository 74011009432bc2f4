//! Partial-precision values (`2015`, `2015-02-04T14`, `T14:34`) as FHIRPath, search and the
//! R4 types write them, checked against the calendar: no 30th of February, no month 13, no
//! hour 24, no offset beyond ±14:00.

use super::calendar::days_in_month;

/// Date and dateTime share one shape; a date simply never carries time parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub year: i32,
    pub month: Option<u8>,
    pub day: Option<u8>,
    pub time: Option<Time>,
    /// Offset from UTC in minutes, when given.
    pub tz: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    pub hour: u8,
    pub minute: Option<u8>,
    /// 0–60: R4 admits a leap second.
    pub second: Option<u8>,
    /// Milliseconds, with the number of fraction digits kept (at most 3).
    pub millis: Option<(u16, u8)>,
}

/// `n` ASCII digits as a number, and what follows.
fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let head = s.as_bytes().get(..n)?;
    let mut v = 0u32;
    for b in head {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Some((v, &s[n..]))
}

impl Time {
    /// Parses `hh(:mm(:ss(.f+)?)?)?` and returns what follows.
    pub(super) fn parse_prefix(s: &str) -> Option<(Self, &str)> {
        let (hour, mut rest) = digits(s, 2)?;
        if hour > 23 {
            return None;
        }
        let mut t = Time {
            hour: hour as u8,
            minute: None,
            second: None,
            millis: None,
        };
        let Some(r) = rest.strip_prefix(':') else {
            return Some((t, rest));
        };
        let (m, r) = digits(r, 2)?;
        if m > 59 {
            return None;
        }
        t.minute = Some(m as u8);
        rest = r;
        let Some(r) = rest.strip_prefix(':') else {
            return Some((t, rest));
        };
        let (sec, r) = digits(r, 2)?;
        if sec > 60 {
            return None;
        }
        t.second = Some(sec as u8);
        rest = r;
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            let kept = n.min(3);
            let (v, _) = digits(r, kept)?;
            t.millis = Some(((v * 10u32.pow(3 - kept as u32)) as u16, kept as u8));
            rest = &r[n..];
        }
        Some((t, rest))
    }

    pub fn parse(s: &str) -> Option<Self> {
        match Self::parse_prefix(s)? {
            (t, "") => Some(t),
            _ => None,
        }
    }
}

/// `Z` or `±hh:mm` within ±14:00, in minutes.
pub(super) fn zone(s: &str) -> Option<i32> {
    if s == "Z" {
        return Some(0);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, r) = digits(&s[1..], 2)?;
    let (m, r) = digits(r.strip_prefix(':')?, 2)?;
    let ok = r.is_empty() && m < 60 && (h < 14 || (h == 14 && m == 0));
    ok.then(|| sign * (h * 60 + m) as i32)
}

impl DateTime {
    /// Parses a date, dateTime or instant, a search value or a FHIRPath literal body (after
    /// `@`): `YYYY(-MM(-DD)?)?(T(hh(:mm(:ss(.f+)?)?)?(zone)?)?)?`. A time needs the full date.
    pub fn parse(s: &str) -> Option<Self> {
        let (year, mut rest) = digits(s, 4)?;
        if year == 0 {
            return None;
        }
        let mut dt = DateTime {
            year: year as i32,
            month: None,
            day: None,
            time: None,
            tz: None,
        };
        if let Some(r) = rest.strip_prefix('-') {
            let (m, r) = digits(r, 2)?;
            if !(1..=12).contains(&m) {
                return None;
            }
            dt.month = Some(m as u8);
            rest = r;
            if let Some(r) = rest.strip_prefix('-') {
                let (d, r) = digits(r, 2)?;
                if d < 1 || d > u32::from(days_in_month(i64::from(year), m as u8)) {
                    return None;
                }
                dt.day = Some(d as u8);
                rest = r;
            }
        }
        if let Some(r) = rest.strip_prefix('T') {
            if r.is_empty() {
                return Some(dt);
            }
            // a time needs the full date
            dt.day?;
            let (t, r) = Time::parse_prefix(r)?;
            dt.time = Some(t);
            rest = r;
            if !rest.is_empty() {
                dt.tz = Some(zone(rest)?);
                rest = "";
            }
        }
        rest.is_empty().then_some(dt)
    }

    /// 1 = year, 2 = month, 3 = day, 4 = hour … 7 = millisecond.
    pub fn precision(&self) -> u8 {
        match (self.month, self.day, self.time) {
            (None, _, _) => 1,
            (Some(_), None, _) => 2,
            (_, Some(_), None) => 3,
            (_, _, Some(t)) => 3 + t.precision(),
        }
    }

    pub fn is_date_only(&self) -> bool {
        self.time.is_none()
    }

    /// The value at date precision (for dateTime → date conversion).
    pub fn date_part(&self) -> Self {
        DateTime {
            time: None,
            tz: None,
            ..*self
        }
    }
}

impl Time {
    /// 1 = hour … 4 = millisecond.
    pub fn precision(&self) -> u8 {
        match (self.minute, self.second, self.millis) {
            (None, _, _) => 1,
            (Some(_), None, _) => 2,
            (_, Some(_), None) => 3,
            _ => 4,
        }
    }

    pub(super) fn millis_of_day(&self) -> i64 {
        ((i64::from(self.hour) * 60 + i64::from(self.minute.unwrap_or(0))) * 60
            + i64::from(self.second.unwrap_or(0)))
            * 1000
            + self.millis.map_or(0, |m| i64::from(m.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_precision() {
        assert_eq!(DateTime::parse("2015").unwrap().precision(), 1);
        assert_eq!(DateTime::parse("2015-02-04T14").unwrap().precision(), 4);
        let full = DateTime::parse("2015-02-04T14:34:28.123456+10:00").unwrap();
        assert_eq!(full.precision(), 7);
        assert_eq!(full.time.unwrap().millis, Some((123, 3)));
        assert_eq!(full.tz, Some(600));
        assert_eq!(
            DateTime::parse("2015-02-04T14:34:28.5Z")
                .unwrap()
                .time
                .unwrap()
                .millis,
            Some((500, 1))
        );
        assert_eq!(DateTime::parse("2015T").unwrap().precision(), 1);
        assert_eq!(Time::parse("14:34").unwrap().precision(), 2);
    }

    #[test]
    fn calendar_checked() {
        for bad in [
            "2026-02-30",
            "2026-02-29",
            "1900-02-29",
            "2026-04-31",
            "2026-13",
            "2026-00",
            "0000",
            "2026-01-01T24:00:00Z",
            "2026-01-01T10:60:00Z",
            "2026-01-01T10:00:61Z",
            "2026-01-01T10:00:00+15:00",
            "2026-01-01T10:00:00+14:30",
            "2026-01-01T10:00:00+05:60",
            "2026-01-01T10:00:00+0500",
            "2026-01T10:00:00Z",
            "2026-01-01T10:00:00.Z",
            "2026-1-01",
            "20260101",
            "",
        ] {
            assert!(DateTime::parse(bad).is_none(), "{bad}");
        }
        for ok in [
            "2024-02-29",
            "2000-02-29",
            "2026-12-31T23:59:60Z",
            "2026-01-01T10:00:00-14:00",
            "2026-01-01T10:00:00+13:59",
        ] {
            assert!(DateTime::parse(ok).is_some(), "{ok}");
        }
        assert!(Time::parse("24:00:00").is_none());
        assert!(Time::parse("23:59:59.999").is_some());
    }
}
