//! Partial-precision dates, dateTimes and times (`@2015`, `@2015-02-04T14`, `@T14:34`), their
//! comparison (empty when precisions make the answer unknown) and calendar arithmetic.

use std::cmp::Ordering;
use std::fmt;

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
    pub second: Option<u8>,
    /// Milliseconds, with the number of written fraction digits.
    pub millis: Option<(u16, u8)>,
}

fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    if s.len() < n || !s.as_bytes()[..n].iter().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

impl Time {
    /// Parses `hh(:mm(:ss(.fff)?)?)?` and returns what follows.
    fn parse_prefix(s: &str) -> Option<(Self, &str)> {
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
        if let Some(r) = rest.strip_prefix(':') {
            let (m, r) = digits(r, 2)?;
            if m > 59 {
                return None;
            }
            t.minute = Some(m as u8);
            rest = r;
            if let Some(r) = rest.strip_prefix(':') {
                let (sec, r) = digits(r, 2)?;
                if sec > 59 {
                    return None;
                }
                t.second = Some(sec as u8);
                rest = r;
                if let Some(r) = rest.strip_prefix('.') {
                    let n = r.bytes().take_while(|b| b.is_ascii_digit()).count();
                    if n == 0 {
                        return None;
                    }
                    let frac = &r[..n.min(3)];
                    let ms: u16 = format!("{frac:0<3}").parse().ok()?;
                    t.millis = Some((ms, n.min(3) as u8));
                    rest = &r[n..];
                }
            }
        }
        Some((t, rest))
    }

    pub fn parse(s: &str) -> Option<Self> {
        match Self::parse_prefix(s)? {
            (t, "") => Some(t),
            _ => None,
        }
    }

    /// 1 = hour … 4 = millisecond.
    pub fn precision(&self) -> u8 {
        match (self.minute, self.second, self.millis) {
            (None, _, _) => 1,
            (Some(_), None, _) => 2,
            (_, Some(_), None) => 3,
            _ => 4,
        }
    }

    fn parts(&self) -> [Option<u32>; 4] {
        [
            Some(self.hour as u32),
            self.minute.map(u32::from),
            self.second.map(u32::from),
            self.millis.map(|m| m.0 as u32),
        ]
    }

    fn millis_of_day(&self) -> i64 {
        ((self.hour as i64 * 60 + self.minute.unwrap_or(0) as i64) * 60
            + self.second.unwrap_or(0) as i64)
            * 1000
            + self.millis.map_or(0, |m| m.0 as i64)
    }
}

/// Compares partial values part by part; None when one stops before the parts differ.
/// Seconds and milliseconds count as one precision, as the spec says.
fn compare_parts(a: &[Option<u32>], b: &[Option<u32>]) -> Option<Ordering> {
    let n = a.len().min(b.len());
    for i in 0..n {
        let sec_level = i + 1 == n && n >= 2;
        match (a.get(i).copied().flatten(), b.get(i).copied().flatten()) {
            (Some(x), Some(y)) if x != y => return Some(x.cmp(&y)),
            (Some(_), Some(_)) => {}
            (None, None) => return Some(Ordering::Equal),
            (x, y) if sec_level => return Some(x.unwrap_or(0).cmp(&y.unwrap_or(0))),
            _ => return None,
        }
    }
    Some(Ordering::Equal)
}

