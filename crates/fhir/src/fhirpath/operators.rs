//! Equality, equivalence, ordering and arithmetic between single items, after FHIR
//! primitives are turned into System values. `None` means "empty" (unknown) in the spec.

use super::decimal::Decimal;
use super::error::{eval_err, FhirPathError};
use super::quantity::Quantity;
use super::value::Item;
use crate::temporal::DateTime;
use serde_json::Value;
use std::cmp::Ordering;

fn number(item: &Item) -> Option<Decimal> {
    match item {
        Item::Int(i) => Some(Decimal::from_i64(*i)),
        Item::Dec(d) => Some(*d),
        _ => None,
    }
}

/// Deep equality of JSON ignoring key order (numbers by value).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_equal(v, w))
        }
        (Value::Number(x), Value::Number(y)) => {
            match (
                Decimal::parse(&x.to_string()),
                Decimal::parse(&y.to_string()),
            ) {
                (Some(p), Some(q)) => p.cmp_value(&q) == Ordering::Equal,
                _ => x == y,
            }
        }
        _ => a == b,
    }
}

fn dates(a: &Item, b: &Item) -> Option<(DateTime, DateTime)> {
    match (a, b) {
        (Item::Date(x) | Item::DateTime(x), Item::Date(y) | Item::DateTime(y)) => Some((*x, *y)),
        _ => None,
    }
}

/// Converts a string to the temporal type of the other operand, as FHIR's model would have
/// typed it (a `string` element compared with a date literal).
fn coerce_pair<'a>(a: Item<'a>, b: Item<'a>) -> (Item<'a>, Item<'a>) {
    match (&a, &b) {
        (Item::Str(s), Item::Date(_) | Item::DateTime(_)) => match DateTime::parse(s) {
            Some(d) if d.is_date_only() => (Item::Date(d), b),
            Some(d) => (Item::DateTime(d), b),
            None => (a, b),
        },
        (Item::Date(_) | Item::DateTime(_), Item::Str(_)) => {
            let (y, x) = coerce_pair(b, a);
            (x, y)
        }
        _ => (a, b),
    }
}

/// The text of an item that compares as a plain string (a string literal or a FHIR string,
/// code, uri… node): two of them are equal exactly when their texts are, with no copy.
fn plain_str<'i>(item: &'i Item) -> Option<&'i str> {
    match item {
        Item::Str(s) => Some(s),
        Item::Node(n) if !matches!(n.ty, "date" | "dateTime" | "instant" | "time") => {
            n.value.and_then(Value::as_str)
        }
        _ => None,
    }
}

pub(crate) fn equals(a: &Item, b: &Item) -> Option<bool> {
    if let (Some(x), Some(y)) = (plain_str(a), plain_str(b)) {
        return Some(x == y);
    }
    let (Some(a), Some(b)) = (a.to_system(), b.to_system()) else {
        return Some(false);
    };
    let (a, b) = coerce_pair(a, b);
    if let (Some(x), Some(y)) = (number(&a), number(&b)) {
        return Some(x.cmp_value(&y) == Ordering::Equal);
    }
    if let Some((x, y)) = dates(&a, &b) {
        return x.compare(&y).map(|o| o == Ordering::Equal);
    }
    Some(match (&a, &b) {
        (Item::Str(x), Item::Str(y)) => x == y,
        (Item::Bool(x), Item::Bool(y)) => x == y,
        (Item::Time(x), Item::Time(y)) => {
            return crate::temporal::compare::compare_times(x, y).map(|o| o == Ordering::Equal)
        }
        (Item::Quantity(x), Item::Quantity(y)) => match x.aligned(y) {
            Some((p, q)) => p.cmp_value(&q) == Ordering::Equal,
            None => return None,
        },
        (Item::Node(x), Item::Node(y)) => match (x.value, y.value) {
            (Some(p), Some(q)) => json_equal(p, q),
            _ => false,
        },
        (Item::TypeInfo(n1, t1), Item::TypeInfo(n2, t2)) => n1 == n2 && t1 == t2,
        _ => false,
    })
}

