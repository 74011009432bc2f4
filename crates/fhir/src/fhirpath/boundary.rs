//! `lowBoundary()` / `highBoundary()`: the edges of the range a value of limited precision
//! stands for.

use super::decimal::Decimal;
use crate::temporal::{DateTime, Time};

pub(crate) fn decimal_boundary(d: Decimal, precision: Option<i64>, high: bool) -> Option<Decimal> {
    let p = precision.unwrap_or(8);
    if !(0..=28).contains(&p) {
        return None;
    }
    let p = p as u32;
    // Half a unit of the last written digit on either side.
    let half = Decimal::new(5, d.scale() + 1);
    let edge = if high { d.add(&half)? } else { d.sub(&half)? };
    if p >= edge.scale() {
        let mut m = edge.mantissa();
        for _ in edge.scale()..p {
            m = m.checked_mul(10)?;
        }
        return Some(Decimal::new(m, p));
    }
    // Moving away from zero rounds; moving towards zero truncates (as the suite expects).
    let away = (high && edge.mantissa() > 0) || (!high && edge.mantissa() < 0);
    Some(if away {
        edge.round_to(p)
    } else {
        let mut m = edge.mantissa();
        for _ in p..edge.scale() {
            m /= 10;
        }
        Decimal::new(m, p)
    })
}

pub(crate) fn temporal_boundary(
    d: DateTime,
    precision: Option<i64>,
    high: bool,
    is_date: bool,
) -> Option<DateTime> {
    let p = precision.unwrap_or(if is_date { 8 } else { 17 });
    let mut r = d;
    let month = d.month.unwrap_or(if high { 12 } else { 1 });
    if p >= 6 {
        r.month = Some(month);
    } else {
        r.month = None;
    }
    if p >= 8 {
        let last = DateTime {
            year: r.year,
            month: Some(month),
            day: Some(1),
            time: None,
            tz: None,
        }
        .add(1, "month")
        .and_then(|x| x.add(-1, "day"))
        .and_then(|x| x.day)
        .unwrap_or(28);
        r.day = Some(d.day.unwrap_or(if high { last } else { 1 }));
    } else {
        r.day = None;
    }
    if p > 8 {
        let t = d.time.unwrap_or(Time {
            hour: if high { 23 } else { 0 },
            minute: None,
            second: None,
            millis: None,
        });
        let fill = |v: Option<u8>, hi: u8| Some(v.unwrap_or(if high { hi } else { 0 }));
        r.time = Some(Time {
            hour: t.hour,
            // An hour-only value means hh:00 (FHIR has no hour-only times).
            minute: Some(t.minute.unwrap_or(0)),
            second: if p >= 14 { fill(t.second, 59) } else { None },
            millis: if p >= 17 {
                Some(t.millis.unwrap_or(if high { (999, 3) } else { (0, 3) }))
            } else {
                None
            },
        });
        if r.tz.is_none() && !is_date {
            r.tz = Some(if high { -12 * 60 } else { 14 * 60 });
        }
    } else {
        r.time = None;
        r.tz = None;
    }
    Some(r)
}

pub(crate) fn time_boundary(t: Time, precision: Option<i64>, high: bool) -> Time {
    let p = precision.unwrap_or(9);
    let fill = |v: Option<u8>, hi: u8| Some(v.unwrap_or(if high { hi } else { 0 }));
    Time {
        hour: t.hour,
        minute: if p >= 4 { fill(t.minute, 59) } else { None },
        second: if p >= 6 { fill(t.second, 59) } else { None },
        millis: if p >= 9 {
            Some(t.millis.unwrap_or(if high { (999, 3) } else { (0, 3) }))
        } else {
            None
        },
    }
}
