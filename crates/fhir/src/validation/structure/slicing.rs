//! Slicing: assigning the items of a repeating element to slices by their discriminators
//! (value, pattern, type, profile, exists), then checking each slice's cardinality, closed and
//! openAtEnd rules, and order.

use super::fixed_pattern::{equal, matches_pattern};
use super::plan::{DiscriminatorKind, Node, SlicingRules, Strength, TypePlan};
use super::references::Target;
use super::value_sets::Membership;
use super::walker::{display_name, Walk};
use crate::outcome::IssueType;
use serde_json::Value;

/// How an item relates to one slice.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fit {
    Yes,
    No,
    /// Cannot be decided here (a reference we cannot resolve).
    Maybe,
}

impl<'a> Walk<'a> {
    /// The slice node each item belongs to (`None`: no slice, or undecidable).
    pub fn assign_slices(
        &mut self,
        plan: &'a TypePlan,
        c: usize,
        items: &'a [Value],
        path: &str,
    ) -> Vec<Option<usize>> {
        let node = &plan.nodes[c];
        let Some(slicing) = &node.slicing else {
            return Vec::new();
        };
        let mut assigned = Vec::with_capacity(items.len());
        let mut definite = vec![0usize; node.slices.len()];
        let mut maybe = vec![0usize; node.slices.len()];
        let mut last_slice = 0usize;
        let mut seen_unmatched = false;
        for (i, item) in items.iter().enumerate() {
            let fits: Vec<Fit> = node
                .slices
                .iter()
                .map(|&s| self.fits(plan, s, item, &slicing.discriminators))
                .collect();
            let first_yes = fits.iter().position(|f| *f == Fit::Yes);
            match first_yes {
                Some(k) => {
                    definite[k] += 1;
                    if slicing.ordered && k < last_slice {
                        let at = format!("{path}[{i}]");
                        let text = format!(
                            "{} is ordered: slice '{}' must come before the earlier items",
                            node.path,
                            slice_name(plan, node.slices[k])
                        );
                        self.error(IssueType::Structure, &at, text);
                    }
                    last_slice = k;
                    if slicing.rules == SlicingRules::OpenAtEnd && seen_unmatched {
                        let at = format!("{path}[{i}]");
                        let text = format!(
                            "{} is open at the end: unsliced items must come last",
                            node.path
                        );
                        self.error(IssueType::Structure, &at, text);
                    }
                    assigned.push(Some(node.slices[k]));
                }
                None => {
                    let mut any_maybe = false;
                    for (k, f) in fits.iter().enumerate() {
                        if *f == Fit::Maybe {
                            maybe[k] += 1;
                            any_maybe = true;
                        }
                    }
                    if !any_maybe {
                        seen_unmatched = true;
                        if slicing.rules == SlicingRules::Closed {
                            let at = format!("{path}[{i}]");
                            let text = format!(
                                "{} is closed: this item matches none of its slices",
                                node.path
                            );
                            self.error(IssueType::Structure, &at, text);
                        }
                    }
                    assigned.push(None);
                }
            }
        }
        for (k, &s) in node.slices.iter().enumerate() {
            let slice = &plan.nodes[s];
            let name = slice_name(plan, s);
            if definite[k] + maybe[k] < slice.min as usize {
                let text = format!(
                    "slice '{name}' of {} needs at least {} item(s), found {}",
                    node.path, slice.min, definite[k]
                );
                self.error(IssueType::Required, path, text);
            }
            if let Some(max) = slice.max {
                if definite[k] > max as usize {
                    let text = format!(
                        "slice '{name}' of {} allows at most {max} item(s), found {}",
                        node.path, definite[k]
                    );
                    self.error(IssueType::Structure, path, text);
                }
            }
        }
        assigned
    }

    /// The slice a single (non-repeating) value belongs to, or the element itself: a choice
    /// is sliced by its type (`value[x]:valueQuantity`), anything else by its discriminators.
    pub fn single_slice(
        &mut self,
        plan: &'a TypePlan,
        c: usize,
        type_code: Option<&str>,
        value: &'a Value,
        path: &str,
    ) -> usize {
        let node = &plan.nodes[c];
        if !node.choice {
            return self
                .assign_slices(plan, c, std::slice::from_ref(value), path)
                .first()
                .copied()
                .flatten()
                .unwrap_or(c);
        }
        let Some(code) = type_code else { return c };
        let Some(s) = node
            .slices
            .iter()
            .copied()
            .find(|&s| plan.nodes[s].types.iter().any(|t| t.code == code))
        else {
            return c;
        };
        if plan.nodes[s].max == Some(0) {
            let text = format!(
                "slice '{}' of {} allows at most 0 item(s), found 1",
                slice_name(plan, s),
                node.path
            );
            self.error(IssueType::Structure, path, text);
        }
        s
    }

