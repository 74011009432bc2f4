//! Where in the resource's JSON an expression's results are: what FHIR Patch needs to change
//! them. Results are found by address, so only nodes of the resource itself have a location.

use super::model::Model;
use super::value::Item;
use serde_json::Value;

/// One step into the JSON: a member name or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Member(String),
    Index(usize),
}

/// A result node of the resource: the steps from the root to it and its FHIR type (`HumanName`,
/// `string`, backbone types by the model's name such as `Patient_Contact`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub steps: Vec<Step>,
    pub fhir_type: String,
}

pub(crate) fn locate_items(root: &Value, items: &[Item<'_>]) -> Option<Vec<Location>> {
    items
        .iter()
        .map(|item| match item {
            Item::Node(node) => {
                let target = node.value?;
                let mut steps = Vec::new();
                find(root, target, &mut steps).then(|| Location {
                    steps,
                    fhir_type: node.ty.to_string(),
                })
            }
            _ => None,
        })
        .collect()
}

fn find(at: &Value, target: &Value, steps: &mut Vec<Step>) -> bool {
    if std::ptr::eq(at, target) {
        return true;
    }
    match at {
        Value::Object(map) => map.iter().any(|(k, v)| {
            steps.push(Step::Member(k.clone()));
            find(v, target, steps) || {
                steps.pop();
                false
            }
        }),
        Value::Array(list) => list.iter().enumerate().any(|(i, v)| {
            steps.push(Step::Index(i));
            find(v, target, steps) || {
                steps.pop();
                false
            }
        }),
        _ => false,
    }
}

/// The type of element `name` of type `ty` and whether it is a list, per the R4 model.
pub(crate) fn element_info<'m>(model: &'m Model, ty: &str, name: &str) -> Option<(&'m str, bool)> {
    model.element(ty, name).map(|e| (e.ty.as_str(), e.repeats))
}
