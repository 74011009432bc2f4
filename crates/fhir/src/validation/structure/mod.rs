//! The StructureDefinition-driven validator: R4 core definitions and the caller's profiles,
//! compiled once into a plan, then walked over each resource.
//!
//! Two passes: the base definitions (structure, R4 rules) and then the profiles the resource
//! claims in `meta.profile`, asks for, or gets by default. Callers tell the passes apart:
//! intake answers 400 for the first and 422 for the second.

pub mod bindings;
pub mod bundle_rules;
pub mod constraints;
pub mod definitions;
pub mod extensions;
pub mod fhirpath_invariants;
pub mod fixed_pattern;
pub mod invariants;
pub mod plan;
pub mod primitives;
pub mod references;
pub mod slicing;
pub mod value_sets;
pub mod walker;

use super::{IntakeValidator, Outcome};
use crate::fast_hash::FastMap;
use crate::json::member::{field, member, member_str};
use crate::outcome::{Issue, IssueType, Severity};
use definitions::{Definitions, EmbeddedSource, LoadError};
use invariants::{CompiledInvariant, InvariantEngine};
use plan::{TypePlan, CORE_SD};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use value_sets::Expansion;
use walker::Walk;

/// What to load besides the embedded R4 core.
#[derive(Default, Clone)]
pub struct LoadOptions {
    /// Conformance resources compiled into the caller (an implementation guide).
    pub sources: Vec<EmbeddedSource>,
    /// Folders of extra conformance resources (`--ig DIR`).
    pub ig_dirs: Vec<PathBuf>,
    pub invariants: Option<Arc<dyn InvariantEngine>>,
    /// The profile a resource gets when it declares none ([`Request::default_profiles`]).
    pub default_profiles: Option<Arc<dyn DefaultProfiles>>,
}

/// The caller's default-profile policy: which profile a resource that declares none gets,
/// when a validation asks for defaults (e.g. an implementation guide's profile per type).
pub trait DefaultProfiles: Send + Sync {
    /// The canonical URL of the profile for `resource`, of type `resource_type`, if any.
    fn default_profile(&self, resource_type: &str, resource: &Value) -> Option<&str>;
}

/// Which profiles a validation applies beyond the base definitions.
#[derive(Debug, Default, Clone)]
pub struct Request {
    /// Profiles asked for explicitly (`$validate?profile=`, `--profile`).
    pub profiles: Vec<String>,
    /// Apply the default profile ([`DefaultProfiles`]) when the resource declares none.
    pub default_profiles: bool,
}

/// Invariant status, for reports.
#[derive(Debug, Default, Clone, Copy)]
pub struct InvariantStats {
    pub engine: bool,
    pub compiled: usize,
    pub not_compiled: usize,
}

pub struct StructureValidator {
    plans: FastMap<String, Arc<TypePlan>>,
    base: FastMap<String, Arc<TypePlan>>,
    expansions: FastMap<String, Expansion>,
    defaults: Option<Arc<dyn DefaultProfiles>>,
    definitions: Definitions,
    stats: InvariantStats,
    /// Profiles left out at load: a definition they need is not loaded.
    unavailable: Vec<crate::validation::snapshot::SnapshotError>,
}

impl StructureValidator {
    pub fn load(options: &LoadOptions) -> Result<Self, LoadError> {
        let mut definitions = Definitions::r4_core()?;
        for source in &options.sources {
            definitions.add_source(source)?;
        }
        for dir in &options.ig_dirs {
            definitions.add_dir(dir)?;
        }
        let mut validator = Self::compile(definitions, options.invariants.clone())?;
        validator.defaults = options.default_profiles.clone();
        Ok(validator)
    }

