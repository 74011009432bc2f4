//! Offline commands for interface engineers: `validate` and `evaluate` work on files, with
//! the same engines as the server.

pub mod audit;
mod evaluate;
mod validate;

pub use evaluate::{evaluate, EvaluateArgs};
pub use validate::{validate, CliError, ReportFormat, ValidateArgs};
