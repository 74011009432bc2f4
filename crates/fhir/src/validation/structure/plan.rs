//! The compiled plan: each StructureDefinition snapshot turned once into a tree of nodes.

use super::definitions::{unversioned, LoadError};
use super::invariants::CompiledInvariant;
use crate::fast_hash::FastMap;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

pub const CORE_SD: &str = "http://hl7.org/fhir/StructureDefinition/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    Required,
    Extensible,
    Preferred,
    Example,
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub strength: Strength,
    pub value_set: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscriminatorKind {
    Value,
    Pattern,
    Type,
    Profile,
    Exists,
}

#[derive(Debug, Clone)]
pub struct Discriminator {
    pub kind: DiscriminatorKind,
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlicingRules {
    Open,
    Closed,
    OpenAtEnd,
}

#[derive(Debug, Clone)]
pub struct Slicing {
    pub discriminators: Vec<Discriminator>,
    pub ordered: bool,
    pub rules: SlicingRules,
}

#[derive(Debug, Clone)]
pub struct TypeRef {
    /// A FHIR type name (`string`, `CodeableConcept`, `Reference`, `Resource`, …).
    pub code: String,
    pub profiles: Vec<String>,
    pub target_profiles: Vec<String>,
}

pub struct Constraint {
    pub key: String,
    pub error: bool,
    pub human: String,
    pub expression: String,
    /// `None` without an invariant engine, or when the expression did not compile.
    pub compiled: Option<Arc<dyn CompiledInvariant>>,
    /// The answer on this element when the focus has none of the members the invariant
    /// reads: most invariants guard members that most resources do not have.
    pub without_reads: OnceLock<Result<bool, String>>,
}

pub struct Node {
    pub id: String,
    pub path: String,
    /// The JSON name; for a choice element the prefix before the type suffix.
    pub name: String,
    pub choice: bool,
    /// `isSummary`: part of `_summary=true`.
    pub summary: bool,
    pub min: u32,
    /// `None` is `*`.
    pub max: Option<u32>,
    /// Whether the base definition repeats: JSON arrays follow the base, not the profile.
    pub array: bool,
    pub types: Vec<TypeRef>,
    pub children: Vec<usize>,
    /// `children` by JSON name, for the non-choice ones (the walker looks up every member).
    pub child_by_name: FastMap<String, usize>,
    /// The choice elements among `children` (`value[x]`), matched by prefix.
    pub choice_children: Vec<usize>,
    /// `children`, those with a fixed value, a pattern or a required binding first: a
    /// conformance check (slice matching) stops at its first error, and most candidates that
    /// do not conform break one of these.
    pub value_checked_first: Vec<usize>,
    /// `children` with a minimum cardinality, in element order: the only absent members a
    /// full walk has anything to say about.
    pub required_children: Vec<usize>,
    pub slice_name: Option<String>,
    pub slicing: Option<Slicing>,
    pub slices: Vec<usize>,
    pub content_ref: Option<usize>,
    pub binding: Option<Binding>,
    pub fixed: Option<Value>,
    pub pattern: Option<Value>,
    pub constraints: Vec<Constraint>,
}

impl Node {
    pub fn max_text(&self) -> String {
        self.max.map_or("*".to_string(), |m| m.to_string())
    }

    pub fn repeats(&self) -> bool {
        self.array
    }
}

/// One compiled StructureDefinition.
pub struct TypePlan {
    pub url: String,
    /// The resource or data type it constrains (`ServiceRequest`, `Extension`, `string`).
    pub type_name: String,
    /// The short name used in messages (`us-core-patient`, `ServiceRequest`).
    pub label: String,
    pub is_profile: bool,
    pub is_resource: bool,
    pub is_primitive: bool,
    pub nodes: Vec<Node>,
}

impl TypePlan {
    pub fn root(&self) -> &Node {
        &self.nodes[0]
    }

