//! FHIRPath ordering of partial-precision values: empty (None) when the precisions make the
//! answer unknown.

use std::cmp::Ordering;

use super::calendar::{civil_from_days, days_from_civil};
use super::parse::{DateTime, Time};

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

impl Time {
    fn parts(&self) -> [Option<u32>; 4] {
        [
            Some(u32::from(self.hour)),
            self.minute.map(u32::from),
            self.second.map(u32::from),
            self.millis.map(|m| u32::from(m.0)),
        ]
    }
}

pub fn compare_times(a: &Time, b: &Time) -> Option<Ordering> {
    compare_parts(&a.parts(), &b.parts())
}

impl DateTime {
    /// Shifts to UTC when the value has a time and an offset.
    fn normalized(&self) -> Self {
        match (self.tz, self.time, self.month, self.day) {
            (Some(off), Some(t), Some(m), Some(d)) if off != 0 => {
                let mins = days_from_civil(i64::from(self.year), m, d) * 1440
                    + i64::from(t.hour) * 60
                    + i64::from(t.minute.unwrap_or(0))
                    - i64::from(off);
                let (y, m, d) = civil_from_days(mins.div_euclid(1440));
                let rem = mins.rem_euclid(1440);
                DateTime {
                    year: y as i32,
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

    fn parts(&self) -> [Option<u32>; 7] {
        let t = self.time.map(|t| t.parts()).unwrap_or([None; 4]);
        [
            Some(self.year as u32),
            self.month.map(u32::from),
            self.day.map(u32::from),
            t[0],
            t[1],
            t[2],
            t[3],
        ]
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_precision_is_none() {
        let a = DateTime::parse("2012-04").unwrap();
        let b = DateTime::parse("2012-04-15").unwrap();
        assert_eq!(a.compare(&b), None);
        let c = DateTime::parse("2012-05-15").unwrap();
        assert_eq!(a.compare(&c), Some(Ordering::Less));
    }

    #[test]
    fn offsets_normalize() {
        let a = DateTime::parse("2012-04-15T10:00:00+02:00").unwrap();
        let b = DateTime::parse("2012-04-15T08:00:00Z").unwrap();
        assert_eq!(a.compare(&b), Some(Ordering::Equal));
    }
}
