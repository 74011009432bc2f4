//! The part of a resource write that does not depend on its commit, done on the request's
//! thread so that the single SQLite writer only stamps, joins and stores:
//! - the search index rows (every indexed parameter but `_id` and `_lastUpdated`, which
//!   the resource tables answer, so nothing is left for the writer to index);
//! - the stored JSON around the server's `id`, `meta.versionId` and `meta.lastUpdated`: the
//!   bytes `meta::stamp` and `serde_json::to_string` give, joined instead of serialised whole
//!   (written by `json::write`).

use super::WriteOp;
use fhir_engine::json::write;
use fhir_engine::search::index::{IndexRow, SearchIndexer, STAMPED_PARAMS};
use serde_json::{Map, Value};

pub struct PreparedWrite {
    /// The resource's `search_index` rows (`store::search::rows_of`).
    pub rows: Vec<IndexRow>,
    body: Option<BodyParts>,
}

/// The stamped resource is `{"resourceType":R,"id":I,"meta":{M"versionId":V,"lastUpdated":T}X}`.
struct BodyParts {
    /// `R`: the JSON string of `resourceType`.
    resource_type: String,
    /// `M`: the client's `meta` members, each followed by a comma.
    meta: String,
    /// `X`: every other member in the client's order, each preceded by a comma.
    rest: String,
}

impl PreparedWrite {
    /// `None` for a write without a resource.
    pub fn of(op: &WriteOp, indexer: &dyn SearchIndexer) -> Option<Self> {
        let (resource_type, resource) = match op {
            WriteOp::Create {
                resource_type,
                resource,
                ..
            }
            | WriteOp::Update {
                resource_type,
                resource,
                ..
            } => (resource_type, resource),
            WriteOp::Delete { .. } | WriteOp::EnqueueDelivery(_) | WriteOp::RecordAudit(_) => {
                return None
            }
        };
        let rows = indexer.index_rows_where(resource_type, resource, &|code| {
            !STAMPED_PARAMS.contains(&code)
        });
        Some(Self {
            rows,
            body: BodyParts::of(resource),
        })
    }

    /// The stored JSON of the resource stamped with these values; `None` when it has to be
    /// serialised whole (a shape the parts do not cover).
    pub fn body(&self, id: &str, version_id: u64, last_updated: &str) -> Option<String> {
        let parts = self.body.as_ref()?;
        let mut out = String::with_capacity(parts.meta.len() + parts.rest.len() + 160);
        out.push_str("{\"resourceType\":");
        out.push_str(&parts.resource_type);
        out.push_str(",\"id\":");
        write::write_str(&mut out, id);
        out.push_str(",\"meta\":{");
        out.push_str(&parts.meta);
        out.push_str("\"versionId\":\"");
        out.push_str(&version_id.to_string());
        out.push_str("\",\"lastUpdated\":");
        write::write_str(&mut out, last_updated);
        out.push('}');
        out.push_str(&parts.rest);
        out.push('}');
        Some(out)
    }
}

