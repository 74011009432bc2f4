//! Authorization rules with no HTTP and no SQL: SMART scopes, JWT parts, client assertions,
//! JWKS keys, token buckets, when a token may be used, and the shape of an AuditEvent.

pub mod audit_event;
pub mod client_assertion;
pub mod jwks;
pub mod jwt_parts;
pub mod scope;
pub mod token_bucket;
pub mod token_window;
