//! Reading one element of a JSON object by scanning its keys. `Value::get` hashes the key with
//! SipHash (serde_json's maps are IndexMaps); FHIR elements have a handful of keys, and a scan
//! comparing lengths first is several times cheaper. Eligibility reads hundreds per referral.

use serde_json::Value;

/// Beyond this many keys a hashed lookup wins.
const SCAN_LIMIT: usize = 16;

/// `value.get(key)` for an object, by a scan when it is small.
pub fn field<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    if map.len() > SCAN_LIMIT {
        return map.get(key);
    }
    map.iter()
        .find(|(k, _)| k.len() == key.len() && k.as_str() == key)
        .map(|(_, v)| v)
}

/// `value.get(key)?.as_str()`, by [`field`].
pub fn field_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    field(value, key)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_what_get_finds() {
        let small = json!({"system": "s", "code": "c", "codes": 1});
        for key in ["system", "code", "codes", "cod", "display", ""] {
            assert_eq!(field(&small, key), small.get(key), "{key}");
        }
        let mut large = serde_json::Map::new();
        for i in 0..40 {
            large.insert(format!("k{i}"), json!(i));
        }
        let large = Value::Object(large);
        assert_eq!(field(&large, "k39"), Some(&json!(39)));
        assert_eq!(field(&large, "k40"), None);
        assert_eq!(field(&json!(["code"]), "code"), None);
        assert_eq!(field_str(&small, "code"), Some("c"));
        assert_eq!(field_str(&small, "codes"), None);
    }
}
