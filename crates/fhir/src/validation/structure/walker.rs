//! The walk over one resource: element names, choice types, cardinality and per-type dispatch.
//! The other rule kinds (primitives, bindings, fixed/pattern, slicing, references,
//! extensions, Bundle rules, invariants) live in their own files as `impl Walk` blocks.

use super::bundle_rules::BundleIndex;
use super::plan::{choice_type, Node, TypePlan};
use super::primitives;
use super::StructureValidator;
use crate::json::member::field;
use crate::outcome::{Issue, IssueType, Severity};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write;
use std::rc::Rc;

/// Conformance of (resource, profile) pairs already decided in this validation: slicing by
/// profile and the reference check ask the same question about the same target.
type ConformsCache = Rc<RefCell<HashMap<(usize, usize), bool>>>;

/// How deep reference targets are validated against their target profiles.
const MAX_TARGET_DEPTH: usize = 2;

pub struct Walk<'a> {
    pub reg: &'a StructureValidator,
    pub issues: Vec<Issue>,
    /// The profile being applied, named in messages (`None` for the base definitions).
    pub profile: Option<&'a str>,
    /// Enclosing resources, innermost last (for `#id` references and invariants).
    pub containers: Vec<&'a Value>,
    /// Where each enclosing resource starts in the path being built (the same order).
    pub roots: Vec<usize>,
    /// The definition paths of the elements being walked into, innermost last
    /// (`Patient.name`, or `HumanName.family` then `string` for a primitive's extensions).
    pub hosts: Vec<&'a str>,
    pub bundle: Option<BundleIndex<'a>>,
    pub depth: usize,
    conforms: ConformsCache,
    /// A conformance check needs only a yes or no: it stops at the first error.
    first_error_only: bool,
    stopped: bool,
}

/// One JSON member matched to a child element.
struct Found<'a> {
    child: usize,
    key: &'a str,
    value: &'a Value,
    underscore: bool,
}

impl<'a> Walk<'a> {
    pub fn new(reg: &'a StructureValidator, profile: Option<&'a str>) -> Self {
        Self {
            reg,
            issues: Vec::new(),
            profile,
            containers: Vec::new(),
            roots: Vec::new(),
            hosts: Vec::new(),
            bundle: None,
            depth: 0,
            conforms: ConformsCache::default(),
            first_error_only: false,
            stopped: false,
        }
    }

    pub fn report(&mut self, severity: Severity, code: IssueType, path: &str, text: String) {
        if self.first_error_only {
            // only whether there is an error matters: no message, and no further walking
            if severity == Severity::Error {
                self.stopped = true;
            }
            return;
        }
        let text = match self.profile {
            Some(p) => format!("{p}: {text}"),
            None => text,
        };
        self.issues.push(Issue {
            severity,
            code,
            text,
            expression: vec![path.to_string()],
            diagnostics: None,
        });
    }

    pub fn error(&mut self, code: IssueType, path: &str, text: String) {
        self.report(Severity::Error, code, path, text);
    }

    /// Validates a resource against `plan` (its base type or a profile of it).
    pub fn resource(&mut self, plan: &'a TypePlan, value: &'a Value, path: &mut String) {
        let Some(obj) = value.as_object() else {
            self.error(
                IssueType::Structure,
                path,
                "a resource must be a JSON object".into(),
            );
            return;
        };
        match field(obj, "resourceType").and_then(Value::as_str) {
            None => {
                let at = format!("{path}.resourceType");
                self.error(
                    IssueType::Required,
                    &at,
                    "a resource needs a resourceType".into(),
                );
                return;
            }
            Some(rt) if rt != plan.type_name => {
                let at = format!("{path}.resourceType");
                self.error(
                    IssueType::Invalid,
                    &at,
                    format!("expected a {}, found a {rt}", plan.type_name),
                );
                return;
            }
            Some(_) => {}
        }
        self.containers.push(value);
        self.roots.push(path.len());
        let outer_bundle = if plan.type_name == "Bundle" {
            let index = BundleIndex::build(value);
            if !plan.is_profile {
                self.bundle_rules(&index, value, path);
            }
            self.bundle.replace(index)
        } else {
            None
        };
        self.object(plan, 0, None, obj, path, true);
        if !self.stopped {
            self.invariants(plan.root(), value, path);
        }
        if !plan.is_profile && !self.stopped {
            self.resource_rules(&plan.type_name, value, path);
        }
        if plan.type_name == "Bundle" {
            self.bundle = outer_bundle;
        }
        self.containers.pop();
        self.roots.pop();
    }

