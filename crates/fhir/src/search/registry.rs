//! The search parameter registry: official R4 SearchParameter definitions (vendored in
//! `definitions/r4-core/search-parameters.json` by `scripts/profiles/vendor_search_params.py`),
//! each expression compiled once by our FHIRPath engine, for the resource types a caller
//! stores. Search, index extraction and a CapabilityStatement can all read one registry.

use crate::fhirpath::{CompiledPath, FhirPathEngine, MemberChain};
use crate::json::member::member_str;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// The vendored R4 SearchParameters, for [`Registry::from_json`].
pub const R4_SEARCH_PARAMETERS: &str =
    include_str!("../../definitions/r4-core/search-parameters.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Token,
    String,
    Reference,
    Date,
    Uri,
}

impl ParamType {
    /// The R4 `search-param-type` code; None for types this server does not index
    /// (number, quantity, composite, special).
    fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "token" => ParamType::Token,
            "string" => ParamType::String,
            "reference" => ParamType::Reference,
            "date" => ParamType::Date,
            "uri" => ParamType::Uri,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            ParamType::Token => "token",
            ParamType::String => "string",
            ParamType::Reference => "reference",
            ParamType::Date => "date",
            ParamType::Uri => "uri",
        }
    }

    /// The modifiers this server implements for the type (`missing` applies to all).
    pub fn modifiers(self) -> &'static [&'static str] {
        match self {
            ParamType::Token => &["missing", "not"],
            ParamType::String => &["missing", "exact", "contains"],
            ParamType::Reference => &["missing", "[type]"],
            ParamType::Date | ParamType::Uri => &["missing"],
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawParam {
    url: String,
    code: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "resourceType")]
    resource_type: String,
    expression: String,
    #[serde(default)]
    target: Vec<String>,
}

/// One search parameter of one resource type.
#[derive(Debug, Clone)]
pub struct ParamDef {
    pub resource_type: String,
    pub code: String,
    pub url: String,
    pub kind: ParamType,
    /// The official expression, as published.
    pub expression: String,
    /// Reference targets that are stored types.
    pub targets: Vec<String>,
    pub(crate) path: CompiledPath,
    /// `path` as a plain member chain, when it is one (most are): walked without the evaluator.
    pub(crate) chain: Option<ChainPath>,
}

/// A parameter expression that a [`MemberChain`] walks: `Type.a.b`, or
/// `Type.a.where(resolve() is Target)`, which keeps the references to `Target`.
#[derive(Debug, Clone)]
pub(crate) struct ChainPath {
    pub chain: MemberChain,
    /// `Target/` and `/Target/`: the rewritten `resolve() is Target` (see [`without_resolve`]).
    reference_to: Option<(String, String)>,
}

impl ChainPath {
    /// `compiled` is `expression` as the registry compiled it; a plain chain is taken from it,
    /// and only the path before a `resolve()` filter is compiled again.
    fn of(engine: &FhirPathEngine, expression: &str, compiled: &CompiledPath) -> Option<Self> {
        match expression
            .strip_suffix(')')
            .and_then(|e| e.rsplit_once(".where(resolve() is "))
        {
            Some((path, target)) if target.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Some(Self {
                    chain: engine.compile(path).ok()?.member_chain()?,
                    reference_to: Some((format!("{target}/"), format!("/{target}/"))),
                })
            }
            _ => Some(Self {
                chain: compiled.member_chain()?,
                reference_to: None,
            }),
        }
    }

    /// Whether a found node passes the `resolve() is Target` filter.
    pub fn keeps(&self, node: &Value) -> bool {
        let Some((prefix, infix)) = &self.reference_to else {
            return true;
        };
        member_str(node, "reference")
            .is_some_and(|r| r.starts_with(prefix.as_str()) || r.contains(infix.as_str()))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_type: HashMap<String, Vec<ParamDef>>,
    /// (type, code, why) of definitions left out: unsupported type or an expression our
    /// engine cannot compile.
    pub skipped: Vec<(String, String, String)>,
}