    /// An absent element whose slices require items.
    pub fn absent_slices(&mut self, plan: &'a TypePlan, c: usize, path: &str) {
        let node = &plan.nodes[c];
        for &s in &node.slices {
            let slice = &plan.nodes[s];
            if slice.min > 0 {
                let at = format!("{path}.{}", display_name(node));
                let text = format!(
                    "slice '{}' of {} needs at least {} item(s), found 0",
                    slice_name(plan, s),
                    node.path,
                    slice.min
                );
                self.error(IssueType::Required, &at, text);
            }
        }
    }

    fn fits(
        &self,
        plan: &'a TypePlan,
        slice: usize,
        item: &'a Value,
        discriminators: &[super::plan::Discriminator],
    ) -> Fit {
        let mut result = Fit::Yes;
        for d in discriminators {
            let f = match d.kind {
                DiscriminatorKind::Value | DiscriminatorKind::Pattern => {
                    self.fits_value(plan, slice, item, &d.path)
                }
                DiscriminatorKind::Exists => {
                    let wanted = descend(plan, slice, &d.path).is_some_and(|n| n.min > 0);
                    if at_path(item, &d.path).is_empty() != wanted {
                        Fit::Yes
                    } else {
                        Fit::No
                    }
                }
                DiscriminatorKind::Type => self.fits_type(plan, slice, item, &d.path),
                DiscriminatorKind::Profile => self.fits_profile(plan, slice, item, &d.path),
            };
            match f {
                Fit::No => return Fit::No,
                Fit::Maybe => result = Fit::Maybe,
                Fit::Yes => {}
            }
        }
        result
    }

    fn fits_value(&self, plan: &'a TypePlan, slice: usize, item: &Value, path: &str) -> Fit {
        let slice_node = &plan.nodes[slice];
        // extension slices are told apart by url, which the extension's profile fixes
        let profile_url = (path == "url")
            .then(|| {
                slice_node
                    .types
                    .iter()
                    .flat_map(|t| t.profiles.first())
                    .next()
            })
            .flatten();
        let (expected, is_pattern) = match (profile_url, descend(plan, slice, path)) {
            (Some(url), _) => (Some(Value::String(url.clone())), false),
            (None, Some(n)) if n.fixed.is_some() => (n.fixed.clone(), false),
            (None, Some(n)) if n.pattern.is_some() => (n.pattern.clone(), true),
            _ => (None, false),
        };
        let Some(expected) = expected else {
            return self.fits_binding(plan, slice, item, path);
        };
        let found = at_path(item, path);
        let ok = found.iter().any(|v| {
            if is_pattern {
                matches_pattern(&expected, v)
            } else {
                equal(&expected, v)
            }
        });
        if ok {
            Fit::Yes
        } else {
            Fit::No
        }
    }

    /// A value discriminator on an element with a required binding and no fixed or pattern
    /// value: the item fits when its code is in the bound value set (R4 profiling, "value"
    /// discriminators).
    fn fits_binding(&self, plan: &'a TypePlan, slice: usize, item: &Value, path: &str) -> Fit {
        let Some(binding) = descend(plan, slice, path).and_then(|n| n.binding.as_ref()) else {
            return Fit::No;
        };
        if binding.strength != Strength::Required {
            return Fit::No;
        }
        let Some(expansion) = self.reg.expansion(&binding.value_set) else {
            return Fit::Maybe;
        };
        let coding_membership = |c: &Value| -> Membership {
            match c.get("code").and_then(Value::as_str) {
                Some(code) => expansion.contains(c.get("system").and_then(Value::as_str), code),
                None => Membership::NotIn,
            }
        };
        let membership = |v: &Value| -> Membership {
            match v {
                Value::String(code) => expansion.contains(None, code),
                Value::Object(_) if v.get("coding").is_some() => {
                    let codings = v.get("coding").and_then(Value::as_array);
                    let all: Vec<Membership> = codings
                        .map(|cs| cs.iter().map(coding_membership).collect())
                        .unwrap_or_default();
                    best(&all)
                }
                Value::Object(_) => coding_membership(v),
                _ => Membership::NotIn,
            }
        };
        let found: Vec<Membership> = at_path(item, path).into_iter().map(membership).collect();
        match best(&found) {
            Membership::In => Fit::Yes,
            Membership::NotIn => Fit::No,
            Membership::Unknown => Fit::Maybe,
        }
    }

