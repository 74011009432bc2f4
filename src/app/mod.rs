//! Application services: what the gateway does with a request, independent of HTTP.

pub mod auth;
pub mod conditional;
pub mod error;
pub mod intake;
pub mod reads;
pub mod validation;

pub use error::AppError;
