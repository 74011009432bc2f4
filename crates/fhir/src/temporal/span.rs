//! The epoch milliseconds a value covers at its precision: `2026` is the whole year,
//! `2026-03-04T10:00` one minute. A time without an offset is taken as UTC.

use super::calendar::{days_from_civil, days_in_month};
use super::parse::DateTime;

const DAY_MS: i64 = 86_400_000;

impl DateTime {
    /// `(low, high)`, both inclusive.
    pub fn span_millis(&self) -> (i64, i64) {
        let year = i64::from(self.year);
        let Some(month) = self.month else {
            return (
                days_from_civil(year, 1, 1) * DAY_MS,
                days_from_civil(year + 1, 1, 1) * DAY_MS - 1,
            );
        };
        let Some(day) = self.day else {
            let first = days_from_civil(year, month, 1);
            let last = first + i64::from(days_in_month(year, month));
            return (first * DAY_MS, last * DAY_MS - 1);
        };
        let day_start = days_from_civil(year, month, day) * DAY_MS;
        let Some(t) = self.time else {
            return (day_start, day_start + DAY_MS - 1);
        };
        let width = match (t.minute, t.second, t.millis) {
            (None, _, _) => 3_600_000,
            (Some(_), None, _) => 60_000,
            (_, Some(_), None) => 1000,
            (_, _, Some((_, kept))) => 10_i64.pow(3 - u32::from(kept)),
        };
        let low = day_start + t.millis_of_day() - i64::from(self.tz.unwrap_or(0)) * 60_000;
        (low, low + width - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str) -> (i64, i64) {
        DateTime::parse(text).unwrap().span_millis()
    }

    #[test]
    fn precisions() {
        let y = span("2026");
        assert_eq!(y.0, span("2026-01-01T00:00:00Z").0);
        assert_eq!(y.1 + 1, span("2027-01-01T00:00:00Z").0);
        assert_eq!(span("2024-02").1 + 1, span("2024-03-01").0);
        let d = span("2026-03-04");
        assert_eq!(d.1 - d.0 + 1, DAY_MS);
        let t = span("2026-03-04T10:00:00+02:00");
        assert_eq!(t.0, span("2026-03-04T08:00:00Z").0);
        assert_eq!(t.1 - t.0, 999);
        let ms = span("2026-03-04T10:00:00.123Z");
        assert_eq!(ms.0, ms.1);
        assert_eq!(span("1970-01-01T00:00:01Z").0, 1000);
        assert_eq!(
            span("2026-03-04T10:00").1 - span("2026-03-04T10:00").0,
            59_999
        );
    }
}
