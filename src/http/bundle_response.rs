//! transaction-response and batch-response Bundles, written as text so that stored
//! resources are embedded without being parsed again.

use super::error_response::status_of;
use super::prefer::ReturnPreference;
use super::responses::{etag, with_warnings};
use super::search_bundle::searchset;
use crate::app::intake::{BundleOutcome, EntryOutcome, Written};
use crate::store::StoredResource;
use fhir_engine::json::write;
use fhir_engine::model::instant::{fhir_instant, now_millis};
use fhir_engine::outcome::{operation_outcome, Issue};
use serde_json::{json, Value};

pub fn bundle_response(
    outcome: &BundleOutcome,
    base: &str,
    preference: ReturnPreference,
) -> String {
    let mut out = String::with_capacity(256 + outcome.entries.len() * 256);
    let head = write::to_string(&json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": outcome.kind.response_type(),
        "timestamp": fhir_instant(now_millis()),
    }));
    out.push_str(&head[..head.len() - 1]);
    out.push_str(",\"entry\":[");
    for (i, entry) in outcome.entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let warnings = outcome.warnings.get(&i).map_or(&[][..], Vec::as_slice);
        write_entry(&mut out, entry, base, preference, warnings);
    }
    out.push_str("]}");
    out
}

fn write_entry(
    out: &mut String,
    entry: &EntryOutcome,
    base: &str,
    preference: ReturnPreference,
    warnings: &[Issue],
) {
    match entry {
        EntryOutcome::Written(written) => {
            let (status, stored) = match written {
                Written::Created(s) => ("201 Created", s),
                Written::Existing(s) | Written::Updated(s) => ("200 OK", s),
            };
            let mut response = json!({
                "status": status,
                "location": format!("{}/{}/_history/{}", stored.resource_type, stored.id, stored.version_id),
                "etag": etag(stored.version_id),
                "lastModified": fhir_instant(stored.last_updated_ms),
            });
            // warnings were accepted, but the client should see them
            if preference == ReturnPreference::OperationOutcome || !warnings.is_empty() {
                let text = format!(
                    "{}/{} version {}",
                    stored.resource_type, stored.id, stored.version_id
                );
                response["outcome"] =
                    operation_outcome(&with_warnings(Issue::information(text), warnings));
            }
            out.push_str("{\"fullUrl\":");
            write::write_str(
                out,
                &format!("{base}/{}/{}", stored.resource_type, stored.id),
            );
            if preference == ReturnPreference::Representation {
                if let Some(body) = stored.body.as_deref() {
                    out.push_str(",\"resource\":");
                    out.push_str(body);
                }
            }
            out.push_str(",\"response\":");
            write::write_value(out, &response);
            out.push('}');
        }
        EntryOutcome::Deleted(version) => {
            let mut response = json!({ "status": "204 No Content" });
            if let Some(v) = version {
                response["etag"] = json!(etag(*v));
            }
            write::write_value(out, &json!({ "response": response }));
        }
        EntryOutcome::Read(stored) => {
            out.push_str("{\"fullUrl\":");
            write::write_str(
                out,
                &format!("{base}/{}/{}", stored.resource_type, stored.id),
            );
            if let Some(body) = stored.body.as_deref() {
                out.push_str(",\"resource\":");
                out.push_str(body);
            }
            out.push_str(",\"response\":");
            write::write_value(out, &read_response("200 OK", stored));
            out.push('}');
        }
        EntryOutcome::NotModified(stored) => {
            write::write_value(
                out,
                &json!({ "response": read_response("304 Not Modified", stored) }),
            );
        }
        EntryOutcome::Searched(page) => {
            out.push_str("{\"resource\":");
            out.push_str(&searchset(page, base));
            out.push_str(",\"response\":{\"status\":\"200 OK\"}}");
        }
        EntryOutcome::Failed(error) => {
            let status = status_of(error);
            let reason = status.canonical_reason().unwrap_or_default();
            let response = json!({
                "status": format!("{} {reason}", status.as_u16()),
                "outcome": operation_outcome(&error.issues()),
            });
            write::write_value(out, &json!({ "response": response }));
        }
    }
}

fn read_response(status: &str, stored: &StoredResource) -> Value {
    json!({
        "status": status,
        "etag": etag(stored.version_id),
        "lastModified": fhir_instant(stored.last_updated_ms),
    })
}
