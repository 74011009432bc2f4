//! The FHIR REST surface (actix-web). Handlers stay thin: negotiate, read the body, call an
//! application service, shape the response.

pub mod abandoned_request;
pub mod allowed_methods;
pub mod auth;
pub mod body;
pub mod bundle_response;
pub mod capability;
pub mod control_characters;
pub mod error_response;
pub mod handlers;
pub mod if_match;
pub mod media_type;
pub mod prefer;
pub mod protocol_errors;
pub mod read_only;
pub mod request_log;
pub mod responses;
pub mod routes;
pub mod search_bundle;
pub mod server;
pub mod state;
pub mod workbench;
pub mod xml_format;

pub use error_response::ApiError;
pub use state::AppState;
