//! JSON Patch (RFC 6902): `add`, `remove`, `replace`, `move`, `copy` and `test`, on JSON
//! Pointers (RFC 6901).

use super::{PatchError, PROTECTED_MEMBERS};
use serde_json::Value;

/// Applies `patch` (an array of operations) to `resource`; on error `resource` is unchanged.
pub fn apply_json_patch(resource: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops = patch.as_array().ok_or_else(|| {
        PatchError::malformed("a JSON Patch document is an array of operations", None)
    })?;
    let mut work = resource.clone();
    for (n, op) in ops.iter().enumerate() {
        apply_op(&mut work, op).map_err(|text| match text {
            OpError::Malformed(t) => {
                PatchError::malformed(format!("JSON Patch operation {n}: {t}"), None)
            }
            OpError::NotApplicable(t, path) => PatchError::not_applicable(
                format!("JSON Patch operation {n}: {t}"),
                path.map(|p| pointer_expression(&work, &p)),
            ),
        })?;
    }
    *resource = work;
    Ok(())
}

enum OpError {
    Malformed(String),
    NotApplicable(String, Option<Vec<String>>),
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<(), OpError> {
    let name = member_str(op, "op")?;
    let path = pointer(member_str(op, "path")?)?;
    check_protected(&path)?;
    match name {
        "add" => add(doc, &path, member(op, "value")?.clone()),
        "remove" => remove(doc, &path).map(drop),
        "replace" => {
            let value = member(op, "value")?.clone();
            let slot = get_mut(doc, &path)?;
            *slot = value;
            Ok(())
        }
        "move" => {
            let from = pointer(member_str(op, "from")?)?;
            check_protected(&from)?;
            if path.len() > from.len() && path[..from.len()] == from[..] {
                return Err(OpError::Malformed(
                    "'from' may not be a prefix of 'path'".into(),
                ));
            }
            let value = remove(doc, &from)?;
            add(doc, &path, value)
        }
        "copy" => {
            let from = pointer(member_str(op, "from")?)?;
            let value = get_mut(doc, &from)?.clone();
            add(doc, &path, value)
        }
        "test" => {
            let expected = member(op, "value")?;
            if get_mut(doc, &path)? == expected {
                Ok(())
            } else {
                Err(OpError::NotApplicable(
                    "test failed: the value differs".into(),
                    Some(path),
                ))
            }
        }
        other => Err(OpError::Malformed(format!(
            "unknown op '{other}' (add, remove, replace, move, copy, test)"
        ))),
    }
}

fn member<'a>(op: &'a Value, name: &str) -> Result<&'a Value, OpError> {
    op.get(name)
        .ok_or_else(|| OpError::Malformed(format!("'{name}' is missing")))
}

fn member_str<'a>(op: &'a Value, name: &str) -> Result<&'a str, OpError> {
    member(op, name)?
        .as_str()
        .ok_or_else(|| OpError::Malformed(format!("'{name}' must be a string")))
}

/// RFC 6901: `""` is the whole document; `~1` is `/` and `~0` is `~`.
fn pointer(text: &str) -> Result<Vec<String>, OpError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let rest = text.strip_prefix('/').ok_or_else(|| {
        OpError::Malformed(format!(
            "'{text}' is not a JSON Pointer (it must start with '/')"
        ))
    })?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn check_protected(path: &[String]) -> Result<(), OpError> {
    match path.first() {
        None => Err(OpError::NotApplicable(
            "a patch may not replace the whole resource".into(),
            None,
        )),
        Some(first) if path.len() == 1 && PROTECTED_MEMBERS.contains(&first.as_str()) => {
            Err(OpError::NotApplicable(
                format!("a patch may not change '{first}'"),
                Some(path.to_vec()),
            ))
        }
        _ => Ok(()),
    }
}

fn not_found(path: &[String]) -> OpError {
    OpError::NotApplicable(
        format!("'/{}' is not in the resource", path.join("/")),
        Some(path.to_vec()),
    )
}

fn array_index(token: &str, len: usize, path: &[String]) -> Result<usize, OpError> {
    // RFC 6901: no leading zeros, no signs
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return Err(not_found(path));
    }
    token
        .parse::<usize>()
        .ok()
        .filter(|i| *i < len)
        .ok_or_else(|| not_found(path))
}

fn get_mut<'a>(doc: &'a mut Value, path: &[String]) -> Result<&'a mut Value, OpError> {
    let mut at = doc;
    for token in path {
        at = match at {
            Value::Object(map) => map.get_mut(token),
            Value::Array(list) => {
                let i = array_index(token, list.len(), path)?;
                list.get_mut(i)
            }
            _ => None,
        }
        .ok_or_else(|| not_found(path))?;
    }
    Ok(at)
}

