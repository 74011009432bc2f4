//! Element constraints (invariants) through the pluggable engine; skipped without one.

use super::plan::Node;
use super::walker::Walk;
use crate::outcome::{IssueType, Severity};
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// The focus an invariant's answer without its members is computed on.
static EMPTY: LazyLock<Value> = LazyLock::new(|| Value::Object(Map::new()));

/// Whether `focus` has a member named by `reads`, as a value, a `_name` extension or a
/// choice variant (`value` → `valueQuantity`).
fn reads_any(reads: &[String], focus: &Map<String, Value>) -> bool {
    focus.keys().any(|k| {
        let k = k.strip_prefix('_').unwrap_or(k);
        reads.iter().any(|r| k.starts_with(r.as_str()))
    })
}

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
            let answer = match (compiled.focus_reads(), focus.as_object(), focus_type) {
                (Some(reads), Some(obj), Some(_)) if !reads_any(reads, obj) => c
                    .without_reads
                    .get_or_init(|| compiled.holds(&EMPTY, &EMPTY, focus_type))
                    .clone(),
                _ => compiled.holds(root, focus, focus_type),
            };
            match answer {
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
