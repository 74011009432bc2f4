//! Rewriting `Reference.reference` values, e.g. a transaction's `urn:uuid:` fullUrls to `Type/id`.

use serde_json::Value;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// Replaces every `reference` string found in `map`; returns how many were replaced.
pub fn rewrite<S: BuildHasher>(value: &mut Value, map: &HashMap<String, String, S>) -> usize {
    rewrite_with(value, &mut |r| map.get(r).cloned())
}

/// Replaces every `reference` string for which `target` gives a new value; returns how many
/// were replaced.
pub fn rewrite_with(value: &mut Value, target: &mut impl FnMut(&str) -> Option<String>) -> usize {
    match value {
        Value::Object(fields) => {
            let mut n = 0;
            for (key, child) in fields.iter_mut() {
                if key == "reference" {
                    if let Value::String(s) = child {
                        if let Some(new) = target(s.as_str()) {
                            *s = new;
                            n += 1;
                        }
                        continue;
                    }
                }
                n += rewrite_with(child, target);
            }
            n
        }
        Value::Array(items) => items.iter_mut().map(|c| rewrite_with(c, target)).sum(),
        _ => 0,
    }
}

/// `(Type, query)` of a conditional reference (`Patient?identifier=s|v`), which a server
/// resolves by searching (R4 transaction processing rules).
pub fn conditional(reference: &str) -> Option<(&str, &str)> {
    let (rt, query) = reference.split_once('?')?;
    let type_name = rt.starts_with(|c: char| c.is_ascii_uppercase())
        && rt.chars().all(|c| c.is_ascii_alphanumeric());
    (type_name && !query.is_empty()).then_some((rt, query))
}

/// Every `reference` string in the resource, with a FHIRPath-like location (`subject.reference`).
pub fn references_with_paths(value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect(value, &mut String::new(), &mut out);
    out
}

/// One path buffer for the whole walk: a location is allocated only for a reference found.
fn collect(value: &Value, path: &mut String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                let base = push_key(path, key);
                match (key.as_str(), child) {
                    ("reference", Value::String(s)) => out.push((path.clone(), s.clone())),
                    _ => collect(child, path, out),
                }
                path.truncate(base);
            }
        }
        Value::Array(items) => {
            let base = path.len();
            for (i, child) in items.iter().enumerate() {
                push_index(path, i);
                collect(child, path, out);
                path.truncate(base);
            }
        }
        _ => {}
    }
}

/// Replaces every `reference` string for which `target(location, reference)` gives a new
/// value, as [`rewrite_with`] does, telling it where the reference is (`subject.reference`).
pub fn rewrite_with_paths(
    value: &mut Value,
    target: &mut impl FnMut(&str, &str) -> Option<String>,
) -> usize {
    rewrite_at(value, &mut String::new(), target)
}

fn rewrite_at(
    value: &mut Value,
    path: &mut String,
    target: &mut impl FnMut(&str, &str) -> Option<String>,
) -> usize {
    match value {
        Value::Object(fields) => {
            let mut n = 0;
            for (key, child) in fields.iter_mut() {
                let base = push_key(path, key);
                match child {
                    Value::String(s) if key == "reference" => {
                        if let Some(new) = target(path, s.as_str()) {
                            *s = new;
                            n += 1;
                        }
                    }
                    _ => n += rewrite_at(child, path, target),
                }
                path.truncate(base);
            }
            n
        }
        Value::Array(items) => {
            let base = path.len();
            let mut n = 0;
            for (i, child) in items.iter_mut().enumerate() {
                push_index(path, i);
                n += rewrite_at(child, path, target);
                path.truncate(base);
            }
            n
        }
        _ => 0,
    }
}

/// Steps the location into member `key`; gives the length to truncate back to.
fn push_key(path: &mut String, key: &str) -> usize {
    let base = path.len();
    if base > 0 {
        path.push('.');
    }
    path.push_str(key);
    base
}

/// Steps the location into item `i` of the array it names.
fn push_index(path: &mut String, i: usize) {
    use std::fmt::Write;
    // writing to a String cannot fail
    let _ = write!(path, "[{i}]");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditional_references_are_type_and_query() {
        assert_eq!(
            conditional("Patient?identifier=s|v"),
            Some(("Patient", "identifier=s|v"))
        );
        assert_eq!(conditional("Patient/1"), None);
        assert_eq!(conditional("http://x.org/Patient?x=1"), None);
        assert_eq!(conditional("Patient?"), None);
    }

    #[test]
    fn rewrites_nested_references() {
        let mut r = json!({"subject": {"reference": "urn:uuid:1"},
                           "reasonReference": [{"reference": "urn:uuid:2"}, {"reference": "Condition/x"}]});
        let map = HashMap::from([
            ("urn:uuid:1".to_string(), "Patient/a".to_string()),
            ("urn:uuid:2".to_string(), "Condition/b".to_string()),
        ]);
        assert_eq!(rewrite(&mut r, &map), 2);
        assert_eq!(r["reasonReference"][0]["reference"], "Condition/b");
        let refs = references_with_paths(&r);
        assert_eq!(refs[1].0, "reasonReference[0].reference");
        let mut seen = Vec::new();
        let n = rewrite_with_paths(&mut r, &mut |path, reference| {
            seen.push(format!("{path}={reference}"));
            (path == "reasonReference[1].reference").then(|| "Condition/y".to_string())
        });
        assert_eq!(n, 1);
        assert_eq!(
            seen,
            [
                "subject.reference=Patient/a",
                "reasonReference[0].reference=Condition/b",
                "reasonReference[1].reference=Condition/x"
            ]
        );
        assert_eq!(r["reasonReference"][1]["reference"], "Condition/y");
    }
}
