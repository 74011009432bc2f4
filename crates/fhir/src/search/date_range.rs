//! FHIR dates as millisecond ranges: `2026` is the whole year, `2026-03-04T10:00` one minute.
//! Both the stored values and the search values become `[low, high]` (inclusive), which is what
//! the R4 prefix rules compare.

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

const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn num(s: &str, n: usize) -> Option<(i64, &str)> {
    if s.len() < n || !s.as_bytes()[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// Parses a FHIR date, dateTime or instant (or a search value of that shape) into the range
/// its precision covers. A time without a zone is taken as UTC. None when malformed.
pub fn parse(text: &str) -> Option<DateRange> {
    let (year, rest) = num(text.trim(), 4)?;
    let Some(rest) = rest.strip_prefix('-') else {
        return rest.is_empty().then(|| DateRange {
            low: days_from_civil(year, 1, 1) * DAY_MS,
            high: days_from_civil(year + 1, 1, 1) * DAY_MS - 1,
        });
    };
    let (month, rest) = num(rest, 2)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let Some(rest) = rest.strip_prefix('-') else {
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        return rest.is_empty().then(|| DateRange {
            low: days_from_civil(year, month, 1) * DAY_MS,
            high: days_from_civil(ny, nm, 1) * DAY_MS - 1,
        });
    };
    let (day, rest) = num(rest, 2)?;
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let day_start = days_from_civil(year, month, day) * DAY_MS;
    let Some(rest) = rest.strip_prefix('T') else {
        return rest.is_empty().then_some(DateRange {
            low: day_start,
            high: day_start + DAY_MS - 1,
        });
    };
    let (hour, rest) = num(rest, 2)?;
    let rest = rest.strip_prefix(':')?;
    let (minute, mut rest) = num(rest, 2)?;
    if hour > 23 || minute > 59 {
        return None;
    }
    let mut ms = (hour * 60 + minute) * 60_000;
    let mut width = 60_000;
    if let Some(r) = rest.strip_prefix(':') {
        let (sec, r) = num(r, 2)?;
        if sec > 60 {
            return None;
        }
        ms += sec * 1000;
        width = 1000;
        rest = r;
        if let Some(r) = rest.strip_prefix('.') {
            let digits = r.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let kept = &r[..digits.min(3)];
            let frac: i64 = format!("{kept:0<3}").parse().ok()?;
            ms += frac;
            width = 10_i64.pow(3 - kept.len() as u32);
            rest = &r[digits..];
        }
    }
    let offset_ms = match rest {
        "" | "Z" => 0,
        tz => {
            let sign = match tz.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, r) = num(&tz[1..], 2)?;
            let r = r.strip_prefix(':')?;
            let (m, r) = num(r, 2)?;
            if !r.is_empty() || h > 14 || m > 59 {
                return None;
            }
            sign * (h * 60 + m) * 60_000
        }
    };
    let low = day_start + ms - offset_ms;
    Some(DateRange {
        low,
        high: low + width - 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions() {
        let y = parse("2026").unwrap();
        assert_eq!(y.low, parse("2026-01-01T00:00:00Z").unwrap().low);
        assert_eq!(y.high + 1, parse("2027-01-01T00:00:00Z").unwrap().low);
        let m = parse("2024-02").unwrap();
        assert_eq!(m.high + 1, parse("2024-03-01").unwrap().low);
        let d = parse("2026-03-04").unwrap();
        assert_eq!(d.high - d.low + 1, DAY_MS);
        let t = parse("2026-03-04T10:00:00+02:00").unwrap();
        assert_eq!(t.low, parse("2026-03-04T08:00:00Z").unwrap().low);
        assert_eq!(t.high - t.low, 999);
        let ms = parse("2026-03-04T10:00:00.123Z").unwrap();
        assert_eq!(ms.low, ms.high);
        assert_eq!(parse("1970-01-01T00:00:01Z").unwrap().low, 1000);
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
            "x2026",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
