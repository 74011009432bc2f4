//! The referral Task's delivery state (issue #5) as `Task.output` entries typed from our
//! hbpc-task-parameter CodeSystem:
//! - `delivery`: the state, coded from hbpc-delivery-state (pending | delivered |
//!   failed-retrying | dead);
//! - `delivery-location`: one per delivered resource, a versioned absolute reference to the
//!   upstream copy (`{base}/CarePlan/123/_history/2`);
//! - `delivery-http-status`: for failed-retrying and dead, the class of the last HTTP status
//!   (`4xx`, `5xx`). Never the upstream's OperationOutcome text: it may quote patient data and
//!   stays behind the admin endpoint.
//!
//! These outputs are bookkeeping of ours: they are not part of the determination, and what is
//! sent upstream leaves them out.

use fhir_engine::json::build::{object, string};
use serde_json::Value;

const PARAMETER_SYSTEM: &str = "http://hbpc.example.org/fhir/CodeSystem/hbpc-task-parameter";
pub const STATE_SYSTEM: &str = "http://hbpc.example.org/fhir/CodeSystem/hbpc-delivery-state";

const DELIVERY: (&str, &str) = ("delivery", "Upstream delivery");
const LOCATION: (&str, &str) = ("delivery-location", "Upstream location");
const HTTP_STATUS: (&str, &str) = ("delivery-http-status", "Last upstream HTTP status class");

/// A resource delivered upstream: ours, the version sent, and where the upstream keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamCopy {
    /// `CarePlan/cp-1`
    pub ours: String,
    pub version: Option<u64>,
    /// Absolute, e.g. `https://ehr.example.org/fhir/CarePlan/123/_history/2`.
    pub location: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered(Vec<UpstreamCopy>),
    /// Failed at least once, will be retried; the last HTTP status when there was one.
    FailedRetrying(Option<u16>),
    Dead(Option<u16>),
}

impl DeliveryStatus {
    pub fn code(&self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered(_) => "delivered",
            DeliveryStatus::FailedRetrying(_) => "failed-retrying",
            DeliveryStatus::Dead(_) => "dead",
        }
    }

    fn display(&self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "Pending",
            DeliveryStatus::Delivered(_) => "Delivered",
            DeliveryStatus::FailedRetrying(_) => "Failed, retrying",
            DeliveryStatus::Dead(_) => "Dead letter",
        }
    }

    /// The Task outputs that say this state.
    pub fn outputs(&self) -> Vec<Value> {
        let mut outputs = vec![typed(
            DELIVERY,
            "valueCodeableConcept",
            object([(
                "coding",
                Value::Array(vec![object([
                    ("system", string(STATE_SYSTEM)),
                    ("code", string(self.code())),
                    ("display", string(self.display())),
                ])]),
            )]),
        )];
        match self {
            DeliveryStatus::Pending => {}
            DeliveryStatus::Delivered(copies) => {
                for copy in copies {
                    let resource_type = copy.ours.split('/').next().unwrap_or_default();
                    let display = match copy.version {
                        Some(v) => format!("{} version {v}", copy.ours),
                        None => copy.ours.clone(),
                    };
                    outputs.push(typed(
                        LOCATION,
                        "valueReference",
                        object([
                            ("reference", string(copy.location.as_str())),
                            ("type", string(resource_type)),
                            ("display", string(display)),
                        ]),
                    ));
                }
            }
            DeliveryStatus::FailedRetrying(status) | DeliveryStatus::Dead(status) => {
                if let Some(class) = status.map(status_class) {
                    outputs.push(typed(HTTP_STATUS, "valueString", string(class)));
                }
            }
        }
        outputs
    }
}

/// `503` → `5xx`.
pub fn status_class(status: u16) -> String {
    format!("{}xx", status / 100)
}

fn typed((code, display): (&str, &str), key: &str, value: Value) -> Value {
    let mut out = object([(
        "type",
        object([(
            "coding",
            Value::Array(vec![object([
                ("system", string(PARAMETER_SYSTEM)),
                ("code", string(code)),
                ("display", string(display)),
            ])]),
        )]),
    )]);
    out[key] = value;
    out
}

/// Whether a `Task.output` is one of the delivery outputs.
pub fn is_delivery_output(output: &Value) -> bool {
    output
        .pointer("/type/coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| {
            c.get("system").and_then(Value::as_str) == Some(PARAMETER_SYSTEM)
                && c.get("code")
                    .and_then(Value::as_str)
                    .is_some_and(|code| [DELIVERY.0, LOCATION.0, HTTP_STATUS.0].contains(&code))
        })
}

/// The Task's delivery outputs, in order.
pub fn delivery_outputs(task: &Value) -> Vec<Value> {
    task.get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|o| is_delivery_output(o))
        .cloned()
        .collect()
}

/// The state code the Task shows (`pending`, `delivered`…), if any.
pub fn state_code(task: &Value) -> Option<String> {
    delivery_outputs(task).iter().find_map(|o| {
        o.pointer("/valueCodeableConcept/coding")
            .and_then(Value::as_array)?
            .iter()
            .find(|c| c.get("system").and_then(Value::as_str) == Some(STATE_SYSTEM))?
            .get("code")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// Replaces the Task's delivery outputs by `outputs` (after the others); an empty `output`
/// array is removed, as FHIR forbids it.
pub fn replace(task: &mut Value, outputs: Vec<Value>) {
    let Some(fields) = task.as_object_mut() else {
        return;
    };
    let mut kept: Vec<Value> = fields
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|o| !is_delivery_output(o))
        .cloned()
        .collect();
    kept.extend(outputs);
    if kept.is_empty() {
        fields.remove("output");
    } else {
        fields.insert("output".into(), Value::Array(kept));
    }
}

/// The Task without its delivery outputs.
pub fn without(task: &Value) -> Value {
    let mut task = task.clone();
    replace(&mut task, Vec::new());
    task
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task() -> Value {
        json!({"resourceType": "Task", "output": [{"type": {"text": "determination"}, "valueString": "x"}]})
    }

    #[test]
    fn replaces_only_the_delivery_outputs() {
        let mut t = task();
        replace(&mut t, DeliveryStatus::Pending.outputs());
        assert_eq!(state_code(&t).as_deref(), Some("pending"));
        let copies = vec![UpstreamCopy {
            ours: "CarePlan/cp".into(),
            version: Some(3),
            location: "https://ehr/fhir/CarePlan/9/_history/2".into(),
        }];
        replace(&mut t, DeliveryStatus::Delivered(copies).outputs());
        let outputs = t["output"].as_array().unwrap();
        assert_eq!(outputs.len(), 3);
        assert_eq!(outputs[0], task()["output"][0]);
        assert_eq!(
            outputs[2]["valueReference"],
            json!({"reference": "https://ehr/fhir/CarePlan/9/_history/2", "type": "CarePlan",
                   "display": "CarePlan/cp version 3"})
        );
        assert_eq!(state_code(&t).as_deref(), Some("delivered"));
        assert_eq!(without(&t), task());
    }

    #[test]
    fn failures_carry_the_status_class_only() {
        let outputs = DeliveryStatus::Dead(Some(400)).outputs();
        assert_eq!(outputs[1]["valueString"], "4xx");
        assert_eq!(DeliveryStatus::FailedRetrying(None).outputs().len(), 1);
    }

    #[test]
    fn an_emptied_output_is_removed() {
        let mut t = json!({"resourceType": "Task"});
        replace(&mut t, DeliveryStatus::Pending.outputs());
        assert_eq!(without(&t), json!({"resourceType": "Task"}));
    }
}
