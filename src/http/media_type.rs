//! Content negotiation: JSON only, FHIR R4.
//!
//! `fhirVersion=4.0` is ours. `4.3` (R4B) is accepted too: its JSON for the referral resources
//! is R4's, and every body is still validated against R4 — clients such as fhir-sdk send it.

use super::ApiError;
use actix_web::http::{header, StatusCode};
use actix_web::HttpRequest;
use fhir_engine::outcome::IssueType;

const ACCEPTED_FHIR_VERSIONS: &[&str] = &["4.0", "4.0.1", "4.3", "4.3.0"];

struct MediaType<'a> {
    essence: String,
    fhir_version: Option<&'a str>,
}

fn parse(value: &str) -> MediaType<'_> {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let fhir_version = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("fhirVersion")
            .then(|| v.trim().trim_matches('"'))
    });
    MediaType {
        essence,
        fhir_version,
    }
}

fn is_json(essence: &str) -> bool {
    matches!(
        essence,
        "application/fhir+json" | "application/json" | "application/json+fhir"
    )
}

fn version_ok(v: Option<&str>) -> bool {
    v.is_none_or(|v| ACCEPTED_FHIR_VERSIONS.contains(&v))
}

/// POST and PUT bodies must be FHIR JSON (415 otherwise).
pub fn require_json_body(req: &HttpRequest) -> Result<(), ApiError> {
    let unsupported = |text: String| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IssueType::NotSupported,
            text,
        )
    };
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Err(unsupported(
            "Content-Type is missing; send application/fhir+json".into(),
        ));
    };
    let value = value.to_str().unwrap_or_default();
    let media = parse(value);
    if !is_json(&media.essence) {
        return Err(unsupported(format!(
            "Content-Type '{}' is not supported; send application/fhir+json",
            media.essence
        )));
    }
    if !version_ok(media.fhir_version) {
        return Err(unsupported(format!(
            "fhirVersion {} is not supported; this server speaks FHIR 4.0",
            media.fhir_version.unwrap_or_default()
        )));
    }
    Ok(())
}

/// The response must be acceptable to the client: `Accept` and `_format` (406 otherwise).
pub fn require_json_response(req: &HttpRequest) -> Result<(), ApiError> {
    let not_acceptable =
        |text: String| ApiError::new(StatusCode::NOT_ACCEPTABLE, IssueType::NotSupported, text);
    if let Some(format) = format_param(req.query_string()) {
        if !matches!(
            format.as_str(),
            "json" | "application/json" | "application/fhir+json"
        ) {
            return Err(not_acceptable(format!(
                "_format '{format}' is not supported; use json"
            )));
        }
        return Ok(());
    }
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let acceptable = accept.split(',').map(parse).any(|m| {
        (is_json(&m.essence) && version_ok(m.fhir_version))
            || matches!(m.essence.as_str(), "*/*" | "application/*")
    });
    if acceptable {
        Ok(())
    } else {
        Err(not_acceptable(format!(
            "Accept '{accept}' cannot be met; this server returns application/fhir+json (FHIR 4.0)"
        )))
    }
}

fn format_param(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "_format").then(|| {
            v.replace("%2B", "+")
                .replace("%2F", "/")
                .replace("%2b", "+")
                .replace("%2f", "/")
        })
    })
}
