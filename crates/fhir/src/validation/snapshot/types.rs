//! Stepping into an element's type when the differential constrains below it
//! (`Observation.code.coding:loinc.system`): the children come from the type's definition,
//! or its profile's, or for a `contentReference` from the element it names.

use super::chain::Generator;
use super::error::Problem;
use super::tree::Element;
use crate::validation::structure::definitions::unversioned;
use crate::validation::structure::plan::CORE_SD;
use serde_json::Value;

impl Generator<'_> {
    /// Gives `element` the children of its type; `id` names it in errors.
    pub(super) fn dive(&mut self, element: &mut Element, id: &str) -> Result<(), Problem> {
        let source = if let Some(reference) =
            element.def.get("contentReference").and_then(Value::as_str)
        {
            let target = reference.trim_start_matches('#');
            let type_name = target.split('.').next().unwrap_or(target);
            let elements = self.snapshot_of(&format!("{CORE_SD}{type_name}"))?;
            let mut tree = Element::from_snapshot(&elements)
                .map_err(|m| format!("the snapshot of {type_name} is out of order at {}", m.0))?;
            let mut at = &mut tree;
            for name in target.split('.').skip(1) {
                at = at
                    .child_mut(name)
                    .ok_or_else(|| format!("contentReference {reference} names no element"))?;
            }
            std::mem::take(&mut at.children)
        } else {
            let types = element
                .def
                .get("type")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let codes: Vec<&str> = types
                .iter()
                .filter_map(|t| t.get("code")?.as_str())
                .collect();
            let Some(code) = codes.first().copied() else {
                return Err(Problem::Invalid(format!(
                    "the differential constrains below {id}, which has no type"
                )));
            };
            if codes.iter().any(|c| *c != code) {
                return Err(Problem::Invalid(format!(
                    "the differential constrains below {id}, which has several types ({}): constrain it to one",
                    codes.join(", ")
                )));
            }
            if code.starts_with("http://hl7.org/fhirpath/System.") {
                return Err(Problem::Invalid(format!(
                    "{id} is a primitive value without children"
                )));
            }
            let profile = types
                .first()
                .and_then(|t| t.get("profile")?.as_array()?.first()?.as_str())
                .filter(|_| code != "Reference")
                .map(|p| unversioned(p).to_string());
            let url = profile.unwrap_or_else(|| format!("{CORE_SD}{code}"));
            if !self.knows(&url) {
                return Err(Problem::Missing(format!(
                    "the differential constrains below {id}, whose type {url} is not loaded"
                )));
            }
            let elements = self.snapshot_of(&url)?;
            let tree = Element::from_snapshot(&elements)
                .map_err(|m| format!("the snapshot of {url} is out of order at {}", m.0))?;
            tree.children
        };
        element.children = source;
        element.dived = true;
        Ok(())
    }

    /// The root element of a type profile, which an element typed with that profile starts
    /// from (an extension slice takes its cardinality from the extension's definition).
    pub(super) fn profile_root(&mut self, url: &str) -> Result<Option<Value>, Problem> {
        let url = unversioned(url);
        if !self.knows(url) {
            return Ok(None);
        }
        let elements = self.snapshot_of(url)?;
        Ok(elements.first().cloned())
    }
}
