//! The exact lexical forms of the R4 temporal types, as their regexes say, on top of the
//! calendar checks of [`super::parse`]:
//! - `date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`;
//! - `dateTime`: a date, or a full date with a time to the second and a zone;
//! - `instant`: a full date with a time to the second and a zone;
//! - `time`: `hh:mm:ss(.f+)?`, no zone.

use super::parse::{DateTime, Time};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Date,
    DateTime,
    Instant,
    Time,
}

/// Whether `text` is a valid value of the R4 type `kind`.
pub fn is_valid(kind: Kind, text: &str) -> bool {
    if kind == Kind::Time {
        return Time::parse(text).is_some_and(|t| t.second.is_some());
    }
    // `2026T` parses for FHIRPath; no R4 type writes it
    if text.ends_with('T') {
        return false;
    }
    let Some(dt) = DateTime::parse(text) else {
        return false;
    };
    match (kind, dt.time) {
        (Kind::Date, None) => true,
        (Kind::DateTime, None) => true,
        (Kind::DateTime | Kind::Instant, Some(t)) => t.second.is_some() && dt.tz.is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r4_forms() {
        for ok in ["2026", "2026-11", "2026-11-20", "2024-02-29"] {
            assert!(is_valid(Kind::Date, ok), "{ok}");
            assert!(is_valid(Kind::DateTime, ok), "{ok}");
            assert!(!is_valid(Kind::Instant, ok), "{ok}");
        }
        for ok in [
            "2026-11-20T09:15:00-08:00",
            "2026-11-20T09:15:00.123456Z",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(is_valid(Kind::DateTime, ok), "{ok}");
            assert!(is_valid(Kind::Instant, ok), "{ok}");
            assert!(!is_valid(Kind::Date, ok), "{ok}");
        }
        for bad in [
            "2026-02-30",
            "2026-13",
            "2026T",
            "2026-11-20T09:15Z",
            "2026-11-20T09:15:00",
            "2026-11-20T09",
            "2026-11-20T24:00:00Z",
            "2026-11-20T09:15:00+14:01",
        ] {
            assert!(!is_valid(Kind::DateTime, bad), "{bad}");
        }
        assert!(is_valid(Kind::Time, "23:59:60"));
        assert!(is_valid(Kind::Time, "09:15:00.5"));
        assert!(!is_valid(Kind::Time, "09:15"));
        assert!(!is_valid(Kind::Time, "24:00:00"));
        assert!(!is_valid(Kind::Time, "09:15:00Z"));
    }
}
