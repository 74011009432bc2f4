//! One audited request, and its FHIR AuditEvent in the IHE Basic Audit Log Patterns (BALP) shape:
//! type `rest`, subtype the interaction, agents (the client and us), entities (resources, query),
//! outcome. Only ids, types and query parameter *names* go in: no names, identifiers or bodies.

use fhir_engine::model::instant::fhir_instant;
use serde::Serialize;
use std::borrow::Cow;

/// What was audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditKind {
    /// A FHIR REST interaction (`read`, `create`, `transaction`, `operation`, …).
    Rest,
    /// A token request at `/auth/token`.
    Login,
}

/// A resource (or type) the request touched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// Longest text kept in one recorded field; longer client-supplied text is cut.
const MAX_FIELD_CHARS: usize = 256;

/// Client-supplied text as the audit trail records it: control characters (NUL among them,
/// which PostgreSQL refuses in text) become U+FFFD and the length is bounded, so nothing a
/// client sends can make the audit write fail.
fn recordable(text: &str) -> Cow<'_, str> {
    let clean = text.chars().all(|c| !c.is_control()) && text.len() <= MAX_FIELD_CHARS;
    if clean {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .take(MAX_FIELD_CHARS)
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect(),
    )
}

fn needs_cleaning(text: &str) -> bool {
    matches!(recordable(text), Cow::Owned(_))
}

fn clean(text: &mut String) {
    if let Cow::Owned(cleaned) = recordable(text) {
        *text = cleaned;
    }
}

impl AuditEntity {
    fn needs_cleaning(&self) -> bool {
        needs_cleaning(&self.resource_type)
            || self.id.as_deref().is_some_and(needs_cleaning)
            || self.version.as_deref().is_some_and(needs_cleaning)
    }

    fn clean(&mut self) {
        clean(&mut self.resource_type);
        self.id.iter_mut().for_each(clean);
        self.version.iter_mut().for_each(clean);
    }
}

