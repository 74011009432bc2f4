//! Search dates as millisecond ranges: both the stored values and the search values become
//! `[low, high]` (inclusive) at their precision, which is what the R4 prefix rules compare.
//! Parsing and the calendar are [`crate::temporal`]'s.

use crate::temporal::DateTime;

/// An inclusive range of epoch milliseconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateRange {
    pub low: i64,
    pub high: i64,
}

impl DateRange {
    /// Open on both ends: a Period without start or end.
    pub const OPEN_LOW: i64 = i64::MIN;
    pub const OPEN_HIGH: i64 = i64::MAX;
}

/// Parses a FHIR date, dateTime or instant, or a search value of that shape (to the minute at
/// least when it has a time), into the range its precision covers. None when malformed.
pub fn parse(text: &str) -> Option<DateRange> {
    let text = text.trim();
    if text.ends_with('T') {
        return None;
    }
    let dt = DateTime::parse(text)?;
    if dt.time.is_some_and(|t| t.minute.is_none()) {
        return None;
    }
    let (low, high) = dt.span_millis();
    Some(DateRange { low, high })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions() {
        let t = parse("2026-03-04T10:00:00+02:00").unwrap();
        assert_eq!(t.low, parse("2026-03-04T08:00:00Z").unwrap().low);
        assert_eq!(t.high - t.low, 999);
        let m = parse(" 2024-02 ").unwrap();
        assert_eq!(m.high + 1, parse("2024-03-01").unwrap().low);
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "26",
            "2026-13",
            "2026-02-30",
            "2026-01-01T",
            "2026-01-01T10",
            "2026-01-01T24:00",
            "x2026",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