    fn fits_type(&self, plan: &'a TypePlan, slice: usize, item: &'a Value, path: &str) -> Fit {
        let slice_node = &plan.nodes[slice];
        let actual = if path.starts_with("resolve()") {
            match item
                .get("reference")
                .and_then(Value::as_str)
                .map(|r| self.resolve(r))
            {
                Some(Target::Resolved(r)) => r
                    .get("resourceType")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                Some(Target::Typed(t)) => Some(t),
                _ => return Fit::Maybe,
            }
        } else {
            item.get("resourceType")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let Some(actual) = actual else {
            return Fit::Maybe;
        };
        let wanted = slice_node.types.iter().any(|t| {
            t.code == actual
                || t.target_profiles
                    .iter()
                    .any(|p| self.reg.plan(p).is_some_and(|pl| pl.type_name == actual))
        });
        if wanted {
            Fit::Yes
        } else {
            Fit::No
        }
    }

    fn fits_profile(&self, plan: &'a TypePlan, slice: usize, item: &'a Value, path: &str) -> Fit {
        let slice_node = &plan.nodes[slice];
        let profiles: Vec<&TypePlan> = slice_node
            .types
            .iter()
            .flat_map(|t| {
                if path.starts_with("resolve()") {
                    &t.target_profiles
                } else {
                    &t.profiles
                }
            })
            .filter_map(|p| self.reg.plan(p))
            .collect();
        if profiles.is_empty() {
            return Fit::Maybe;
        }
        let target = if path.starts_with("resolve()") {
            match item
                .get("reference")
                .and_then(Value::as_str)
                .map(|r| self.resolve(r))
            {
                Some(Target::Resolved(r)) => r,
                // without the target, the referenced type is all we can tell
                Some(Target::Typed(t)) => {
                    return if profiles.iter().any(|p| p.type_name == t) {
                        Fit::Maybe
                    } else {
                        Fit::No
                    };
                }
                _ => return Fit::Maybe,
            }
        } else {
            item
        };
        if !self.may_descend() {
            return Fit::Maybe;
        }
        if profiles.iter().any(|p| self.conforms(p, target)) {
            Fit::Yes
        } else {
            Fit::No
        }
    }
}

/// In when any is in, else unknown when any is unknown.
fn best(all: &[Membership]) -> Membership {
    if all.contains(&Membership::In) {
        Membership::In
    } else if all.contains(&Membership::Unknown) {
        Membership::Unknown
    } else {
        Membership::NotIn
    }
}

fn slice_name(plan: &TypePlan, s: usize) -> String {
    plan.nodes[s]
        .slice_name
        .clone()
        .unwrap_or_else(|| display_name(&plan.nodes[s]))
}

/// The node at a dotted path below `from` (`$this` is `from` itself).
fn descend<'p>(plan: &'p TypePlan, from: usize, path: &str) -> Option<&'p Node> {
    let mut at = from;
    if path == "$this" {
        return plan.node(at);
    }
    for segment in path.split('.') {
        let name = segment.split('(').next().unwrap_or(segment);
        at = *plan
            .node(at)?
            .children
            .iter()
            .find(|&&c| plan.nodes[c].name == name)?;
    }
    plan.node(at)
}

/// The values at a dotted path below `item`, through arrays.
fn at_path<'v>(item: &'v Value, path: &str) -> Vec<&'v Value> {
    let mut current = vec![item];
    if path == "$this" {
        return current;
    }
    for segment in path.split('.') {
        let mut next = Vec::new();
        for v in current {
            match v.get(segment) {
                Some(Value::Array(a)) => next.extend(a.iter()),
                Some(x) => next.push(x),
                None => {}
            }
        }
        current = next;
    }
    current
}
