//! Extensions, validated by their StructureDefinitions. An unknown extension is a warning; an
//! unknown modifierExtension is an error, since a reader cannot safely ignore it.

use super::plan::TypePlan;
use super::walker::Walk;
use crate::json::member::field;
use crate::outcome::{IssueType, Severity};
use serde_json::{Map, Value};

impl<'a> Walk<'a> {
    pub fn extension(
        &mut self,
        plan: &'a TypePlan,
        c: usize,
        obj: &'a Map<String, Value>,
        path: &mut String,
    ) {
        let node = &plan.nodes[c];
        let modifier = node.name == "modifierExtension";
        // a slice of a complex extension, or a slice typed with the extension's profile
        if !node.children.is_empty() {
            self.object(plan, c, Some("Extension"), obj, path, false);
            return;
        }
        let url = field(obj, "url").and_then(Value::as_str);
        let declared = node
            .types
            .iter()
            .flat_map(|t| t.profiles.iter())
            .find_map(|p| self.reg.plan(p));
        // a profile pass follows a clean base pass, which checked undeclared extensions
        if declared.is_none() && self.profile.is_some() {
            return;
        }
        let known = declared.or_else(|| {
            url.and_then(|u| self.reg.plan(u))
                .filter(|p| p.type_name == "Extension")
        });
        match known {
            Some(ext) => self.object(ext, 0, None, obj, path, false),
            None => {
                if let Some(url) = url {
                    // example.org URLs are the spec's own placeholders (as in the HL7 validator)
                    let example = url.contains("example.org/");
                    let (severity, what) = if modifier && !example {
                        (Severity::Error, "modifier extension")
                    } else {
                        (Severity::Warning, "extension")
                    };
                    let at = path.clone();
                    self.report(
                        severity,
                        IssueType::Extension,
                        &at,
                        format!("unknown {what} '{url}': no StructureDefinition for it is loaded"),
                    );
                }
                self.object(plan, c, Some("Extension"), obj, path, false);
            }
        }
    }
}
