//! The CarePlan's generated XHTML narrative (US Core: text.status generated).

use super::services::PlannedService;
use crate::domain::fhir::coding::codings;
use serde_json::Value;

pub fn care_plan_div(status: &str, services: &[PlannedService], organization: &str) -> String {
    let mut items = String::new();
    for planned in services {
        let what = match &planned.symptom {
            Some(symptom) => format!(
                "{}: {}",
                planned.service.display(),
                concept_label(&symptom.code)
            ),
            None => planned.service.display().to_string(),
        };
        items.push_str(&format!(
            "<li>{} — {}</li>",
            escape(&what),
            escape(planned.service.role().display())
        ));
    }
    format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Home Based Palliative Care plan ({}), by {}. Goals: comfort and quality of life; symptom control.</p><ul>{items}</ul></div>",
        escape(status),
        escape(organization)
    )
}

pub fn concept_label(concept: &Value) -> String {
    if let Some(text) = concept.get("text").and_then(Value::as_str) {
        return text.to_string();
    }
    concept
        .get("coding")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(|c| c.get("display").and_then(Value::as_str))
        .map(str::to_string)
        .or_else(|| codings(concept).next().map(|(_, c)| c.to_string()))
        .unwrap_or_else(|| "symptom".into())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
