//! Dates as calendar day numbers, for look-backs and periods counted in days. A partial date
//! stands for its first or last day; a dateTime for the day written (its offset ignored).

use super::calendar::{civil_from_days, days_from_civil, days_in_month};
use super::parse::DateTime;

/// Which end of a partial date (`2026`, `2026-11`) to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Start,
    End,
}

/// Days since 1970-01-01 of the date part of a FHIR date or dateTime; None when it is not one.
pub fn day_number(text: &str, edge: Edge) -> Option<i64> {
    let dt = DateTime::parse(text)?;
    let year = i64::from(dt.year);
    let (month, day) = match (dt.month, dt.day, edge) {
        (Some(m), Some(d), _) => (m, d),
        (Some(m), None, Edge::Start) => (m, 1),
        (Some(m), None, Edge::End) => (m, days_in_month(year, m)),
        (None, _, Edge::Start) => (1, 1),
        (None, _, Edge::End) => (12, 31),
    };
    Some(days_from_civil(year, month, day))
}

/// `YYYY-MM-DD` of a day number.
pub fn date_text(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Today in UTC, as a day number.
pub fn today() -> i64 {
    crate::model::instant::now_millis().div_euclid(86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates_take_their_edges() {
        assert_eq!(day_number("1970-01-01", Edge::Start), Some(0));
        assert_eq!(
            day_number("2026", Edge::End),
            day_number("2026-12-31", Edge::Start)
        );
        assert_eq!(
            day_number("2024-02", Edge::End),
            day_number("2024-02-29", Edge::Start)
        );
        assert_eq!(
            day_number("2026-11-20T09:15:00-08:00", Edge::Start),
            day_number("2026-11-20", Edge::Start)
        );
        assert_eq!(day_number("2026-02-30", Edge::Start), None);
        assert_eq!(day_number("2026-11-20T25:00:00Z", Edge::Start), None);
        assert_eq!(day_number("soon", Edge::Start), None);
    }

    #[test]
    fn round_trip() {
        for text in ["2026-11-20", "2000-02-29", "1941-03-14"] {
            let days = day_number(text, Edge::Start).unwrap();
            assert_eq!(date_text(days), text);
        }
    }
}