fn normalize_ws(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

pub(crate) fn equivalent(a: &Item, b: &Item) -> bool {
    let (Some(a), Some(b)) = (a.to_system(), b.to_system()) else {
        return false;
    };
    let (a, b) = coerce_pair(a, b);
    if let (Some(x), Some(y)) = (number(&a), number(&b)) {
        let s = x.scale().min(y.scale());
        return x.round_to(s).cmp_value(&y.round_to(s)) == Ordering::Equal;
    }
    if let Some((x, y)) = dates(&a, &b) {
        // Seconds and milliseconds are one precision.
        return x.precision().min(6) == y.precision().min(6)
            && x.compare(&y) == Some(Ordering::Equal);
    }
    match (&a, &b) {
        (Item::Str(x), Item::Str(y)) => normalize_ws(x) == normalize_ws(y),
        (Item::Time(x), Item::Time(y)) => {
            x.precision() == y.precision()
                && crate::temporal::compare::compare_times(x, y) == Some(Ordering::Equal)
        }
        (Item::Quantity(x), Item::Quantity(y)) => match x.aligned(y) {
            Some((p, q)) => {
                let s = p.scale().min(q.scale());
                p.round_to(s).cmp_value(&q.round_to(s)) == Ordering::Equal
            }
            None => false,
        },
        _ => equals(&a, &b).unwrap_or(false),
    }
}

/// Ordering for `<`, `>`, …; Ok(None) when precision leaves it unknown.
pub(crate) fn compare(a: &Item, b: &Item) -> Result<Option<Ordering>, FhirPathError> {
    let (Some(a), Some(b)) = (a.to_system(), b.to_system()) else {
        return Ok(None);
    };
    let (a, b) = coerce_pair(a, b);
    if let (Some(x), Some(y)) = (number(&a), number(&b)) {
        return Ok(Some(x.cmp_value(&y)));
    }
    if let Some((x, y)) = dates(&a, &b) {
        return Ok(x.compare(&y));
    }
    match (&a, &b) {
        (Item::Str(x), Item::Str(y)) => Ok(Some(x.cmp(y))),
        (Item::Time(x), Item::Time(y)) => Ok(crate::temporal::compare::compare_times(x, y)),
        (Item::Quantity(x), Item::Quantity(y)) => Ok(x.aligned(y).map(|(p, q)| p.cmp_value(&q))),
        _ => eval_err(format!("cannot compare {a:?} with {b:?}")),
    }
}

fn calendar_amount(q: &Quantity) -> Option<i64> {
    q.value.trunc().to_i64()
}

/// `+` and `-` (sign = -1). Ok(None) is an empty result (overflow, incompatible units).
pub(crate) fn add<'a>(
    a: &Item<'a>,
    b: &Item<'a>,
    sign: i64,
) -> Result<Option<Item<'a>>, FhirPathError> {
    let (Some(a), Some(b)) = (a.to_system(), b.to_system()) else {
        return Ok(None);
    };
    Ok(match (&a, &b) {
        (Item::Int(x), Item::Int(y)) => y
            .checked_mul(sign)
            .and_then(|y| x.checked_add(y))
            .map(Item::Int),
        (Item::Str(x), Item::Str(y)) if sign == 1 => Some(Item::Str(format!("{x}{y}"))),
        (Item::Date(d), Item::Quantity(q)) | (Item::DateTime(d), Item::Quantity(q)) => {
            let Some(n) = calendar_amount(q) else {
                return Ok(None);
            };
            let is_date = matches!(a, Item::Date(_));
            let unit = q.unit.as_str();
            if is_date
                && matches!(
                    unit,
                    "hour"
                        | "hours"
                        | "minute"
                        | "minutes"
                        | "second"
                        | "seconds"
                        | "millisecond"
                        | "milliseconds"
                        | "h"
                        | "min"
                        | "s"
                        | "ms"
                )
            {
                return eval_err("cannot add a time-valued quantity to a date");
            }
            if !super::quantity::is_calendar_unit(unit)
                && !matches!(unit, "wk" | "d" | "h" | "min" | "s" | "ms")
            {
                return eval_err(format!("cannot add '{unit}' to a date"));
            }
            d.add(n.checked_mul(sign).unwrap_or(i64::MAX), unit)
                .map(|r| {
                    if is_date {
                        Item::Date(r)
                    } else {
                        Item::DateTime(r)
                    }
                })
        }
        (Item::Time(t), Item::Quantity(q)) => {
            let Some(n) = calendar_amount(q) else {
                return Ok(None);
            };
            t.add(n.checked_mul(sign).unwrap_or(i64::MAX), &q.unit)
                .map(Item::Time)
        }
        (Item::Quantity(x), Item::Quantity(y)) => x.aligned(y).and_then(|(p, q)| {
            if sign == 1 { p.add(&q) } else { p.sub(&q) }.map(|v| Item::Quantity(x.with_value(v)))
        }),
        _ => match (number(&a), number(&b)) {
            (Some(x), Some(y)) => if sign == 1 { x.add(&y) } else { x.sub(&y) }.map(Item::Dec),
            _ => return eval_err(format!("cannot add {a:?} and {b:?}")),
        },
    })
}