    pub fn node(&self, i: usize) -> Option<&Node> {
        self.nodes.get(i)
    }
}

/// Compiles invariants once; the same expression compiles once however often it appears.
pub type InvariantCompiler<'a> = dyn FnMut(&str) -> Option<Arc<dyn CompiledInvariant>> + 'a;

pub fn compile(sd: &Value, invariants: &mut InvariantCompiler<'_>) -> Result<TypePlan, LoadError> {
    let url = sd.get("url").and_then(Value::as_str).unwrap_or_default();
    let fail = |msg: &str| LoadError::Compile(format!("{url}: {msg}"));
    let type_name = sd
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("no type"))?;
    let elements = sd
        .pointer("/snapshot/element")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("no snapshot"))?;
    let mut nodes: Vec<Node> = Vec::with_capacity(elements.len());
    let mut by_id: HashMap<String, usize> = HashMap::with_capacity(elements.len());
    let mut content_refs: Vec<(usize, String)> = Vec::new();
    for element in elements {
        let path = element
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("an element has no path"))?;
        let id = element
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(path)
            .to_string();
        let idx = nodes.len();
        let node = compile_node(element, &id, path, invariants);
        if let Some(r) = element.get("contentReference").and_then(Value::as_str) {
            content_refs.push((idx, r.trim_start_matches('#').to_string()));
        }
        // attach to the parent: a slice to its sliced element, a child to its parent id
        if idx > 0 {
            let last = id.rsplit('.').next().unwrap_or(&id);
            let sliced = (node.slice_name.is_some() && last.contains(':'))
                .then(|| by_id.get(&id[..id.rfind(':').unwrap_or(id.len())]))
                .flatten();
            if let Some(&p) = sliced {
                nodes[p].slices.push(idx);
            } else if let Some(dot) = id.rfind('.') {
                // a slice whose sliced element is not there (a single element "sliced" in
                // place) is the element itself
                if let Some(&p) = by_id.get(&id[..dot]) {
                    nodes[p].children.push(idx);
                }
            }
        }
        by_id.insert(id, idx);
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(fail("an empty snapshot"));
    }
    for idx in 0..nodes.len() {
        let mut ordered = nodes[idx].children.clone();
        ordered.sort_by_key(|&c| !checks_value(&nodes[c]));
        nodes[idx].value_checked_first = ordered;
        nodes[idx].required_children = nodes[idx]
            .children
            .iter()
            .copied()
            .filter(|&c| nodes[c].min > 0 || nodes[c].slices.iter().any(|&s| nodes[s].min > 0))
            .collect();
        for c in nodes[idx].children.clone() {
            if nodes[c].choice {
                nodes[idx].choice_children.push(c);
            } else {
                let name = nodes[c].name.clone();
                nodes[idx].child_by_name.entry(name).or_insert(c);
            }
        }
    }
    for (idx, target) in content_refs {
        nodes[idx].content_ref = by_id.get(&target).copied();
    }
    let kind = sd.get("kind").and_then(Value::as_str).unwrap_or_default();
    let is_profile = sd.get("derivation").and_then(Value::as_str) == Some("constraint");
    let label = if is_profile {
        sd.get("id")
            .and_then(Value::as_str)
            .unwrap_or(url)
            .to_string()
    } else {
        type_name.to_string()
    };
    Ok(TypePlan {
        url: url.to_string(),
        type_name: type_name.to_string(),
        label,
        is_profile,
        is_resource: kind == "resource",
        is_primitive: kind == "primitive-type",
        nodes,
    })
}