    pub fn compile(
        mut definitions: Definitions,
        engine: Option<Arc<dyn InvariantEngine>>,
    ) -> Result<Self, LoadError> {
        let generated =
            crate::validation::snapshot::generate_missing(&mut definitions.structure_definitions)?;
        for e in &generated.unavailable {
            tracing::warn!(profile = %e.url, element = %e.element, reason = %e.message, "profile left out: a definition it needs is not loaded");
        }
        let mut stats = InvariantStats {
            engine: engine.is_some(),
            ..Default::default()
        };
        let mut cache: HashMap<String, Option<Arc<dyn CompiledInvariant>>> = HashMap::new();
        let mut compile_invariant = |expression: &str| -> Option<Arc<dyn CompiledInvariant>> {
            let engine = engine.as_ref()?;
            cache
                .entry(expression.to_string())
                .or_insert_with(|| match engine.compile(expression) {
                    Ok(c) => {
                        stats.compiled += 1;
                        Some(Arc::from(c))
                    }
                    Err(e) => {
                        stats.not_compiled += 1;
                        tracing::debug!(expression, error = %e, "invariant not compiled");
                        None
                    }
                })
                .clone()
        };
        let mut plans = FastMap::default();
        let mut base = FastMap::default();
        for (url, sd) in &definitions.structure_definitions {
            let plan = Arc::new(plan::compile(sd, &mut compile_invariant)?);
            if !plan.is_profile && url.starts_with(CORE_SD) {
                base.insert(plan.type_name.clone(), Arc::clone(&plan));
            }
            plans.insert(url.clone(), plan);
        }
        let bound: Vec<&str> = plans
            .values()
            .flat_map(|p| p.nodes.iter())
            .filter_map(|n| n.binding.as_ref())
            .filter(|b| {
                matches!(
                    b.strength,
                    plan::Strength::Required
                        | plan::Strength::Extensible
                        | plan::Strength::Preferred
                )
            })
            .map(|b| b.value_set.as_str())
            .collect();
        let expansions = value_sets::expand_all(&definitions, bound);
        Ok(Self {
            plans,
            base,
            expansions,
            defaults: None,
            definitions,
            stats,
            unavailable: generated.unavailable,
        })
    }

    pub fn plan(&self, url: &str) -> Option<&TypePlan> {
        self.plans
            .get(definitions::unversioned(url))
            .map(Arc::as_ref)
    }

    pub fn base(&self, type_name: &str) -> Option<&TypePlan> {
        self.base.get(type_name).map(Arc::as_ref)
    }

    /// The top-level elements of a resource type's base definition (for `_elements` and
    /// `_summary`); empty for a type it does not know.
    pub fn top_level_elements(&self, type_name: &str) -> Vec<crate::search::elements::ElementDef> {
        let Some(plan) = self.base(type_name) else {
            return Vec::new();
        };
        plan.root()
            .children
            .iter()
            .filter_map(|&c| plan.node(c))
            .filter(|n| n.slice_name.is_none())
            .map(|n| crate::search::elements::ElementDef {
                name: n.name.clone(),
                choice: n.choice,
                mandatory: n.min > 0,
                summary: n.summary,
            })
            .collect()
    }

    pub fn expansion(&self, value_set: &str) -> Option<&Expansion> {
        self.expansions.get(value_set)
    }

    pub fn knows_resource_type(&self, type_name: &str) -> bool {
        self.base(type_name).is_some_and(|p| {
            p.is_resource && type_name != "Resource" && type_name != "DomainResource"
        })
    }

    /// Whether `url` names a profile (or base definition) this validator can apply.
    pub fn knows_profile(&self, url: &str) -> bool {
        self.plan(url).is_some()
    }

    /// Profiles without a snapshot that could not be generated because a definition they need
    /// (their base, or a type profile) is not loaded; they are not applied.
    pub fn unavailable_profiles(&self) -> &[crate::validation::snapshot::SnapshotError] {
        &self.unavailable
    }

    pub fn invariant_stats(&self) -> InvariantStats {
        self.stats
    }

    /// The caller's and operator conformance resources (what a server publishes).
    pub fn published(&self) -> &[Value] {
        &self.definitions.published
    }

