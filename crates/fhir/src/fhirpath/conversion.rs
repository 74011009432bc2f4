//! Conversions between values (`toInteger()`, `toString()`, `convertsToQuantity()`, …).

use super::decimal::Decimal;
use super::quantity::Quantity;
use super::value::Item;
use crate::temporal::{DateTime, Time};
use std::cmp::Ordering;

pub(crate) fn to_string(item: &Item) -> Option<String> {
    Some(match item.to_system()? {
        Item::Bool(b) => b.to_string(),
        Item::Int(i) => i.to_string(),
        Item::Dec(d) => d.to_string(),
        Item::Str(s) => s,
        Item::Date(d) | Item::DateTime(d) => d.to_string(),
        Item::Time(t) => t.to_string(),
        Item::Quantity(q) => q.to_string(),
        Item::Node(_) | Item::TypeInfo(..) => return None,
    })
}

pub(crate) fn to_integer(item: &Item) -> Option<i64> {
    match item.to_system()? {
        Item::Int(i) => Some(i),
        Item::Bool(b) => Some(b as i64),
        Item::Str(s) => {
            let t = s.strip_prefix('+').unwrap_or(&s);
            let digits = t.strip_prefix('-').unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        }
        _ => None,
    }
}

pub(crate) fn to_decimal(item: &Item) -> Option<Decimal> {
    match item.to_system()? {
        Item::Int(i) => Some(Decimal::from_i64(i)),
        Item::Dec(d) => Some(d),
        Item::Bool(b) => Some(Decimal::new(b as i128 * 10, 1)),
        Item::Str(s) if !s.contains(['e', 'E']) && !s.ends_with('.') => Decimal::parse(&s),
        _ => None,
    }
}

pub(crate) fn to_boolean(item: &Item) -> Option<bool> {
    match item.to_system()? {
        Item::Bool(b) => Some(b),
        Item::Int(1) => Some(true),
        Item::Int(0) => Some(false),
        Item::Dec(d) if d.cmp_value(&Decimal::from_i64(1)) == Ordering::Equal => Some(true),
        Item::Dec(d) if d.cmp_value(&Decimal::from_i64(0)) == Ordering::Equal => Some(false),
        Item::Str(s) => match s.to_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => Some(true),
            "false" | "f" | "no" | "n" | "0" | "0.0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn to_quantity<'a>(item: &Item<'a>) -> Option<Quantity> {
    match item.to_system()? {
        Item::Int(i) => Some(Quantity::new(Decimal::from_i64(i), "1")),
        Item::Dec(d) => Some(Quantity::new(d, "1")),
        Item::Bool(b) => Some(Quantity::new(Decimal::new(b as i128 * 10, 1), "1")),
        Item::Quantity(q) => Some(q),
        Item::Str(s) => {
            let s = s.trim();
            let (num, unit) = match s.find(' ') {
                Some(i) => (&s[..i], s[i + 1..].trim()),
                None => (s, ""),
            };
            let value = Decimal::parse(num)?;
            let unit = if unit.is_empty() {
                "1".to_string()
            } else if let Some(u) = unit.strip_prefix('\'').and_then(|u| u.strip_suffix('\'')) {
                u.to_string()
            } else if super::quantity::is_calendar_unit(unit) {
                unit.to_string()
            } else {
                return None;
            };
            Some(Quantity::new(value, unit))
        }
        _ => None,
    }
}

pub(crate) fn to_date_time(item: &Item) -> Option<DateTime> {
    match item.to_system()? {
        Item::Date(d) | Item::DateTime(d) => Some(d),
        Item::Str(s) => DateTime::parse(&s),
        _ => None,
    }
}

pub(crate) fn to_date(item: &Item) -> Option<DateTime> {
    match item.to_system()? {
        Item::Date(d) | Item::DateTime(d) => Some(d.date_part()),
        Item::Str(s) => DateTime::parse(&s).map(|d| d.date_part()),
        _ => None,
    }
}

pub(crate) fn to_time(item: &Item) -> Option<Time> {
    match item.to_system()? {
        Item::Time(t) => Some(t),
        Item::Str(s) => Time::parse(s.strip_prefix('T').unwrap_or(&s)),
        _ => None,
    }
}