impl AuditRecord {
    /// The record with every client-supplied field made recordable (see `recordable`);
    /// borrowed as it is when nothing needs it, which is nearly always.
    pub fn recordable(&self) -> Cow<'_, AuditRecord> {
        let dirty = [&self.subtype, &self.client_id, &self.request_id]
            .into_iter()
            .chain(&self.address)
            .chain(&self.operation)
            .chain(&self.query_names)
            .any(|t| needs_cleaning(t))
            || self.entities.iter().any(AuditEntity::needs_cleaning);
        if !dirty {
            return Cow::Borrowed(self);
        }
        let mut record = self.clone();
        clean(&mut record.subtype);
        clean(&mut record.client_id);
        clean(&mut record.request_id);
        record.address.iter_mut().for_each(clean);
        record.operation.iter_mut().for_each(clean);
        record.query_names.iter_mut().for_each(clean);
        record.entities.iter_mut().for_each(AuditEntity::clean);
        Cow::Owned(record)
    }

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

    /// The AuditEvent JSON, written straight from typed parts: every request renders one, and
    /// building a `Value` tree first (a SipHash-keyed map per object) cost more than the rest.
    pub fn to_json(&self) -> String {
        let (type_coding, mut subtype) = match self.kind {
            AuditKind::Rest => (
                Coding::with_display(AUDIT_EVENT_TYPE, "rest", "RESTful Operation"),
                vec![Coding::new(RESTFUL_INTERACTION, &self.subtype)],
            ),
            AuditKind::Login => (
                Coding::with_display(DCM, "110114", "User Authentication"),
                vec![Coding::with_display(DCM, "110122", "Login")],
            ),
        };
        if let Some(op) = &self.operation {
            subtype.push(Coding::new("urn:hbpc-gateway:operation", op));
        }
        let system_object = Coding::with_display(AUDIT_ENTITY_TYPE, "2", "System Object");
        let mut entity: Vec<Entity> = self
            .entities
            .iter()
            .map(|e| Entity {
                what: Some(match (&e.id, &e.version) {
                    (Some(id), Some(v)) => {
                        What::reference(format!("{}/{id}/_history/{v}", e.resource_type))
                    }
                    (Some(id), None) => What::reference(format!("{}/{id}", e.resource_type)),
                    (None, _) => What {
                        kind: Some(&e.resource_type),
                        ..What::default()
                    },
                }),
                kind: system_object.clone(),
                ..Entity::default()
            })
            .collect();
        if !self.query_names.is_empty() {
            use base64::Engine;
            let names = self.query_names.join("&");
            entity.push(Entity {
                kind: system_object.clone(),
                role: Some(Coding::with_display(OBJECT_ROLE, "24", "Query")),
                description: Some("query parameter names (values are not recorded)"),
                query: Some(base64::engine::general_purpose::STANDARD.encode(names)),
                ..Entity::default()
            });
        }
        entity.push(Entity {
            what: Some(What {
                identifier: Some(Identifier {
                    system: None,
                    value: &self.request_id,
                }),
                ..What::default()
            }),
            kind: Coding::new(BALP_ENTITY_TYPE, "XrequestId"),
            ..Entity::default()
        });
        let recorded = fhir_instant(self.recorded_ms);
        let event = Event {
            resource_type: "AuditEvent",
            id: &self.id,
            meta: Meta {
                last_updated: &recorded,
            },
            kind: type_coding,
            subtype,
            action: self.action,
            recorded: &recorded,
            outcome: self.outcome(),
            outcome_desc: format!("HTTP {}", self.status),
            agent: [
                Agent {
                    kind: Concept {
                        coding: [Coding::with_display(DCM, "110153", "Source Role ID")],
                    },
                    who: Who {
                        identifier: Some(Identifier {
                            system: Some("urn:hbpc-gateway:client-id"),
                            value: &self.client_id,
                        }),
                        display: None,
                    },
                    requestor: true,
                    network: self
                        .address
                        .as_deref()
                        .map(|address| Network { address, kind: "2" }),
                },
                Agent {
                    kind: Concept {
                        coding: [Coding::with_display(DCM, "110152", "Destination Role ID")],
                    },
                    who: Who {
                        identifier: None,
                        display: Some("hbpc-gateway"),
                    },
                    requestor: false,
                    network: None,
                },
            ],
            source: Source {
                observer: Display {
                    display: "hbpc-gateway",
                },
                kind: [Coding::with_display(
                    SECURITY_SOURCE_TYPE,
                    "4",
                    "Application Server",
                )],
            },
            entity,
        };
        // Serialising these plain structs cannot fail (no maps with non-string keys).
        serde_json::to_string(&event).unwrap_or_default()
    }
}

/// The record of a request whose write committed but whose own record was never stored (the
/// process stopped in between): its record as known before the response (`template`, an
/// AuditEvent), naming first the versions the write stored. `None` if `template` is not one.
pub fn of_committed_write(template: &str, written: &[String]) -> Option<String> {
    let mut event: serde_json::Value = serde_json::from_str(template).ok()?;
    let entities = event.get_mut("entity")?.as_array_mut()?;
    let named: Vec<serde_json::Value> = written
        .iter()
        .filter(|r| {
            !entities
                .iter()
                .any(|e| e["what"]["reference"].as_str() == Some(r.as_str()))
        })
        .filter_map(|r| {
            serde_json::to_value(Entity {
                what: Some(What::reference(r.clone())),
                kind: Coding::with_display(AUDIT_ENTITY_TYPE, "2", "System Object"),
                ..Entity::default()
            })
            .ok()
        })
        .collect();
    entities.splice(0..0, named);
    event["outcome"] = "0".into();
    event["outcomeDesc"] =
        "the write was committed; the process stopped before the response was recorded".into();
    Some(event.to_string())
}

const AUDIT_EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const RESTFUL_INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const AUDIT_ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const BALP_ENTITY_TYPE: &str = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";
const SECURITY_SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    id: &'a str,
    meta: Meta<'a>,
    #[serde(rename = "type")]
    kind: Coding<'a>,
    subtype: Vec<Coding<'a>>,
    action: &'a str,
    recorded: &'a str,
    outcome: &'static str,
    #[serde(rename = "outcomeDesc")]
    outcome_desc: String,
    agent: [Agent<'a>; 2],
    source: Source<'a>,
    entity: Vec<Entity<'a>>,
}

