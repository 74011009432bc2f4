//! Walking FHIR JSON by element name: arrays flatten, `value[x]` choices resolve by suffix,
//! and a primitive's `_name` sibling (its id and extensions) travels with its value.

use super::error::FhirPathError;
use super::model::Model;
use super::value::{Item, Node};
use crate::json::member::{member_str, SCAN_LIMIT};
use serde_json::{Map, Value};

/// The FHIR type of a JSON value when the model does not say (or says `Resource`).
pub(crate) fn infer_type<'a>(v: &'a Value, declared: Option<&'a str>) -> &'a str {
    if let Some(rt) = member_str(v, "resourceType") {
        return rt;
    }
    match declared {
        Some(d) if d != "Resource" => d,
        _ => match v {
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.to_string().contains(['.', 'e', 'E']) => "decimal",
            Value::Number(_) => "integer",
            Value::String(_) => "string",
            // Unknown complex content: no model type, so any element name is allowed.
            _ => "Base",
        },
    }
}

fn push_nodes<'a>(
    value: Option<&'a Value>,
    ext: Option<&'a Value>,
    declared: Option<&'a str>,
    out: &mut Vec<Item<'a>>,
) {
    match (value, ext) {
        (Some(Value::Array(vals)), ext) => {
            let exts = ext.and_then(Value::as_array);
            for (i, v) in vals.iter().enumerate() {
                let e = exts.and_then(|a| a.get(i)).filter(|e| !e.is_null());
                let v = (!v.is_null()).then_some(v);
                if v.is_none() && e.is_none() {
                    continue;
                }
                let ty = v.map_or(declared.unwrap_or("Element"), |v| infer_type(v, declared));
                out.push(Item::Node(Node {
                    value: v,
                    ext: e,
                    ty,
                }));
            }
        }
        (Some(v), ext) if !v.is_null() => out.push(Item::Node(Node {
            value: Some(v),
            ext,
            ty: infer_type(v, declared),
        })),
        (_, Some(Value::Array(exts))) => {
            for e in exts.iter().filter(|e| !e.is_null()) {
                out.push(Item::Node(Node {
                    value: None,
                    ext: Some(e),
                    ty: declared.unwrap_or("Element"),
                }));
            }
        }
        (_, Some(e)) if e.is_object() => out.push(Item::Node(Node {
            value: None,
            ext: Some(e),
            ty: declared.unwrap_or("Element"),
        })),
        _ => {}
    }
}

/// `obj[name]` and `obj["_" + name]` (a primitive's id and extensions).
fn member_and_ext<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> (Option<&'a Value>, Option<&'a Value>) {
    if obj.len() > SCAN_LIMIT {
        return (obj.get(name), get_prefixed(obj, name));
    }
    let (mut value, mut ext) = (None, None);
    for (key, v) in obj {
        match key.strip_prefix('_') {
            Some(base) if base == name => ext = Some(v),
            _ if key == name => value = Some(v),
            _ => {}
        }
    }
    (value, ext)
}

fn get_prefixed<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if obj.len() <= SCAN_LIMIT {
        return obj
            .iter()
            .find(|(k, _)| k.strip_prefix('_') == Some(name))
            .map(|(_, v)| v);
    }
    let mut key = String::with_capacity(name.len() + 1);
    key.push('_');
    key.push_str(name);
    obj.get(&key)
}

/// Children of `node` named `name` (a FHIRPath member access). On a `strict` (statically
/// typed) path a name the model does not know is an error, as the spec makes it
/// (`name.given1`, `valueQuantity`); after `descendants()` and the like it is just empty.
pub(crate) fn member<'a>(
    model: &'static Model,
    node: &Node<'a>,
    name: &str,
    strict: bool,
    out: &mut Vec<Item<'a>>,
) -> Result<(), FhirPathError> {
    let td = model.type_def(node.ty);
    if let Some(td) = td.filter(|td| strict && td.has_elements()) {
        // A resource typed only as `Resource` (contained, entry.resource) may be a Bundle or
        // Parameters, so DomainResource's elements are just empty on those.
        let domain_resource = matches!(
            name,
            "text" | "contained" | "extension" | "modifierExtension"
        );
        let known = match td.element(name) {
            Some(e) => !e.choice_variant,
            None => td.choices(name).is_some() || domain_resource,
        };
        if !known {
            return Err(FhirPathError::Evaluation(format!(
                "{} has no element {name}",
                node.ty
            )));
        }
    }
    // A primitive's own children (id, extension) live in its `_name` object.
    let obj = if node.is_primitive() {
        node.ext.and_then(Value::as_object)
    } else {
        node.value.and_then(Value::as_object)
    };
    let Some(obj) = obj else { return Ok(()) };
    let declared = td.and_then(|td| td.element(name)).map(|e| e.ty.as_str());
    let (value, ext) = member_and_ext(obj, name);
    if value.is_some() || ext.is_some() {
        push_nodes(value, ext, declared, out);
        return Ok(());
    }
    if let Some(variants) = td.and_then(|td| td.choices(name)) {
        for (json_name, ty) in variants {
            let (value, ext) = member_and_ext(obj, json_name);
            if value.is_some() || ext.is_some() {
                push_nodes(value, ext, Some(ty.as_str()), out);
            }
        }
    }
    Ok(())
}

/// All child nodes of `node`, in document order.
pub(crate) fn children<'a>(model: &'static Model, node: &Node<'a>, out: &mut Vec<Item<'a>>) {
    let obj = if node.is_primitive() {
        node.ext.and_then(Value::as_object)
    } else {
        node.value.and_then(Value::as_object)
    };
    let Some(obj) = obj else { return };
    for (key, value) in obj {
        if key == "resourceType" {
            continue;
        }
        if let Some(base) = key.strip_prefix('_') {
            // Extension-only primitives; the others travel with their value.
            if !obj.contains_key(base) {
                let declared = model.element(node.ty, base).map(|e| e.ty.as_str());
                push_nodes(None, Some(value), declared, out);
            }
            continue;
        }
        let declared = model.element(node.ty, key).map(|e| e.ty.as_str());
        push_nodes(Some(value), get_prefixed(obj, key), declared, out);
    }
}

/// The FHIR type of `focus`, found by locating it (by address) inside `root`; None when
/// `focus` is not part of `root`. Iterative, so deep JSON cannot overflow the stack.
pub(crate) fn locate_type<'a>(
    model: &'static Model,
    root: &'a Value,
    focus: &'a Value,
) -> Option<&'a str> {
    let mut stack: Vec<(&'a Value, &'a str)> = vec![(root, infer_type(root, None))];
    while let Some((value, ty)) = stack.pop() {
        let Some(obj) = value.as_object() else {
            continue;
        };
        for (key, child) in obj {
            let declared = model.element(ty, key).map(|e| e.ty.as_str());
            let items: &[Value] = match child {
                Value::Array(a) => a,
                other => std::slice::from_ref(other),
            };
            for item in items {
                let item_ty = infer_type(item, declared);
                if std::ptr::eq(item, focus) {
                    return Some(item_ty);
                }
                if item.is_object() {
                    stack.push((item, item_ty));
                }
            }
        }
    }
    None
}
