//! Element ids split into segments: `Observation.component:systolic.value[x]` is
//! `Observation`, `component` sliced `systolic`, `value[x]`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The path name (`component`, `value[x]`, or a type-renamed `valueQuantity`).
    pub name: String,
    /// The slice name, re-slices included (`a/b`).
    pub slice: Option<String>,
}

/// The segments of an element's id; an element without an id gets one from its path and
/// slice name.
pub fn segments(element: &Value) -> Option<Vec<Segment>> {
    let id = element_id(element)?;
    Some(split(&id))
}

pub fn element_id(element: &Value) -> Option<String> {
    if let Some(id) = element.get("id").and_then(Value::as_str) {
        return Some(id.to_string());
    }
    let path = element.get("path").and_then(Value::as_str)?;
    Some(match element.get("sliceName").and_then(Value::as_str) {
        Some(slice) => format!("{path}:{slice}"),
        None => path.to_string(),
    })
}

pub fn split(id: &str) -> Vec<Segment> {
    id.split('.')
        .map(|part| match part.split_once(':') {
            Some((name, slice)) => Segment {
                name: name.to_string(),
                slice: Some(slice.to_string()),
            },
            None => Segment {
                name: part.to_string(),
                slice: None,
            },
        })
        .collect()
}

/// For a type-renamed choice (`valueQuantity` against `value[x]`), the type code the name
/// selects among `types` (`Quantity`); `None` when `name` is no renaming of `choice`.
pub fn renamed_type<'t>(choice: &str, name: &str, types: &'t [Value]) -> Option<&'t Value> {
    let prefix = choice.strip_suffix("[x]")?;
    let suffix = name.strip_prefix(prefix)?;
    let mut chars = suffix.chars();
    let first = chars.next()?;
    if !first.is_ascii_uppercase() {
        return None;
    }
    types.iter().find(|t| {
        t.get("code").and_then(Value::as_str).is_some_and(|code| {
            let mut cc = code.chars();
            cc.next()
                .is_some_and(|c| c.to_ascii_uppercase() == first && cc.as_str() == chars.as_str())
        })
    })
}
