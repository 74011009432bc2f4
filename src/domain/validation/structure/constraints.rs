//! Element constraints (invariants) through the pluggable engine; skipped without one.

use super::plan::Node;
use super::walker::Walk;
use crate::domain::fhir::operation_outcome::{IssueType, Severity};
use serde_json::Value;

impl Walk<'_> {
    pub fn invariants(&mut self, node: &Node, focus: &Value, path: &str) {
        if node.constraints.is_empty() {
            return;
        }
        let Some(root) = self.containers.last().copied() else {
            return;
        };
        let focus_type = match node.types.as_slice() {
            [t] if t.code == "BackboneElement" || t.code == "Element" => Some(node.path.as_str()),
            [t] => Some(t.code.as_str()),
            [] => Some(node.path.as_str()),
            _ => None,
        };
        for c in &node.constraints {
            let Some(compiled) = &c.compiled else {
                continue;
            };
            match compiled.holds(root, focus, focus_type) {
                Ok(true) => {}
                Ok(false) => {
                    let severity = if c.error {
                        Severity::Error
                    } else {
                        Severity::Warning
                    };
                    self.report(
                        severity,
                        IssueType::Invariant,
                        path,
                        format!("{}: {}", c.key, c.human),
                    );
                }
                Err(e) => self.report(
                    Severity::Warning,
                    IssueType::Invariant,
                    path,
                    format!("{}: could not be evaluated ({e})", c.key),
                ),
            }
        }
    }
}
