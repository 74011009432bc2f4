//! `fixed[x]` (exact value) and `pattern[x]` (the value contains at least the pattern).

use super::plan::Node;
use super::walker::Walk;
use crate::json::member::field;
use crate::outcome::IssueType;
use serde_json::Value;

/// Deep equality where numbers compare by their decimal text.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.to_string() == y.to_string(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| field(y, k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// Every member of the pattern is in the value; every pattern array item matches some value item.
pub fn matches_pattern(pattern: &Value, value: &Value) -> bool {
    match (pattern, value) {
        (Value::Object(p), Value::Object(v)) => p
            .iter()
            .all(|(k, pv)| field(v, k).is_some_and(|vv| matches_pattern(pv, vv))),
        (Value::Array(p), Value::Array(v)) => p
            .iter()
            .all(|pi| v.iter().any(|vi| matches_pattern(pi, vi))),
        (Value::Array(p), v) if p.len() == 1 => matches_pattern(&p[0], v),
        _ => equal(pattern, value),
    }
}

impl Walk<'_> {
    /// Returns false (after reporting) when the value breaks its fixed value or pattern.
    pub fn fixed_pattern(&mut self, node: &Node, value: &Value, path: &str) -> bool {
        if let Some(fixed) = &node.fixed {
            if !equal(fixed, value) {
                self.error(
                    IssueType::Value,
                    path,
                    format!("{} must be exactly {fixed}, found {value}", node.path),
                );
                return false;
            }
        }
        if let Some(pattern) = &node.pattern {
            if !matches_pattern(pattern, value) {
                self.error(
                    IssueType::Value,
                    path,
                    format!(
                        "{} must match the pattern {pattern}, found {value}",
                        node.path
                    ),
                );
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_are_subsets() {
        let p = json!({"coding": [{"system": "s", "code": "MB"}]});
        assert!(matches_pattern(
            &p,
            &json!({"coding": [{"system": "x", "code": "y"}, {"system": "s", "code": "MB", "display": "d"}], "text": "t"})
        ));
        assert!(!matches_pattern(
            &p,
            &json!({"coding": [{"system": "s", "code": "MR"}]})
        ));
        assert!(equal(&json!({"a": 1}), &json!({"a": 1})));
        assert!(!equal(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    }
}
