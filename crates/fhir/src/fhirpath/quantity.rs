//! Quantities: a decimal value and a UCUM unit (or a calendar keyword such as `days`), with the
//! few unit conversions that comparisons of equal dimensions need.

use super::decimal::Decimal;
use std::fmt;

#[derive(Debug, Clone)]
pub struct Quantity {
    pub value: Decimal,
    pub unit: String,
}

/// Calendar keywords mapped to their UCUM twin; years and months are not definite durations.
fn calendar_to_ucum(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "year" | "years" => "a",
        "month" | "months" => "mo",
        "week" | "weeks" => "wk",
        "day" | "days" => "d",
        "hour" | "hours" => "h",
        "minute" | "minutes" => "min",
        "second" | "seconds" => "s",
        "millisecond" | "milliseconds" => "ms",
        _ => return None,
    })
}

pub fn is_calendar_unit(unit: &str) -> bool {
    calendar_to_ucum(unit).is_some()
}

/// (factor to the base unit as a decimal text, base unit) for the units we can convert.
fn base_of(unit: &str) -> Option<(&'static str, &'static str)> {
    Some(match unit {
        "1" | "" => ("1", "1"),
        "g" => ("1", "g"),
        "mg" => ("0.001", "g"),
        "ug" => ("0.000001", "g"),
        "kg" => ("1000", "g"),
        "m" => ("1", "m"),
        "cm" => ("0.01", "m"),
        "mm" => ("0.001", "m"),
        "km" => ("1000", "m"),
        "[in_i]" => ("0.0254", "m"),
        "L" | "l" => ("1", "L"),
        "mL" | "ml" => ("0.001", "L"),
        "dL" | "dl" => ("0.1", "L"),
        "ms" => ("0.001", "s"),
        "s" => ("1", "s"),
        "min" => ("60", "s"),
        "h" => ("3600", "s"),
        "d" => ("86400", "s"),
        "wk" => ("604800", "s"),
        "a" => ("31557600", "s"),
        "mo" => ("2629800", "s"),
        "[lb_av]" => ("453.59237", "g"),
        _ => return None,
    })
}

impl Quantity {
    pub fn new(value: Decimal, unit: impl Into<String>) -> Self {
        Self {
            value,
            unit: unit.into(),
        }
    }

    /// The UCUM unit this quantity is written in (calendar keywords mapped).
    fn ucum(&self) -> &str {
        calendar_to_ucum(&self.unit).unwrap_or(&self.unit)
    }

    /// Value expressed in its base unit, for comparing across units.
    fn in_base(&self) -> Option<(Decimal, &'static str)> {
        let (factor, base) = base_of(self.ucum())?;
        Some((self.value.mul(&Decimal::parse(factor)?)?, base))
    }

    /// Both values in one unit, or None when the units are not comparable.
    /// Calendar years/months only match themselves (they are not definite durations).
    pub fn aligned(&self, other: &Self) -> Option<(Decimal, Decimal)> {
        if self.unit == other.unit {
            return Some((self.value, other.value));
        }
        let indefinite =
            |q: &Self| matches!(q.unit.as_str(), "year" | "years" | "month" | "months");
        if indefinite(self) || indefinite(other) {
            return None;
        }
        if self.ucum() == other.ucum() {
            return Some((self.value, other.value));
        }
        let (a, ba) = self.in_base()?;
        let (b, bb) = other.in_base()?;
        (ba == bb).then_some((a, b))
    }

    /// Product of two quantities of one dimension, in the base unit squared
    /// (`2 'cm' * 2 'm'` = `0.04 'm2'`); None when the units are not convertible.
    pub fn times_same_dimension(&self, other: &Self) -> Option<Self> {
        let (a, base_a) = self.in_base()?;
        let (b, base_b) = other.in_base()?;
        (base_a == base_b && base_a != "1").then_some(())?;
        Some(Self::new(a.mul(&b)?, format!("{base_a}2")))
    }

    pub fn with_value(&self, value: Decimal) -> Self {
        Self::new(value, self.unit.clone())
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_calendar_unit(&self.unit) {
            write!(f, "{} {}", self.value, self.unit)
        } else {
            write!(f, "{} '{}'", self.value, self.unit)
        }
    }
}
