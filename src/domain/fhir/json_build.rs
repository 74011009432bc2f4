//! Building FHIR JSON from owned values. `serde_json::json!` serializes every interpolated
//! value again (a deep copy through the serializer); these move them in instead, which matters
//! where the workflow assembles large resources per referral.

use serde_json::{Map, Value};

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
    object([("reference", string(key))])
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
}
