//! Terminology bindings: required → error, extensible → warning, preferred/example → nothing.
//! Codes are checked against the locally expanded ValueSet; systems we cannot expand (SNOMED
//! hierarchies, external terminologies) never cause an error.

use super::plan::{Node, Strength};
use super::value_sets::Membership;
use super::walker::Walk;
use crate::json::member::{member, member_str};
use crate::outcome::{IssueType, Severity};
use serde_json::Value;

impl Walk<'_> {
    pub fn binding(&mut self, node: &Node, type_code: &str, value: &Value, path: &str) {
        let Some(binding) = &node.binding else { return };
        let severity = match binding.strength {
            Strength::Required => Severity::Error,
            Strength::Extensible => Severity::Warning,
            // preferred: information, when the value set is at hand (we vendor only the
            // value sets of required and extensible core bindings)
            Strength::Preferred => Severity::Information,
            Strength::Example => return,
        };
        let Some(expansion) = self.reg.expansion(&binding.value_set) else {
            return;
        };
        let vs = &binding.value_set;
        let strength = match severity {
            Severity::Error => "required",
            Severity::Warning => "extensible",
            _ => "preferred",
        };
        match type_code {
            "code" | "string" | "uri" => {
                let Some(code) = value.as_str() else { return };
                if expansion.contains(None, code) == Membership::NotIn {
                    self.report(
                        severity,
                        IssueType::CodeInvalid,
                        path,
                        format!("the code '{code}' is not in the value set {vs} ({strength} binding of {})", node.path),
                    );
                }
            }
            "Coding" => {
                if let Some(problem) = coding_problem(expansion, value) {
                    self.report(
                        severity,
                        IssueType::CodeInvalid,
                        path,
                        format!(
                            "{problem} is not in the value set {vs} ({strength} binding of {})",
                            node.path
                        ),
                    );
                }
            }
            "CodeableConcept" => {
                let codings = member(value, "coding")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice);
                if codings.is_empty() {
                    if severity == Severity::Error {
                        self.report(
                            severity,
                            IssueType::CodeInvalid,
                            path,
                            format!(
                                "no coding given, but {} requires a code from the value set {vs}",
                                node.path
                            ),
                        );
                    }
                    return;
                }
                let problems: Vec<String> = codings
                    .iter()
                    .filter_map(|c| coding_problem(expansion, c))
                    .collect();
                // one coding from the value set is enough
                if problems.len() == codings.len() {
                    let at = format!("{path}.coding[0]");
                    self.report(
                        severity,
                        IssueType::CodeInvalid,
                        if codings.len() == 1 { &at } else { path },
                        format!(
                            "none of the codings ({}) is in the value set {vs} ({strength} binding of {})",
                            problems.join(", "),
                            node.path
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}

/// `Some(description)` when the coding is definitely not in the expansion.
fn coding_problem(expansion: &super::value_sets::Expansion, coding: &Value) -> Option<String> {
    let code = member_str(coding, "code")?;
    let system = member_str(coding, "system");
    match expansion.contains(system, code) {
        Membership::NotIn => Some(match system {
            Some(s) => format!("{s}#{code}"),
            None => format!("'{code}' (no system)"),
        }),
        _ => None,
    }
}
