//! Bounded parsing of client JSON: serde_json, with nesting depth and value count limited
//! while the tree is built; and, in the submodules, member access, building, positions and
//! compact writing.

pub mod build;
pub mod member;
pub mod position;
pub mod write;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonError {
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "JSON nesting is deeper than the limit of {limit} levels (line {line}, column {column})"
    )]
    TooDeep {
        limit: usize,
        line: usize,
        column: usize,
    },
    #[error("the body has more than {limit} JSON elements")]
    TooManyElements { limit: usize },
    /// FHIR R4 §2.6.2 (JSON): an object never repeats a property name.
    #[error(
        "the property '{key}' appears twice in the object ending at line {line}, column {column}"
    )]
    DuplicateKey {
        key: String,
        line: usize,
        column: usize,
    },
    /// FHIR R4 `string`: no code points below U+0020 other than tab, CR and LF.
    #[error("a string holds the control character U+{code:04X}, which FHIR strings must not contain (line {line}, column {column})")]
    ControlCharacter {
        code: u32,
        line: usize,
        column: usize,
    },
    #[error("the body must be a JSON object (a FHIR resource)")]
    NotAnObject,
    #[error("the resource has no `resourceType` string")]
    MissingResourceType,
}

/// What one request body may hold: nesting depth and number of JSON values (object members
/// and array items). Both are enforced while parsing, so an oversized body is refused before
/// the parse has allocated for all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    pub max_depth: usize,
    pub max_elements: usize,
}

/// The first character FHIR forbids in a string: below U+0020, other than tab, LF and CR.
pub fn forbidden_control(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
}

/// Parses a resource: depth- and size-bounded, syntax-checked, an object with a `resourceType`.
pub fn parse_resource(bytes: &[u8], limits: JsonLimits) -> Result<Value, JsonError> {
    let value = parse_bounded(bytes, limits)?;
    let obj = value.as_object().ok_or(JsonError::NotAnObject)?;
    match obj.get("resourceType") {
        Some(Value::String(_)) => Ok(value),
        _ => Err(JsonError::MissingResourceType),
    }
}

/// Parses any JSON value within `limits`, in one pass: the limits are checked as the tree is
/// built, not by a separate scan of the bytes.
pub fn parse_bounded(bytes: &[u8], limits: JsonLimits) -> Result<Value, JsonError> {
    // One UTF-8 check of the whole body, instead of one per string inside the parse.
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = position(bytes, e.valid_up_to());
        JsonError::Syntax {
            line,
            column,
            message: "the body is not valid UTF-8".into(),
        }
    })?;
    let budget = Budget {
        limits,
        elements: Cell::new(0),
        exceeded: Cell::new(None),
        duplicate: RefCell::new(None),
        members: RefCell::new(Vec::new()),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = BoundedValue {
        budget: &budget,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    parsed.map_err(|e| match budget.exceeded.get() {
        Some(Exceeded::Depth) => JsonError::TooDeep {
            limit: limits.max_depth,
            line: e.line(),
            column: e.column(),
        },
        Some(Exceeded::Elements) => JsonError::TooManyElements {
            limit: limits.max_elements,
        },
        Some(Exceeded::Duplicate) => JsonError::DuplicateKey {
            key: budget.duplicate.take().unwrap_or_default(),
            line: e.line(),
            column: e.column(),
        },
        Some(Exceeded::Control(code)) => JsonError::ControlCharacter {
            code,
            line: e.line(),
            column: e.column(),
        },
        None => JsonError::Syntax {
            line: e.line(),
            column: e.column(),
            message: syntax_message(&e),
        },
    })
}

/// Line and column (1-based, in bytes) of `offset`, as serde_json reports them (the XML reader
/// reports its positions the same way).
pub(crate) fn position(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, before.len() - line_start + 1)
}

#[derive(Debug, Clone, Copy)]
enum Exceeded {
    Depth,
    Elements,
    Duplicate,
    Control(u32),
}

/// The limits and what has been spent of them; `exceeded` tells a limit error from a syntax
/// error once serde_json has wrapped either.
struct Budget {
    limits: JsonLimits,
    elements: Cell<usize>,
    exceeded: Cell<Option<Exceeded>>,
    /// The repeated key, when `exceeded` is `Duplicate`.
    duplicate: RefCell<Option<String>>,
    /// Members of the objects being read, innermost last: an object is built once its
    /// members are all read, at its final size, instead of growing (and rehashing) as it goes.
    members: RefCell<Vec<(String, Value)>>,
}

impl Budget {
    fn element<E: de::Error>(&self) -> Result<(), E> {
        let n = self.elements.get() + 1;
        self.elements.set(n);
        if n > self.limits.max_elements {
            self.exceeded.set(Some(Exceeded::Elements));
            return Err(E::custom("too many JSON values"));
        }
        Ok(())
    }

