//! FHIR response shapes: content type, version headers, Prefer handling.

use super::prefer::ReturnPreference;
use crate::app::intake::{Accepted, Written};
use crate::store::StoredResource;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use bytes::Bytes;
use fhir_engine::model::instant::http_date;
use fhir_engine::outcome::{operation_outcome, Issue};

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8; fhirVersion=4.0";
pub const FHIR_XML: &str = "application/fhir+xml; charset=utf-8; fhirVersion=4.0";

pub fn fhir_json(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON)))
        .body(body.into())
}

pub fn etag(version_id: u64) -> String {
    format!("W/\"{version_id}\"")
}

/// A stored resource with ETag and Last-Modified; `location` for creates and updates.
pub fn resource_response(
    status: StatusCode,
    stored: &StoredResource,
    location: Option<String>,
    preference: ReturnPreference,
    warnings: &[Issue],
) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::ETAG, etag(stored.version_id)))
        .insert_header((header::LAST_MODIFIED, http_date(stored.last_updated_ms)));
    if let Some(location) = location {
        builder.insert_header((header::LOCATION, location));
    }
    match preference {
        ReturnPreference::Minimal => builder.finish(),
        ReturnPreference::Representation => {
            let body = stored.body.as_deref().unwrap_or_default().to_string();
            builder
                .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON)))
                .body(body)
        }
        ReturnPreference::OperationOutcome => {
            let text = format!(
                "{}/{} version {} stored",
                stored.resource_type, stored.id, stored.version_id
            );
            builder
                .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON)))
                .body(
                    operation_outcome(&with_warnings(Issue::information(text), warnings))
                        .to_string(),
                )
        }
    }
}

/// The answer to a create or update intake accepted: 201 for a new resource, 200 for an update
/// or a conditional create that matched; the version's Location either way.
pub fn accepted_response(
    accepted: &Accepted,
    base: &str,
    preference: ReturnPreference,
) -> HttpResponse {
    let (status, stored) = match &accepted.written {
        Written::Created(s) => (StatusCode::CREATED, s),
        Written::Updated(s) | Written::Existing(s) => (StatusCode::OK, s),
    };
    resource_response(
        status,
        stored,
        Some(version_location(base, stored)),
        preference,
        &accepted.warnings,
    )
}

pub fn version_location(base: &str, stored: &StoredResource) -> String {
    format!(
        "{base}/{}/{}/_history/{}",
        stored.resource_type, stored.id, stored.version_id
    )
}

/// An information issue followed by the validation warnings intake accepted.
pub fn with_warnings(first: Issue, warnings: &[Issue]) -> Vec<Issue> {
    let mut issues = Vec::with_capacity(1 + warnings.len());
    issues.push(first);
    issues.extend_from_slice(warnings);
    issues
}