fn split(path: &[String]) -> Result<(&[String], &str), OpError> {
    path.split_last()
        .map(|(last, parent)| (parent, last.as_str()))
        .ok_or_else(|| OpError::NotApplicable("the whole resource is not patched".into(), None))
}

fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), OpError> {
    let (parent, last) = split(path)?;
    match get_mut(doc, parent)? {
        Value::Object(map) => {
            map.insert(last.to_string(), value);
            Ok(())
        }
        Value::Array(list) if last == "-" => {
            list.push(value);
            Ok(())
        }
        Value::Array(list) => {
            // `add` may insert at the end, so the index may equal the length
            let i = array_index(last, list.len() + 1, path)?;
            list.insert(i, value);
            Ok(())
        }
        _ => Err(not_found(path)),
    }
}

fn remove(doc: &mut Value, path: &[String]) -> Result<Value, OpError> {
    let (parent, last) = split(path)?;
    match get_mut(doc, parent)? {
        Value::Object(map) => map.remove(last).ok_or_else(|| not_found(path)),
        Value::Array(list) => {
            let i = array_index(last, list.len(), path)?;
            Ok(list.remove(i))
        }
        _ => Err(not_found(path)),
    }
}

/// `/name/0/given` as `Patient.name[0].given`, for OperationOutcome.expression.
fn pointer_expression(doc: &Value, path: &[String]) -> String {
    let mut out = doc
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("Resource")
        .to_string();
    for token in path {
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{token}]"));
        } else {
            out.push('.');
            out.push_str(token);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patient() -> Value {
        json!({"resourceType": "Patient", "id": "p1", "active": true,
               "name": [{"family": "Lee", "given": ["Ann"]}]})
    }

    #[test]
    fn applies_each_operation_in_order() {
        let mut p = patient();
        let patch = json!([
            {"op": "test", "path": "/name/0/family", "value": "Lee"},
            {"op": "replace", "path": "/active", "value": false},
            {"op": "add", "path": "/name/0/given/-", "value": "Beth"},
            {"op": "add", "path": "/name/0/given/0", "value": "Zoe"},
            {"op": "copy", "from": "/name/0", "path": "/name/1"},
            {"op": "remove", "path": "/name/1/given/0"},
            {"op": "move", "from": "/active", "path": "/a~1b"}
        ]);
        apply_json_patch(&mut p, &patch).expect("applies");
        assert_eq!(
            p,
            json!({"resourceType": "Patient", "id": "p1", "a/b": false,
                   "name": [{"family": "Lee", "given": ["Zoe", "Ann", "Beth"]},
                            {"family": "Lee", "given": ["Ann", "Beth"]}]})
        );
    }

    #[test]
    fn all_or_nothing_and_failed_tests_name_the_element() {
        let mut p = patient();
        let patch = json!([
            {"op": "replace", "path": "/active", "value": false},
            {"op": "test", "path": "/name/0/family", "value": "Kim"}
        ]);
        let err = apply_json_patch(&mut p, &patch).expect_err("test fails");
        assert!(matches!(err, PatchError::NotApplicable { .. }), "{err:?}");
        assert_eq!(err.expression(), Some("Patient.name[0].family"));
        assert_eq!(p, patient(), "nothing applied");
    }

    #[test]
    fn refuses_identity_changes_bad_pointers_and_unknown_ops() {
        let mut p = patient();
        for (patch, malformed) in [
            (
                json!([{"op": "replace", "path": "/id", "value": "x"}]),
                false,
            ),
            (json!([{"op": "remove", "path": "/resourceType"}]), false),
            (json!([{"op": "move", "from": "/id", "path": "/x"}]), false),
            (json!([{"op": "replace", "path": "", "value": {}}]), false),
            (json!([{"op": "remove", "path": "/name/01"}]), false),
            (json!([{"op": "remove", "path": "/name/5"}]), false),
            (json!([{"op": "frobnicate", "path": "/active"}]), true),
            (json!([{"op": "add", "path": "active", "value": 1}]), true),
            (json!([{"op": "add", "path": "/active"}]), true),
            (json!({"op": "add"}), true),
        ] {
            let err = apply_json_patch(&mut p, &patch).expect_err("refused");
            assert_eq!(
                matches!(err, PatchError::Malformed { .. }),
                malformed,
                "{patch}: {err:?}"
            );
        }
        assert_eq!(p, patient());
    }
}
