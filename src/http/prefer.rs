//! The `Prefer: return=…` header.

use actix_web::HttpRequest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnPreference {
    Minimal,
    Representation,
    OperationOutcome,
}

/// The client's `return` preference, if it stated one.
pub fn return_preference(req: &HttpRequest) -> Option<ReturnPreference> {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .find_map(|part| match part.trim().split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("return") => {
                match v.trim().trim_matches('"') {
                    "minimal" => Some(ReturnPreference::Minimal),
                    "representation" => Some(ReturnPreference::Representation),
                    "OperationOutcome" => Some(ReturnPreference::OperationOutcome),
                    _ => None,
                }
            }
            _ => None,
        })
}