    /// Where the children of element `node` (holding a value of `type_code`) are defined.
    pub fn child_source(
        &self,
        plan: &'a TypePlan,
        node: usize,
        type_code: Option<&str>,
    ) -> Option<(&'a TypePlan, usize)> {
        let n = plan.node(node)?;
        if let Some(target) = n.content_ref {
            return Some((plan, target));
        }
        if !n.children.is_empty() || node == 0 {
            return Some((plan, node));
        }
        let t = match type_code {
            Some(code) => n.types.iter().find(|t| t.code == code),
            None => n.types.first(),
        }?;
        if let Some(profile) = t.profiles.first().and_then(|p| self.reg.plan(p)) {
            return Some((profile, 0));
        }
        self.reg.base(&t.code).map(|p| (p, 0))
    }

    /// Checks the members of a JSON object against the children of an element.
    pub fn object(
        &mut self,
        plan: &'a TypePlan,
        node: usize,
        type_code: Option<&str>,
        obj: &'a Map<String, Value>,
        path: &mut String,
        resource_root: bool,
    ) {
        let Some(n) = plan.node(node) else { return };
        self.hosts.push(n.path.as_str());
        self.members(plan, node, type_code, obj, path, resource_root);
        self.hosts.pop();
    }

    fn members(
        &mut self,
        plan: &'a TypePlan,
        node: usize,
        type_code: Option<&str>,
        obj: &'a Map<String, Value>,
        path: &mut String,
        resource_root: bool,
    ) {
        let Some((cplan, cnode)) = self.child_source(plan, node, type_code) else {
            return;
        };
        let children = &cplan.nodes[cnode].children;
        let mut found: Vec<Found<'a>> = Vec::with_capacity(obj.len());
        let mut rejected: Vec<usize> = Vec::new();
        for (key, value) in obj {
            if self.stopped {
                return;
            }
            if resource_root && key == "resourceType" {
                continue;
            }
            let (name, underscore) = match key.strip_prefix('_') {
                Some(n) => (n, true),
                None => (key.as_str(), false),
            };
            let parent = &cplan.nodes[cnode];
            let child = parent.child_by_name.get(name).copied().or_else(|| {
                parent
                    .choice_children
                    .iter()
                    .copied()
                    .find(|&c| choice_type(&cplan.nodes[c], name).is_some())
            });
            match child {
                Some(child) => found.push(Found {
                    child,
                    key: name,
                    value,
                    underscore,
                }),
                None => {
                    let at = format!("{path}.{key}");
                    // a choice type the profile removed: say so, and count the element as
                    // present so that its cardinality is not reported a second time
                    let narrowed = children.iter().copied().find(|&c| {
                        let n = &cplan.nodes[c];
                        n.choice
                            && name.strip_prefix(n.name.as_str()).is_some_and(|rest| {
                                rest.starts_with(|ch: char| ch.is_ascii_uppercase())
                            })
                    });
                    match narrowed.filter(|_| self.profile.is_some()) {
                        Some(c) => {
                            let n = &cplan.nodes[c];
                            let allowed: Vec<&str> =
                                n.types.iter().map(|t| t.code.as_str()).collect();
                            self.error(
                                IssueType::Structure,
                                &at,
                                format!(
                                    "{}[x] may only be {} here, not '{key}'",
                                    n.name,
                                    allowed.join(" | ")
                                ),
                            );
                            rejected.push(c);
                        }
                        None => {
                            let owner = &cplan.nodes[cnode].path;
                            self.error(
                                IssueType::Structure,
                                &at,
                                format!(
                                    "unknown element '{key}': {owner} has no such element in FHIR R4"
                                ),
                            );
                        }
                    }
                }
            }
        }
        let parent = &cplan.nodes[cnode];
        // A conformance check only needs to know whether there is an error, found sooner among
        // the value checks. A full walk reports in the profile's element order, and only
        // present and required children have anything to report (children are numbered in
        // element order).
        let present_or_required: Vec<usize>;
        let order: &[usize] = if self.first_error_only {
            &parent.value_checked_first
        } else {
            let mut visit: Vec<usize> = found
                .iter()
                .map(|f| f.child)
                .chain(parent.required_children.iter().copied())
                .collect();
            visit.sort_unstable();
            visit.dedup();
            present_or_required = visit;
            &present_or_required
        };
        for &c in order {
            if self.stopped {
                return;
            }
            if !rejected.contains(&c) {
                self.child(cplan, c, &found, path);
            }
        }
    }

