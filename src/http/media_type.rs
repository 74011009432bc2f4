//! Content negotiation, FHIR R4 (http.html#mime-type): JSON, or XML when asked for or sent.
//! Handlers work on JSON; `xml_format` translates XML at the edge.
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

/// The two FHIR formats this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FhirFormat {
    Json,
    Xml,
}

fn is_json(essence: &str) -> bool {
    matches!(
        essence,
        "application/fhir+json" | "application/json" | "application/json+fhir"
    )
}

/// FHIR XML, under the names FHIR servers accept for it.
pub fn is_xml(essence: &str) -> bool {
    matches!(
        essence,
        "application/fhir+xml" | "application/xml" | "text/xml" | "application/xml+fhir"
    )
}

/// The format of `essence`, when it is a FHIR one.
fn format_of(essence: &str) -> Option<FhirFormat> {
    if is_json(essence) {
        Some(FhirFormat::Json)
    } else if is_xml(essence) {
        Some(FhirFormat::Xml)
    } else {
        None
    }
}

/// Whether the request's body is declared as FHIR XML.
pub fn body_is_xml(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| is_xml(&parse(v).essence))
}

fn version_ok(v: Option<&str>) -> bool {
    v.is_none_or(|v| ACCEPTED_FHIR_VERSIONS.contains(&v))
}

/// POST and PUT bodies must be FHIR JSON (415 otherwise); an XML body has been translated to
/// JSON by `xml_format` before a handler sees it.
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
            "Content-Type is missing; send application/fhir+json or application/fhir+xml".into(),
        ));
    };
    let value = value.to_str().unwrap_or_default();
    let media = parse(value);
    if !is_json(&media.essence) {
        return Err(unsupported(format!(
            "Content-Type '{}' is not supported; send application/fhir+json or application/fhir+xml",
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
pub fn require_acceptable_response(req: &HttpRequest) -> Result<(), ApiError> {
    response_format(req).map(|_| ())
}

/// The format to answer in: `_format` when given (it overrides `Accept`), else the first
/// acceptable type of `Accept` by quality, else JSON. 406 when nothing offered is acceptable.
pub fn response_format(req: &HttpRequest) -> Result<FhirFormat, ApiError> {
    let not_acceptable =
        |text: String| ApiError::new(StatusCode::NOT_ACCEPTABLE, IssueType::NotSupported, text);
    if let Some(format) = format_param(req.query_string()) {
        let media = parse(&format);
        return match media.essence.as_str() {
            "json" => Ok(FhirFormat::Json),
            "xml" => Ok(FhirFormat::Xml),
            essence => format_of(essence)
                .filter(|_| version_ok(media.fhir_version))
                .ok_or_else(|| {
                    not_acceptable(format!(
                        "_format '{format}' is not supported; use json or xml"
                    ))
                }),
        };
    }
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(FhirFormat::Json);
    };
    let mut best: Option<(f32, FhirFormat)> = None;
    for range in accept.split(',') {
        let media = parse(range);
        let quality = quality(range);
        let format = match media.essence.as_str() {
            "*/*" | "application/*" => Some(FhirFormat::Json),
            essence => format_of(essence).filter(|_| version_ok(media.fhir_version)),
        };
        if let Some(format) = format.filter(|_| quality > 0.0) {
            if best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, format));
            }
        }
    }
    best.map(|(_, format)| format).ok_or_else(|| {
        not_acceptable(format!(
            "Accept '{accept}' cannot be met; this server returns application/fhir+json or application/fhir+xml (FHIR 4.0)"
        ))
    })
}

/// The `q` parameter of one media range (1 when absent or unreadable).
fn quality(range: &str) -> f32 {
    range
        .split(';')
        .skip(1)
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k.trim() == "q").then(|| v.trim().parse::<f32>().ok())?
        })
        .unwrap_or(1.0)
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
