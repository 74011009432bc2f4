//! Security at the HTTP edge: the guard middleware (bearer tokens, scopes, rate limits, audit,
//! headers), the token endpoint and SMART discovery, the audit trail's read routes.

pub mod audit_events;
pub mod bundle_access;
pub mod guard;
pub mod own_tasks;
pub mod request_kind;
pub mod response_headers;
pub mod routes;
pub mod token_endpoint;

pub use guard::{guard, principal, write_audit};
