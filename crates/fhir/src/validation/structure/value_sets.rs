//! Local ValueSet expansion: compose include/exclude with enumerated concepts, whole
//! CodeSystems and `is-a`/`descendent-of` filters over CodeSystems we hold. What cannot be
//! expanded locally (SNOMED hierarchies, other filters) makes that system "open": any code of
//! it is accepted rather than wrongly rejected.

use super::definitions::{unversioned, Definitions};
use crate::fast_hash::{FastMap, FastSet};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Expansion {
    /// Codes in the set, by system.
    pub codes: FastMap<String, FastSet<String>>,
    /// Bare codes, for the `code` type, which carries no system.
    pub bare: FastSet<String>,
    /// Systems whose membership cannot be decided locally.
    pub open_systems: FastSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    In,
    NotIn,
    Unknown,
}

impl Expansion {
    pub fn contains(&self, system: Option<&str>, code: &str) -> Membership {
        match system {
            Some(system) if self.open_systems.contains(system) => Membership::Unknown,
            Some(system) => {
                if self
                    .codes
                    .get(system)
                    .is_some_and(|codes| codes.contains(code))
                {
                    Membership::In
                } else {
                    Membership::NotIn
                }
            }
            None if self.bare.contains(code) => Membership::In,
            None if self.open_systems.is_empty() => Membership::NotIn,
            None => Membership::Unknown,
        }
    }

    fn add(&mut self, system: &str, code: &str) {
        self.codes
            .entry(system.to_string())
            .or_default()
            .insert(code.to_string());
        self.bare.insert(code.to_string());
    }
}

pub fn expand(defs: &Definitions, url: &str) -> Option<Expansion> {
    let mut visiting = HashSet::new();
    expand_inner(defs, url, &mut visiting)
}

fn expand_inner(
    defs: &Definitions,
    url: &str,
    visiting: &mut HashSet<String>,
) -> Option<Expansion> {
    if !visiting.insert(url.to_string()) {
        return None;
    }
    let vs = defs.value_sets.get(url)?;
    let mut out = Expansion::default();
    let Some(compose) = vs.get("compose") else {
        // a stored expansion only (some R4 value sets)
        for c in array(vs.pointer("/expansion/contains")) {
            if let (Some(s), Some(code)) = (str_of(c, "system"), str_of(c, "code")) {
                out.add(s, code);
            }
        }
        return Some(out);
    };
    for include in array(compose.get("include")) {
        include_into(defs, include, &mut out, visiting);
    }
    for exclude in array(compose.get("exclude")) {
        let Some(system) = str_of(exclude, "system") else {
            continue;
        };
        for c in array(exclude.get("concept")) {
            if let Some(code) = str_of(c, "code") {
                if let Some(codes) = out.codes.get_mut(system) {
                    codes.remove(code);
                }
            }
        }
    }
    Some(out)
}

fn include_into(
    defs: &Definitions,
    include: &Value,
    out: &mut Expansion,
    visiting: &mut HashSet<String>,
) {
    // imported value sets intersect with the rest of the include; we support them alone
    for vs in array(include.get("valueSet"))
        .iter()
        .filter_map(Value::as_str)
    {
        match expand_inner(defs, vs, visiting) {
            Some(e) => {
                for (system, codes) in e.codes {
                    out.codes.entry(system).or_default().extend(codes);
                }
                out.bare.extend(e.bare);
                out.open_systems.extend(e.open_systems);
            }
            None => {
                out.open_systems.insert(String::new());
            }
        }
    }
    let Some(system) = str_of(include, "system") else {
        return;
    };
    let concepts = array(include.get("concept"));
    let filters = array(include.get("filter"));
    if !concepts.is_empty() {
        for c in concepts {
            if let Some(code) = str_of(c, "code") {
                out.add(system, code);
            }
        }
        return;
    }
    // `include.version` picks a version of the CodeSystem (definitions::canonical)
    let cs = match str_of(include, "version") {
        Some(version) => defs.code_systems.get(&format!("{system}|{version}")),
        None => defs.code_systems.get(system),
    }
    .filter(|cs| str_of(cs, "content") == Some("complete"));
    let Some(cs) = cs else {
        out.open_systems.insert(system.to_string());
        return;
    };
    if filters.is_empty() {
        walk(array(cs.get("concept")), &mut |code| out.add(system, code));
        return;
    }
    for f in filters {
        let (Some(op), Some(value)) = (str_of(f, "op"), str_of(f, "value")) else {
            continue;
        };
        let is_a = match op {
            "is-a" => true,
            "descendent-of" => false,
            _ => {
                out.open_systems.insert(system.to_string());
                return;
            }
        };
        if let Some(root) = find(array(cs.get("concept")), value) {
            if is_a {
                out.add(system, value);
            }
            walk(array(root.get("concept")), &mut |code| {
                out.add(system, code)
            });
        }
    }
}

fn walk(concepts: &[Value], f: &mut dyn FnMut(&str)) {
    for c in concepts {
        if let Some(code) = str_of(c, "code") {
            f(code);
        }
        walk(array(c.get("concept")), f);
    }
}

fn find<'a>(concepts: &'a [Value], code: &str) -> Option<&'a Value> {
    concepts.iter().find_map(|c| {
        if str_of(c, "code") == Some(code) {
            Some(c)
        } else {
            find(array(c.get("concept")), code)
        }
    })
}

fn array(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Expands every ValueSet in `canonicals` (`url` or `url|version`) that exists locally, by the
/// canonical as given; the latest version of each is also found by its bare URL. A ValueSet
/// named several ways is expanded once.
pub fn expand_all<'a>(
    defs: &Definitions,
    canonicals: impl IntoIterator<Item = &'a str>,
) -> FastMap<String, Arc<Expansion>> {
    let mut out: FastMap<String, Arc<Expansion>> = FastMap::default();
    let mut by_resource: FastMap<(String, Option<String>), Option<Arc<Expansion>>> =
        FastMap::default();
    for canonical in canonicals {
        if out.contains_key(canonical) {
            continue;
        }
        let Some(resolved) = defs.value_sets.resolve(canonical) else {
            continue;
        };
        let url = unversioned(canonical);
        let version = resolved.entry.version.clone();
        let key = (url.to_string(), version.clone());
        let expansion = by_resource
            .entry(key)
            .or_insert_with(|| {
                let exact = version.map_or_else(|| url.to_string(), |v| format!("{url}|{v}"));
                expand(defs, &exact).map(Arc::new)
            })
            .clone();
        let Some(expansion) = expansion else {
            continue;
        };
        let latest = defs
            .value_sets
            .versions(url)
            .last()
            .is_some_and(|e| std::ptr::eq(e, resolved.entry));
        if latest {
            out.insert(url.to_string(), Arc::clone(&expansion));
        }
        out.insert(canonical.to_string(), expansion);
    }
    out
}
