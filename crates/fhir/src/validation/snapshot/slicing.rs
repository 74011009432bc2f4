//! Slices in a differential: explicit slices and re-slices (`:name`, `:name/sub`), the
//! implicit slicing of extensions by URL, and the type slice a type-renamed choice path
//! (`Observation.valueQuantity`) stands for.

use super::tree::Element;
use serde_json::{json, Value};

/// The slicing an element gets when a differential slices it without defining any: the spec
/// fixes it for extensions (by `url`).
pub fn implied_slicing(element: &Element) -> Option<Value> {
    if element.name == "extension" || element.name == "modifierExtension" {
        return Some(json!({
            "discriminator": [{"type": "value", "path": "url"}],
            "ordered": false,
            "rules": "open"
        }));
    }
    None
}

fn type_slicing(rules: &str) -> Value {
    json!({
        "discriminator": [{"type": "type", "path": "$this"}],
        "ordered": false,
        "rules": rules
    })
}

/// Slice `name` of `slicer` (re-slices `a/b` under slice `a`), created from the base element
/// when the differential introduces it. `None` when a re-slice's parent slice is missing.
pub fn slice_or_new<'e>(slicer: &'e mut Element, name: &str) -> Option<&'e mut Element> {
    let parent_name = name.rsplit_once('/').map(|(p, _)| p.to_string());
    let exists = slicer.slice_mut(name).is_some();
    if !exists {
        let owner = match &parent_name {
            None => &mut *slicer,
            Some(p) => slicer.slice_mut(p)?,
        };
        let template = owner.slice_template(name);
        owner.slices.push(template);
    }
    slicer.slice_mut(name)
}

/// A type-renamed path (`valueQuantity`) outside a slice is a slice of the choice element
/// by type, as the R4 generator makes it: the choice element is sliced by `type` on `$this`
/// (closed) and narrowed to the types so named, and the slice is named after the path.
pub fn type_slice<'e>(choice: &'e mut Element, renamed: &str, type_ref: &Value) -> &'e mut Element {
    let code = type_ref.get("code").cloned();
    if choice.def.get("slicing").is_none() {
        choice.touch();
        choice.def.insert("slicing".into(), type_slicing("closed"));
        choice
            .def
            .insert("type".into(), Value::Array(vec![type_ref.clone()]));
        choice.implicit_type_slicing = true;
    } else if choice.implicit_type_slicing {
        if let Some(Value::Array(types)) = choice.def.get_mut("type") {
            if !types.iter().any(|t| t.get("code") == code.as_ref()) {
                types.push(type_ref.clone());
            }
        }
    }
    if choice.slice_mut(renamed).is_none() {
        let mut template = choice.slice_template(renamed);
        template
            .def
            .insert("type".into(), Value::Array(vec![type_ref.clone()]));
        choice.slices.push(template);
    }
    // just pushed or found above
    let at = choice
        .slices
        .iter()
        .position(|s| s.slice_name.as_deref() == Some(renamed))
        .unwrap_or(0);
    &mut choice.slices[at]
}
