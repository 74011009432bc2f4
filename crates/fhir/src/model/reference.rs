//! Rewriting `Reference.reference` values, e.g. a transaction's `urn:uuid:` fullUrls to `Type/id`.

use serde_json::Value;
use std::collections::HashMap;

/// Replaces every `reference` string found in `map`; returns how many were replaced.
pub fn rewrite(value: &mut Value, map: &HashMap<String, String>) -> usize {
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
    collect(value, String::new(), &mut out);
    out
}

fn collect(value: &Value, path: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (key.as_str(), child) {
                    ("reference", Value::String(s)) => out.push((child_path, s.clone())),
                    _ => collect(child, child_path, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect(child, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
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
    }
}
