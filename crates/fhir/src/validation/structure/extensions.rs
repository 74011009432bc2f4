//! Extensions, validated by their StructureDefinitions. An unknown extension is a warning; an
//! unknown modifierExtension is an error, since a reader cannot safely ignore it. A known
//! extension used where its definition's `context` does not allow it is an error, as in the
//! HL7 validator (`fhirpath` contexts and `contextInvariant` are not evaluated).

use super::plan::{TypePlan, CORE_SD};
use super::primitives;
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
            Some(ext) => {
                if declared.is_none() && self.profile.is_none() {
                    let host = node
                        .path
                        .rsplit_once('.')
                        .map_or(node.path.as_str(), |(host, _)| host);
                    self.extension_context(&ext.url, host, path);
                }
                self.object(ext, 0, None, obj, path, false);
            }
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

/// R4 core extensions whose published contexts are narrower than their use in the R4 core
/// definitions themselves (the first three the HL7 validator corrects too): the extra element
/// contexts.
const WIDENED: &[(&str, &[&str])] = &[
    (
        "http://hl7.org/fhir/StructureDefinition/regex",
        &["ElementDefinition.type"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/valueset-concept-comments",
        &["CodeSystem.concept"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type",
        &["ElementDefinition.type"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/structuredefinition-normative-version",
        &["DomainResource", "ElementDefinition"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/translation",
        &["Element"],
    ),
];

impl Walk<'_> {
    /// `host_type`: the type (or backbone element path) whose `extension` holds the extension;
    /// `path`: the extension's own path in the instance.
    fn extension_context(&mut self, url: &str, host_type: &str, path: &str) {
        let Some(contexts) = self
            .reg
            .definitions
            .structure_definitions
            .get(url)
            .and_then(|sd| sd.get("context"))
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
        else {
            return;
        };
        let host_path = self.host_path(path);
        let widened = WIDENED
            .iter()
            .find(|(u, _)| *u == url)
            .map_or(&[][..], |(_, extra)| *extra);
        // the definition path of the element holding it (`Identifier.assigner`), and for a
        // primitive's extension the primitive's (`HumanName.family`)
        let depth = if primitives::is_primitive(host_type) {
            2
        } else {
            1
        };
        let definitions: Vec<&str> = self.hosts.iter().rev().take(depth).copied().collect();
        let mut allowed = Vec::with_capacity(contexts.len());
        for context in contexts {
            let kind = context
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let expression = context
                .get("expression")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let fits = match kind {
                "fhirpath" => true,
                // inside a complex extension (whose URL is the expression)
                "extension" => host_type == "Extension",
                _ => {
                    definitions.contains(&expression)
                        || self.element_context_fits(expression, &host_path, host_type)
                }
            };
            if fits {
                return;
            }
            allowed.push(format!("{kind} {expression}"));
        }
        if widened.iter().any(|expression| {
            definitions.contains(expression)
                || self.element_context_fits(expression, &host_path, host_type)
        }) {
            return;
        }
        self.error(
            IssueType::Extension,
            path,
            format!(
                "the extension {url} is not allowed on {host_path} (its contexts: {})",
                allowed.join(", ")
            ),
        );
    }

    /// The element holding an extension, as a path without indices from its resource:
    /// `Patient.name[0].extension[1]` → `Patient.name`.
    fn host_path(&self, path: &str) -> String {
        let root = self.roots.last().copied().unwrap_or(0).min(path.len());
        let rt = self
            .containers
            .last()
            .and_then(|r| r.get("resourceType"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut logical = String::with_capacity(rt.len() + path.len() - root);
        logical.push_str(rt);
        let mut depth = 0;
        for ch in path[root..].chars() {
            match ch {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ if depth == 0 => logical.push(ch),
                _ => {}
            }
        }
        match logical.rfind('.') {
            Some(dot) => logical[..dot].to_string(),
            None => logical,
        }
    }

    /// An `element` context: a path (`Patient.name`, `Observation.value[x]`) or a type
    /// (`HumanName`, `Element`, `DomainResource`) that the host is or specializes.
    fn element_context_fits(&self, expression: &str, host_path: &str, host_type: &str) -> bool {
        if expression == "Element" || expression == host_path || expression == host_type {
            return true;
        }
        if let Some(choice) = expression.strip_suffix("[x]") {
            if host_path
                .strip_prefix(choice)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
            {
                return true;
            }
        }
        // the base types of the host's type (a backbone element is a BackboneElement), and
        // of its resource with the rest of its path (`DomainResource.text`)
        let own = if host_type.contains('.') {
            "BackboneElement"
        } else {
            host_type
        };
        let (resource, rest) = host_path.split_once('.').unwrap_or((host_path, ""));
        self.base_types(own).any(|base| base == expression)
            || self.base_types(resource).any(|base| {
                let tail = expression.strip_prefix(base);
                if rest.is_empty() {
                    tail == Some("")
                } else {
                    tail.and_then(|t| t.strip_prefix('.')) == Some(rest)
                }
            })
    }

    /// The core base types of a type, nearest first (`Patient` → `DomainResource`, `Resource`).
    fn base_types<'s>(&'s self, type_name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        let mut current = type_name;
        std::iter::from_fn(move || {
            let base = self
                .reg
                .definitions
                .structure_definitions
                .get(&format!("{CORE_SD}{current}"))?
                .get("baseDefinition")?
                .as_str()?
                .strip_prefix(CORE_SD)?;
            current = base;
            Some(base)
        })
        .take(8)
    }
}
