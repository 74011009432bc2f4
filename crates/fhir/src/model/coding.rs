//! Reading codes out of CodeableConcepts, and matching them against configured `system|code`
//! lists (a trailing `*` matches a code prefix, e.g. every NUCC physician code `20*`).

use crate::json::member::Member;
use crate::json::member::{member, member_str, repeated};
use serde_json::Value;

/// `(system, code)` of every coding in a CodeableConcept.
pub fn codings(concept: &Value) -> impl Iterator<Item = (Option<&str>, &str)> {
    member(concept, "coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let code = member_str(c, "code")?;
            Some((member_str(c, "system"), code))
        })
}

/// Every CodeableConcept of an element that may repeat.
pub fn concepts<'a>(resource: &'a Value, element: &str) -> impl Iterator<Item = &'a Value> {
    repeated(resource, element)
}

/// The first code of a CodeableConcept's codings in `system` (or any system).
pub fn first_code<'a>(concept: &'a Value, system: Option<&str>) -> Option<&'a str> {
    codings(concept)
        .find(|(s, _)| system.is_none() || *s == system)
        .map(|(_, c)| c)
}

/// `code display` of the first coding (or the text), for human-readable reasons.
pub fn label(concept: &Value) -> String {
    let coding = concept
        .member("coding")
        .and_then(Value::as_array)
        .and_then(|c| c.first());
    let code = coding
        .and_then(|c| c.member("code"))
        .and_then(Value::as_str);
    let display = coding
        .and_then(|c| c.member("display"))
        .and_then(Value::as_str)
        .or_else(|| concept.member("text").and_then(Value::as_str));
    match (code, display) {
        (Some(c), Some(d)) => crate::text::concat([c, " ", d]),
        (Some(c), None) => c.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => "uncoded".to_string(),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeList {
    entries: Vec<CodeEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct CodeEntry {
    system: String,
    code: String,
    prefix: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a code of the form system|code (a trailing * matches a prefix)")]
pub struct CodeListError(pub String);

impl CodeList {
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, CodeListError> {
        let entries = items
            .iter()
            .map(|item| {
                let item = item.as_ref();
                let (system, code) = item
                    .split_once('|')
                    .filter(|(s, c)| !s.is_empty() && !c.is_empty())
                    .ok_or_else(|| CodeListError(item.to_string()))?;
                let (code, prefix) = match code.strip_suffix('*') {
                    Some(stem) => (stem, true),
                    None => (code, false),
                };
                Ok(CodeEntry {
                    system: system.to_string(),
                    code: code.to_string(),
                    prefix,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    pub fn matches(&self, system: Option<&str>, code: &str) -> bool {
        let Some(system) = system else { return false };
        self.entries.iter().any(|e| {
            e.system == system
                && if e.prefix {
                    code.starts_with(&e.code)
                } else {
                    e.code == code
                }
        })
    }

    /// Whether any coding of the CodeableConcept is on the list.
    pub fn matches_concept(&self, concept: &Value) -> bool {
        codings(concept).any(|(s, c)| self.matches(s, c))
    }

    /// Whether any of the CodeableConcepts in `element` is on the list.
    pub fn matches_any(&self, resource: &Value, element: &str) -> bool {
        concepts(resource, element).any(|c| self.matches_concept(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exact_and_prefix_entries() {
        let list = CodeList::parse(&[
            "http://nucc.org/provider-taxonomy|20*",
            "http://snomed.info/sct|1",
        ])
        .unwrap();
        assert!(list.matches(Some("http://nucc.org/provider-taxonomy"), "207RH0002X"));
        assert!(!list.matches(Some("http://nucc.org/provider-taxonomy"), "363L00000X"));
        assert!(list.matches(Some("http://snomed.info/sct"), "1"));
        assert!(!list.matches(Some("http://snomed.info/sct"), "12"));
        assert!(!list.matches(None, "1"));
        let cc = json!({"coding": [{"system": "http://snomed.info/sct", "code": "1"}]});
        assert!(list.matches_concept(&cc));
        assert!(CodeList::parse(&["no-bar"]).is_err());
        assert!(CodeList::parse(&["|x"]).is_err());
    }
}
