//! Where in the resource's JSON an expression's results are: what FHIR Patch needs to change
//! them. Results are found by address, so only nodes of the resource itself have a location.

use super::model::Model;
use super::value::{Item, Node};
use serde_json::Value;
use std::collections::HashMap;

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

/// One walk of `root` whatever the number of results (a path such as `descendants()` finds
/// every node: a walk per result would be quadratic).
pub(crate) fn locate_items(root: &Value, items: &[Item<'_>]) -> Option<Vec<Location>> {
    let mut targets: HashMap<*const Value, Option<Vec<Step>>> = HashMap::new();
    for item in items {
        match item {
            Item::Node(Node { value: Some(v), .. }) => {
                targets.insert(*v as *const Value, None);
            }
            _ => return None,
        }
    }
    let mut steps = Vec::new();
    walk(root, &mut steps, &mut targets);
    items
        .iter()
        .map(|item| match item {
            Item::Node(node) => {
                let at = node.value? as *const Value;
                targets.get(&at).cloned().flatten().map(|steps| Location {
                    steps,
                    fhir_type: node.ty.to_string(),
                })
            }
            _ => None,
        })
        .collect()
}

fn walk(at: &Value, steps: &mut Vec<Step>, targets: &mut HashMap<*const Value, Option<Vec<Step>>>) {
    if let Some(slot) = targets.get_mut(&(at as *const Value)) {
        *slot = Some(steps.clone());
    }
    match at {
        Value::Object(map) => {
            for (k, v) in map {
                steps.push(Step::Member(k.clone()));
                walk(v, steps, targets);
                steps.pop();
            }
        }
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                steps.push(Step::Index(i));
                walk(v, steps, targets);
                steps.pop();
            }
        }
        _ => {}
    }
}

/// The type of element `name` of type `ty` and whether it is a list, per the R4 model.
pub(crate) fn element_info<'m>(model: &'m Model, ty: &str, name: &str) -> Option<(&'m str, bool)> {
    model.element(ty, name).map(|e| (e.ty.as_str(), e.repeats))
}
