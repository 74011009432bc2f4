//! FHIRPath Patch (R4 "FHIRPath Patch"): a Parameters resource whose `operation` parameters
//! each have a `type` (add, insert, delete, replace, move), a `path` and, as the type needs,
//! `name`, `value`, `index`, `source` and `destination`.

use super::{PatchError, PROTECTED_MEMBERS};
use crate::fhirpath::{FhirPathEngine, Location, Step};
use serde_json::{Map, Value};

/// Applies the operations of `parameters` to `resource`; on error `resource` is unchanged.
pub fn apply_fhirpath_patch(resource: &mut Value, parameters: &Value) -> Result<(), PatchError> {
    if parameters.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(PatchError::malformed(
            "a FHIRPath Patch is a Parameters resource",
            Some("Parameters".into()),
        ));
    }
    let engine = FhirPathEngine::new();
    let mut work = resource.clone();
    let params = parameters
        .get("parameter")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (n, param) in params.iter().enumerate() {
        let at = format!("Parameters.parameter[{n}]");
        if param.get("name").and_then(Value::as_str) != Some("operation") {
            return Err(PatchError::malformed(
                "each parameter of a FHIRPath Patch is named 'operation'",
                Some(format!("{at}.name")),
            ));
        }
        let op = Operation::read(param, &at)?;
        op.apply(&engine, &mut work, &at)?;
    }
    *resource = work;
    Ok(())
}

struct Operation<'a> {
    kind: &'a str,
    path: &'a str,
    parts: &'a [Value],
}

impl<'a> Operation<'a> {
    fn read(param: &'a Value, at: &str) -> Result<Self, PatchError> {
        let parts = param
            .get("part")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut op = Operation {
            kind: "",
            path: "",
            parts,
        };
        op.kind = op.text("type", at)?;
        op.path = op.text("path", at)?;
        Ok(op)
    }

    fn part(&self, name: &str) -> Option<(usize, &'a Value)> {
        self.parts
            .iter()
            .enumerate()
            .find(|(_, p)| p.get("name").and_then(Value::as_str) == Some(name))
    }