    fn child(&mut self, plan: &'a TypePlan, c: usize, found: &[Found<'a>], path: &mut String) {
        let node = &plan.nodes[c];
        // most optional elements are absent: decide that before allocating anything
        if !found.iter().any(|f| f.child == c) {
            if node.min > 0 {
                let shown = display_name(node);
                let at = format!("{path}.{shown}");
                self.error(
                    IssueType::Required,
                    &at,
                    format!(
                        "missing required element '{shown}' ({} is {}..{})",
                        node.path,
                        node.min,
                        node.max_text()
                    ),
                );
            } else {
                self.absent_slices(plan, c, path);
            }
            return;
        }
        let mut keys: Vec<&'a str> = Vec::with_capacity(1);
        for f in found.iter().filter(|f| f.child == c) {
            if !keys.contains(&f.key) {
                keys.push(f.key);
            }
        }
        // `found` has at least one entry for `c` (checked above), so `keys` is not empty.
        // The display name is built only for a message: most elements have none.
        let shown = || display_name(node);
        if node.choice && keys.len() > 1 {
            let at = format!("{path}.{}", keys[1]);
            self.error(
                IssueType::Structure,
                &at,
                format!(
                    "only one of the types of {} may be present: {}",
                    shown(),
                    keys.join(", ")
                ),
            );
        }
        let mut total = 0usize;
        for key in keys {
            let value = found
                .iter()
                .find(|f| f.child == c && f.key == key && !f.underscore)
                .map(|f| f.value);
            let ext = found
                .iter()
                .find(|f| f.child == c && f.key == key && f.underscore)
                .map(|f| f.value);
            let type_code = if node.choice {
                choice_type(node, key).map(|t| t.code.as_str())
            } else {
                node.types.first().map(|t| t.code.as_str())
            };
            let len = path.len();
            path.push('.');
            path.push_str(key);
            total += self.occurrences(plan, c, type_code, value, ext, path);
            path.truncate(len);
        }
        if total < node.min as usize {
            let at = format!("{path}.{}", shown());
            self.error(
                IssueType::Required,
                &at,
                format!(
                    "{} needs at least {} value(s), found {total}",
                    node.path, node.min
                ),
            );
        }
        if let Some(max) = node.max {
            if total > max as usize {
                let at = format!("{path}.{}", shown());
                let text = if max == 0 {
                    format!("{} is not allowed here (max 0)", node.path)
                } else {
                    format!("{} allows at most {max} value(s), found {total}", node.path)
                };
                self.error(IssueType::Structure, &at, text);
            }
        }
    }

    /// Validates the value(s) of one JSON member (and its `_member`); returns how many.
    fn occurrences(
        &mut self,
        plan: &'a TypePlan,
        c: usize,
        type_code: Option<&'a str>,
        value: Option<&'a Value>,
        ext: Option<&'a Value>,
        path: &mut String,
    ) -> usize {
        let node = &plan.nodes[c];
        if !node.repeats() {
            if value.is_some_and(Value::is_array) || ext.is_some_and(Value::is_array) {
                self.error(
                    IssueType::Structure,
                    path,
                    format!("{} is a single value, not an array", node.path),
                );
                return 1;
            }
            let target = match (&node.slicing, value) {
                (Some(_), Some(v)) if !node.slices.is_empty() => {
                    self.single_slice(plan, c, type_code, v, path)
                }
                _ => c,
            };
            self.item(plan, target, type_code, value, ext, path);
            return 1;
        }
        let as_array = |v: Option<&'a Value>| -> Result<&'a [Value], ()> {
            match v {
                None => Ok(&[]),
                Some(Value::Array(a)) => Ok(a.as_slice()),
                Some(_) => Err(()),
            }
        };
        let (Ok(values), Ok(exts)) = (as_array(value), as_array(ext)) else {
            self.error(
                IssueType::Structure,
                path,
                format!("{} repeats, so it must be a JSON array", node.path),
            );
            return 1;
        };
        let count = values.len().max(exts.len());
        if count == 0 {
            self.error(
                IssueType::Structure,
                path,
                "arrays must not be empty".into(),
            );
            return 0;
        }
        let assigned = if node.slicing.is_some() && !node.slices.is_empty() {
            self.assign_slices(plan, c, values, path)
        } else {
            Vec::new()
        };
        for i in 0..count {
            let len = path.len();
            // writing to a String cannot fail
            let _ = write!(path, "[{i}]");
            let target = assigned.get(i).copied().flatten().unwrap_or(c);
            self.item(plan, target, type_code, values.get(i), exts.get(i), path);
            path.truncate(len);
        }
        count
    }

    /// One value of element `c`.
    fn item(
        &mut self,
        plan: &'a TypePlan,
        c: usize,
        type_code: Option<&'a str>,
        value: Option<&'a Value>,
        ext: Option<&'a Value>,
        path: &mut String,
    ) {
        let node = &plan.nodes[c];
        let mut type_code = type_code.unwrap_or_default();
        // R4 types Resource.id as a FHIRPath string; it is an `id`
        if type_code == "string"
            && plan.is_resource
            && node.path.len() == plan.type_name.len() + 3
            && node.path.ends_with(".id")
        {
            type_code = "id";
        }
        let primitive = primitives::is_primitive(type_code);
        if let Some(ext) = ext.filter(|e| !e.is_null()) {
            if !primitive {
                self.error(
                    IssueType::Structure,
                    path,
                    format!(
                        "'_' extensions belong to primitive elements; {} is a {type_code}",
                        node.path
                    ),
                );
            } else if let (Some(obj), Some(p)) = (ext.as_object(), self.reg.base(type_code)) {
                if obj.is_empty() {
                    self.error(
                        IssueType::Structure,
                        path,
                        "an empty object is not allowed".into(),
                    );
                }
                self.hosts.push(node.path.as_str());
                self.object(p, 0, None, obj, path, false);
                self.hosts.pop();
            } else {
                self.error(
                    IssueType::Structure,
                    path,
                    "a primitive's '_' extension must be an object".into(),
                );
            }
        }
        let value = match value {
            Some(Value::Null) | None => {
                match ext.and_then(Value::as_object) {
                    None => self.error(
                        IssueType::Structure,
                        path,
                        "null is only allowed in an array whose '_' twin has an extension here"
                            .into(),
                    ),
                    // an id alone is neither a value nor children
                    Some(obj) if !obj.is_empty() && field(obj, "extension").is_none() => self
                        .error(
                            IssueType::Invariant,
                            path,
                            format!("ele-1: {} has neither a value nor extensions", node.path),
                        ),
                    Some(_) => {}
                }
                return;
            }
            Some(v) => v,
        };
        if primitive {
            if let Some(text) = value
                .as_str()
                .filter(|t| primitives::too_long(type_code, t))
            {
                self.error(
                    IssueType::TooLong,
                    path,
                    format!(
                        "{} ({type_code}) is {} bytes long; FHIR allows at most {} bytes",
                        node.path,
                        text.len(),
                        primitives::MAX_STRING_BYTES
                    ),
                );
                return;
            }
            if let Some(problem) = primitives::check(type_code, value) {
                self.error(
                    IssueType::Value,
                    path,
                    format!("{} ({type_code}) {problem}", node.path),
                );
                return;
            }
        } else if type_code == "Resource" && self.profile.is_some() {
            // a profile pass follows a clean base pass: nested resources were checked there,
            // and Bundle entries get their own profiles
            return;
        } else if type_code == "Resource" {
            let rt = value
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match self.reg.base(rt).filter(|p| p.is_resource) {
                Some(p) => self.resource(p, value, path),
                None => {
                    let at = format!("{path}.resourceType");
                    self.error(
                        IssueType::Structure,
                        &at,
                        format!("'{rt}' is not a FHIR R4 resource type"),
                    );
                }
            }
            return;
        } else {
            let Some(obj) = value.as_object() else {
                self.error(
                    IssueType::Structure,
                    path,
                    format!(
                        "{} is a {type_code}, so it must be a JSON object",
                        node.path
                    ),
                );
                return;
            };
            if obj.is_empty() {
                self.error(
                    IssueType::Structure,
                    path,
                    "an empty object is not allowed (ele-1: a value or children)".into(),
                );
                return;
            }
            if type_code == "Extension" {
                self.extension(plan, c, obj, path);
            } else if !(self.profile.is_some() && unprofiled(node, type_code)) {
                self.object(plan, c, Some(type_code), obj, path, false);
            }
            if type_code == "Reference" {
                self.reference(node, obj, path);
            } else if type_code == "Attachment" && self.profile.is_none() {
                self.attachment(obj, path);
            }
        }
        if !self.fixed_pattern(node, value, path) {
            return;
        }
        if node.binding.is_some() {
            self.binding(node, type_code, value, path);
        }
        self.invariants(node, value, path);
    }

    /// The rules of particular resource types that no element definition states.
    fn resource_rules(&mut self, type_name: &str, value: &'a Value, path: &str) {
        match type_name {
            "Questionnaire" => self.questionnaire(value, path),
            "QuestionnaireResponse" => self.questionnaire_response(value, path),
            _ => {}
        }
    }

    /// Whether reference targets may still be checked against their profiles.
    pub fn may_descend(&self) -> bool {
        self.depth < MAX_TARGET_DEPTH
    }

    /// Whether `value` conforms to `plan` (no errors), checked in a nested walk.
    pub fn conforms(&self, plan: &'a TypePlan, value: &'a Value) -> bool {
        let key = (
            value as *const Value as usize,
            plan as *const TypePlan as usize,
        );
        if let Some(&known) = self.conforms.borrow().get(&key) {
            return known;
        }
        let mut nested = Walk::new(self.reg, Some(plan.label.as_str()));
        nested.bundle = self.bundle.clone();
        nested.depth = self.depth + 1;
        nested.conforms = Rc::clone(&self.conforms);
        nested.first_error_only = true;
        let mut path = plan.type_name.clone();
        nested.resource(plan, value, &mut path);
        let ok = !nested.stopped;
        self.conforms.borrow_mut().insert(key, ok);
        ok
    }

    /// Records what a full walk of `value` against `plan` found (a Bundle entry validated
    /// against its profile), so that a later conformance check of the same pair is free.
    pub fn record_conformance(&self, plan: &'a TypePlan, value: &'a Value, ok: bool) {
        let key = (
            value as *const Value as usize,
            plan as *const TypePlan as usize,
        );
        self.conforms.borrow_mut().entry(key).or_insert(ok);
    }
}

/// The element name as shown in messages.
pub fn display_name(node: &Node) -> String {
    if node.choice {
        format!("{}[x]", node.name)
    } else {
        node.name.clone()
    }
}

/// An element whose content the profile leaves as in the base data type: a profile pass,
/// which runs after a clean base pass, need not walk inside it again.
fn unprofiled(node: &Node, type_code: &str) -> bool {
    node.children.is_empty()
        && node.content_ref.is_none()
        && node
            .types
            .iter()
            .filter(|t| t.code == type_code)
            .all(|t| t.profiles.is_empty())
}
