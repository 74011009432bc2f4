//! Member lookup in a JSON object. serde_json's map (an IndexMap, for `preserve_order`) hashes
//! every lookup with SipHash; FHIR objects are small, and comparing their few keys (lengths
//! first) is several times cheaper. Validation reads thousands per Bundle.

use serde_json::{Map, Value};

/// Objects up to this size are searched by comparing keys.
pub const SCAN_LIMIT: usize = 16;

/// `obj[name]`.
pub fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if obj.len() > SCAN_LIMIT {
        return obj.get(name);
    }
    obj.iter()
        .find(|(k, _)| k.len() == name.len() && k.as_str() == name)
        .map(|(_, v)| v)
}

/// `value[name]` when `value` is an object.
pub fn member<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value.as_object().and_then(|obj| field(obj, name))
}

/// [`member`] as a method, for lookup chains (`resource.member("code")`).
pub trait Member {
    fn member(&self, name: &str) -> Option<&Value>;
}

impl Member for Value {
    fn member(&self, name: &str) -> Option<&Value> {
        member(self, name)
    }
}

/// The items of `value[name]`, an element that may repeat: an array's items, or the one object
/// (borrowed in place: no list is built).
pub fn repeated<'a>(value: &'a Value, name: &str) -> std::slice::Iter<'a, Value> {
    match member(value, name) {
        Some(Value::Array(items)) => items.iter(),
        Some(item @ Value::Object(_)) => std::slice::from_ref(item).iter(),
        _ => [].iter(),
    }
}

/// `value[name]` as a string.
pub fn member_str<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    member(value, name).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_what_get_finds() {
        let small = json!({"system": "s", "code": "c", "codes": 1});
        for key in ["system", "code", "codes", "cod", "display", ""] {
            assert_eq!(member(&small, key), small.get(key), "{key}");
        }
        assert_eq!(member_str(&small, "codes"), None);
    }

    #[test]
    fn finds_members_of_small_and_large_objects() {
        let small = json!({"a": 1, "resourceType": "Patient"});
        assert_eq!(member_str(&small, "resourceType"), Some("Patient"));
        assert_eq!(member(&small, "b"), None);
        let mut large = Map::new();
        for i in 0..=SCAN_LIMIT {
            large.insert(format!("k{i}"), json!(i));
        }
        let large = Value::Object(large);
        assert_eq!(member(&large, "k16"), Some(&json!(16)));
        assert_eq!(member(&large, "k99"), None);
        assert_eq!(member(&json!([1]), "k1"), None);
    }
}
