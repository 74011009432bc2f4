//! FHIR R4 primitive types: JSON kind and the lexical rules of the R4 regexes, hand-written
//! (no regex engine on the hot path).

use serde_json::Value;

use crate::temporal::{self, Kind};
use base64::engine::{general_purpose::GeneralPurposeConfig, GeneralPurpose};
use base64::{alphabet, Engine};

/// Padded standard base64; unused low bits of the last symbol are tolerated, as elsewhere.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// The bytes of a base64Binary, whitespace (line breaks) ignored; None when malformed (a
/// symbol outside the alphabet, a length that is not a multiple of 4, misplaced padding).
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    if text.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        return BASE64.decode(compact).ok();
    }
    BASE64.decode(text).ok()
}

pub const PRIMITIVES: &[&str] = &[
    "boolean",
    "integer",
    "string",
    "decimal",
    "uri",
    "url",
    "canonical",
    "base64Binary",
    "instant",
    "date",
    "dateTime",
    "time",
    "code",
    "oid",
    "id",
    "markdown",
    "unsignedInt",
    "positiveInt",
    "uuid",
    "xhtml",
];

/// The longest FHIR string, in bytes (R4 `string`: "SHALL NOT exceed 1 MB"). It applies to every
/// primitive written as a JSON string except `base64Binary` and `xhtml`, which R4 does not limit.
pub const MAX_STRING_BYTES: usize = 1024 * 1024;

/// Whether a primitive's text is over [`MAX_STRING_BYTES`] for its type.
pub fn too_long(type_code: &str, text: &str) -> bool {
    text.len() > MAX_STRING_BYTES && !matches!(type_code, "base64Binary" | "xhtml")
}

pub fn is_primitive(type_code: &str) -> bool {
    type_code
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_lowercase)
}

/// `None` when `value` is a valid `type_code`; otherwise why not.
pub fn check(type_code: &str, value: &Value) -> Option<String> {
    match type_code {
        "boolean" => (!value.is_boolean()).then(|| "must be a JSON boolean".into()),
        "integer" => integer(value, i64::from(i32::MIN)),
        "unsignedInt" => integer(value, 0),
        "positiveInt" => integer(value, 1),
        "decimal" => decimal(value),
        _ => match value.as_str() {
            None => Some("must be a JSON string".into()),
            Some(s) => string(type_code, s),
        },
    }
}

fn integer(value: &Value, min: i64) -> Option<String> {
    let Value::Number(n) = value else {
        return Some("must be a JSON number".into());
    };
    match n.as_i64() {
        Some(i) if i >= min && i <= i64::from(i32::MAX) => None,
        Some(_) => Some(format!("{n} is out of range")),
        None => Some(format!("{n} is not an integer")),
    }
}

fn decimal(value: &Value) -> Option<String> {
    let Value::Number(n) = value else {
        return Some("must be a JSON number".into());
    };
    // JSON numbers already match the R4 decimal regex (exponents included)
    let _ = n;
    None
}

fn string(type_code: &str, s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("must not be an empty string".into());
    }
    let ok = match type_code {
        "string" | "markdown" => s.chars().any(|c| !c.is_whitespace()) || s.len() < 2,
        "code" => is_code(s),
        "id" => {
            s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
        "uri" | "url" | "canonical" => !s.chars().any(char::is_whitespace),
        "oid" => is_oid(s),
        "uuid" => is_uuid(s),
        "date" => temporal::is_valid(Kind::Date, s),
        "dateTime" => temporal::is_valid(Kind::DateTime, s),
        "instant" => temporal::is_valid(Kind::Instant, s),
        "time" => temporal::is_valid(Kind::Time, s),
        "base64Binary" => decode_base64(s).is_some(),
        "xhtml" => s.trim_start().starts_with("<div"),
        _ => true,
    };
    (!ok).then(|| format!("'{s}' is not a valid {type_code}"))
}

/// `[^\s]+(\s[^\s]+)*`: no leading, trailing or doubled whitespace.
fn is_code(s: &str) -> bool {
    let mut prev_space = true;
    for c in s.chars() {
        let space = c.is_whitespace();
        if space && prev_space {
            return false;
        }
        prev_space = space;
    }
    !prev_space
}

fn is_oid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("urn:oid:") else {
        return false;
    };
    let mut parts = rest.split('.');
    let first_ok = parts.next().is_some_and(|p| matches!(p, "0" | "1" | "2"));
    let mut count = 0;
    let rest_ok = parts.all(|p| {
        count += 1;
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p == "0" || !p.starts_with('0'))
    });
    first_ok && rest_ok && count > 0
}

fn is_uuid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    let groups: Vec<&str> = rest.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_and_times() {
        for ok in [
            "2026",
            "2026-11",
            "2026-11-20",
            "2026-11-20T09:15:00-08:00",
            "2026-11-20T09:15:00.123Z",
        ] {
            assert_eq!(check("dateTime", &json!(ok)), None, "{ok}");
        }
        for bad in [
            "2026-13",
            "26-11-20",
            "2026-11-20T09:15",
            "2026-11-20T09:15:00",
            "2026-11T10:00:00Z",
            "2026-02-30",
            "2025-02-29",
            "2026-11-20T24:00:00Z",
            "2026-11-20T09:15:00+15:00",
            "",
        ] {
            assert!(check("dateTime", &json!(bad)).is_some(), "{bad}");
        }
        assert!(check("instant", &json!("2026-11-20")).is_some());
        assert_eq!(check("date", &json!("1941-03-14")), None);
        assert!(check("date", &json!("1941-03-14T00:00:00Z")).is_some());
        assert_eq!(check("date", &json!("2024-02-29")), None);
        assert!(check("date", &json!("2026-04-31")).is_some());
        assert_eq!(check("time", &json!("23:59:60")), None);
        assert!(check("time", &json!("24:00:00")).is_some());
    }

    #[test]
    fn codes_ids_and_numbers() {
        assert_eq!(check("code", &json!("in-progress")), None);
        assert!(check("code", &json!("urgent ")).is_some());
        assert!(check("code", &json!("a  b")).is_some());
        assert!(check("id", &json!("a_b")).is_some());
        assert_eq!(check("positiveInt", &json!(1)), None);
        assert!(check("positiveInt", &json!(0)).is_some());
        assert!(check("integer", &json!(1.5)).is_some());
        assert!(check("integer", &json!("1")).is_some());
        assert!(check("decimal", &json!(1.5)).is_none());
        assert!(check("decimal", &json!("1.5")).is_some());
        assert_eq!(check("oid", &json!("urn:oid:2.16.840.1")), None);
        assert!(check("oid", &json!("urn:oid:2.016")).is_some());
        assert!(check("uri", &json!("a b")).is_some());
        assert!(check("string", &json!("")).is_some());
        assert_eq!(check("base64Binary", &json!("aGVs\r\nbG8=")), None);
        for bad in ["aGVsbG8", "aGVsbG8==", "aGV=bG8=", "aGVs%G8="] {
            assert!(check("base64Binary", &json!(bad)).is_some(), "{bad}");
        }
    }
}
