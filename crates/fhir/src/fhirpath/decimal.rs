//! Exact decimals that keep their written precision (`1.50` has scale 2), as FHIRPath's
//! `precision()`, equivalence and boundaries need. Mantissa and scale, no float rounding.

use std::cmp::Ordering;
use std::fmt;

/// Most digits after the point we keep; division results are rounded here.
const MAX_SCALE: u32 = 16;

#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    pub fn new(mantissa: i128, scale: u32) -> Self {
        Self { mantissa, scale }
    }

    pub fn from_i64(v: i64) -> Self {
        Self::new(v as i128, 0)
    }

    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// Parses `-?digits(.digits)?`, optionally with an exponent as JSON allows.
    pub fn parse(text: &str) -> Option<Self> {
        let (body, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (neg, body) = match body.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, body.strip_prefix('+').unwrap_or(body)),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || (body.contains('.') && frac.is_empty()) {
            return None;
        }
        if int.len() + frac.len() > 36 {
            return None;
        }
        let mut m: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            m = m.checked_mul(10)?.checked_add((b - b'0') as i128)?;
        }
        let mut scale = frac.len() as i32 - exp;
        while scale < 0 {
            m = m.checked_mul(10)?;
            scale += 1;
        }
        Some(Self::new(if neg { -m } else { m }, scale as u32))
    }

    pub fn to_f64(&self) -> f64 {
        self.mantissa as f64 / 10f64.powi(self.scale as i32)
    }

    pub fn from_f64(v: f64) -> Option<Self> {
        if !v.is_finite() {
            return None;
        }
        let d = Self::parse(&format!("{v:.8}"))?;
        Some(d.normalized())
    }

    /// Drops trailing zeros after the point.
    pub fn normalized(mut self) -> Self {
        while self.scale > 0 && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        self
    }

    fn rescaled(&self, scale: u32) -> Option<i128> {
        let mut m = self.mantissa;
        for _ in self.scale..scale {
            m = m.checked_mul(10)?;
        }
        Some(m)
    }

    fn aligned(a: &Self, b: &Self) -> Option<(i128, i128, u32)> {
        let s = a.scale.max(b.scale);
        Some((a.rescaled(s)?, b.rescaled(s)?, s))
    }

    pub fn add(&self, o: &Self) -> Option<Self> {
        let (a, b, s) = Self::aligned(self, o)?;
        Some(Self::new(a.checked_add(b)?, s))
    }

    pub fn sub(&self, o: &Self) -> Option<Self> {
        let (a, b, s) = Self::aligned(self, o)?;
        Some(Self::new(a.checked_sub(b)?, s))
    }

    pub fn mul(&self, o: &Self) -> Option<Self> {
        let d = Self::new(self.mantissa.checked_mul(o.mantissa)?, self.scale + o.scale);
        Some(d.round_to(MAX_SCALE))
    }

    /// None on division by zero or overflow.
    pub fn div(&self, o: &Self) -> Option<Self> {
        if o.mantissa == 0 {
            return None;
        }
        // self/o = (a * 10^k) / b at scale MAX_SCALE.
        let target = MAX_SCALE + 2;
        let (a, b, _) = Self::aligned(self, o)?;
        let mut num = a;
        for _ in 0..target {
            num = num.checked_mul(10)?;
        }
        let q = num / b;
        Some(Self::new(q, target).round_to(MAX_SCALE).normalized())
    }

    /// Truncating integer division.
    pub fn div_trunc(&self, o: &Self) -> Option<Self> {
        if o.mantissa == 0 {
            return None;
        }
        let (a, b, _) = Self::aligned(self, o)?;
        Some(Self::new(a / b, 0))
    }

    pub fn rem(&self, o: &Self) -> Option<Self> {
        if o.mantissa == 0 {
            return None;
        }
        let (a, b, s) = Self::aligned(self, o)?;
        Some(Self::new(a % b, s))
    }

    pub fn neg(&self) -> Self {
        Self::new(-self.mantissa, self.scale)
    }

    pub fn abs(&self) -> Self {
        Self::new(self.mantissa.abs(), self.scale)
    }

    /// Rounds half away from zero to `scale` digits.
    pub fn round_to(&self, scale: u32) -> Self {
        if self.scale <= scale {
            return *self;
        }
        let mut m = self.mantissa;
        let mut s = self.scale;
        let mut last = 0;
        while s > scale {
            last = m % 10;
            m /= 10;
            s -= 1;
        }
        if last.abs() >= 5 {
            m += if self.mantissa < 0 { -1 } else { 1 };
        }
        Self::new(m, s)
    }

    pub fn trunc(&self) -> Self {
        let mut m = self.mantissa;
        for _ in 0..self.scale {
            m /= 10;
        }
        Self::new(m, 0)
    }

    pub fn floor(&self) -> Self {
        let t = self.trunc();
        if self.mantissa < 0 && t.cmp_value(self) != Ordering::Equal {
            Self::new(t.mantissa - 1, 0)
        } else {
            t
        }
    }

    pub fn ceil(&self) -> Self {
        let t = self.trunc();
        if self.mantissa > 0 && t.cmp_value(self) != Ordering::Equal {
            Self::new(t.mantissa + 1, 0)
        } else {
            t
        }
    }

    pub fn is_integer(&self) -> bool {
        self.trunc().cmp_value(self) == Ordering::Equal
    }

    pub fn to_i64(&self) -> Option<i64> {
        i64::try_from(self.trunc().mantissa).ok()
    }

    /// Numeric comparison, ignoring precision.
    pub fn cmp_value(&self, o: &Self) -> Ordering {
        match Self::aligned(self, o) {
            Some((a, b, _)) => a.cmp(&b),
            None => self.to_f64().total_cmp(&o.to_f64()),
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_precision_and_prints_it() {
        let d = Decimal::parse("1.50").unwrap();
        assert_eq!(d.scale(), 2);
        assert_eq!(d.to_string(), "1.50");
        assert_eq!(Decimal::parse("-0.05").unwrap().to_string(), "-0.05");
        assert_eq!(Decimal::parse("1e2").unwrap().to_string(), "100");
    }

    #[test]
    fn arithmetic() {
        let a = Decimal::parse("1.5").unwrap();
        let b = Decimal::parse("0.25").unwrap();
        assert_eq!(a.add(&b).unwrap().to_string(), "1.75");
        assert_eq!(a.div(&Decimal::from_i64(3)).unwrap().to_string(), "0.5");
        assert!(a.div(&Decimal::from_i64(0)).is_none());
        assert_eq!(
            Decimal::parse("3.456").unwrap().round_to(2).to_string(),
            "3.46"
        );
        assert_eq!(Decimal::parse("-1.5").unwrap().floor().to_string(), "-2");
    }
}