fn compile_node(
    element: &Value,
    id: &str,
    path: &str,
    invariants: &mut InvariantCompiler<'_>,
) -> Node {
    let last = path.rsplit('.').next().unwrap_or(path);
    let (name, choice) = match last.strip_suffix("[x]") {
        Some(prefix) => (prefix.to_string(), true),
        None => (last.to_string(), false),
    };
    let min = element.get("min").and_then(Value::as_u64).unwrap_or(0) as u32;
    let max = match element.get("max").and_then(Value::as_str) {
        Some("*") | None => None,
        Some(m) => m.parse().ok(),
    };
    let array = match element.pointer("/base/max").and_then(Value::as_str) {
        Some(base_max) => base_max != "1" && base_max != "0",
        None => max.is_none_or(|m| m > 1),
    };
    let types = element
        .get("type")
        .and_then(Value::as_array)
        .map(|ts| ts.iter().filter_map(type_ref).collect())
        .unwrap_or_default();
    let mut fixed = None;
    let mut pattern = None;
    if let Some(obj) = element.as_object() {
        for (k, v) in obj {
            if k.starts_with("fixed") {
                fixed = Some(v.clone());
            } else if k.starts_with("pattern") {
                pattern = Some(v.clone());
            }
        }
    }
    let binding = element.get("binding").and_then(|b| {
        let strength = match b.get("strength")?.as_str()? {
            "required" => Strength::Required,
            "extensible" => Strength::Extensible,
            "preferred" => Strength::Preferred,
            _ => Strength::Example,
        };
        Some(Binding {
            strength,
            value_set: unversioned(b.get("valueSet")?.as_str()?).to_string(),
        })
    });
    let slicing = element.get("slicing").map(|s| Slicing {
        discriminators: s
            .get("discriminator")
            .and_then(Value::as_array)
            .map(|ds| {
                ds.iter()
                    .filter_map(|d| {
                        let kind = match d.get("type")?.as_str()? {
                            "value" => DiscriminatorKind::Value,
                            "pattern" => DiscriminatorKind::Pattern,
                            "type" => DiscriminatorKind::Type,
                            "profile" => DiscriminatorKind::Profile,
                            "exists" => DiscriminatorKind::Exists,
                            _ => return None,
                        };
                        Some(Discriminator {
                            kind,
                            path: d.get("path")?.as_str()?.to_string(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ordered: s.get("ordered").and_then(Value::as_bool).unwrap_or(false),
        rules: match s.get("rules").and_then(Value::as_str) {
            Some("closed") => SlicingRules::Closed,
            Some("openAtEnd") => SlicingRules::OpenAtEnd,
            _ => SlicingRules::Open,
        },
    });
    let constraints = element
        .get("constraint")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| {
                    let key = c.get("key")?.as_str()?.to_string();
                    // ele-1 is checked natively (empty objects, arrays and strings)
                    if key == "ele-1" {
                        return None;
                    }
                    let expression = c.get("expression")?.as_str()?.to_string();
                    Some(Constraint {
                        compiled: invariants(&expression),
                        without_reads: OnceLock::new(),
                        error: c.get("severity").and_then(Value::as_str) == Some("error"),
                        human: c
                            .get("human")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        key,
                        expression,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Node {
        id: id.to_string(),
        path: path.to_string(),
        name,
        choice,
        summary: element.get("isSummary").and_then(Value::as_bool) == Some(true),
        min,
        max,
        array,
        types,
        children: Vec::new(),
        child_by_name: FastMap::default(),
        choice_children: Vec::new(),
        value_checked_first: Vec::new(),
        required_children: Vec::new(),
        slice_name: element
            .get("sliceName")
            .and_then(Value::as_str)
            .map(str::to_string),
        slicing,
        slices: Vec::new(),
        content_ref: None,
        binding,
        fixed,
        pattern,
        constraints,
    }
}

fn type_ref(t: &Value) -> Option<TypeRef> {
    let code = t.get("code")?.as_str()?;
    // R4 gives Element.id, Extension.url and Resource.id FHIRPath system types
    let code = match code.strip_prefix("http://hl7.org/fhirpath/System.") {
        Some(system) => t
            .get("extension")
            .and_then(Value::as_array)
            .and_then(|exts| {
                exts.iter()
                    .find_map(|e| e.get("valueUrl").or_else(|| e.get("valueUri")))
            })
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| system_type(system).to_string()),
        None => code.to_string(),
    };
    let strings = |key: &str| -> Vec<String> {
        t.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| unversioned(s).to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(TypeRef {
        code,
        profiles: strings("profile"),
        target_profiles: strings("targetProfile"),
    })
}

fn system_type(system: &str) -> &'static str {
    match system {
        "Boolean" => "boolean",
        "Integer" => "integer",
        "Decimal" => "decimal",
        "Date" => "date",
        "DateTime" => "dateTime",
        "Time" => "time",
        _ => "string",
    }
}

/// `valueCodeableConcept` → the type named by the suffix after the choice prefix.
pub fn choice_type<'n>(node: &'n Node, key: &str) -> Option<&'n TypeRef> {
    let suffix = key.strip_prefix(node.name.as_str())?;
    let mut chars = suffix.chars();
    let first = chars.next()?;
    if !first.is_ascii_uppercase() {
        return None;
    }
    node.types.iter().find(|t| {
        let mut tc = t.code.chars();
        tc.next()
            .is_some_and(|c| c.to_ascii_uppercase() == first && tc.as_str() == chars.as_str())
    })
}

/// An element whose value alone can make a resource fail: fixed, pattern, required binding.
fn checks_value(node: &Node) -> bool {
    node.fixed.is_some()
        || node.pattern.is_some()
        || node
            .binding
            .as_ref()
            .is_some_and(|b| b.strength == Strength::Required)
}
