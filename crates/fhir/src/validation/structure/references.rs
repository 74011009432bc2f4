//! References: target types (`Reference(Patient)`), target profiles (checked when the target
//! is in the same Bundle), `#id` references to contained resources, and `urn:uuid:` references
//! that must resolve inside a Bundle.

use super::plan::{Node, CORE_SD};
use super::walker::Walk;
use crate::json::member::{field, member, member_str};
use crate::outcome::{IssueType, Severity};
use serde_json::{Map, Value};

/// What a reference string points at, as far as it can be told.
pub enum Target<'a> {
    Resolved(&'a Value),
    Typed(String),
    Unknown,
    Missing(String),
}

impl<'a> Walk<'a> {
    pub fn resolve(&self, reference: &str) -> Target<'a> {
        if let Some(id) = reference.strip_prefix('#') {
            return match self.contained(id) {
                Some(r) => Target::Resolved(r),
                None => Target::Missing(format!("no contained resource has the id '{id}'")),
            };
        }
        if let Some(r) = self
            .bundle
            .as_ref()
            .and_then(|b| b.resolve(reference, &self.containers))
        {
            return Target::Resolved(r);
        }
        if reference.starts_with("urn:uuid:") || reference.starts_with("urn:oid:") {
            return if self.bundle.is_some() {
                Target::Missing(format!(
                    "reference '{reference}' does not match the fullUrl of any entry in this Bundle"
                ))
            } else {
                Target::Unknown
            };
        }
        let path = reference.split(['?', '#']).next().unwrap_or(reference);
        // [base/]Type/id[/_history/vid], read from the end without collecting
        let mut parts = path.rsplit('/').skip(1);
        let second = parts.next();
        let type_name = if second == Some("_history") {
            parts.nth(1)
        } else {
            second
        };
        match type_name {
            Some(t) if self.reg.base(t).is_some_and(|p| p.is_resource) => {
                Target::Typed(t.to_string())
            }
            _ => Target::Unknown,
        }
    }

    fn contained(&self, id: &str) -> Option<&'a Value> {
        // `#` alone is the containing resource; `#x` a resource in its `contained`
        for container in self.containers.iter().rev() {
            if id.is_empty() {
                return Some(container);
            }
            if let Some(found) = member(container, "contained")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| member_str(c, "id") == Some(id)))
            {
                return Some(found);
            }
        }
        None
    }

    pub fn reference(&mut self, node: &'a Node, obj: &'a Map<String, Value>, path: &str) {
        let Some(reference) = field(obj, "reference").and_then(Value::as_str) else {
            return;
        };
        let at = || format!("{path}.reference");
        let target = self.resolve(reference);
        let resolved = match &target {
            Target::Missing(why) => {
                self.error(IssueType::NotFound, &at(), why.clone());
                return;
            }
            Target::Resolved(r) => Some(*r),
            _ => None,
        };
        let target_type = match &target {
            Target::Resolved(r) => member_str(r, "resourceType").map(str::to_string),
            Target::Typed(t) => Some(t.clone()),
            _ => None,
        };
        let Some(target_type) = target_type else {
            return;
        };
        let profiles = || {
            node.types
                .iter()
                .filter(|t| t.code == "Reference")
                .flat_map(|t| t.target_profiles.iter().map(String::as_str))
        };
        // the type a target profile constrains: core URLs name it, others need their plan
        let type_of = |p: &'a str| -> Option<&'a str> {
            match p.strip_prefix(CORE_SD) {
                Some(t) => Some(t),
                None => self.reg.plan(p).map(|plan| plan.type_name.as_str()),
            }
        };
        let mut any_profile = false;
        let mut allowed_here = false;
        for p in profiles() {
            // a target profile not loaded here: which types it allows is not known
            let Some(t) = type_of(p) else { return };
            any_profile = true;
            if t == "Resource" || t == "DomainResource" {
                return;
            }
            allowed_here |= t == target_type;
        }
        if !any_profile {
            return;
        }
        if !allowed_here {
            let mut names: Vec<&str> = profiles().filter_map(type_of).collect();
            names.dedup();
            self.error(
                IssueType::Structure,
                &at(),
                format!(
                    "a reference to a {target_type} is not allowed here: {} refers to {}",
                    node.path,
                    names.join(" | ")
                ),
            );
            return;
        }
        // target profiles beyond the core type, checked when the target is at hand
        let Some(resolved) = resolved else { return };
        if !self.may_descend() {
            return;
        }
        let candidates: Vec<_> = profiles()
            .filter(|p| !p.starts_with(CORE_SD))
            .filter_map(|p| self.reg.plan(p))
            .filter(|plan| plan.type_name == target_type)
            .collect();
        if candidates.is_empty()
            || profiles().any(|p| p.strip_prefix(CORE_SD) == Some(target_type.as_str()))
        {
            return;
        }
        if !candidates.iter().any(|plan| self.conforms(plan, resolved)) {
            let names: Vec<&str> = candidates.iter().map(|p| p.url.as_str()).collect();
            self.report(
                Severity::Error,
                IssueType::Invalid,
                &at(),
                format!(
                    "the target {reference} does not conform to {}",
                    names.join(" or ")
                ),
            );
        }
    }
}
