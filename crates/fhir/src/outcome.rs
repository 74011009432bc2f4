//! OperationOutcome issues: the one error vocabulary of the engine and of the servers on it.

use crate::json::build::{object, string};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

impl Severity {
    pub fn code(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// R4 `issue-type` codes used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueType {
    Invalid,
    Structure,
    Required,
    Value,
    Invariant,
    CodeInvalid,
    Extension,
    NotSupported,
    Duplicate,
    NotFound,
    Deleted,
    TooLong,
    TooCostly,
    Conflict,
    BusinessRule,
    Processing,
    Exception,
    Transient,
    Informational,
    Security,
    Login,
    Expired,
    Forbidden,
    Throttled,
    Timeout,
}

impl IssueType {
    pub fn code(self) -> &'static str {
        match self {
            IssueType::Invalid => "invalid",
            IssueType::Structure => "structure",
            IssueType::Required => "required",
            IssueType::Value => "value",
            IssueType::Invariant => "invariant",
            IssueType::CodeInvalid => "code-invalid",
            IssueType::Extension => "extension",
            IssueType::NotSupported => "not-supported",
            IssueType::Duplicate => "duplicate",
            IssueType::NotFound => "not-found",
            IssueType::Deleted => "deleted",
            IssueType::TooLong => "too-long",
            IssueType::TooCostly => "too-costly",
            IssueType::Conflict => "conflict",
            IssueType::BusinessRule => "business-rule",
            IssueType::Processing => "processing",
            IssueType::Exception => "exception",
            IssueType::Transient => "transient",
            IssueType::Informational => "informational",
            IssueType::Security => "security",
            IssueType::Login => "login",
            IssueType::Expired => "expired",
            IssueType::Forbidden => "forbidden",
            IssueType::Throttled => "throttled",
            IssueType::Timeout => "timeout",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub severity: Severity,
    pub code: IssueType,
    /// Human-readable text, sent as `details.text`.
    pub text: String,
    /// FHIRPath expressions of the elements concerned.
    pub expression: Vec<String>,
    /// Where in the request the element is (`line 12, column 5`), when known.
    pub diagnostics: Option<String>,
}

impl Issue {
    pub fn error(code: IssueType, text: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            text: text.into(),
            expression: Vec::new(),
            diagnostics: None,
        }
    }

    pub fn warning(code: IssueType, text: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            code,
            text: text.into(),
            expression: Vec::new(),
            diagnostics: None,
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn information(text: impl Into<String>) -> Self {
        Self {
            severity: Severity::Information,
            code: IssueType::Informational,
            text: text.into(),
            expression: Vec::new(),
            diagnostics: None,
        }
    }

    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression.push(expression.into());
        self
    }

    /// Re-roots the expressions under `prefix` (e.g. `Bundle.entry[3].resource`).
    pub fn under(mut self, prefix: &str, resource_type: &str) -> Self {
        for e in &mut self.expression {
            let rest = e.strip_prefix(resource_type).unwrap_or(e);
            *e = format!("{prefix}{rest}");
        }
        if self.expression.is_empty() {
            self.expression.push(prefix.to_string());
        }
        self
    }

    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Error | Severity::Fatal)
    }

    pub fn to_json(&self) -> Value {
        object([
            ("severity", string(self.severity.code())),
            ("code", string(self.code.code())),
            ("details", object([("text", string(self.text.as_str()))])),
            (
                "diagnostics",
                self.diagnostics.as_deref().map_or(Value::Null, string),
            ),
            (
                "expression",
                if self.expression.is_empty() {
                    Value::Null
                } else {
                    Value::Array(self.expression.iter().map(|e| string(e.as_str())).collect())
                },
            ),
        ])
    }
}

/// Built member by member: `json!` would copy every issue through the serializer again.
pub fn operation_outcome(issues: &[Issue]) -> Value {
    object([
        ("resourceType", string("OperationOutcome")),
        (
            "issue",
            Value::Array(issues.iter().map(Issue::to_json).collect()),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reroots_expressions() {
        let i = Issue::error(IssueType::Required, "x").at("ServiceRequest.status");
        let i = i.under("Bundle.entry[3].resource", "ServiceRequest");
        assert_eq!(i.expression, vec!["Bundle.entry[3].resource.status"]);
        let oo = operation_outcome(&[i]);
        assert_eq!(oo["issue"][0]["code"], "required");
        assert_eq!(oo["issue"][0]["details"]["text"], "x");
    }
}