    fn text(&self, name: &str, at: &str) -> Result<&'a str, PatchError> {
        self.part(name)
            .and_then(|(_, p)| {
                ["valueCode", "valueString"]
                    .iter()
                    .find_map(|k| p.get(*k).and_then(Value::as_str))
            })
            .ok_or_else(|| {
                PatchError::malformed(
                    format!("the operation needs a '{name}' part with a code or string value"),
                    Some(format!("{at}.part")),
                )
            })
    }

    fn integer(&self, name: &str, at: &str) -> Result<usize, PatchError> {
        self.part(name)
            .and_then(|(_, p)| p.get("valueInteger").and_then(Value::as_u64))
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| {
                PatchError::malformed(
                    format!("the operation needs a '{name}' part with a valueInteger of 0 or more"),
                    Some(format!("{at}.part")),
                )
            })
    }

    /// The `value` part: a `value[x]` (with the type suffix), or nested parts for a complex
    /// value.
    fn value(&self, at: &str) -> Result<(Value, Option<String>), PatchError> {
        let missing = || {
            PatchError::malformed(
                "the operation needs a 'value' part",
                Some(format!("{at}.part")),
            )
        };
        let (i, part) = self.part("value").ok_or_else(missing)?;
        part_value(part).ok_or_else(|| {
            PatchError::malformed(
                "the 'value' part has neither a value[x] nor parts",
                Some(format!("{at}.part[{i}]")),
            )
        })
    }

    fn apply(&self, engine: &FhirPathEngine, doc: &mut Value, at: &str) -> Result<(), PatchError> {
        let path_at = || Some(format!("{at}.part"));
        let compiled = engine
            .compile(self.path)
            .map_err(|e| PatchError::malformed(format!("path '{}': {e}", self.path), path_at()))?;
        let found = compiled
            .locate(doc)
            .map_err(|e| {
                PatchError::not_applicable(format!("path '{}': {e}", self.path), path_at())
            })?
            .ok_or_else(|| {
                PatchError::not_applicable(
                    format!(
                        "path '{}' finds a value that is not an element of the resource",
                        self.path
                    ),
                    path_at(),
                )
            })?;
        for loc in &found {
            if let Some(Step::Member(first)) = loc.steps.first() {
                if PROTECTED_MEMBERS.contains(&first.as_str()) {
                    return Err(PatchError::not_applicable(
                        format!("a patch may not change '{first}'"),
                        path_at(),
                    ));
                }
            }
        }
        let one = || -> Result<&Location, PatchError> {
            match found.as_slice() {
                [loc] => Ok(loc),
                list => Err(PatchError::not_applicable(
                    format!(
                        "path '{}' must find exactly one element for '{}'; it finds {}",
                        self.path,
                        self.kind,
                        list.len()
                    ),
                    path_at(),
                )),
            }
        };
        match self.kind {
            "add" => {
                let target = one()?;
                let name = self.text("name", at)?;
                let (value, suffix) = self.value(at)?;
                add(engine, doc, target, name, value, suffix.as_deref(), at)
            }
            "insert" => {
                let (list, _) = list_of(&found, self.path, at)?;
                let index = self.integer("index", at)?;
                let (value, _) = self.value(at)?;
                let items = array_at(doc, &list, at)?;
                if index > items.len() {
                    return Err(out_of_range(index, at));
                }
                items.insert(index, value);
                Ok(())
            }
            "delete" => match found.as_slice() {
                [] => Ok(()), // nothing to delete is not an error
                [loc] => {
                    delete(doc, &loc.steps);
                    Ok(())
                }
                _ => one().map(drop),
            },
            "replace" => {
                let target = one()?;
                let (value, _) = self.value(at)?;
                let slot = value_at(doc, &target.steps).ok_or_else(|| gone(at))?;
                *slot = value;
                Ok(())
            }
            "move" => {
                let (list, _) = list_of(&found, self.path, at)?;
                let source = self.integer("source", at)?;
                let destination = self.integer("destination", at)?;
                let items = array_at(doc, &list, at)?;
                if source >= items.len() {
                    return Err(out_of_range(source, at));
                }
                let item = items.remove(source);
                if destination > items.len() {
                    return Err(out_of_range(destination, at));
                }
                items.insert(destination, item);
                Ok(())
            }
            other => Err(PatchError::malformed(
                format!("unknown operation type '{other}' (add, insert, delete, replace, move)"),
                Some(format!("{at}.part")),
            )),
        }
    }
}

fn gone(at: &str) -> PatchError {
    PatchError::not_applicable("the element the path found is gone", Some(at.to_string()))
}

fn out_of_range(index: usize, at: &str) -> PatchError {
    PatchError::not_applicable(
        format!("index {index} is outside the list"),
        Some(format!("{at}.part")),
    )
}

/// The value of a part: `(value, type suffix)` for `valueCode` → `("…", "Code")`; nested
/// parts build an object (a name given twice makes a list).
fn part_value(part: &Value) -> Option<(Value, Option<String>)> {
    if let Some((key, v)) = part
        .as_object()?
        .iter()
        .find(|(k, _)| k.starts_with("value") && k.len() > 5)
    {
        return Some((v.clone(), Some(key[5..].to_string())));
    }
    let parts = part.get("part")?.as_array()?;
    let mut object = Map::new();
    for p in parts {
        let name = p.get("name")?.as_str()?.to_string();
        let (v, _) = part_value(p)?;
        match object.get_mut(&name) {
            Some(Value::Array(list)) => list.push(v),
            Some(existing) => *existing = Value::Array(vec![existing.take(), v]),
            None => {
                object.insert(name, v);
            }
        }
    }
    Some((Value::Object(object), None))
}

/// The list the path's results are items of (all must be items of the same one).
fn list_of(found: &[Location], path: &str, at: &str) -> Result<(Vec<Step>, usize), PatchError> {
    let parent = |loc: &Location| match loc.steps.split_last() {
        Some((Step::Index(_), parent)) => Some(parent.to_vec()),
        _ => None,
    };
    let first = found.first().and_then(parent);
    match first {
        Some(list) if found.iter().all(|l| parent(l).as_ref() == Some(&list)) => {
            Ok((list, found.len()))
        }
        _ => Err(PatchError::not_applicable(
            format!("path '{path}' must find the items of one list"),
            Some(format!("{at}.part")),
        )),
    }
}

