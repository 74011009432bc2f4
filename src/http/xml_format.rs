//! FHIR XML at the edge (R4 http.html#mime-type): handlers read and write JSON only.
//! [`xml_bodies`] turns an XML request body into JSON before a handler sees it, and places
//! the issues of an OperationOutcome answer at the lines of the XML the client sent;
//! [`xml_answers`] writes a FHIR JSON answer (resources, Bundles, OperationOutcomes, errors
//! included) as XML when `_format` or `Accept` asks for XML.

use super::body::read_limited;
use super::media_type::{body_is_xml, response_format, FhirFormat};
use super::responses::{FHIR_JSON, FHIR_XML};
use super::{ApiError, AppState};
use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use bytes::Bytes;
use fhir_engine::json::JsonLimits;
use fhir_engine::xml;
use serde_json::Value;

fn is_fhir_path(path: &str) -> bool {
    path == "/fhir" || path.starts_with("/fhir/")
}

fn is_fhir_json<B>(response: &HttpResponse<B>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/fhir+json"))
}

/// A response body as JSON, when it is FHIR JSON.
async fn json_body(response: HttpResponse) -> Result<(HttpResponse<()>, Value), Error> {
    let (head, body) = response.into_parts();
    let bytes = to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()))?;
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((head, value))
}

/// Answers in XML when the client asked for it and the answer is FHIR JSON.
pub async fn xml_answers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let wants_xml =
        is_fhir_path(req.path()) && matches!(response_format(req.request()), Ok(FhirFormat::Xml));
    let response = next.call(req).await?;
    if !wants_xml || !is_fhir_json(response.response()) {
        return Ok(response.map_into_boxed_body());
    }
    let (req, response) = response.into_parts();
    let (mut head, value) = json_body(response.map_into_boxed_body()).await?;
    head.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_XML));
    let response = head.set_body(BoxBody::new(xml::write_resource(&value)));
    Ok(ServiceResponse::new(req, response))
}

/// Reads an XML request body into JSON for the handlers (400 with the element and line when it
/// is not FHIR XML), and places the answer's issues in the XML.
pub async fn xml_bodies(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if !is_fhir_path(req.path()) || !body_is_xml(req.request()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let limits = state.settings.limits.json();
    let payload = req.extract::<web::Payload>().await?;
    let xml_bytes =
        match read_limited(req.request(), payload, state.settings.limits.max_body_bytes).await {
            Ok(bytes) => bytes,
            Err(e) => return Ok(req.error_response(e).map_into_boxed_body()),
        };
    let json = match xml::parse_resource(&xml_bytes, limits) {
        Ok(value) => Bytes::from(value.to_string()),
        Err(e) => {
            let error = ApiError {
                status: StatusCode::BAD_REQUEST,
                issues: vec![e.issue()],
            };
            return Ok(req.error_response(error).map_into_boxed_body());
        }
    };
    let headers = req.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(json.len()));
    req.set_payload(payload_of(json));
    let response = next.call(req).await?;
    if !is_fhir_json(response.response()) {
        return Ok(response.map_into_boxed_body());
    }
    let (req, response) = response.into_parts();
    let (head, mut value) = json_body(response.map_into_boxed_body()).await?;
    place_issues(&mut value, &xml_bytes, limits);
    let response = head.set_body(BoxBody::new(value.to_string()));
    Ok(ServiceResponse::new(req, response))
}

fn payload_of(bytes: Bytes) -> actix_web::dev::Payload {
    let stream: actix_http::BoxedPayloadStream = Box::pin(futures_util::stream::once(async move {
        Ok::<_, actix_http::error::PayloadError>(bytes)
    }));
    actix_web::dev::Payload::from(stream)
}

/// An OperationOutcome's `line L, column C` diagnostics were counted in the JSON the handler
/// read; they are counted again in the XML the client sent (dropped where no element is found).
fn place_issues(outcome: &mut Value, xml_bytes: &[u8], limits: JsonLimits) {
    if outcome.get("resourceType").and_then(Value::as_str) != Some("OperationOutcome") {
        return;
    }
    let Some(issues) = outcome.get_mut("issue").and_then(Value::as_array_mut) else {
        return;
    };
    let placed_in_json = |issue: &Value| {
        issue
            .get("diagnostics")
            .and_then(Value::as_str)
            .is_some_and(|d| d.starts_with("line ") && d.contains(", column "))
    };
    if !issues.iter().any(placed_in_json) {
        return;
    }
    let Ok((_, positions)) = xml::parse_with_positions(xml_bytes, limits) else {
        return;
    };
    for issue in issues.iter_mut().filter(|i| placed_in_json(i)) {
        let at = issue
            .pointer("/expression/0")
            .and_then(Value::as_str)
            .and_then(|e| xml::position::find(&positions, e));
        let Some(object) = issue.as_object_mut() else {
            continue;
        };
        match at {
            Some((line, column)) => {
                object.insert(
                    "diagnostics".into(),
                    Value::String(format!("line {line}, column {column}")),
                );
            }
            None => {
                object.shift_remove("diagnostics");
            }
        }
    }
}
