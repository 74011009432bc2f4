//! Plain member chains such as `CarePlan.activity.detail.code`, walked straight over the JSON
//! with every step's element type looked up once, at compile time. Most search parameter
//! expressions have this shape; evaluated by the general evaluator, their per-step type
//! lookups, result vectors and copies of the results were most of the cost of indexing.

use super::ast::Expr;
use super::model::{is_primitive_name, Model};
use super::navigation::infer_type;
use crate::json::member::{member, member_str};
use serde_json::Value;

/// `Type.a.b…` over a resource of `Type`, giving what the evaluator gives for the same
/// expression: the nodes found, in document order, with their FHIR types.
#[derive(Debug, Clone)]
pub struct MemberChain {
    root_type: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
struct Step {
    name: String,
    kind: StepKind,
}

#[derive(Debug, Clone)]
enum StepKind {
    /// An element of one declared type.
    Plain { ty: String },
    /// `value[x]`: (`valueQuantity`, `Quantity`), … Only as the last step, where the
    /// variant's type need not be walked into.
    Choice(Vec<(String, String)>),
}

impl MemberChain {
    /// The chain for `expr`, when it is one whose every step the model types statically;
    /// `None` leaves the expression to the evaluator.
    pub(crate) fn compile(model: &Model, expr: &Expr) -> Option<Self> {
        let mut names = Vec::new();
        let mut at = expr;
        let root_type = loop {
            match at {
                Expr::Member(target, name, true) => {
                    names.push(name.as_str());
                    at = target;
                }
                Expr::Ident(name) => break name.as_str(),
                _ => return None,
            }
        };
        names.reverse();
        // A concrete resource type, with no subtypes that the leading name would also select.
        if names.is_empty() || !model.is_resource(root_type) {
            return None;
        }
        let root = model.type_def(root_type).filter(|td| td.has_elements())?;
        let mut steps = Vec::with_capacity(names.len());
        let mut parent = root;
        for (i, name) in names.iter().enumerate() {
            let last = i + 1 == names.len();
            let kind = match parent.element(name) {
                Some(e) if !e.choice_variant => StepKind::Plain { ty: e.ty.clone() },
                Some(_) => return None,
                None if last => StepKind::Choice(parent.choices(name)?.to_vec()),
                None => return None,
            };
            if !last {
                let StepKind::Plain { ty } = &kind else {
                    return None;
                };
                // Primitives and `Resource` (contained) are not walked into here.
                if is_primitive_name(ty) || ty == "Resource" {
                    return None;
                }
                parent = model.type_def(ty).filter(|td| td.has_elements())?;
            }
            steps.push(Step {
                name: (*name).to_string(),
                kind,
            });
        }
        Some(Self {
            root_type: root_type.to_string(),
            steps,
        })
    }

    /// Calls `found` with each result's FHIR type and value. Extension-only primitives
    /// (`_name` without `name`) have no value and are not reported.
    pub fn for_each<'a>(&self, root: &'a Value, mut found: impl FnMut(&str, &'a Value)) {
        if member_str(root, "resourceType") == Some(self.root_type.as_str()) {
            self.walk(root, 0, &mut found);
        }
    }

    fn walk<'a>(&self, node: &'a Value, depth: usize, found: &mut impl FnMut(&str, &'a Value)) {
        let Some(step) = self.steps.get(depth) else {
            return;
        };
        let last = depth + 1 == self.steps.len();
        match &step.kind {
            StepKind::Plain { ty } => {
                for item in items(member(node, &step.name)) {
                    if last {
                        found(infer_type(item, Some(ty)), item);
                    } else if item.is_object() {
                        self.walk(item, depth + 1, found);
                    }
                }
            }
            StepKind::Choice(variants) => {
                // As the evaluator: a bare `value` (not valid FHIR) is taken as it is.
                if let Some(bare) = member(node, &step.name).filter(|v| !v.is_null()) {
                    for item in items(Some(bare)) {
                        found(infer_type(item, None), item);
                    }
                    return;
                }
                for (json_name, ty) in variants {
                    for item in items(member(node, json_name)) {
                        found(infer_type(item, Some(ty)), item);
                    }
                }
            }
        }
    }
}

/// A value's items: an array's non-null members, or the value itself.
fn items(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    let slice: &[Value] = match value {
        Some(Value::Array(a)) => a,
        Some(v) => std::slice::from_ref(v),
        None => &[],
    };
    slice.iter().filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use crate::fhirpath::FhirPathEngine;
    use serde_json::{json, Value};

    fn walk(expression: &str, resource: &Value) -> Option<Vec<(String, Value)>> {
        let chain = FhirPathEngine::new()
            .compile(expression)
            .ok()?
            .member_chain()?;
        let mut found = Vec::new();
        chain.for_each(resource, |ty, v| found.push((ty.to_string(), v.clone())));
        Some(found)
    }

    #[test]
    fn walks_arrays_in_order_and_resolves_a_final_choice() {
        let obs = json!({"resourceType": "Observation",
            "component": [
                {"code": {"text": "a"}, "valueQuantity": {"value": 1}},
                {"code": {"text": "b"}, "valueString": "x"},
                {"code": {"text": "c"}, "_valueString": {"extension": []}}]});
        assert_eq!(
            walk("Observation.component.code", &obs),
            Some(vec![
                ("CodeableConcept".into(), json!({"text": "a"})),
                ("CodeableConcept".into(), json!({"text": "b"})),
                ("CodeableConcept".into(), json!({"text": "c"})),
            ])
        );
        // the extension-only third value has nothing to report
        assert_eq!(
            walk("Observation.component.value", &obs),
            Some(vec![
                ("Quantity".into(), json!({"value": 1})),
                ("string".into(), json!("x")),
            ])
        );
        // another resource type finds nothing
        assert_eq!(
            walk("Patient.name", &json!({"resourceType": "Observation"})),
            Some(vec![])
        );
    }

    #[test]
    fn leaves_other_shapes_to_the_evaluator() {
        let any = json!({"resourceType": "Observation"});
        for expression in [
            "Observation",
            "Observation.value.unit",
            "Observation.code.where(text = 'a')",
            "(Observation.value as Quantity)",
            "Observation.code | Observation.component.code",
            "Observation.subject.reference.length",
            "Observation.contained.id",
            "Observation.noSuchElement",
            "Resource.id",
            "code.text",
        ] {
            assert_eq!(walk(expression, &any), None, "{expression}");
        }
    }
}
