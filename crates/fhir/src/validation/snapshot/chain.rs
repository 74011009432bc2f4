//! The base definition chain: a profile's snapshot is its base's snapshot (generated first
//! when the base has none) with the differential applied. Generated snapshots are kept, so
//! each definition is generated once however many profiles build on it.

use super::error::{Problem, SnapshotError};
use super::merge::{self, Origin};
use super::path::{self, Segment};
use super::slicing;
use super::tree::Element;
use crate::validation::structure::definitions::unversioned;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::rc::Rc;

pub struct Generator<'d> {
    definitions: &'d HashMap<String, Value>,
    /// Snapshot elements by URL: the published ones used so far, and the generated ones.
    snapshots: HashMap<String, Rc<Vec<Value>>>,
    /// Definitions being generated, outermost first (a base chain or type profile cycle).
    in_progress: Vec<String>,
}

/// Where a differential element's path is being matched.
struct Cursor {
    /// Inside a slice, and not inside a type stepped into since: a type-renamed path there
    /// constrains the choice element itself (as the R4 generator does), not a type slice.
    in_slice: bool,
}

impl<'d> Generator<'d> {
    pub fn new(definitions: &'d HashMap<String, Value>) -> Self {
        Self {
            definitions,
            snapshots: HashMap::new(),
            in_progress: Vec::new(),
        }
    }

    pub fn knows(&self, url: &str) -> bool {
        self.definitions.contains_key(url)
    }

    /// The snapshot elements of `url`: its own, or generated from its differential (a
    /// failure is reported where it is, however deep in the chain).
    pub fn snapshot_of(&mut self, url: &str) -> Result<Rc<Vec<Value>>, SnapshotError> {
        if let Some(done) = self.snapshots.get(url) {
            return Ok(Rc::clone(done));
        }
        let definitions = self.definitions;
        let Some(sd) = definitions.get(url) else {
            return Err(SnapshotError {
                url: url.to_string(),
                element: url.to_string(),
                message: "not loaded".into(),
                missing: true,
            });
        };
        let elements = match has_snapshot(sd) {
            Some(elements) => elements.clone(),
            None => {
                if self.in_progress.iter().any(|u| u == url) {
                    let mut chain = self.in_progress.clone();
                    chain.push(url.to_string());
                    let message = format!("a cycle of definitions: {}", chain.join(" → "));
                    return Err(Problem::Invalid(message).at(url, url));
                }
                self.in_progress.push(url.to_string());
                let generated = self.generate(url, sd);
                self.in_progress.pop();
                generated?
            }
        };
        let elements = Rc::new(elements);
        self.snapshots.insert(url.to_string(), Rc::clone(&elements));
        Ok(elements)
    }

    fn generate(&mut self, url: &str, sd: &Value) -> Result<Vec<Value>, SnapshotError> {
        let type_name = sd.get("type").and_then(Value::as_str).unwrap_or_default();
        let fail = |element: &str, message: String| Problem::Invalid(message).at(url, element);
        if sd.get("derivation").and_then(Value::as_str) != Some("constraint") {
            return Err(fail(
                type_name,
                "only constraints can be generated from a differential; a specialization needs its snapshot".into(),
            ));
        }
        let Some(base_url) = sd.get("baseDefinition").and_then(Value::as_str) else {
            return Err(fail(type_name, "no baseDefinition".into()));
        };
        let base_url = unversioned(base_url);
        if !self.knows(base_url) {
            let message = format!("the base definition {base_url} is not loaded");
            return Err(Problem::Missing(message).at(url, type_name));
        }
        let base = self.snapshot_of(base_url)?;
        let mut root = Element::from_snapshot(&base).map_err(|m| {
            fail(
                &m.0,
                format!("the snapshot of the base {base_url} is out of order"),
            )
        })?;
        let diff = sd
            .pointer("/differential/element")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for element in diff {
            let id = path::element_id(element).unwrap_or_default();
            self.apply(&mut root, element, &id)
                .map_err(|problem| problem.at(url, &id))?;
        }
        Ok(root.emit(type_name))
    }

    /// Applies one differential element.
    fn apply(&mut self, root: &mut Element, diff: &Value, id: &str) -> Result<(), Problem> {
        let segments = path::split(id);
        let Some((first, rest)) = segments.split_first() else {
            return Err(Problem::Invalid("an element without a path".into()));
        };
        if first.name != root.name || first.slice.is_some() {
            return Err(Problem::Invalid(format!(
                "the path does not start with {}",
                root.name
            )));
        }
        let mut cursor = Cursor { in_slice: false };
        let (target, origin) = self.locate(root, rest, &mut cursor, id)?;
        self.constrain(target, diff, origin)
    }

