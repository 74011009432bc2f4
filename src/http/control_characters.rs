//! FHIR strings hold no code points below U+0020 other than tab, CR and LF (R4 `string`), and
//! PostgreSQL text holds no NUL at all. A request carrying one in its path (a type, an id),
//! its query (a search value) or `If-None-Exist` is refused here with 400, before any handler
//! or store sees it; the JSON reader refuses them in bodies.

use crate::http::responses::fhir_json;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::Error;
use fhir_engine::outcome::{operation_outcome, Issue, IssueType};

pub async fn reject_control_characters(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let uri = req.uri();
    let found = [
        ("the URL path", Some(uri.path().as_bytes())),
        ("the query", uri.query().map(str::as_bytes)),
        (
            "If-None-Exist",
            req.headers().get("if-none-exist").map(|v| v.as_bytes()),
        ),
    ]
    .into_iter()
    .find_map(|(place, text)| text.and_then(control_character).map(|c| (place, c)));
    match found {
        None => Ok(next.call(req).await?.map_into_left_body()),
        Some((place, code)) => {
            let issue = Issue::error(
                IssueType::Invalid,
                format!(
                    "{place} holds the control character U+{code:04X}, which FHIR does not allow"
                ),
            );
            let res = fhir_json(
                StatusCode::BAD_REQUEST,
                operation_outcome(&[issue]).to_string(),
            );
            Ok(req.into_response(res).map_into_right_body())
        }
    }
}

/// The first forbidden control character of `text`, raw or percent-encoded. Control
/// characters are single bytes in UTF-8, so `%XX` is decoded only where it names one.
pub fn control_character(text: &[u8]) -> Option<u8> {
    let forbidden = |b: u8| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r');
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if forbidden(b) {
            return Some(b);
        }
        if b == b'%' && i + 2 < text.len() {
            if let (Some(h), Some(l)) = (hex(text[i + 1]), hex(text[i + 2])) {
                let decoded = h * 16 + l;
                if forbidden(decoded) {
                    return Some(decoded);
                }
                i += 3;
                continue;
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::control_character;

    #[test]
    fn finds_raw_and_encoded_control_characters() {
        assert_eq!(control_character(b"/fhir/Pati%00ent"), Some(0));
        assert_eq!(control_character(b"name=a%1Fb"), Some(0x1f));
        assert_eq!(control_character(b"name=a%1fb"), Some(0x1f));
        assert_eq!(control_character(b"identifier=s|\x01"), Some(1));
        assert_eq!(control_character(b"name=%0"), None);
        assert_eq!(control_character(b"name=%"), None);
        // tab, CR, LF, an encoded percent sign and ordinary escapes are fine
        assert_eq!(control_character(b"a%09b%0D%0A%2500%20"), None);
        assert_eq!(
            control_character("/fhir/Patient?name=Zo%C3%AB".as_bytes()),
            None
        );
    }
}