    /// A string (value or key) as FHIR allows it: no control characters. Its length depends on
    /// its type (R4 limits `string` to 1 MB, not `base64Binary` or `xhtml`), so the validator
    /// checks it; the body limit bounds what is read.
    fn string<E: de::Error>(&self, text: &str) -> Result<(), E> {
        if let Some(c) = forbidden_control(text) {
            self.exceeded.set(Some(Exceeded::Control(c as u32)));
            return Err(E::custom("control character in a string"));
        }
        Ok(())
    }

    fn enter<E: de::Error>(&self, depth: usize) -> Result<(), E> {
        if depth > self.limits.max_depth {
            self.exceeded.set(Some(Exceeded::Depth));
            return Err(E::custom("JSON nesting too deep"));
        }
        Ok(())
    }
}

/// A `serde_json::Value` built under a [`Budget`]; `depth` is the nesting of its container.
struct BoundedValue<'b> {
    budget: &'b Budget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for BoundedValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// serde_json's `arbitrary_precision` hands a number over as a one-member map under this key.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl BoundedValue<'_> {
    /// Reads an object's members onto the budget's member stack. On an error the stack is
    /// left as it is: the whole parse fails.
    fn members<'de, A: MapAccess<'de>>(
        &self,
        map: &mut A,
        first: String,
        depth: usize,
    ) -> Result<(), A::Error> {
        let mut key = first;
        loop {
            self.budget.element()?;
            let value = map.next_value_seed(BoundedValue {
                budget: self.budget,
                depth,
            })?;
            self.budget.members.borrow_mut().push((key, value));
            match map.next_key::<String>()? {
                Some(k) => {
                    self.budget.string(&k)?;
                    key = k;
                }
                None => return Ok(()),
            }
        }
    }
}

impl<'de> Visitor<'de> for BoundedValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.budget.string(v)?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.budget.string(&v)?;
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        self.budget.enter(depth)?;
        let mut items = Vec::new();
        loop {
            let item = BoundedValue {
                budget: self.budget,
                depth,
            };
            match seq.next_element_seed(item)? {
                Some(v) => {
                    self.budget.element()?;
                    items.push(v);
                }
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            self.budget.enter(self.depth + 1)?;
            return Ok(Value::Object(Map::new()));
        };
        if first == NUMBER_TOKEN {
            let text: String = map.next_value()?;
            self.budget.string(&text)?;
            return text
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .map_err(de::Error::custom);
        }
        self.budget.string(&first)?;
        let depth = self.depth + 1;
        self.budget.enter(depth)?;
        let start = self.budget.members.borrow().len();
        let read = self.members(&mut map, first, depth);
        let mut stack = self.budget.members.borrow_mut();
        read?;
        let mut members = Map::with_capacity(stack.len() - start);
        for (key, value) in stack.drain(start..) {
            match members.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(slot) => {
                    *self.budget.duplicate.borrow_mut() = Some(slot.key().clone());
                    self.budget.exceeded.set(Some(Exceeded::Duplicate));
                    return Err(de::Error::custom("duplicate property"));
                }
            }
        }
        Ok(Value::Object(members))
    }
}

/// serde_json appends " at line X column Y"; we report those separately.
fn syntax_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(pos) => text[..pos].to_string(),
        None => text,
    }
}

