//! Building FHIR JSON from owned values. `serde_json::json!` serializes every interpolated
//! value again (a deep copy through the serializer); these move them in instead, which matters
//! where the workflow assembles large resources per referral.

use serde_json::{Map, Value};
use std::sync::LazyLock;

/// An object from `(key, value)` pairs, values moved in; `Null` values are left out.
pub fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut map = Map::with_capacity(N);
    for (key, value) in fields {
        if !value.is_null() {
            map.insert(key.to_string(), value);
        }
    }
    Value::Object(map)
}

pub fn string(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

/// `{"reference": "Type/id"}`
pub fn reference(key: impl Into<String>) -> Value {
    static SHAPE: LazyLock<Shape> = LazyLock::new(|| Shape::new(["reference"]));
    SHAPE.with([string(key)])
}

/// `{"reference": "{rt}/{id}"}`
pub fn reference_to(rt: &str, id: &str) -> Value {
    reference(crate::text::concat([rt, "/", id]))
}

/// The keys of an object built many times over, hashed once. An object map hashes every key it
/// inserts (SipHash); a copy of a map keeps the hashes, so filling a copy of the shape's map
/// costs no hashing. Generated resources are a few hundred small objects of a few shapes.
#[derive(Debug, Clone)]
pub struct Shape(Map<String, Value>);

impl Shape {
    pub fn new<const N: usize>(keys: [&str; N]) -> Self {
        let mut map = Map::with_capacity(N);
        for key in keys {
            map.insert(key.to_string(), Value::Null);
        }
        debug_assert_eq!(map.len(), N, "a shape's keys are distinct");
        Self(map)
    }

    /// The shape with one more key, last.
    pub fn and(mut self, key: &str) -> Self {
        self.0.insert(key.to_string(), Value::Null);
        self
    }

    /// The object with `values` in key order; `Null` values are left out (as [`object`] does).
    pub fn with<const N: usize>(&self, values: [Value; N]) -> Value {
        let mut map = self.filled(values);
        if map.values().any(Value::is_null) {
            map.retain(|_, v| !v.is_null());
        }
        Value::Object(map)
    }

    /// The object with `values` in key order, `Null` values kept (as `json!` does).
    pub fn with_nulls<const N: usize>(&self, values: [Value; N]) -> Value {
        Value::Object(self.filled(values))
    }

    fn filled<const N: usize>(&self, values: [Value; N]) -> Map<String, Value> {
        debug_assert_eq!(self.0.len(), N, "one value per key of the shape");
        let mut map = self.0.clone();
        for (slot, value) in map.values_mut().zip(values) {
            // every slot of a shape is `Null`, which owns nothing: forgetting it skips a call
            // to drop it (a few hundred slots per referral)
            std::mem::forget(std::mem::replace(slot, value));
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_like_json_macro_without_nulls() {
        let built = object([
            ("a", string("x")),
            ("b", Value::Null),
            ("c", reference("Patient/1")),
        ]);
        assert_eq!(built, json!({"a": "x", "c": {"reference": "Patient/1"}}));
    }

    #[test]
    fn shapes_fill_in_key_order() {
        let shape = Shape::new(["a", "b", "c"]);
        let built = shape.with([string("x"), Value::Null, reference("Patient/1")]);
        assert_eq!(built, json!({"a": "x", "c": {"reference": "Patient/1"}}));
        assert_eq!(
            serde_json::to_string(&built).unwrap(),
            r#"{"a":"x","c":{"reference":"Patient/1"}}"#
        );
        let kept = shape.with_nulls([string("x"), Value::Null, string("z")]);
        assert_eq!(
            serde_json::to_string(&kept).unwrap(),
            r#"{"a":"x","b":null,"c":"z"}"#
        );
        // the copy is a working map: lookups and inserts still find the keys
        let mut again = shape.with([string("1"), string("2"), string("3")]);
        assert_eq!(again["b"], "2");
        again["d"] = string("4");
        assert_eq!(again.as_object().map(|m| m.len()), Some(4));
    }
}