pub(crate) fn multiply<'a>(a: &Item<'a>, b: &Item<'a>) -> Result<Option<Item<'a>>, FhirPathError> {
    let (Some(a), Some(b)) = (a.to_system(), b.to_system()) else {
        return Ok(None);
    };
    Ok(match (&a, &b) {
        (Item::Int(x), Item::Int(y)) => x.checked_mul(*y).map(Item::Int),
        (Item::Quantity(q), n) | (n, Item::Quantity(q)) if number(n).is_some() => number(n)
            .and_then(|n| q.value.mul(&n))
            .map(|v| Item::Quantity(q.with_value(v))),
        (Item::Quantity(x), Item::Quantity(y)) if x.unit != y.unit => {
            match x.times_same_dimension(y) {
                Some(q) => Some(Item::Quantity(q)),
                None => {
                    let unit = match (x.unit.as_str(), y.unit.as_str()) {
                        ("1", u) | (u, "1") => u.to_string(),
                        (u, v) => format!("{u}.{v}"),
                    };
                    x.value
                        .mul(&y.value)
                        .map(|v| Item::Quantity(Quantity::new(v, unit)))
                }
            }
        }
        (Item::Quantity(x), Item::Quantity(y)) => {
            let unit = match (x.unit.as_str(), y.unit.as_str()) {
                ("1", u) | (u, "1") => u.to_string(),
                (u, v) if u == v => format!("{u}2"),
                (u, v) => format!("{u}.{v}"),
            };
            x.value
                .mul(&y.value)
                .map(|v| Item::Quantity(Quantity::new(v, unit)))
        }
        _ => match (number(&a), number(&b)) {
            (Some(x), Some(y)) => x.mul(&y).map(Item::Dec),
            _ => return eval_err(format!("cannot multiply {a:?} and {b:?}")),
        },
    })
}

pub(crate) fn divide<'a>(a: &Item<'a>, b: &Item<'a>) -> Result<Option<Item<'a>>, FhirPathError> {
    let (Some(a), Some(b)) = (a.to_system(), b.to_system()) else {
        return Ok(None);
    };
    Ok(match (&a, &b) {
        (Item::Quantity(q), n) if number(n).is_some() => number(n)
            .and_then(|n| q.value.div(&n))
            .map(|v| Item::Quantity(q.with_value(v))),
        (Item::Quantity(x), Item::Quantity(y)) => match x.aligned(y) {
            Some((p, q)) => p.div(&q).map(|v| Item::Quantity(Quantity::new(v, "1"))),
            None => {
                let unit = format!("{}/{}", x.unit, y.unit);
                x.value
                    .div(&y.value)
                    .map(|v| Item::Quantity(Quantity::new(v, unit)))
            }
        },
        _ => match (number(&a), number(&b)) {
            (Some(x), Some(y)) => x.div(&y).map(Item::Dec),
            _ => return eval_err(format!("cannot divide {a:?} by {b:?}")),
        },
    })
}

pub(crate) fn int_div<'a>(a: &Item<'a>, b: &Item<'a>) -> Result<Option<Item<'a>>, FhirPathError> {
    let (Some(a), Some(b)) = (a.to_system(), b.to_system()) else {
        return Ok(None);
    };
    match (number(&a), number(&b)) {
        (Some(x), Some(y)) => Ok(x.div_trunc(&y).and_then(|d| d.to_i64()).map(Item::Int)),
        _ => eval_err(format!("cannot div {a:?} by {b:?}")),
    }
}

pub(crate) fn modulo<'a>(a: &Item<'a>, b: &Item<'a>) -> Result<Option<Item<'a>>, FhirPathError> {
    let (Some(a), Some(b)) = (a.to_system(), b.to_system()) else {
        return Ok(None);
    };
    match (&a, &b) {
        (Item::Int(x), Item::Int(y)) => Ok(x.checked_rem(*y).map(Item::Int)),
        _ => match (number(&a), number(&b)) {
            (Some(x), Some(y)) => Ok(x.rem(&y).map(Item::Dec)),
            _ => eval_err(format!("cannot mod {a:?} by {b:?}")),
        },
    }
}
