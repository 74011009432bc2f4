//! Index rows: what a stored resource contributes to search, extracted at write time by
//! evaluating each search parameter's FHIRPath expression on the final stored resource.

use super::date_range::{self, DateRange};
use super::normalize::normalize;
use super::registry::{ParamType, Registry};
use crate::fhirpath::FhirPathValue;
use serde_json::Value;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndexValue {
    /// A code, Coding, CodeableConcept coding, Identifier or ContactPoint; `system` is empty
    /// when there is none.
    Token {
        system: String,
        code: String,
    },
    /// `normalized` for the default and `:contains` searches, `exact` for `:exact`.
    String {
        normalized: String,
        exact: String,
    },
    /// `Type/id` (also parsed from an absolute URL); `raw` is the reference as written.
    Reference {
        target_type: String,
        target_id: String,
        raw: String,
    },
    Date(DateRange),
    Uri(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    pub param: String,
    pub value: IndexValue,
}

/// The parameters whose values the store sets as it commits: the resource's `id` and
/// `meta.lastUpdated`. Every other parameter's rows can be computed before the commit.
pub const STAMPED_PARAMS: [&str; 2] = ["_id", "_lastUpdated"];

/// Computes a resource's index rows, on the resource as stored: ids, references and `meta`
/// final.
pub trait SearchIndexer: Send + Sync {
    /// The rows of the parameters for which `keep(code)` holds.
    fn index_rows_where(
        &self,
        resource_type: &str,
        resource: &Value,
        keep: &dyn Fn(&str) -> bool,
    ) -> Vec<IndexRow>;

    fn index_rows(&self, resource_type: &str, resource: &Value) -> Vec<IndexRow> {
        self.index_rows_where(resource_type, resource, &|_| true)
    }
}

impl SearchIndexer for Registry {
    fn index_rows_where(
        &self,
        resource_type: &str,
        resource: &Value,
        keep: &dyn Fn(&str) -> bool,
    ) -> Vec<IndexRow> {
        let mut rows = Vec::new();
        for def in self.params(resource_type).iter().filter(|d| keep(&d.code)) {
            let before = rows.len();
            let mut push = |value| {
                rows.push(IndexRow {
                    param: def.code.clone(),
                    value,
                })
            };
            match &def.chain {
                Some(path) => path.chain.for_each(resource, |ty, node| {
                    if path.keeps(node) {
                        extract_node(def.kind, ty, node, &mut push)
                    }
                }),
                None => {
                    // An evaluation error (unexpected data shape) leaves that parameter
                    // unindexed for this resource rather than failing a valid write.
                    let Ok(values) = def.path.evaluate(resource, resource) else {
                        continue;
                    };
                    for v in &values {
                        extract(def.kind, v, &mut push);
                    }
                }
            }
            dedup_tail(&mut rows, before);
        }
        rows
    }
}

/// One row per distinct value of a parameter (`rows[from..]`), the first in document order.
/// Linear: a resource may repeat an element tens of thousands of times. SipHash (not the Fx
/// hasher of `fast_hash`): the values come from requests.
fn dedup_tail(rows: &mut Vec<IndexRow>, from: usize) {
    if rows.len() - from < 2 {
        return;
    }
    let tail = rows.split_off(from);
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(tail.len());
        tail.iter().map(|row| seen.insert(&row.value)).collect()
    };
    rows.extend(
        tail.into_iter()
            .zip(keep)
            .filter_map(|(row, keep)| keep.then_some(row)),
    );
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn strings<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    match v.get(key) {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn extract(kind: ParamType, value: &FhirPathValue, emit: &mut dyn FnMut(IndexValue)) {
    match value {
        FhirPathValue::Node { type_name, value } => extract_node(kind, type_name, value, emit),
        FhirPathValue::Boolean(b) if kind == ParamType::Token => emit(IndexValue::Token {
            system: String::new(),
            code: b.to_string(),
        }),
        FhirPathValue::Date(_) | FhirPathValue::DateTime(_) if kind == ParamType::Date => {
            if let Some(r) = date_range::parse(&value.to_text()) {
                emit(IndexValue::Date(r));
            }
        }
        FhirPathValue::String(s) => emit_text(kind, s, emit),
        _ => {}
    }
}

/// The rows of one node of the resource, by the parameter's type and the node's FHIR type.
fn extract_node(kind: ParamType, type_name: &str, node: &Value, emit: &mut dyn FnMut(IndexValue)) {
    match kind {
        ParamType::Token => match type_name {
            "CodeableConcept" => {
                for coding in node
                    .get("coding")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    token_of(coding, "code", emit);
                }
            }
            "Coding" => token_of(node, "code", emit),
            "Identifier" => token_of(node, "value", emit),
            "ContactPoint" => {
                if let Some(v) = str_of(node, "value") {
                    emit(IndexValue::Token {
                        system: String::new(),
                        code: v.to_string(),
                    });
                }
            }
            _ => match node {
                Value::String(s) if !s.is_empty() => emit(IndexValue::Token {
                    system: String::new(),
                    code: s.clone(),
                }),
                Value::Bool(b) => emit(IndexValue::Token {
                    system: String::new(),
                    code: b.to_string(),
                }),
                _ => {}
            },
        },
        ParamType::String => match type_name {
            "HumanName" => {
                for key in ["family", "given", "prefix", "suffix", "text"] {
                    for s in strings(node, key) {
                        emit_text(kind, s, emit);
                    }
                }
            }
            "Address" => {
                for key in [
                    "line",
                    "city",
                    "district",
                    "state",
                    "postalCode",
                    "country",
                    "text",
                ] {
                    for s in strings(node, key) {
                        emit_text(kind, s, emit);
                    }
                }
            }
            _ => {
                if let Value::String(s) = node {
                    emit_text(kind, s, emit);
                }
            }
        },
        ParamType::Reference => match (type_name, node) {
            ("Reference", _) => {
                if let Some(r) = str_of(node, "reference").and_then(parse_reference) {
                    emit(r);
                }
            }
            (_, Value::String(s)) => emit_text(kind, s, emit),
            _ => {}
        },
        ParamType::Date => match (type_name, node) {
            ("Period", _) => {
                let start = str_of(node, "start").and_then(date_range::parse);
                let end = str_of(node, "end").and_then(date_range::parse);
                if start.is_some() || end.is_some() {
                    emit(IndexValue::Date(DateRange {
                        low: start.map_or(DateRange::OPEN_LOW, |r| r.low),
                        high: end.map_or(DateRange::OPEN_HIGH, |r| r.high),
                    }));
                }
            }
            ("Timing", _) => {
                for s in strings(node, "event") {
                    if let Some(r) = date_range::parse(s) {
                        emit(IndexValue::Date(r));
                    }
                }
            }
            (_, Value::String(s)) => {
                if let Some(r) = date_range::parse(s) {
                    emit(IndexValue::Date(r));
                }
            }
            _ => {}
        },
        ParamType::Uri => {
            if let Value::String(s) = node {
                emit_text(kind, s, emit);
            }
        }
    }
}

fn token_of(node: &Value, code_key: &str, emit: &mut dyn FnMut(IndexValue)) {
    if let Some(code) = str_of(node, code_key) {
        emit(IndexValue::Token {
            system: str_of(node, "system").unwrap_or_default().to_string(),
            code: code.to_string(),
        });
    }
}

fn emit_text(kind: ParamType, s: &str, emit: &mut dyn FnMut(IndexValue)) {
    if s.is_empty() {
        return;
    }
    emit(match kind {
        ParamType::Token => IndexValue::Token {
            system: String::new(),
            code: s.to_string(),
        },
        ParamType::String => IndexValue::String {
            normalized: normalize(s),
            exact: s.to_string(),
        },
        // canonical / uri valued reference parameters: matched on the text
        ParamType::Reference => IndexValue::Reference {
            target_type: String::new(),
            target_id: String::new(),
            raw: s.to_string(),
        },
        ParamType::Uri => IndexValue::Uri(s.to_string()),
        ParamType::Date => match date_range::parse(s) {
            Some(r) => IndexValue::Date(r),
            None => return,
        },
    });
}

/// `Patient/1`, `Patient/1/_history/2` and `https://host/fhir/Patient/1` all index as
/// (Patient, 1); `#contained` and other forms keep only the raw text.
pub fn parse_reference(reference: &str) -> Option<IndexValue> {
    if reference.starts_with('#') {
        return None;
    }
    let path = match reference.find("/_history/") {
        Some(i) => &reference[..i],
        None => reference,
    };
    let mut parts = path.rsplit('/');
    let (target_type, target_id) = match (parts.next(), parts.next()) {
        (Some(id), Some(ty))
            if !id.is_empty()
                && ty.starts_with(|c: char| c.is_ascii_uppercase())
                && ty.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            (ty.to_string(), id.to_string())
        }
        _ => (String::new(), String::new()),
    };
    Some(IndexValue::Reference {
        target_type,
        target_id,
        raw: reference.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::registry::tests::registry;
    use serde_json::json;

    fn rows(rt: &str, r: Value) -> Vec<IndexRow> {
        registry().index_rows(rt, &r)
    }

    fn values(rows: &[IndexRow], param: &str) -> Vec<IndexValue> {
        rows.iter()
            .filter(|r| r.param == param)
            .map(|r| r.value.clone())
            .collect()
    }

    #[test]
    fn care_plan_rows() {
        let r = rows(
            "CarePlan",
            json!({"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
                   "meta": {"lastUpdated": "2026-01-02T03:04:05.678Z"},
                   "subject": {"reference": "Patient/p1"},
                   "careTeam": [{"reference": "http://gw.example/fhir/CareTeam/ct1"}],
                   "category": [{"coding": [{"system": "http://s", "code": "c"}]}],
                   "period": {"start": "2026-01"}}),
        );
        assert_eq!(
            values(&r, "status"),
            vec![IndexValue::Token {
                system: String::new(),
                code: "active".into()
            }]
        );
        assert_eq!(
            values(&r, "patient"),
            vec![IndexValue::Reference {
                target_type: "Patient".into(),
                target_id: "p1".into(),
                raw: "Patient/p1".into()
            }]
        );
        assert_eq!(values(&r, "subject").len(), 1);
        assert!(matches!(&values(&r, "care-team")[0],
            IndexValue::Reference { target_type, target_id, .. } if target_type == "CareTeam" && target_id == "ct1"));
        assert_eq!(
            values(&r, "category"),
            vec![IndexValue::Token {
                system: "http://s".into(),
                code: "c".into()
            }]
        );
        match &values(&r, "date")[0] {
            IndexValue::Date(d) => assert_eq!(d.high, DateRange::OPEN_HIGH),
            other => panic!("{other:?}"),
        }
        assert_eq!(values(&r, "_id").len(), 1);
        assert_eq!(values(&r, "_lastUpdated").len(), 1);
    }

    #[test]
    fn patient_rows() {
        let r = rows(
            "Patient",
            json!({"resourceType": "Patient", "id": "p1",
                   "identifier": [{"system": "http://mrn", "value": "123"}],
                   "name": [{"family": "Müller", "given": ["Zoë", "Ann"]}],
                   "gender": "female", "birthDate": "1950-05-06"}),
        );
        assert_eq!(values(&r, "family").len(), 1);
        assert_eq!(values(&r, "given").len(), 2);
        assert_eq!(values(&r, "name").len(), 3);
        assert!(values(&r, "name").contains(&IndexValue::String {
            normalized: "muller".into(),
            exact: "Müller".into()
        }));
        assert_eq!(
            values(&r, "identifier"),
            vec![IndexValue::Token {
                system: "http://mrn".into(),
                code: "123".into()
            }]
        );
        assert_eq!(values(&r, "birthdate").len(), 1);
        // a Group subject is not a patient
        let g = rows(
            "CarePlan",
            json!({"resourceType": "CarePlan", "subject": {"reference": "Group/g"}}),
        );
        assert!(values(&g, "patient").is_empty());
    }

    #[test]
    fn repeated_values_index_once_in_document_order() {
        let names: Vec<Value> = (0..3000)
            .map(|i| json!({"family": format!("F{}", i % 7), "given": ["G", format!("H{i}")]}))
            .collect();
        let r = rows("Patient", json!({"resourceType": "Patient", "name": names}));
        let family = values(&r, "family");
        assert_eq!(family.len(), 7);
        assert!(matches!(&family[0], IndexValue::String { exact, .. } if exact == "F0"));
        assert!(matches!(&family[6], IndexValue::String { exact, .. } if exact == "F6"));
        // "G" once, and 3000 distinct H…
        assert_eq!(values(&r, "given").len(), 3001);
    }
}