    /// The element a differential id names, stepping into types and creating slices as
    /// needed.
    fn locate<'t>(
        &mut self,
        root: &'t mut Element,
        segments: &[Segment],
        cursor: &mut Cursor,
        id: &str,
    ) -> Result<(&'t mut Element, Origin), Problem> {
        let mut at = root;
        let mut origin = Origin::Existing;
        let mut walked = at.name.clone();
        for segment in segments {
            if at.children.is_empty() {
                self.dive(at, &walked)?;
            }
            if at.dived {
                cursor.in_slice = false;
            }
            walked.push('.');
            walked.push_str(&segment.name);
            let exact = at.children.iter().position(|c| c.name == segment.name);
            let (index, renamed) = match exact {
                Some(i) => (i, None),
                None => {
                    let found = at.children.iter().enumerate().find_map(|(i, c)| {
                        let types = c.def.get("type")?.as_array()?;
                        path::renamed_type(&c.name, &segment.name, types).map(|t| (i, t.clone()))
                    });
                    match found {
                        Some((i, t)) => (i, Some(t)),
                        None => {
                            return Err(Problem::Invalid(format!(
                                "no element {walked} in the base (at {id})"
                            )))
                        }
                    }
                }
            };
            let child = &mut at.children[index];
            origin = Origin::Existing;
            let mut next: &'t mut Element = child;
            if let Some(type_ref) = &renamed {
                if cursor.in_slice || segment.slice.is_some() {
                    // the choice element itself, narrowed to the named type
                    next.touch();
                    next.def
                        .insert("type".into(), Value::Array(vec![type_ref.clone()]));
                } else {
                    let existed = next.slice_mut(&segment.name).is_some();
                    next = slicing::type_slice(next, &segment.name, type_ref);
                    if !existed {
                        origin = Origin::NewSlice;
                    }
                    cursor.in_slice = true;
                }
            }
            if let Some(slice) = &segment.slice {
                let unsliced = next.def.get("slicing").is_none()
                    && slicing::implied_slicing(next).is_none()
                    && next.slices.is_empty();
                let in_place = next.slice_name.is_none() || next.slice_name.as_ref() == Some(slice);
                if unsliced && in_place {
                    // a lone slice of an element without slicing: the R4 generator
                    // constrains the element itself and gives it the slice's name
                    next.slice_name = Some(slice.clone());
                    walked.push(':');
                    walked.push_str(slice);
                    at = next;
                    continue;
                }
                if next.def.get("slicing").is_none() {
                    let Some(implied) = slicing::implied_slicing(next) else {
                        return Err(Problem::Invalid(format!(
                            "slice '{slice}' of {walked}, which is not sliced (no slicing in the differential or its base)"
                        )));
                    };
                    next.touch();
                    next.def.insert("slicing".into(), implied);
                }
                let existed = next.slice_mut(slice).is_some();
                next = slicing::slice_or_new(next, slice).ok_or_else(|| {
                    format!("re-slice '{slice}' of {walked}, whose parent slice is not defined")
                })?;
                if !existed {
                    origin = Origin::NewSlice;
                }
                walked.push(':');
                walked.push_str(slice);
                cursor.in_slice = true;
            }
            at = next;
        }
        Ok((at, origin))
    }

    /// Applies the differential's properties to the element.
    fn constrain(
        &mut self,
        target: &mut Element,
        diff: &Value,
        origin: Origin,
    ) -> Result<(), Problem> {
        target.touch();
        // an element typed with a profile starts from the profile's root element, keeping
        // the base's cardinality (as the R4 generator does); typed so already, it gains the
        // root's constraints
        if let Some(profile) = single_profile(diff) {
            if let Some(root) = self.profile_root(&profile)? {
                let current = target
                    .def
                    .get("type")
                    .and_then(|t| single_profile_of(t.as_array()?));
                if current.as_deref() == Some(profile.as_str()) {
                    if let Some(constraints) = root.get("constraint") {
                        let merged = json!({ "constraint": constraints });
                        merge::merge(&mut target.def, &merged, Origin::Existing)
                            .map_err(Problem::Invalid)?;
                    }
                } else {
                    let mut def = root.as_object().cloned().unwrap_or_default();
                    for key in ["id", "path", "sliceName", "slicing"] {
                        def.remove(key);
                    }
                    for key in ["base", "type", "min", "max", "slicing"] {
                        match target.def.get(key) {
                            Some(v) => def.insert(key.to_string(), v.clone()),
                            None => def.remove(key),
                        };
                    }
                    target.def = def;
                }
            }
        }
        // a new slice is optional unless the differential says otherwise: the sliced
        // element's minimum counts all its slices together
        if origin == Origin::NewSlice && diff.get("min").is_none() {
            target.def.insert("min".into(), json!(0));
        }
        merge::merge(&mut target.def, diff, origin).map_err(Problem::Invalid)
    }
}

fn has_snapshot(sd: &Value) -> Option<&Vec<Value>> {
    sd.pointer("/snapshot/element")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
}

/// The one profile of a differential element's one type (not a Reference's).
fn single_profile(diff: &Value) -> Option<String> {
    single_profile_of(diff.get("type")?.as_array()?)
}

fn single_profile_of(types: &[Value]) -> Option<String> {
    let [t] = types else { return None };
    if t.get("code").and_then(Value::as_str) == Some("Reference") {
        return None;
    }
    let profiles = t.get("profile")?.as_array()?;
    let [p] = profiles.as_slice() else {
        return None;
    };
    p.as_str().map(|p| unversioned(p).to_string())
}
