//! Applying one differential element to the element it constrains: each property the
//! differential states replaces the base's, except that constraints, conditions and
//! mappings add to the base's, and bindings and slicing are merged member by member.
//! A profile may narrow cardinality and types, never widen them.

use serde_json::{Map, Value};

/// Fields that identify the element rather than constrain it.
const IDENTITY: &[&str] = &["id", "path", "sliceName", "base"];

/// How the element came to be: a new slice may have any minimum (the slicing element's
/// minimum counts all slices together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Existing,
    NewSlice,
}

/// Merges `diff` into `def`; the error says what widened.
pub fn merge(def: &mut Map<String, Value>, diff: &Value, origin: Origin) -> Result<(), String> {
    let Some(diff) = diff.as_object() else {
        return Err("an element must be a JSON object".into());
    };
    check_cardinality(def, diff, origin)?;
    if let Some(types) = diff.get("type").and_then(Value::as_array) {
        check_types(def, types)?;
    }
    for (key, value) in diff {
        if IDENTITY.contains(&key.as_str()) {
            continue;
        }
        match key.as_str() {
            "constraint" => append_unique(def, key, value, |c| c.get("key").cloned()),
            "condition" => append_unique(def, key, value, |c| Some(c.clone())),
            "mapping" => append_unique(def, key, value, |m| Some(m.clone())),
            "binding" | "slicing" => merge_object(def, key, value),
            _ => {
                // a fixed or pattern value replaces any the base had
                if key.starts_with("fixed") || key.starts_with("pattern") {
                    def.retain(|k, _| !k.starts_with("fixed") && !k.starts_with("pattern"));
                }
                def.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(())
}

fn check_cardinality(
    def: &Map<String, Value>,
    diff: &Map<String, Value>,
    origin: Origin,
) -> Result<(), String> {
    let base_min = def.get("min").and_then(Value::as_u64).unwrap_or(0);
    let base_max = def.get("max").and_then(Value::as_str).unwrap_or("*");
    if let Some(min) = diff.get("min") {
        let Some(min) = min.as_u64() else {
            return Err(format!("min {min} is not a non-negative integer"));
        };
        if origin == Origin::Existing && min < base_min {
            return Err(format!(
                "min {min} is below the base minimum {base_min}: a profile may not widen its base"
            ));
        }
    }
    if let Some(max) = diff.get("max") {
        let Some(max) = max.as_str() else {
            return Err(format!("max {max} is not a string"));
        };
        let widens = match (parse_max(max), parse_max(base_max)) {
            (Err(()), _) => return Err(format!("max '{max}' is neither '*' nor a number")),
            (Ok(None), Ok(Some(_))) => true,
            (Ok(Some(m)), Ok(Some(b))) => m > b,
            _ => false,
        };
        if widens {
            return Err(format!(
                "max {max} is above the base maximum {base_max}: a profile may not widen its base"
            ));
        }
    }
    Ok(())
}

/// `*` is `None` (unbounded).
fn parse_max(max: &str) -> Result<Option<u64>, ()> {
    if max == "*" {
        return Ok(None);
    }
    max.parse().map(Some).map_err(|_| ())
}

/// Each type the differential lists must be one the base allows (a Quantity specialization
/// counts as a Quantity; an abstract base type allows its descendants).
fn check_types(def: &Map<String, Value>, types: &[Value]) -> Result<(), String> {
    let base: Vec<&str> = def
        .get("type")
        .and_then(Value::as_array)
        .map(|ts| ts.iter().filter_map(|t| t.get("code")?.as_str()).collect())
        .unwrap_or_default();
    if base.is_empty() {
        return Ok(());
    }
    for t in types {
        let Some(code) = t.get("code").and_then(Value::as_str) else {
            return Err("a type has no code".into());
        };
        let allowed = base.iter().any(|b| {
            *b == code
                || matches!(
                    *b,
                    "Resource" | "DomainResource" | "Element" | "BackboneElement"
                )
                || b.starts_with("http://hl7.org/fhirpath/System.")
                || (*b == "Quantity"
                    && matches!(
                        code,
                        "Age"
                            | "Count"
                            | "Distance"
                            | "Duration"
                            | "MoneyQuantity"
                            | "SimpleQuantity"
                    ))
        });
        if !allowed {
            return Err(format!(
                "type {code} is not one the base allows ({})",
                base.join(" | ")
            ));
        }
    }
    Ok(())
}

fn append_unique(
    def: &mut Map<String, Value>,
    key: &str,
    value: &Value,
    identity: impl Fn(&Value) -> Option<Value>,
) {
    let Some(items) = value.as_array() else {
        return;
    };
    let entry = def
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(existing) = entry.as_array_mut() else {
        *entry = value.clone();
        return;
    };
    for item in items {
        let id = identity(item);
        if id.is_none() || !existing.iter().any(|e| identity(e) == id) {
            existing.push(item.clone());
        }
    }
}

fn merge_object(def: &mut Map<String, Value>, key: &str, value: &Value) {
    match (def.get_mut(key), value.as_object()) {
        (Some(Value::Object(base)), Some(diff)) => {
            for (k, v) in diff {
                base.insert(k.clone(), v.clone());
            }
        }
        _ => {
            def.insert(key.to_string(), value.clone());
        }
    }
}
