//! Application services: what the gateway does with a request, independent of HTTP.

pub mod auth;
pub mod compute_pool;
pub mod conditional;
pub mod conditional_write;
pub mod delivery;
pub mod error;
pub mod intake;
pub mod reads;
pub mod search;
pub mod validation;
pub mod workflow;

pub use error::AppError;
