//! Calendar durations added to dates, dateTimes and times (FHIRPath `+` and `-`).

use super::calendar::{civil_from_days, days_from_civil, days_in_month};
use super::parse::{DateTime, Time};

impl DateTime {
    /// Adds a calendar duration; `unit` is a FHIRPath calendar keyword or its UCUM twin.
    pub fn add(&self, amount: i64, unit: &str) -> Option<Self> {
        let mut r = *self;
        match unit {
            "year" | "years" | "a" => {
                r.year = i32::try_from(i64::from(self.year).checked_add(amount)?).ok()?;
                r.clamp_day();
            }
            "month" | "months" | "mo" => {
                let Some(m) = self.month else {
                    return self.add(amount / 12, "year");
                };
                let total = (i64::from(self.year) * 12 + (i64::from(m) - 1)).checked_add(amount)?;
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
                let (y, m, d) =
                    civil_from_days(days_from_civil(i64::from(self.year), m, d) + amount);
                r.year = i32::try_from(y).ok()?;
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
        let total = (days_from_civil(i64::from(self.year), m, d) * 86_400_000 + t.millis_of_day())
            .checked_add(ms)?;
        let (y, mo, da) = civil_from_days(total.div_euclid(86_400_000));
        let rem = total.rem_euclid(86_400_000);
        let mut r = *self;
        r.year = i32::try_from(y).ok()?;
        r.month = Some(mo);
        r.day = Some(da);
        r.time = Some(t.with_millis_of_day(rem));
        Some(r)
    }

    fn clamp_day(&mut self) {
        if let (Some(m), Some(d)) = (self.month, self.day) {
            self.day = Some(d.min(days_in_month(i64::from(self.year), m)));
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
        Some(self.with_millis_of_day(rem))
    }

    /// The same precision at another time of day.
    fn with_millis_of_day(&self, rem: i64) -> Self {
        Time {
            hour: (rem / 3_600_000) as u8,
            minute: self.minute.map(|_| (rem / 60_000 % 60) as u8),
            second: self.second.map(|_| (rem / 1000 % 60) as u8),
            millis: self.millis.map(|(_, n)| ((rem % 1000) as u16, n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_arithmetic() {
        let d = DateTime::parse("2012-01-31").unwrap();
        assert_eq!(d.add(1, "month").unwrap().to_string(), "2012-02-29");
        assert_eq!(d.add(-1, "day").unwrap().to_string(), "2012-01-30");
        let t = DateTime::parse("2012-12-31T23:30:00Z").unwrap();
        assert_eq!(
            t.add(1, "hour").unwrap().to_string(),
            "2013-01-01T00:30:00Z"
        );
        assert_eq!(
            Time::parse("23:00")
                .unwrap()
                .add(2, "hours")
                .unwrap()
                .to_string(),
            "01:00"
        );
    }
}