pub fn compare_times(a: &Time, b: &Time) -> Option<Ordering> {
    compare_parts(&a.parts(), &b.parts())
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 (proleptic Gregorian).
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = if m <= 2 { y as i64 - 1 } else { y as i64 };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

impl DateTime {
    /// Parses a FHIR date/dateTime/instant text, or a FHIRPath literal body (after `@`).
    pub fn parse(s: &str) -> Option<Self> {
        let (year, rest) = digits(s, 4)?;
        let mut dt = DateTime {
            year: year as i32,
            month: None,
            day: None,
            time: None,
            tz: None,
        };
        let mut rest = rest;
        if let Some(r) = rest.strip_prefix('-') {
            let (m, r) = digits(r, 2)?;
            if !(1..=12).contains(&m) {
                return None;
            }
            dt.month = Some(m as u8);
            rest = r;
            if let Some(r) = rest.strip_prefix('-') {
                let (d, r) = digits(r, 2)?;
                if d < 1 || d > days_in_month(dt.year, m as u8) as u32 {
                    return None;
                }
                dt.day = Some(d as u8);
                rest = r;
            }
        }
        if let Some(r) = rest.strip_prefix('T') {
            if dt.day.is_none() && !r.is_empty() {
                return None;
            }
            if r.is_empty() {
                return Some(dt);
            }
            let (t, r) = Time::parse_prefix(r)?;
            dt.time = Some(t);
            rest = r;
            if rest == "Z" {
                dt.tz = Some(0);
                rest = "";
            } else if let Some(sign) = rest.chars().next().filter(|c| *c == '+' || *c == '-') {
                let (h, r) = digits(&rest[1..], 2)?;
                let r = r.strip_prefix(':')?;
                let (m, r) = digits(r, 2)?;
                if !r.is_empty() {
                    return None;
                }
                let off = (h * 60 + m) as i32;
                dt.tz = Some(if sign == '-' { -off } else { off });
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

    /// Shifts to UTC when the value has a time and an offset.
    fn normalized(&self) -> Self {
        match (self.tz, self.time, self.month, self.day) {
            (Some(off), Some(t), Some(m), Some(d)) if off != 0 => {
                let mins = days_from_civil(self.year, m, d) * 1440
                    + t.hour as i64 * 60
                    + t.minute.unwrap_or(0) as i64
                    - off as i64;
                let (y, m, d) = civil_from_days(mins.div_euclid(1440));
                let rem = mins.rem_euclid(1440);
                DateTime {
                    year: y,
                    month: Some(m),
                    day: Some(d),
                    time: Some(Time {
                        hour: (rem / 60) as u8,
                        minute: t.minute.map(|_| (rem % 60) as u8),
                        ..t
                    }),
                    tz: Some(0),
                }
            }
            _ => *self,
        }
    }

    fn parts(&self) -> Vec<Option<u32>> {
        let mut p = vec![
            Some(self.year as u32),
            self.month.map(u32::from),
            self.day.map(u32::from),
        ];
        match self.time {
            Some(t) => p.extend(t.parts()),
            None => p.extend([None; 4]),
        }
        p
    }

    pub fn compare(&self, other: &Self) -> Option<Ordering> {
        let (a, b) = match (self.tz, other.tz) {
            (Some(_), Some(_)) => (self.normalized(), other.normalized()),
            // One with and one without an offset: unknown unless the dates differ.
            (Some(_), None) | (None, Some(_)) if self.time.is_some() && other.time.is_some() => {
                let (x, y) = (self.date_part(), other.date_part());
                return match compare_parts(&x.parts(), &y.parts()) {
                    Some(Ordering::Equal) | None => None,
                    o => o,
                };
            }
            _ => (*self, *other),
        };
        compare_parts(&a.parts(), &b.parts())
    }

    /// Adds a calendar duration; `unit` is a FHIRPath calendar keyword or its UCUM twin.
    pub fn add(&self, amount: i64, unit: &str) -> Option<Self> {
        let mut r = *self;
        match unit {
            "year" | "years" | "a" => {
                r.year = i32::try_from((self.year as i64).checked_add(amount)?).ok()?;
                r.clamp_day();
            }
            "month" | "months" | "mo" => {
                let Some(m) = self.month else {
                    return self.add(amount / 12, "year");
                };
                let total = (self.year as i64 * 12 + (m as i64 - 1)).checked_add(amount)?;
                r.year = i32::try_from(total.div_euclid(12)).ok()?;
                r.month = Some((total.rem_euclid(12) + 1) as u8);
                r.clamp_day();
            }
            "week" | "weeks" | "wk" => return self.add(amount.checked_mul(7)?, "day"),
            "day" | "days" | "d" => {
                let (Some(m), Some(d)) = (self.month, self.day) else {
                    return self.add(amount / 365, "year");
                };
                // Beyond ±10^7 days the year is out of range anyway.
                if amount.abs() > 10_000_000 {
                    return None;
                }
                let (y, m, d) = civil_from_days(days_from_civil(self.year, m, d) + amount);
                r.year = y;
                r.month = Some(m);
                r.day = Some(d);
            }
            "hour" | "hours" | "h" => return self.add_millis(amount.checked_mul(3_600_000)?),
            "minute" | "minutes" | "min" => return self.add_millis(amount.checked_mul(60_000)?),
            "second" | "seconds" | "s" => return self.add_millis(amount.checked_mul(1000)?),
            "millisecond" | "milliseconds" | "ms" => return self.add_millis(amount),
            _ => return None,
        }
        (1..=9999).contains(&r.year).then_some(r)
    }

    fn add_millis(&self, ms: i64) -> Option<Self> {
        let (Some(m), Some(d), Some(t)) = (self.month, self.day, self.time) else {
            return Some(*self);
        };
        let total =
            (days_from_civil(self.year, m, d) * 86_400_000 + t.millis_of_day()).checked_add(ms)?;
        let (y, mo, da) = civil_from_days(total.div_euclid(86_400_000));
        let rem = total.rem_euclid(86_400_000);
        let mut r = *self;
        r.year = y;
        r.month = Some(mo);
        r.day = Some(da);
        r.time = Some(Time {
            hour: (rem / 3_600_000) as u8,
            minute: t.minute.map(|_| (rem / 60_000 % 60) as u8),
            second: t.second.map(|_| (rem / 1000 % 60) as u8),
            millis: t.millis.map(|(_, n)| ((rem % 1000) as u16, n)),
        });
        Some(r)
    }

    fn clamp_day(&mut self) {
        if let (Some(m), Some(d)) = (self.month, self.day) {
            self.day = Some(d.min(days_in_month(self.year, m)));
        }
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
    pub fn add(&self, amount: i64, unit: &str) -> Option<Self> {
        let ms = match unit {
            "hour" | "hours" | "h" => amount.checked_mul(3_600_000)?,
            "minute" | "minutes" | "min" => amount.checked_mul(60_000)?,
            "second" | "seconds" | "s" => amount.checked_mul(1000)?,
            "millisecond" | "milliseconds" | "ms" => amount,
            _ => return None,
        };
        let rem = self.millis_of_day().checked_add(ms)?.rem_euclid(86_400_000);
        Some(Time {
            hour: (rem / 3_600_000) as u8,
            minute: self.minute.map(|_| (rem / 60_000 % 60) as u8),
            second: self.second.map(|_| (rem / 1000 % 60) as u8),
            millis: self.millis.map(|(_, n)| ((rem % 1000) as u16, n)),
        })
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.hour)?;
        if let Some(m) = self.minute {
            write!(f, ":{m:02}")?;
        }
        if let Some(s) = self.second {
            write!(f, ":{s:02}")?;
        }
        if let Some((ms, _)) = self.millis {
            write!(f, ".{ms:03}")?;
        }
        Ok(())
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        if let Some(t) = self.time {
            write!(f, "T{t}")?;
            match self.tz {
                Some(0) => write!(f, "Z")?,
                Some(off) => {
                    let sign = if off < 0 { '-' } else { '+' };
                    write!(f, "{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60)?;
                }
                None => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partial_precision() {
        assert_eq!(DateTime::parse("2015").unwrap().precision(), 1);
        assert_eq!(
            DateTime::parse("2015-02-04T14:34:28.123Z")
                .unwrap()
                .precision(),
            7
        );
        assert!(DateTime::parse("2015-02-30").is_none());
        assert_eq!(
            DateTime::parse("2015-02-04T14:34:28+10:00")
                .unwrap()
                .to_string(),
            "2015-02-04T14:34:28+10:00"
        );
    }

    #[test]
    fn compares_with_unknown_precision_as_none() {
        let a = DateTime::parse("2012-04").unwrap();
        let b = DateTime::parse("2012-04-15").unwrap();
        assert_eq!(a.compare(&b), None);
        let c = DateTime::parse("2012-05-15").unwrap();
        assert_eq!(a.compare(&c), Some(Ordering::Less));
    }

    #[test]
    fn calendar_arithmetic() {
        let d = DateTime::parse("2012-01-31").unwrap();
        assert_eq!(d.add(1, "month").unwrap().to_string(), "2012-02-29");
        assert_eq!(d.add(-1, "day").unwrap().to_string(), "2012-01-30");
    }
}
