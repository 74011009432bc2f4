//! One audited request, and its FHIR AuditEvent in the IHE Basic Audit Log Patterns (BALP) shape:
//! type `rest`, subtype the interaction, agents (the client and us), entities (resources, query),
//! outcome. Only ids, types and query parameter *names* go in: no names, identifiers or bodies.

use crate::domain::fhir::instant::fhir_instant;
use serde_json::{json, Value};

/// What was audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditKind {
    /// A FHIR REST interaction (`read`, `create`, `transaction`, `operation`, …).
    Rest,
    /// A token request at `/auth/token`.
    Login,
}

/// A resource (or type) the request touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntity {
    pub resource_type: String,
    pub id: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: String,
    pub recorded_ms: i64,
    pub kind: AuditKind,
    /// The `restful-interaction` code (or `operation`, `login`).
    pub subtype: String,
    /// `C`, `R`, `U`, `D` or `E`.
    pub action: &'static str,
    /// The authenticated client, or `anonymous` (auth off) or `unauthenticated`.
    pub client_id: String,
    /// The network address the request came from.
    pub address: Option<String>,
    pub entities: Vec<AuditEntity>,
    /// Names of the query parameters (their values can be PHI: never recorded).
    pub query_names: Vec<String>,
    /// The operation name for `$op` requests.
    pub operation: Option<String>,
    pub status: u16,
    pub request_id: String,
}

impl AuditRecord {
    /// `0` success, `4` minor failure (the client's), `8` serious failure (ours).
    pub fn outcome(&self) -> &'static str {
        match self.status {
            0..=399 => "0",
            400..=499 => "4",
            _ => "8",
        }
    }

    /// The first entity's type, for searching.
    pub fn entity_type(&self) -> Option<&str> {
        self.entities.first().map(|e| e.resource_type.as_str())
    }

    pub fn to_fhir(&self) -> Value {
        let (type_coding, subtype_coding) = match self.kind {
            AuditKind::Rest => (
                json!({"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                       "code": "rest", "display": "RESTful Operation"}),
                json!({"system": "http://hl7.org/fhir/restful-interaction",
                       "code": self.subtype}),
            ),
            AuditKind::Login => (
                json!({"system": "http://dicom.nema.org/resources/ontology/DCM",
                       "code": "110114", "display": "User Authentication"}),
                json!({"system": "http://dicom.nema.org/resources/ontology/DCM",
                       "code": "110122", "display": "Login"}),
            ),
        };
        let mut client = json!({
            "type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM",
                                 "code": "110153", "display": "Source Role ID"}]},
            "who": {"identifier": {"system": "urn:hbpc-gateway:client-id", "value": self.client_id}},
            "requestor": true,
        });
        if let Some(address) = &self.address {
            client["network"] = json!({"address": address, "type": "2"});
        }
        let server = json!({
            "type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM",
                                 "code": "110152", "display": "Destination Role ID"}]},
            "who": {"display": "hbpc-gateway"},
            "requestor": false,
        });
        let mut entities: Vec<Value> = self
            .entities
            .iter()
            .map(|e| {
                let what = match (&e.id, &e.version) {
                    (Some(id), Some(v)) => {
                        json!({"reference": format!("{}/{id}/_history/{v}", e.resource_type)})
                    }
                    (Some(id), None) => json!({"reference": format!("{}/{id}", e.resource_type)}),
                    (None, _) => json!({"type": e.resource_type}),
                };
                json!({
                    "what": what,
                    "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                             "code": "2", "display": "System Object"},
                })
            })
            .collect();
        if !self.query_names.is_empty() {
            use base64::Engine;
            let names = self.query_names.join("&");
            entities.push(json!({
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                         "code": "2", "display": "System Object"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role",
                         "code": "24", "display": "Query"},
                "description": "query parameter names (values are not recorded)",
                "query": base64::engine::general_purpose::STANDARD.encode(names),
            }));
        }
        entities.push(json!({
            "what": {"identifier": {"value": self.request_id}},
            "type": {"system": "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
                     "code": "XrequestId"},
        }));
        let mut event = json!({
            "resourceType": "AuditEvent",
            "id": self.id,
            "meta": {"lastUpdated": fhir_instant(self.recorded_ms)},
            "type": type_coding,
            "subtype": [subtype_coding],
            "action": self.action,
            "recorded": fhir_instant(self.recorded_ms),
            "outcome": self.outcome(),
            "outcomeDesc": format!("HTTP {}", self.status),
            "agent": [client, server],
            "source": {
                "observer": {"display": "hbpc-gateway"},
                "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                          "code": "4", "display": "Application Server"}],
            },
            "entity": entities,
        });
        if let Some(op) = &self.operation {
            event["subtype"]
                .as_array_mut()
                .into_iter()
                .for_each(|s| s.push(json!({"system": "urn:hbpc-gateway:operation", "code": op})));
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balp_shape() {
        let record = AuditRecord {
            id: "a1".into(),
            recorded_ms: 0,
            kind: AuditKind::Rest,
            subtype: "read".into(),
            action: "R",
            client_id: "hie".into(),
            address: Some("127.0.0.1".into()),
            entities: vec![AuditEntity {
                resource_type: "CarePlan".into(),
                id: Some("cp1".into()),
                version: None,
            }],
            query_names: vec!["identifier".into()],
            operation: None,
            status: 403,
            request_id: "r1".into(),
        };
        let e = record.to_fhir();
        assert_eq!(e["type"]["code"], "rest");
        assert_eq!(e["subtype"][0]["code"], "read");
        assert_eq!(e["outcome"], "4");
        assert_eq!(e["agent"][0]["who"]["identifier"]["value"], "hie");
        assert_eq!(e["agent"][0]["network"]["address"], "127.0.0.1");
        assert_eq!(e["entity"][0]["what"]["reference"], "CarePlan/cp1");
        assert_eq!(e["entity"][1]["role"]["code"], "24");
        assert_eq!(e["entity"][2]["what"]["identifier"]["value"], "r1");
    }
}