pub fn resource_type_of(resource: &Value) -> Option<&str> {
    resource.get("resourceType").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: JsonLimits = JsonLimits {
        max_depth: 64,
        max_elements: 1000,
    };

    fn limits(max_depth: usize, max_elements: usize) -> JsonLimits {
        JsonLimits {
            max_depth,
            max_elements,
        }
    }

    #[test]
    fn depth_counts_only_structure_outside_strings() {
        assert!(parse_bounded(br#"{"a":"[[[[[[[[[[[["}"#, limits(2, 100)).is_ok());
        assert!(parse_bounded(br#"{"a":[{"b":1.5}]}"#, limits(3, 100)).is_ok());
        assert!(matches!(
            parse_bounded(b"[[[", limits(2, 100)),
            Err(JsonError::TooDeep { limit: 2, .. })
        ));
        assert!(matches!(
            parse_bounded(br#"{"a":{"b":{}}}"#, limits(2, 100)),
            Err(JsonError::TooDeep { limit: 2, .. })
        ));
    }

    #[test]
    fn too_deep_has_position() {
        let err = parse_bounded(b"{\n \"a\": [[[1]]]}", limits(3, 100)).unwrap_err();
        assert!(
            matches!(
                err,
                JsonError::TooDeep {
                    limit: 3,
                    line: 2,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_resource(b"{\n  \"resourceType\": \"Patient\",,\n}", LIMITS).unwrap_err();
        assert!(matches!(err, JsonError::Syntax { line: 2, .. }), "{err:?}");
        let err = parse_resource(br#"{"resourceType":"Patient"} x"#, LIMITS).unwrap_err();
        assert!(matches!(err, JsonError::Syntax { line: 1, .. }), "{err:?}");
        let err = parse_resource(b"{\n \"resourceType\": \"Pati\xffent\"}", LIMITS).unwrap_err();
        assert!(
            matches!(
                err,
                JsonError::Syntax {
                    line: 2,
                    column: 23,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn keeps_decimal_precision_and_member_order() {
        let text = r#"{"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"mg"},"z":-0.0,"a":[-7,18446744073709551616]}"#;
        let v = parse_resource(text.as_bytes(), LIMITS).unwrap();
        assert_eq!(v.to_string(), text);
        // numbers as serde_json itself reads them (it writes 1e3 back as 1e+3)
        let text = r#"{"resourceType":"Basic","a":[1e3,2.5E-7,0.0001]}"#;
        let v = parse_resource(text.as_bytes(), LIMITS).unwrap();
        let plain = serde_json::from_str::<Value>(text).unwrap();
        assert_eq!(v.to_string(), plain.to_string());
    }

    #[test]
    fn element_count() {
        let body = br#"{"a": [1, 2, {"b": "x,y:z"}], "c": [], "d": [ ]}"#;
        // a, 1, 2, {..}, b, c, d
        assert!(parse_bounded(body, limits(8, 7)).is_ok());
        assert_eq!(
            parse_bounded(body, limits(8, 6)),
            Err(JsonError::TooManyElements { limit: 6 })
        );
    }

    #[test]
    fn not_an_object_or_no_resource_type() {
        assert_eq!(parse_resource(b"[1]", LIMITS), Err(JsonError::NotAnObject));
        assert_eq!(
            parse_resource(br#"{"resourceType":3}"#, LIMITS),
            Err(JsonError::MissingResourceType)
        );
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_name() {
        let err = parse_resource(
            br#"{"resourceType":"Patient","gender":"male","gender":"female"}"#,
            LIMITS,
        )
        .unwrap_err();
        assert!(
            matches!(&err, JsonError::DuplicateKey { key, line: 1, .. } if key == "gender"),
            "{err:?}"
        );
        let err = parse_resource(
            br#"{"resourceType":"Patient","resourceType":"Patient"}"#,
            LIMITS,
        )
        .unwrap_err();
        assert!(
            matches!(&err, JsonError::DuplicateKey { key, .. } if key == "resourceType"),
            "{err:?}"
        );
        // nested, and the same name in sibling objects is fine
        assert!(parse_bounded(
            br#"{"a":[{"b":1},{"b":2}],"c":{"b":{"d":1,"d":2}}}"#,
            LIMITS
        )
        .is_err());
        assert!(parse_bounded(br#"{"a":[{"b":1},{"b":2}],"c":{"b":1}}"#, LIMITS).is_ok());
    }

    #[test]
    fn control_characters_are_refused_in_values_and_keys() {
        for body in [
            r#"{"resourceType":"Patient","id":"a\u0000b"}"#,
            r#"{"resourceType":"Patient","name":[{"family":"x\u001fy"}]}"#,
            "{\"resourceType\":\"Patient\",\"gen\\u0001der\":\"male\"}",
            r#"{"resourceType":"Pati\u0000ent"}"#,
        ] {
            let err = parse_resource(body.as_bytes(), LIMITS).unwrap_err();
            assert!(
                matches!(err, JsonError::ControlCharacter { .. }),
                "{body}: {err:?}"
            );
        }
        let err =
            parse_resource(br#"{"resourceType":"Patient","id":"a\u0000"}"#, LIMITS).unwrap_err();
        assert!(matches!(
            err,
            JsonError::ControlCharacter {
                code: 0,
                line: 1,
                ..
            }
        ));
        // tab, CR and LF are allowed
        let ok = r#"{"resourceType":"Patient","text":{"div":"a\tb\r\nc"}}"#;
        assert!(parse_resource(ok.as_bytes(), LIMITS).is_ok());
    }

    #[test]
    fn strings_over_one_megabyte_are_read_for_the_validator_to_judge_by_type() {
        let long = format!(
            r#"{{"resourceType":"Binary","contentType":"text/plain","data":"{}"}}"#,
            "QUFB".repeat(300_000)
        );
        assert!(parse_resource(long.as_bytes(), LIMITS).is_ok());
    }
}