    /// Validates against the base definition only.
    pub fn validate_base(&self, resource: &Value) -> Vec<Issue> {
        let rt = member_str(resource, "resourceType").unwrap_or_default();
        let Some(plan) = self.base(rt).filter(|p| p.is_resource) else {
            return vec![Issue::error(
                IssueType::NotSupported,
                format!("'{rt}' is not a FHIR R4 resource type"),
            )
            .at(format!(
                "{}.resourceType",
                if rt.is_empty() { "Resource" } else { rt }
            ))];
        };
        let mut walk = Walk::new(self, None);
        let mut path = rt.to_string();
        walk.resource(plan, resource, &mut path);
        dedup(walk.issues)
    }

    /// Both passes; the profile pass runs only when the base pass found no error.
    pub fn validate(&self, resource: &Value, request: &Request) -> Outcome {
        let base = self.validate_base(resource);
        if base.iter().any(Issue::is_error) {
            return Outcome {
                base,
                profile: Vec::new(),
            };
        }
        let rt = member_str(resource, "resourceType").unwrap_or_default();
        let mut issues = Vec::new();
        let mut walk = Walk::new(self, None);
        self.apply_profiles(
            &mut walk,
            resource,
            rt,
            rt.to_string(),
            request,
            &mut issues,
        );
        // entries of a Bundle get their declared or default profiles too
        if rt == "Bundle" {
            walk.bundle = Some(bundle_rules::BundleIndex::build(resource));
            walk.containers.push(resource);
            if let Some(entries) = resource.get("entry").and_then(Value::as_array) {
                // An entry is walked after the entries it references: their full walks then
                // answer its target-profile and slice checks (Walk::record_conformance).
                // Issues are still reported in entry order.
                let order = entry_order(&walk, entries);
                let mut per_entry: Vec<Vec<Issue>> = vec![Vec::new(); entries.len()];
                for i in order {
                    let entry = &entries[i];
                    let Some(r) = member(entry, "resource") else {
                        continue;
                    };
                    let ert = member_str(r, "resourceType").unwrap_or_default();
                    let entry_request = Request {
                        profiles: Vec::new(),
                        default_profiles: request.default_profiles,
                    };
                    let before = walk.issues.len();
                    self.apply_profiles(
                        &mut walk,
                        r,
                        ert,
                        format!("Bundle.entry[{i}].resource"),
                        &entry_request,
                        &mut per_entry[i],
                    );
                    per_entry[i].extend(walk.issues.drain(before..));
                }
                issues.extend(per_entry.into_iter().flatten());
            }
        }
        issues.extend(walk.issues);
        // a problem the base pass already reported is not repeated by a profile
        let profile = dedup(issues)
            .into_iter()
            .filter(|i| {
                !base.iter().any(|b| {
                    b.expression == i.expression && b.code == i.code && b.severity == i.severity
                })
            })
            .collect();
        Outcome { base, profile }
    }

    fn apply_profiles<'a>(
        &'a self,
        walk: &mut Walk<'a>,
        resource: &'a Value,
        rt: &str,
        root: String,
        request: &Request,
        issues: &mut Vec<Issue>,
    ) {
        let declared: Vec<&str> = member(resource, "meta")
            .and_then(|meta| member(meta, "profile"))
            .and_then(Value::as_array)
            .map(|ps| ps.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut chosen: Vec<&TypePlan> = Vec::new();
        for (i, url) in declared.iter().enumerate() {
            match self.plan(url) {
                Some(p) if p.type_name == rt => chosen.push(p),
                Some(p) => issues.push(
                    Issue::error(IssueType::Invalid, format!("meta.profile {url} is a profile of {}, not of {rt}", p.type_name))
                        .at(format!("{root}.meta.profile[{i}]")),
                ),
                None => issues.push(
                    Issue::warning(
                        IssueType::NotSupported,
                        format!("meta.profile {url} is not known here, so the resource was not checked against it"),
                    )
                    .at(format!("{root}.meta.profile[{i}]")),
                ),
            }
        }
        for url in &request.profiles {
            if let Some(p) = self.plan(url).filter(|p| p.type_name == rt) {
                chosen.push(p);
            }
        }
        if declared.is_empty() && request.default_profiles {
            if let Some(p) = self
                .defaults
                .as_ref()
                .and_then(|d| d.default_profile(rt, resource))
                .and_then(|u| self.plan(u))
            {
                chosen.push(p);
            }
        }
        for plan in chosen {
            if !plan.is_profile {
                continue;
            }
            walk.profile = Some(plan.label.as_str());
            let mut path = root.clone();
            let before = walk.issues.len();
            walk.resource(plan, resource, &mut path);
            let ok = !walk.issues[before..].iter().any(Issue::is_error);
            walk.record_conformance(plan, resource, ok);
        }
        walk.profile = None;
    }
}

