//! Bounded parsing of client JSON: a nesting-depth pre-scan, then serde_json.

use serde_json::Value;

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
    #[error("the body must be a JSON object (a FHIR resource)")]
    NotAnObject,
    #[error("the resource has no `resourceType` string")]
    MissingResourceType,
}

/// Rejects input nested deeper than `max_depth` before any allocation-heavy parse.
pub fn check_depth(bytes: &[u8], max_depth: usize) -> Result<(), JsonError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut line, mut line_start) = (1usize, 0usize);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(JsonError::TooDeep {
                        limit: max_depth,
                        line,
                        column: i - line_start + 1,
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Rejects input with more than `max` JSON values (object members and array items), before
/// a parse allocates for each of them. A byte scan: strings are skipped, nothing is built.
pub fn check_elements(bytes: &[u8], max: usize) -> Result<(), JsonError> {
    let (mut count, mut in_string, mut escaped) = (0usize, false, false);
    // Bit d set: the container at depth d is an array. Deeper than 128 levels is refused by
    // the depth check and serde_json anyway; those levels count as objects here.
    let (mut arrays, mut depth) = (0u128, 0usize);
    // After `[`, the next non-blank byte says whether the array has a first item.
    let mut array_opened = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if array_opened && !b.is_ascii_whitespace() {
            array_opened = false;
            if b != b']' {
                count += 1;
            }
        }
        let in_array = depth > 0 && depth <= 128 && arrays & (1 << (depth - 1)) != 0;
        match b {
            b'"' => in_string = true,
            b':' => count += 1,
            b',' if in_array => count += 1,
            b'[' | b'{' => {
                depth += 1;
                if depth <= 128 {
                    if b == b'[' {
                        arrays |= 1 << (depth - 1);
                        array_opened = true;
                    } else {
                        arrays &= !(1 << (depth - 1));
                    }
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if count > max {
            return Err(JsonError::TooManyElements { limit: max });
        }
    }
    Ok(())
}

/// Parses a resource: depth-checked, syntax-checked, an object with a `resourceType`.
pub fn parse_resource(bytes: &[u8], max_depth: usize) -> Result<Value, JsonError> {
    check_depth(bytes, max_depth)?;
    let value: Value = serde_json::from_slice(bytes).map_err(|e| JsonError::Syntax {
        line: e.line(),
        column: e.column(),
        message: syntax_message(&e),
    })?;
    let obj = value.as_object().ok_or(JsonError::NotAnObject)?;
    match obj.get("resourceType") {
        Some(Value::String(_)) => Ok(value),
        _ => Err(JsonError::MissingResourceType),
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

    #[test]
    fn depth_counts_only_structure_outside_strings() {
        assert!(check_depth(br#"{"a":"[[[[[[[[[[[["}"#, 2).is_ok());
        assert!(matches!(
            check_depth(b"[[[", 2),
            Err(JsonError::TooDeep { limit: 2, .. })
        ));
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_resource(b"{\n  \"resourceType\": \"Patient\",,\n}", 64).unwrap_err();
        assert!(matches!(err, JsonError::Syntax { line: 2, .. }), "{err:?}");
    }

    #[test]
    fn keeps_decimal_precision() {
        let v = parse_resource(
            br#"{"resourceType":"Observation","valueQuantity":{"value":1.50}}"#,
            64,
        )
        .unwrap();
        assert_eq!(
            v.to_string(),
            r#"{"resourceType":"Observation","valueQuantity":{"value":1.50}}"#
        );
    }

    #[test]
    fn element_count() {
        let body = br#"{"a": [1, 2, {"b": "x,y:z"}], "c": [], "d": [ ]}"#;
        // a, 1, 2, {..}, b, c, d
        assert_eq!(check_elements(body, 7), Ok(()));
        assert_eq!(
            check_elements(body, 6),
            Err(JsonError::TooManyElements { limit: 6 })
        );
    }
}
