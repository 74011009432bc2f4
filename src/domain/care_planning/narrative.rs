//! The CarePlan's generated XHTML narrative (US Core: text.status generated).

use super::services::PlannedService;
use fhir_engine::json::member::Member;
use fhir_engine::model::coding::codings;
use serde_json::Value;

pub fn care_plan_div(status: &str, services: &[PlannedService], organization: &str) -> String {
    let mut div = String::with_capacity(256 + 80 * services.len());
    div.push_str(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Home Based Palliative Care plan (",
    );
    escape_into(&mut div, status);
    div.push_str("), by ");
    escape_into(&mut div, organization);
    div.push_str(". Goals: comfort and quality of life; symptom control.</p><ul>");
    for planned in services {
        div.push_str("<li>");
        escape_into(&mut div, planned.service.display());
        if let Some(symptom) = &planned.symptom {
            div.push_str(": ");
            escape_into(&mut div, &concept_label(&symptom.code));
        }
        div.push_str(" — ");
        escape_into(&mut div, planned.service.role().display());
        div.push_str("</li>");
    }
    div.push_str("</ul></div>");
    div
}

pub fn concept_label(concept: &Value) -> String {
    if let Some(text) = concept.member("text").and_then(Value::as_str) {
        return text.to_string();
    }
    concept
        .member("coding")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(|c| c.member("display").and_then(Value::as_str))
        .map(str::to_string)
        .or_else(|| codings(concept).next().map(|(_, c)| c.to_string()))
        .unwrap_or_else(|| "symptom".into())
}

/// Appends `text` with `&`, `<` and `>` escaped.
fn escape_into(out: &mut String, text: &str) {
    let mut rest = text;
    // a byte scan: the markup characters are ASCII, and `find` with a char set goes through the
    // general pattern searcher
    while let Some(at) = rest.bytes().position(|b| matches!(b, b'&' | b'<' | b'>')) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            _ => "&gt;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        let mut out = String::new();
        escape_into(&mut out, "a & b <c> d&&");
        assert_eq!(out, "a &amp; b &lt;c&gt; d&amp;&amp;");
        let mut plain = String::from("x");
        escape_into(&mut plain, "no markup");
        assert_eq!(plain, "xno markup");
    }
}
