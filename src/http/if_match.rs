//! The `If-Match` header of updates: the version the client expects to replace.

use crate::app::conditional::parse_etag_version;
use crate::http::ApiError;
use actix_web::http::{header, StatusCode};
use actix_web::HttpRequest;
use fhir_engine::outcome::IssueType;

/// The version `If-Match` names, if the header is there; 400 when it is not a version ETag.
pub fn if_match_version(req: &HttpRequest) -> Result<Option<u64>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let v = value.to_str().unwrap_or_default();
    parse_etag_version(v).map(Some).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            IssueType::Invalid,
            format!("If-Match '{v}' is not a version ETag such as W/\"1\""),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn names_the_version_or_refuses_what_is_not_a_version_etag() {
        let none = TestRequest::default().to_http_request();
        assert_eq!(if_match_version(&none).map_err(|e| e.status), Ok(None));
        let weak = TestRequest::default()
            .insert_header((header::IF_MATCH, "W/\"3\""))
            .to_http_request();
        assert_eq!(if_match_version(&weak).map_err(|e| e.status), Ok(Some(3)));
        let bad = TestRequest::default()
            .insert_header((header::IF_MATCH, "*"))
            .to_http_request();
        let err = if_match_version(&bad).expect_err("not a version");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.issues[0].code, IssueType::Invalid);
    }
}
