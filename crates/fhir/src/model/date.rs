//! FHIR `date` / `dateTime` to calendar days, for look-backs and periods counted in days.
//! A partial date stands for its first or last day.

/// Which end of a partial date (`2026`, `2026-11`) to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Start,
    End,
}

/// Days since 1970-01-01 of the date part of a FHIR date or dateTime.
pub fn day_number(text: &str, edge: Edge) -> Option<i64> {
    let date = text.get(..text.find('T').unwrap_or(text.len()))?;
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: Option<u32> = parts.next().map(str::parse).transpose().ok()?;
    let day: Option<u32> = parts.next().map(str::parse).transpose().ok()?;
    let (month, day) = match (month, day, edge) {
        (Some(m), Some(d), _) => (m, d),
        (Some(m), None, Edge::Start) => (m, 1),
        (Some(m), None, Edge::End) => (m, days_in_month(year, m)?),
        (None, _, Edge::Start) => (1, 1),
        (None, _, Edge::End) => (12, 31),
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month)? {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `YYYY-MM-DD` of a day number.
pub fn date_text(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Today in UTC, as a day number.
pub fn today() -> i64 {
    super::instant::now_millis().div_euclid(86_400_000)
}

fn days_in_month(year: i64, month: u32) -> Option<u32> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    Some(match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    })
}

// Howard Hinnant's civil calendar algorithms.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
