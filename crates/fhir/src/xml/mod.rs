//! FHIR XML (R4 §2.6.3, xml.html): read into the JSON form the rest of the engine works on,
//! and written from it, both driven by the R4 core StructureDefinitions. Reading is bounded
//! as JSON reading is ([`crate::json::JsonLimits`]), and refuses any DTD, so no entity
//! (internal or external) is ever expanded.

pub mod element_types;
pub mod position;
pub mod reader;
pub mod writer;

pub use reader::{parse_resource, parse_with_positions};
pub use writer::write_resource;

use crate::json::JsonLimits;
use crate::outcome::{Issue, IssueType};
use serde_json::Value;

pub const FHIR_NS: &str = "http://hl7.org/fhir";
pub const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// A conformance resource (or Bundle of them) from an IG folder's `.xml` file. Operators'
/// files, not clients' bodies: the limits only guard against runaway input.
pub fn parse_definition_file(text: &str) -> Result<Value, XmlError> {
    const FILE_LIMITS: JsonLimits = JsonLimits {
        max_depth: 256,
        max_elements: 50_000_000,
    };
    parse_resource(text.as_bytes(), FILE_LIMITS)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("invalid XML at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed XML that is not FHIR XML: the element is named by `expression`.
    #[error("{message} (line {line}, column {column})")]
    Structure {
        line: usize,
        column: usize,
        expression: String,
        message: String,
    },
    #[error(
        "XML nesting is deeper than the limit of {limit} levels (line {line}, column {column})"
    )]
    TooDeep {
        limit: usize,
        line: usize,
        column: usize,
    },
    #[error("the body has more than {limit} XML elements")]
    TooManyElements { limit: usize },
}

impl XmlError {
    /// The error as an OperationOutcome issue: the element's FHIRPath as its expression,
    /// `line L, column C` as its diagnostics, as validation issues carry them.
    pub fn issue(&self) -> Issue {
        let (code, text, place, expression) = match self {
            XmlError::Syntax {
                line,
                column,
                message,
            } => (
                IssueType::Structure,
                format!("invalid XML: {message}"),
                Some((line, column)),
                None,
            ),
            XmlError::Structure {
                line,
                column,
                expression,
                message,
            } => (
                IssueType::Structure,
                message.clone(),
                Some((line, column)),
                Some(expression),
            ),
            XmlError::TooDeep { line, column, .. } => (
                IssueType::TooLong,
                self.to_string(),
                Some((line, column)),
                None,
            ),
            XmlError::TooManyElements { .. } => (IssueType::TooLong, self.to_string(), None, None),
        };
        let mut issue = Issue::error(code, text);
        if let Some(expression) = expression.filter(|e| !e.is_empty()) {
            issue = issue.at(expression.clone());
        }
        issue.diagnostics = place.map(|(line, column)| format!("line {line}, column {column}"));
        issue
    }
}

#[cfg(test)]
mod tests;