/// One issue per problem: the passes (and slices) can meet the same problem twice.
fn dedup(issues: Vec<Issue>) -> Vec<Issue> {
    let mut out: Vec<Issue> = Vec::with_capacity(issues.len());
    for issue in issues {
        if !out.iter().any(|o| {
            o.expression == issue.expression && o.text == issue.text && o.severity == issue.severity
        }) {
            out.push(issue);
        }
    }
    out
}

/// Counts issues of a severity (for reports).
pub fn count(issues: &[Issue], severity: Severity) -> usize {
    issues.iter().filter(|i| i.severity == severity).count()
}

/// The validator as intake uses it: with the configured default-profile rule.
pub struct IntakeProfiles {
    pub validator: Arc<StructureValidator>,
    pub default_profiles: bool,
}

impl IntakeValidator for IntakeProfiles {
    fn check(&self, resource: &Value) -> Outcome {
        let request = Request {
            profiles: Vec::new(),
            default_profiles: self.default_profiles,
        };
        self.validator.validate(resource, &request)
    }

    fn knows_type(&self, resource_type: &str) -> bool {
        self.validator.knows_resource_type(resource_type)
    }
}

/// The order to walk a Bundle's entries in: every entry after the entries it references
/// (depth-first, post-order; a cycle is broken where it is met), otherwise document order.
fn entry_order(walk: &Walk<'_>, entries: &[Value]) -> Vec<usize> {
    fn references<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = field(map, "reference") {
                    out.push(r);
                }
                map.values().for_each(|v| references(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| references(v, out)),
            _ => {}
        }
    }
    let resources: Vec<Option<&Value>> = entries.iter().map(|e| member(e, "resource")).collect();
    // entry index by resource address: one lookup per reference, however large the Bundle
    let index: FastMap<usize, usize> = resources
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.map(|r| (r as *const Value as usize, i)))
        .collect();
    let targets: Vec<Vec<usize>> = resources
        .iter()
        .map(|r| {
            let mut refs = Vec::new();
            if let Some(r) = r {
                references(r, &mut refs);
            }
            refs.into_iter()
                .filter_map(|reference| match walk.resolve(reference) {
                    references::Target::Resolved(t) => {
                        index.get(&(t as *const Value as usize)).copied()
                    }
                    _ => None,
                })
                .collect()
        })
        .collect();
    let mut order = Vec::with_capacity(entries.len());
    let mut seen = vec![false; entries.len()];
    for start in 0..entries.len() {
        // iterative DFS: (entry, next target to visit)
        let mut stack = vec![(start, 0usize)];
        while let Some((at, next)) = stack.pop() {
            if next == 0 {
                if seen[at] {
                    continue;
                }
                seen[at] = true;
            }
            match targets[at].get(next) {
                Some(&t) => {
                    stack.push((at, next + 1));
                    if !seen[t] {
                        stack.push((t, 0));
                    }
                }
                None => order.push(at),
            }
        }
    }
    order
}

#[cfg(test)]
mod tests;