fn value_at<'v>(doc: &'v mut Value, steps: &[Step]) -> Option<&'v mut Value> {
    let mut at = doc;
    for step in steps {
        at = match step {
            Step::Member(m) => at.get_mut(m.as_str())?,
            Step::Index(i) => at.get_mut(*i)?,
        };
    }
    Some(at)
}

fn array_at<'v>(
    doc: &'v mut Value,
    steps: &[Step],
    at: &str,
) -> Result<&'v mut Vec<Value>, PatchError> {
    value_at(doc, steps)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| gone(at))
}

/// Removes the element; a list left empty goes too (FHIR has no empty arrays).
fn delete(doc: &mut Value, steps: &[Step]) {
    let Some((last, parent)) = steps.split_last() else {
        return;
    };
    let Some(container) = value_at(doc, parent) else {
        return;
    };
    match (last, container) {
        (Step::Member(m), Value::Object(map)) => {
            map.remove(m);
            // a primitive's extensions go with it
            map.remove(&format!("_{m}"));
        }
        (Step::Index(i), Value::Array(list)) if *i < list.len() => {
            list.remove(*i);
            if list.is_empty() {
                delete(doc, parent);
            }
        }
        _ => {}
    }
}

fn add(
    engine: &FhirPathEngine,
    doc: &mut Value,
    target: &Location,
    name: &str,
    value: Value,
    suffix: Option<&str>,
    at: &str,
) -> Result<(), PatchError> {
    if target.steps.is_empty() && PROTECTED_MEMBERS.contains(&name) {
        return Err(PatchError::not_applicable(
            format!("a patch may not change '{name}'"),
            Some(format!("{at}.part")),
        ));
    }
    // a choice element (`deceased`) is stored under its typed name (`deceasedBoolean`)
    let (member, repeats) = match engine.element_info(&target.fhir_type, name) {
        Some((_, repeats)) => (name.to_string(), repeats),
        None => {
            let typed = suffix.map(|s| format!("{name}{s}"));
            match typed
                .as_deref()
                .and_then(|t| engine.element_info(&target.fhir_type, t))
            {
                Some((_, repeats)) => (typed.unwrap_or_default(), repeats),
                None => {
                    return Err(PatchError::not_applicable(
                        format!("{} has no element '{name}'", target.fhir_type),
                        Some(format!("{at}.part")),
                    ))
                }
            }
        }
    };
    let object = value_at(doc, &target.steps)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| {
            PatchError::not_applicable(
                "'add' needs a path to an element that has child elements",
                Some(format!("{at}.part")),
            )
        })?;
    match object.get_mut(&member) {
        Some(Value::Array(list)) => list.push(value),
        Some(_) => {
            return Err(PatchError::not_applicable(
                format!("'{member}' already has a value; use 'replace'"),
                Some(format!("{at}.part")),
            ))
        }
        None if repeats => {
            object.insert(member, Value::Array(vec![value]));
        }
        None => {
            object.insert(member, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patient() -> Value {
        json!({"resourceType": "Patient", "id": "p1", "active": true,
               "name": [{"family": "Lee", "given": ["Ann", "Beth"]}],
               "telecom": [{"system": "phone", "value": "1"}, {"system": "email", "value": "a@b"}]})
    }

    fn op(parts: Value) -> Value {
        json!({"name": "operation", "part": parts})
    }

    fn params(ops: Vec<Value>) -> Value {
        json!({"resourceType": "Parameters", "parameter": ops})
    }

    #[test]
    fn applies_add_insert_replace_move_and_delete() {
        let mut p = patient();
        let patch = params(vec![
            op(json!([{"name": "type", "valueCode": "add"},
                      {"name": "path", "valueString": "Patient"},
                      {"name": "name", "valueString": "birthDate"},
                      {"name": "value", "valueDate": "1940-02-03"}])),
            op(json!([{"name": "type", "valueCode": "add"},
                      {"name": "path", "valueString": "Patient"},
                      {"name": "name", "valueString": "deceased"},
                      {"name": "value", "valueBoolean": false}])),
            op(json!([{"name": "type", "valueCode": "add"},
                      {"name": "path", "valueString": "Patient"},
                      {"name": "name", "valueString": "identifier"},
                      {"name": "value", "part": [
                          {"name": "system", "valueUri": "urn:x"},
                          {"name": "value", "valueString": "42"}]}])),
            op(json!([{"name": "type", "valueCode": "insert"},
                      {"name": "path", "valueString": "Patient.name[0].given"},
                      {"name": "index", "valueInteger": 0},
                      {"name": "value", "valueString": "Zoe"}])),
            op(json!([{"name": "type", "valueCode": "replace"},
                      {"name": "path", "valueString": "Patient.active"},
                      {"name": "value", "valueBoolean": false}])),
            op(json!([{"name": "type", "valueCode": "move"},
                      {"name": "path", "valueString": "Patient.telecom"},
                      {"name": "source", "valueInteger": 1},
                      {"name": "destination", "valueInteger": 0}])),
            op(json!([{"name": "type", "valueCode": "delete"},
                      {"name": "path", "valueString": "Patient.telecom.where(system = 'phone')"}])),
            op(json!([{"name": "type", "valueCode": "delete"},
                      {"name": "path", "valueString": "Patient.gender"}])),
        ]);
        apply_fhirpath_patch(&mut p, &patch).expect("applies");
        assert_eq!(
            p,
            json!({"resourceType": "Patient", "id": "p1", "active": false,
                   "birthDate": "1940-02-03", "deceasedBoolean": false,
                   "identifier": [{"system": "urn:x", "value": "42"}],
                   "name": [{"family": "Lee", "given": ["Zoe", "Ann", "Beth"]}],
                   "telecom": [{"system": "email", "value": "a@b"}]})
        );
    }

    #[test]
    fn refuses_identity_changes_ambiguous_paths_and_bad_operations() {
        let mut p = patient();
        let cases = [
            (
                json!([{"name": "type", "valueCode": "replace"},
                    {"name": "path", "valueString": "Patient.id"},
                    {"name": "value", "valueId": "x"}]),
                false,
            ),
            (
                json!([{"name": "type", "valueCode": "add"},
                    {"name": "path", "valueString": "Patient"},
                    {"name": "name", "valueString": "id"},
                    {"name": "value", "valueId": "x"}]),
                false,
            ),
            (
                json!([{"name": "type", "valueCode": "replace"},
                    {"name": "path", "valueString": "Patient.telecom"},
                    {"name": "value", "valueString": "x"}]),
                false,
            ),
            (
                json!([{"name": "type", "valueCode": "add"},
                    {"name": "path", "valueString": "Patient"},
                    {"name": "name", "valueString": "active"},
                    {"name": "value", "valueBoolean": true}]),
                false,
            ),
            (
                json!([{"name": "type", "valueCode": "add"},
                    {"name": "path", "valueString": "Patient"},
                    {"name": "name", "valueString": "nonsense"},
                    {"name": "value", "valueBoolean": true}]),
                false,
            ),
            (
                json!([{"name": "type", "valueCode": "replace"},
                    {"name": "path", "valueString": "1 + 1"},
                    {"name": "value", "valueBoolean": true}]),
                false,
            ),
            (
                json!([{"name": "type", "valueCode": "frob"},
                    {"name": "path", "valueString": "Patient"}]),
                true,
            ),
            (
                json!([{"name": "type", "valueCode": "replace"},
                    {"name": "path", "valueString": "Patient.("}]),
                true,
            ),
            (json!([{"name": "path", "valueString": "Patient"}]), true),
        ];
        for (parts, malformed) in cases {
            let err = apply_fhirpath_patch(&mut p, &params(vec![op(parts.clone())]))
                .expect_err("refused");
            assert_eq!(
                matches!(err, PatchError::Malformed { .. }),
                malformed,
                "{parts}: {err:?}"
            );
            assert!(err
                .expression()
                .is_some_and(|e| e.starts_with("Parameters.parameter[0]")));
        }
        assert_eq!(p, patient(), "nothing applied");
        let not_params = apply_fhirpath_patch(&mut p, &json!({"resourceType": "Patient"}));
        assert!(matches!(not_params, Err(PatchError::Malformed { .. })));
    }
}