#[derive(Serialize)]
struct Meta<'a> {
    #[serde(rename = "lastUpdated")]
    last_updated: &'a str,
}

#[derive(Serialize, Clone)]
struct Coding<'a> {
    system: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

impl<'a> Coding<'a> {
    fn new(system: &'a str, code: &'a str) -> Self {
        Self {
            system,
            code,
            display: None,
        }
    }

    fn with_display(system: &'a str, code: &'a str, display: &'a str) -> Self {
        Self {
            system,
            code,
            display: Some(display),
        }
    }
}

#[derive(Serialize)]
struct Concept<'a> {
    coding: [Coding<'a>; 1],
}

#[derive(Serialize)]
struct Agent<'a> {
    #[serde(rename = "type")]
    kind: Concept<'a>,
    who: Who<'a>,
    requestor: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<Network<'a>>,
}

#[derive(Serialize)]
struct Who<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<Identifier<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

#[derive(Serialize)]
struct Identifier<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    value: &'a str,
}

#[derive(Serialize)]
struct Network<'a> {
    address: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Serialize)]
struct Display<'a> {
    display: &'a str,
}

#[derive(Serialize)]
struct Source<'a> {
    observer: Display<'a>,
    #[serde(rename = "type")]
    kind: [Coding<'a>; 1],
}

#[derive(Serialize, Default)]
struct Entity<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<What<'a>>,
    #[serde(rename = "type")]
    kind: Coding<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Coding<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
}

#[derive(Serialize, Default)]
struct What<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<Identifier<'a>>,
}

impl What<'_> {
    fn reference(reference: String) -> Self {
        Self {
            reference: Some(reference),
            ..Self::default()
        }
    }
}

impl Default for Coding<'_> {
    fn default() -> Self {
        Self::new("", "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            id: "a1".into(),
            recorded_ms: 0,
            kind: AuditKind::Rest,
            subtype: "read".into(),
            action: "R",
            client_id: "hie".into(),
            address: None,
            entities: vec![AuditEntity {
                resource_type: "CarePlan".into(),
                id: Some("cp1".into()),
                version: None,
            }],
            query_names: vec![],
            operation: None,
            status: 200,
            request_id: "r1".into(),
        }
    }

    #[test]
    fn a_clean_record_is_recorded_as_it_is() {
        let record = record();
        assert!(matches!(record.recordable(), Cow::Borrowed(_)));
    }

    #[test]
    fn control_characters_are_replaced_and_long_text_is_cut() {
        let mut record = record();
        record.entities[0].resource_type = "Pati\0ent".into();
        record.client_id = "x".repeat(10_000);
        record.query_names = vec!["a\u{1b}b".into()];
        let recordable = record.recordable();
        assert_eq!(recordable.entities[0].resource_type, "Pati\u{FFFD}ent");
        assert_eq!(recordable.client_id.chars().count(), MAX_FIELD_CHARS);
        assert_eq!(recordable.query_names[0], "a\u{FFFD}b");
        let json = recordable.to_json();
        assert!(!json.contains("\\u0000") && !json.contains('\0'), "{json}");
    }

    #[test]
    fn a_committed_write_without_its_record_names_what_it_wrote() {
        let template = record().to_json();
        let written = vec![
            "CarePlan/cp1/_history/2".to_string(),
            "Task/t1/_history/1".to_string(),
        ];
        let body = of_committed_write(&template, &written).expect("an AuditEvent");
        let e: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(e["id"], "a1");
        assert_eq!(e["outcome"], "0");
        assert_eq!(
            e["entity"][0]["what"]["reference"],
            "CarePlan/cp1/_history/2"
        );
        assert_eq!(e["entity"][1]["what"]["reference"], "Task/t1/_history/1");
        assert_eq!(e["entity"][1]["type"]["code"], "2");
        // what the template named stays
        assert_eq!(e["entity"][2]["what"]["reference"], "CarePlan/cp1");
        assert!(of_committed_write("not json", &written).is_none());
    }

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
        let e: serde_json::Value = serde_json::from_str(&record.to_json()).unwrap();
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