impl BodyParts {
    /// `None` unless the resource is an object with a string `resourceType` and a `meta`, if
    /// any, that is an object without `versionId` and `lastUpdated` (the stamp replaces those
    /// in place, which the parts do not model).
    fn of(resource: &Value) -> Option<Self> {
        let fields = resource.as_object()?;
        let resource_type = fields.get("resourceType").filter(|v| v.is_string())?;
        let meta = match fields.get("meta") {
            None => None,
            Some(Value::Object(m))
                if !m.contains_key("versionId") && !m.contains_key("lastUpdated") =>
            {
                Some(m)
            }
            Some(_) => return None,
        };
        let mut meta_out = String::new();
        for (key, value) in meta.into_iter().flat_map(Map::iter) {
            write::write_member(&mut meta_out, key, value);
            meta_out.push(',');
        }
        let mut rest = String::new();
        for (key, value) in fields {
            if !matches!(key.as_str(), "resourceType" | "id" | "meta") {
                rest.push(',');
                write::write_member(&mut rest, key, value);
            }
        }
        Some(Self {
            resource_type: write::to_string(resource_type),
            meta: meta_out,
            rest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::guide::resource_types::search_registry;
    use fhir_engine::model::meta;
    use serde_json::json;

    fn create(resource: Value) -> WriteOp {
        WriteOp::Create {
            resource_type: resource["resourceType"].as_str().unwrap_or("Basic").into(),
            id: "server-id".into(),
            resource,
            if_none_exist: None,
        }
    }

    /// What the writer stores without the prepared parts: the resource stamped and
    /// serialised whole, indexed whole.
    fn whole(mut resource: Value, version: u64, at: &str) -> (String, Vec<IndexRow>) {
        meta::stamp(&mut resource, "server-id", version, at);
        let rt = resource["resourceType"]
            .as_str()
            .unwrap_or("Basic")
            .to_string();
        let rows = crate::store::search::rows_of(&rt, &resource);
        (resource.to_string(), rows)
    }

    fn prepared(resource: &Value, version: u64, at: &str) -> (Option<String>, Vec<IndexRow>) {
        let p = PreparedWrite::of(&create(resource.clone()), search_registry()).expect("prepared");
        (p.body("server-id", version, at), p.rows.clone())
    }

    fn sorted(mut rows: Vec<IndexRow>) -> Vec<String> {
        let mut out: Vec<String> = rows.drain(..).map(|r| format!("{r:?}")).collect();
        out.sort();
        out
    }

    #[test]
    fn the_joined_parts_are_the_bytes_and_rows_of_the_whole_resource() {
        let at = "2026-11-30T15:04:05.678Z";
        let cases = [
            json!({"resourceType": "Patient", "id": "client-id", "meta": {"profile": ["p"], "tag": [{"code": "t\"q"}]},
                   "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">é</div>"},
                   "identifier": [{"system": "urn:mrn", "value": "1"}], "birthDate": "1950-01-02",
                   "_birthDate": {"extension": [{"url": "u", "valueDecimal": 1.50}]}, "name": [{"family": "Ünal"}]}),
            json!({"name": [{"family": "Order"}], "resourceType": "Patient", "gender": "female"}),
            json!({"resourceType": "Observation", "status": "final", "meta": {},
                   "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                   "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-11-01T10:00:00Z",
                   "valueQuantity": {"value": 7.0, "unit": "score"}}),
        ];
        for resource in cases {
            let (body, rows) = prepared(&resource, 3, at);
            let (expected_body, expected_rows) = whole(resource.clone(), 3, at);
            assert_eq!(body.as_deref(), Some(expected_body.as_str()), "{resource}");
            assert_eq!(sorted(rows), sorted(expected_rows), "{resource}");
        }
    }

    #[test]
    fn the_fixture_resources_join_to_their_whole_serialisation() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/referral-separate");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
            let resource: Value = serde_json::from_str(&text).expect("json");
            let (body, rows) = prepared(&resource, 1, "2026-01-01T00:00:00.000Z");
            let (expected_body, expected_rows) = whole(resource, 1, "2026-01-01T00:00:00.000Z");
            assert_eq!(body, Some(expected_body));
            assert_eq!(sorted(rows), sorted(expected_rows));
            checked += 1;
        }
        assert!(checked >= 13);
    }

    #[test]
    fn a_meta_with_version_or_time_is_serialised_whole() {
        for meta in [
            json!({"versionId": "4"}),
            json!({"lastUpdated": "2020-01-01T00:00:00Z"}),
            json!("x"),
        ] {
            let p = PreparedWrite::of(
                &create(json!({"resourceType": "Patient", "meta": meta})),
                search_registry(),
            )
            .expect("prepared");
            assert_eq!(p.body("a", 1, "2026-01-01T00:00:00.000Z"), None);
        }
        let delete = WriteOp::Delete {
            resource_type: "Patient".into(),
            id: "a".into(),
            if_match: None,
        };
        assert!(PreparedWrite::of(&delete, search_registry()).is_none());
    }
}