/// `X.where(resolve() is Patient)`: our engine resolves only contained resources, so the
/// type test is made on the reference text (`Patient/1`, `http://…/Patient/1`) instead.
fn without_resolve(expression: &str) -> String {
    let mut out = expression.to_string();
    while let Some(start) = out.find("resolve() is ") {
        let after = start + "resolve() is ".len();
        let end = out[after..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(out.len(), |n| after + n);
        let ty = out[after..end].to_string();
        out.replace_range(
            start..end,
            &format!("(reference.startsWith('{ty}/') or reference.contains('/{ty}/'))"),
        );
    }
    out
}

impl Registry {
    pub fn from_json(text: &str, stored_types: &[&str]) -> Result<Self, serde_json::Error> {
        let raw: Vec<RawParam> = serde_json::from_str(text)?;
        let engine = FhirPathEngine::new();
        let mut registry = Registry::default();
        for p in raw {
            if !stored_types.contains(&p.resource_type.as_str()) {
                continue;
            }
            let Some(kind) = ParamType::parse(&p.kind) else {
                registry.skipped.push((
                    p.resource_type,
                    p.code,
                    format!("{} parameters are not indexed", p.kind),
                ));
                continue;
            };
            match engine.compile(&without_resolve(&p.expression)) {
                Ok(path) => {
                    let chain = ChainPath::of(&engine, &p.expression, &path);
                    registry
                        .by_type
                        .entry(p.resource_type.clone())
                        .or_default()
                        .push(ParamDef {
                            resource_type: p.resource_type,
                            code: p.code,
                            url: p.url,
                            kind,
                            expression: p.expression,
                            targets: p.target,
                            path,
                            chain,
                        });
                }
                Err(e) => registry
                    .skipped
                    .push((p.resource_type, p.code, e.to_string())),
            }
        }
        for params in registry.by_type.values_mut() {
            params.sort_by(|a, b| a.code.cmp(&b.code));
        }
        Ok(registry)
    }

    /// Keeps only the parameters for which `keep(resource_type, code)` holds: a server that
    /// indexes (and so advertises) fewer parameters than R4 defines.
    pub fn retain(&mut self, keep: impl Fn(&str, &str) -> bool) {
        for params in self.by_type.values_mut() {
            params.retain(|p| keep(&p.resource_type, &p.code));
        }
        self.by_type.retain(|_, params| !params.is_empty());
    }

    /// The resource types that have parameters, in no particular order.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.by_type.keys().map(String::as_str)
    }

    pub fn params(&self, resource_type: &str) -> &[ParamDef] {
        self.by_type.get(resource_type).map_or(&[], Vec::as_slice)
    }

    pub fn param(&self, resource_type: &str, code: &str) -> Option<&ParamDef> {
        let params = self.params(resource_type);
        params
            .binary_search_by(|p| p.code.as_str().cmp(code))
            .ok()
            .map(|i| &params[i])
    }

    /// `Type:param` of every reference parameter of the type: what `_include` accepts.
    pub fn includes(&self, resource_type: &str) -> Vec<String> {
        self.params(resource_type)
            .iter()
            .filter(|p| p.kind == ParamType::Reference)
            .map(|p| format!("{}:{}", p.resource_type, p.code))
            .collect()
    }

    /// `Source:param` of every reference parameter that may point at the type.
    pub fn revincludes(&self, resource_type: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .by_type
            .values()
            .flatten()
            .filter(|p| {
                p.kind == ParamType::Reference && p.targets.iter().any(|t| t == resource_type)
            })
            .map(|p| format!("{}:{}", p.resource_type, p.code))
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fhirpath::FhirPathValue;
    use std::sync::OnceLock;

    /// Every resource type the vendored file has parameters for.
    fn vendored_types() -> Vec<String> {
        let raw: Vec<RawParam> = serde_json::from_str(R4_SEARCH_PARAMETERS).unwrap();
        let mut types: Vec<String> = raw.into_iter().map(|p| p.resource_type).collect();
        types.sort();
        types.dedup();
        types
    }

    /// The registry of every vendored type, built once per test process.
    pub(crate) fn registry() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(|| {
            let types = vendored_types();
            let types: Vec<&str> = types.iter().map(String::as_str).collect();
            Registry::from_json(R4_SEARCH_PARAMETERS, &types).unwrap()
        })
    }

    #[test]
    fn vendored_definitions_compile() {
        let r = registry();
        for (ty, code) in [
            ("CarePlan", "patient"),
            ("CarePlan", "care-team"),
            ("CarePlan", "date"),
            ("CareTeam", "participant"),
            ("Patient", "birthdate"),
            ("Patient", "family"),
            ("ServiceRequest", "authored"),
            ("Task", "business-status"),
            ("Provenance", "target"),
            ("Observation", "_lastUpdated"),
            ("Goal", "_profile"),
            ("Task", "_tag"),
        ] {
            assert!(r.param(ty, code).is_some(), "{ty}.{code}: {:?}", r.skipped);
        }
        let compile_errors: Vec<_> = r
            .skipped
            .iter()
            .filter(|s| !s.2.ends_with("not indexed"))
            .collect();
        assert!(compile_errors.is_empty(), "{compile_errors:?}");
        assert!(r
            .includes("CarePlan")
            .contains(&"CarePlan:care-team".to_string()));
        assert!(r
            .revincludes("CarePlan")
            .contains(&"Provenance:target".to_string()));
    }

    /// A few resources of the vendored types, built here, and, when the test script has
    /// fetched them (`FHIR_R4_EXAMPLES`), the official R4 examples of those types (Bundle
    /// entries included).
    fn sample_resources() -> Vec<Value> {
        fn collect(v: Value, out: &mut Vec<Value>) {
            if let Some(entries) = v.get("entry").and_then(Value::as_array) {
                for r in entries.iter().filter_map(|e| e.get("resource")) {
                    collect(r.clone(), out);
                }
            }
            if v.get("resourceType").is_some() {
                out.push(v);
            }
        }
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    files(&path, out);
                } else if path.extension().is_some_and(|e| e == "json") {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        for v in built_resources() {
            collect(v, &mut out);
        }
        if let Ok(dir) = std::env::var("FHIR_R4_EXAMPLES") {
            let types = vendored_types();
            let mut examples = Vec::new();
            files(std::path::Path::new(&dir), &mut examples);
            for path in examples.into_iter().filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.split('-').next())
                    .is_some_and(|ty| types.iter().any(|t| t == ty))
            }) {
                if let Ok(v) =
                    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
                {
                    collect(v, &mut out);
                }
            }
        }
        out
    }

    /// A Bundle of resources of the vendored types, filled in where their parameters look.
    fn built_resources() -> Vec<Value> {
        use serde_json::json;
        let meta = |ty: &str| {
            json!({"lastUpdated": "2026-01-02T03:04:05.678Z", "source": "urn:example:source",
                   "profile": [format!("http://example.org/fhir/StructureDefinition/{ty}")],
                   "tag": [{"system": "http://example.org/tags", "code": "t1"}],
                   "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST"}]})
        };
        let concept = |system: &str, code: &str| json!({"coding": [{"system": system, "code": code}], "text": code});
        let ident = |system: &str, value: &str| json!([{"system": system, "value": value}]);
        let mut resources = vec![
            json!({"resourceType": "Patient", "id": "p1", "active": true, "gender": "female",
                   "identifier": ident("http://example.org/mrn", "123"), "birthDate": "1941-03-14",
                   "name": [{"family": "Chalmers", "given": ["Peter", "James"], "text": "Peter Chalmers"}],
                   "telecom": [{"system": "phone", "value": "555-0100"}, {"system": "email", "value": "p@example.org"}],
                   "address": [{"city": "Oakland", "state": "CA", "postalCode": "94612", "country": "US", "line": ["1 Main St"]}],
                   "generalPractitioner": [{"reference": "Practitioner/d1"}],
                   "managingOrganization": {"reference": "Organization/o1"},
                   "link": [{"other": {"reference": "Patient/p2"}, "type": "seealso"}],
                   "communication": [{"language": concept("urn:ietf:bcp:47", "en")}]}),
            json!({"resourceType": "Practitioner", "id": "d1", "active": true, "gender": "male",
                   "identifier": ident("http://hl7.org/fhir/sid/us-npi", "1234567893"),
                   "name": [{"family": "Careful", "given": ["Adam"]}],
                   "telecom": [{"system": "phone", "value": "555-0101"}],
                   "address": [{"city": "Oakland", "state": "CA"}],
                   "communication": [concept("urn:ietf:bcp:47", "en")]}),
            json!({"resourceType": "PractitionerRole", "id": "r1", "active": true,
                   "identifier": ident("http://example.org/roles", "r1"),
                   "practitioner": {"reference": "Practitioner/d1"}, "organization": {"reference": "Organization/o1"},
                   "code": [concept("http://snomed.info/sct", "158965000")], "specialty": [concept("http://snomed.info/sct", "394802001")],
                   "location": [{"reference": "Location/l1"}], "service": [{"reference": "HealthcareService/h1"}],
                   "period": {"start": "2020-01-01"}, "telecom": [{"system": "email", "value": "r@example.org"}]}),
            json!({"resourceType": "Organization", "id": "o1", "active": true, "name": "Example Health",
                   "alias": ["EH"], "identifier": ident("http://example.org/orgs", "o1"),
                   "type": [concept("http://terminology.hl7.org/CodeSystem/organization-type", "prov")],
                   "address": [{"city": "Oakland", "state": "CA", "postalCode": "94612"}],
                   "partOf": {"reference": "Organization/o2"}, "endpoint": [{"reference": "Endpoint/e1"}]}),
            json!({"resourceType": "ServiceRequest", "id": "s1", "status": "active", "intent": "order", "priority": "routine",
                   "identifier": ident("http://example.org/orders", "s1"),
                   "category": [concept("http://snomed.info/sct", "386053000")], "code": concept("http://snomed.info/sct", "103735009"),
                   "subject": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/e1"},
                   "requester": {"reference": "PractitionerRole/r1"}, "performer": [{"reference": "Organization/o1"}],
                   "performerType": concept("http://snomed.info/sct", "309964003"), "authoredOn": "2026-01-02",
                   "occurrenceDateTime": "2026-01-05", "basedOn": [{"reference": "CarePlan/c1"}],
                   "replaces": [{"reference": "ServiceRequest/s0"}], "requisition": {"system": "http://example.org/req", "value": "q1"},
                   "reasonReference": [{"reference": "Condition/c1"}], "insurance": [{"reference": "Coverage/v1"}],
                   "supportingInfo": [{"reference": "Observation/b1"}], "bodySite": [concept("http://snomed.info/sct", "368209003")],
                   "specimen": [{"reference": "Specimen/x1"}], "instantiatesCanonical": ["http://example.org/fhir/PlanDefinition/p"],
                   "instantiatesUri": ["http://example.org/protocol"]}),
            json!({"resourceType": "Coverage", "id": "v1", "status": "active",
                   "identifier": ident("http://example.org/members", "m1"), "type": concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "HIP"),
                   "beneficiary": {"reference": "Patient/p1"}, "subscriber": {"reference": "Patient/p1"},
                   "policyHolder": {"reference": "Patient/p1"}, "payor": [{"reference": "Organization/o1"}],
                   "period": {"start": "2026-01-01", "end": "2026-12-31"},
                   "class": [{"type": concept("http://terminology.hl7.org/CodeSystem/coverage-class", "plan"), "value": "gold"}],
                   "dependent": "0"}),
            json!({"resourceType": "Condition", "id": "c1", "identifier": ident("http://example.org/conditions", "c1"),
                   "clinicalStatus": concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
                   "verificationStatus": concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
                   "category": [concept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")],
                   "severity": concept("http://snomed.info/sct", "24484000"), "code": concept("http://hl7.org/fhir/sid/icd-10-cm", "C79.51"),
                   "bodySite": [concept("http://snomed.info/sct", "51185008")], "subject": {"reference": "Patient/p1"},
                   "encounter": {"reference": "Encounter/e1"}, "onsetDateTime": "2025-06-01", "abatementString": "never",
                   "recordedDate": "2025-06-02", "asserter": {"reference": "Practitioner/d1"},
                   "stage": [{"summary": concept("http://snomed.info/sct", "14803004")}],
                   "evidence": [{"code": [concept("http://snomed.info/sct", "169069000")], "detail": [{"reference": "Observation/b1"}]}]}),
            json!({"resourceType": "Observation", "id": "b1", "status": "final", "identifier": ident("http://example.org/obs", "b1"),
                   "category": [concept("http://terminology.hl7.org/CodeSystem/observation-category", "survey")],
                   "code": concept("http://loinc.org", "72514-3"), "subject": {"reference": "Patient/p1"},
                   "encounter": {"reference": "Encounter/e1"}, "effectiveDateTime": "2026-01-02T09:00:00Z",
                   "performer": [{"reference": "Practitioner/d1"}], "valueCodeableConcept": concept("http://snomed.info/sct", "373067005"),
                   "method": concept("http://snomed.info/sct", "272391002"), "device": {"reference": "Device/x1"},
                   "specimen": {"reference": "Specimen/x1"}, "basedOn": [{"reference": "ServiceRequest/s1"}],
                   "partOf": [{"reference": "Procedure/x1"}], "hasMember": [{"reference": "Observation/b2"}],
                   "derivedFrom": [{"reference": "Observation/b3"}], "focus": [{"reference": "Condition/c1"}],
                   "dataAbsentReason": concept("http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown"),
                   "component": [{"code": concept("http://loinc.org", "8480-6"), "valueCodeableConcept": concept("http://snomed.info/sct", "1")}]}),
            json!({"resourceType": "Consent", "id": "n1", "status": "active", "identifier": ident("http://example.org/consents", "n1"),
                   "scope": concept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
                   "category": [concept("http://loinc.org", "59284-0")], "patient": {"reference": "Patient/p1"},
                   "dateTime": "2026-01-02", "performer": [{"reference": "RelatedPerson/f1"}],
                   "organization": [{"reference": "Organization/o1"}], "sourceReference": {"reference": "DocumentReference/k1"},
                   "policyRule": concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN"),
                   "provision": {"type": "permit", "period": {"start": "2026-01-02"},
                     "actor": [{"role": concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PRCP"), "reference": {"reference": "Organization/o1"}}],
                     "action": [concept("http://terminology.hl7.org/CodeSystem/consentaction", "access")],
                     "securityLabel": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}],
                     "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}],
                     "data": [{"meaning": "related", "reference": {"reference": "ServiceRequest/s1"}}]}}),
            json!({"resourceType": "RelatedPerson", "id": "f1", "active": true, "patient": {"reference": "Patient/p1"},
                   "identifier": ident("http://example.org/people", "f1"), "gender": "female", "birthDate": "1950-05-06",
                   "relationship": [concept("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "DAU")],
                   "name": [{"family": "Chalmers", "given": ["Ann"]}], "telecom": [{"system": "phone", "value": "555-0102"}],
                   "address": [{"city": "Oakland", "state": "CA"}]}),
            json!({"resourceType": "DocumentReference", "id": "k1", "status": "current", "docStatus": "final",
                   "masterIdentifier": {"system": "http://example.org/docs", "value": "k1"}, "identifier": ident("http://example.org/docs", "k1b"),
                   "type": concept("http://loinc.org", "59284-0"), "category": [concept("http://loinc.org", "11488-4")],
                   "subject": {"reference": "Patient/p1"}, "date": "2026-01-02T09:00:00Z", "author": [{"reference": "Practitioner/d1"}],
                   "authenticator": {"reference": "Practitioner/d1"}, "custodian": {"reference": "Organization/o1"},
                   "relatesTo": [{"code": "appends", "target": {"reference": "DocumentReference/k0"}}],
                   "securityLabel": [concept("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "N")],
                   "content": [{"attachment": {"contentType": "application/pdf", "language": "en", "url": "http://example.org/k1.pdf"}, "format": {"system": "urn:oid:1.3.6.1.4.1.19376.1.2.3", "code": "urn:ihe:pcc:xphr:2007"}}],
                   "context": {"encounter": [{"reference": "Encounter/e1"}], "event": [concept("http://snomed.info/sct", "1")],
                     "period": {"start": "2026-01-01"}, "facilityType": concept("http://snomed.info/sct", "2"), "practiceSetting": concept("http://snomed.info/sct", "3"),
                     "sourcePatientInfo": {"reference": "Patient/p1"}, "related": [{"reference": "ServiceRequest/s1"}]}}),
            json!({"resourceType": "QuestionnaireResponse", "id": "q1", "status": "completed",
                   "identifier": {"system": "http://example.org/qr", "value": "q1"}, "questionnaire": "http://example.org/fhir/Questionnaire/q",
                   "basedOn": [{"reference": "ServiceRequest/s1"}], "partOf": [{"reference": "Observation/b1"}],
                   "subject": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/e1"}, "authored": "2026-01-02",
                   "author": {"reference": "Practitioner/d1"}, "source": {"reference": "Patient/p1"},
                   "item": [{"linkId": "1", "answer": [{"valueString": "yes"}]}]}),
            json!({"resourceType": "Task", "id": "t1", "status": "requested", "intent": "order", "priority": "routine",
                   "identifier": ident("http://example.org/tasks", "t1"), "groupIdentifier": {"system": "http://example.org/groups", "value": "g1"},
                   "basedOn": [{"reference": "ServiceRequest/s1"}], "partOf": [{"reference": "Task/t0"}],
                   "businessStatus": concept("http://example.org/status", "received"), "code": concept("http://hl7.org/fhir/CodeSystem/task-code", "fulfill"),
                   "focus": {"reference": "ServiceRequest/s1"}, "for": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/e1"},
                   "executionPeriod": {"start": "2026-01-02"}, "authoredOn": "2026-01-02T09:00:00Z", "lastModified": "2026-01-03T09:00:00Z",
                   "requester": {"reference": "PractitionerRole/r1"}, "owner": {"reference": "Organization/o1"},
                   "performerType": [concept("http://terminology.hl7.org/CodeSystem/task-performer-type", "performer")]}),
            json!({"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
                   "identifier": ident("http://example.org/plans", "cp1"), "instantiatesCanonical": ["http://example.org/fhir/PlanDefinition/p"],
                   "instantiatesUri": ["http://example.org/protocol"], "basedOn": [{"reference": "CarePlan/cp0"}],
                   "replaces": [{"reference": "CarePlan/cp0"}], "partOf": [{"reference": "CarePlan/cp0"}],
                   "category": [concept("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan")],
                   "subject": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/e1"}, "period": {"start": "2026-01"},
                   "careTeam": [{"reference": "http://example.org/fhir/CareTeam/ct1"}], "addresses": [{"reference": "Condition/c1"}],
                   "goal": [{"reference": "Goal/g1"}],
                   "activity": [{"reference": {"reference": "ServiceRequest/s1"}, "outcomeReference": [{"reference": "Observation/b1"}],
                     "detail": {"code": concept("http://snomed.info/sct", "1"), "status": "scheduled", "scheduledString": "weekly",
                       "performer": [{"reference": "Practitioner/d1"}]}}]}),
            json!({"resourceType": "CareTeam", "id": "ct1", "status": "active", "identifier": ident("http://example.org/teams", "ct1"),
                   "category": [concept("http://loinc.org", "LA27976-2")], "subject": {"reference": "Patient/p1"},
                   "encounter": {"reference": "Encounter/e1"}, "period": {"start": "2026-01-02"},
                   "participant": [{"role": [concept("http://snomed.info/sct", "133932002")], "member": {"reference": "RelatedPerson/f1"}},
                                   {"member": {"reference": "Practitioner/d1"}}],
                   "managingOrganization": [{"reference": "Organization/o1"}]}),
            json!({"resourceType": "Goal", "id": "g1", "lifecycleStatus": "active", "identifier": ident("http://example.org/goals", "g1"),
                   "achievementStatus": concept("http://terminology.hl7.org/CodeSystem/goal-achievement", "in-progress"),
                   "category": [concept("http://terminology.hl7.org/CodeSystem/goal-category", "behavioral")],
                   "description": {"text": "comfort"}, "subject": {"reference": "Patient/p1"}, "startDate": "2026-01-02",
                   "target": [{"dueDate": "2026-03-01"}], "expressedBy": {"reference": "Patient/p1"}, "addresses": [{"reference": "Condition/c1"}]}),
            json!({"resourceType": "Provenance", "id": "v2", "target": [{"reference": "CarePlan/cp1"}, {"reference": "Patient/p1"}],
                   "recorded": "2026-01-02T09:00:00Z", "occurredDateTime": "2026-01-02", "location": {"reference": "Location/l1"},
                   "policy": ["http://example.org/policy"], "activity": concept("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "CREATE"),
                   "agent": [{"type": concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author"),
                     "role": [concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "AUT")],
                     "who": {"reference": "Practitioner/d1"}, "onBehalfOf": {"reference": "Organization/o1"}}],
                   "entity": [{"role": "source", "what": {"reference": "DocumentReference/k1"}}],
                   "signature": [{"type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1"}], "when": "2026-01-02T09:00:00Z", "who": {"reference": "Practitioner/d1"}}]}),
        ];
        for r in &mut resources {
            let ty = r["resourceType"].as_str().unwrap_or_default().to_string();
            r["meta"] = meta(&ty);
        }
        vec![json!({"resourceType": "Bundle", "type": "collection",
                    "entry": resources.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()})]
    }

    #[test]
    fn member_chains_find_what_the_evaluator_finds() {
        let r = registry();
        let chained = r.by_type.values().flatten().filter(|p| p.chain.is_some());
        assert!(chained.count() > 300, "most parameters are plain paths");
        let mut compared = 0;
        for resource in sample_resources() {
            let ty = resource["resourceType"].as_str().unwrap_or_default();
            for def in r.params(ty) {
                let Some(chain) = &def.chain else { continue };
                let mut walked = Vec::new();
                chain.chain.for_each(&resource, |t, v| {
                    if chain.keeps(v) {
                        walked.push((t.to_string(), v.clone()))
                    }
                });
                let evaluated: Vec<_> = def
                    .path
                    .evaluate(&resource, &resource)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|v| match v {
                        FhirPathValue::Node { type_name, value } if !value.is_null() => {
                            Some((type_name, value))
                        }
                        _ => None,
                    })
                    .collect();
                assert_eq!(walked, evaluated, "{ty}.{} ({})", def.code, def.expression);
                compared += usize::from(!walked.is_empty());
            }
        }
        assert!(compared > 300, "only {compared} non-empty comparisons");
    }

    #[test]
    fn retain_keeps_only_the_named_parameters() {
        let mut r = Registry::from_json(R4_SEARCH_PARAMETERS, &["CarePlan", "Goal"]).unwrap();
        r.retain(|ty, code| ty == "CarePlan" && matches!(code, "patient" | "care-team"));
        let codes: Vec<&str> = r
            .params("CarePlan")
            .iter()
            .map(|p| p.code.as_str())
            .collect();
        assert_eq!(codes, ["care-team", "patient"]);
        assert!(r.params("Goal").is_empty());
        assert_eq!(r.types().collect::<Vec<_>>(), ["CarePlan"]);
        assert_eq!(r.revincludes("CareTeam"), ["CarePlan:care-team"]);
    }

    #[test]
    fn resolve_is_rewritten() {
        assert_eq!(
            without_resolve("CarePlan.subject.where(resolve() is Patient)"),
            "CarePlan.subject.where((reference.startsWith('Patient/') or reference.contains('/Patient/')))"
        );
    }
}
