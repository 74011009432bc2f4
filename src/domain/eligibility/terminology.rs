//! Where a code stands in a ValueSet, with three answers: in, not in, or cannot be placed.
//!
//! The criteria need the third answer: a SNOMED CT descendant we hold no hierarchy for, a local
//! code system or a text-only diagnosis is missing evidence (unknown), never contrary evidence
//! (not met). ValueSets are read from the loaded guide (`profiles/` and `validation.ig_dirs`, a
//! later one with the same URL replacing an earlier one) and evaluated here: enumerated concepts,
//! imported ValueSets, and `is-a`/`descendent-of` filters, which ICD-10-CM answers by the code's
//! characters (C34.90 is below C34, which is in the block C00-C96) and SNOMED CT only for the
//! filter's own code. Other ValueSets (the R4 core's) are answered by the validator's expansions.

use fhir_engine::model::coding::codings;
pub use fhir_engine::validation::structure::value_sets::Membership;
use fhir_engine::validation::structure::StructureValidator;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub const ICD_10_CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";

/// ValueSet membership, as the criteria ask it.
pub trait Terminology: Send + Sync {
    fn membership(&self, value_set: &str, system: Option<&str>, code: &str) -> Membership;

    fn in_value_set(&self, value_set: &str, system: Option<&str>, code: &str) -> bool {
        self.membership(value_set, system, code) == Membership::In
    }
}

/// A CodeableConcept's membership: in when any coding is in; unknown when none is in and one
/// cannot be placed (or the concept has no coding at all); otherwise not in.
pub fn concept_membership(tx: &dyn Terminology, value_set: &str, concept: &Value) -> Membership {
    let (mut any, mut unplaced) = (false, false);
    for (system, code) in codings(concept) {
        any = true;
        match tx.membership(value_set, system, code) {
            Membership::In => return Membership::In,
            Membership::Unknown => unplaced = true,
            Membership::NotIn => {}
        }
    }
    if !any || unplaced {
        Membership::Unknown
    } else {
        Membership::NotIn
    }
}

/// The validator's local expansions alone: an open system answers unknown.
impl Terminology for StructureValidator {
    fn membership(&self, value_set: &str, system: Option<&str>, code: &str) -> Membership {
        self.expansion(value_set)
            .map_or(Membership::Unknown, |e| e.contains(system, code))
    }
}

/// The guide's ValueSets, evaluated with code hierarchies; the validator answers the rest.
pub struct ClinicalTerminology {
    sets: HashMap<String, Compose>,
    fallback: Arc<StructureValidator>,
}

impl ClinicalTerminology {
    pub fn new(validator: Arc<StructureValidator>) -> Self {
        let mut sets = HashMap::new();
        for vs in validator.published() {
            if vs.get("resourceType").and_then(Value::as_str) != Some("ValueSet") {
                continue;
            }
            if let (Some(url), Some(compose)) =
                (vs.get("url").and_then(Value::as_str), vs.get("compose"))
            {
                sets.insert(url.to_string(), Compose::read(compose, vs.get("expansion")));
            }
        }
        Self {
            sets,
            fallback: validator,
        }
    }

    /// Whether `url` names a ValueSet this terminology can answer.
    pub fn knows(&self, url: &str) -> bool {
        self.sets.contains_key(url) || self.fallback.expansion(url).is_some()
    }

    /// `depth` bounds imports (a cycle of ValueSets imports ends there, not in a stack overflow).
    fn answer(&self, url: &str, system: Option<&str>, code: &Code, depth: u8) -> Membership {
        let Some(compose) = self.sets.get(url) else {
            return self.fallback.membership(url, system, code.text);
        };
        let Some(system) = system.filter(|_| depth < MAX_IMPORT_DEPTH) else {
            return Membership::Unknown;
        };
        let mut maybe = false;
        let mut included = false;
        for rule in &compose.include {
            match self.rule(rule, system, code, depth) {
                Placed::Yes => {
                    included = true;
                    break;
                }
                Placed::Maybe => maybe = true,
                Placed::No => {}
            }
        }
        if included {
            let excluded = compose
                .exclude
                .iter()
                .any(|rule| self.rule(rule, system, code, depth) == Placed::Yes);
            return if excluded {
                Membership::NotIn
            } else {
                Membership::In
            };
        }
        if maybe || !self.names_system(url, system, depth) {
            // a code of a system the set does not use is one we cannot place either
            Membership::Unknown
        } else {
            Membership::NotIn
        }
    }

    fn rule(&self, rule: &Rule, system: &str, code: &Code, depth: u8) -> Placed {
        match rule {
            Rule::ValueSet(url) => match self.answer(url, Some(system), code, depth + 1) {
                Membership::In => Placed::Yes,
                Membership::Unknown => Placed::Maybe,
                Membership::NotIn => Placed::No,
            },
            Rule::Concepts { system: s, codes } if s == system => {
                Placed::from(codes.contains(code.key(s)))
            }
            Rule::WholeSystem(s) if s == system => Placed::Yes,
            Rule::Filter {
                system: s,
                below: Some(below),
            } if s == system => {
                if s == ICD_10_CM {
                    Placed::from(below.holds_icd(code.icd()))
                } else if below.is_the_code(code.text) {
                    Placed::Yes
                } else {
                    // a descendant in a hierarchy this gateway does not hold
                    Placed::Maybe
                }
            }
            // a filter we cannot evaluate places no code of its system
            Rule::Filter {
                system: s,
                below: None,
            } if s == system => Placed::Maybe,
            _ => Placed::No,
        }
    }

    /// Whether the set (or a set it imports) includes codes of `system`.
    fn names_system(&self, url: &str, system: &str, depth: u8) -> bool {
        let Some(compose) = self.sets.get(url) else {
            // a core ValueSet: the validator decides, and said not in
            return true;
        };
        depth < MAX_IMPORT_DEPTH
            && compose.include.iter().any(|rule| match rule {
                Rule::ValueSet(inner) => self.names_system(inner, system, depth + 1),
                Rule::Concepts { system: s, .. }
                | Rule::WholeSystem(s)
                | Rule::Filter { system: s, .. } => s == system,
            })
    }
}

/// How deep ValueSet imports are followed.
const MAX_IMPORT_DEPTH: u8 = 8;

/// The code asked about, and its ICD-10-CM comparison key when the system is ICD-10-CM.
struct Code<'a> {
    text: &'a str,
    icd: Option<String>,
}

impl<'a> Code<'a> {
    fn new(system: Option<&str>, text: &'a str) -> Self {
        Self {
            text,
            icd: (system == Some(ICD_10_CM)).then(|| icd_key(text)),
        }
    }

    fn icd(&self) -> &str {
        self.icd.as_deref().unwrap_or(self.text)
    }

    /// The code as `system`'s enumerated concepts are stored.
    fn key(&self, system: &str) -> &str {
        if system == ICD_10_CM {
            self.icd()
        } else {
            self.text
        }
    }
}

impl Terminology for ClinicalTerminology {
    fn membership(&self, value_set: &str, system: Option<&str>, code: &str) -> Membership {
        self.answer(value_set, system, &Code::new(system, code), 0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placed {
    Yes,
    No,
    Maybe,
}

impl From<bool> for Placed {
    fn from(yes: bool) -> Self {
        if yes {
            Placed::Yes
        } else {
            Placed::No
        }
    }
}

#[derive(Debug, Default)]
struct Compose {
    include: Vec<Rule>,
    exclude: Vec<Rule>,
}

#[derive(Debug)]
enum Rule {
    ValueSet(String),
    Concepts {
        system: String,
        codes: HashSet<String>,
    },
    WholeSystem(String),
    /// `is-a` or `descendent-of`; `None` for another operator.
    Filter {
        system: String,
        below: Option<Below>,
    },
}

impl Compose {
    fn read(compose: &Value, expansion: Option<&Value>) -> Self {
        let rules = |key: &str| -> Vec<Rule> {
            compose
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(rules_of)
                .collect()
        };
        let mut out = Self {
            include: rules("include"),
            exclude: rules("exclude"),
        };
        // a stored expansion's codes are members too
        let mut expanded: HashMap<String, HashSet<String>> = HashMap::new();
        for c in expansion
            .and_then(|e| e.get("contains"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(s), Some(code)) = (
                c.get("system").and_then(Value::as_str),
                c.get("code").and_then(Value::as_str),
            ) {
                expanded
                    .entry(s.to_string())
                    .or_default()
                    .insert(code.to_string());
            }
        }
        out.include.extend(
            expanded
                .into_iter()
                .map(|(system, codes)| Rule::Concepts { system, codes }),
        );
        out
    }
}

/// The rules of one `include` or `exclude`: its imported ValueSets and its system part.
/// Several filters in one include all apply; we keep the first hierarchy filter, and treat any
/// other operator as a filter we cannot evaluate (every code of the system is then unplaced).
fn rules_of(include: &Value) -> Vec<Rule> {
    let mut rules: Vec<Rule> = include
        .get("valueSet")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|u| Rule::ValueSet(u.split('|').next().unwrap_or(u).to_string()))
        .collect();
    let Some(system) = include.get("system").and_then(Value::as_str) else {
        return rules;
    };
    let concepts: HashSet<String> = include
        .get("concept")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("code").and_then(Value::as_str))
        .map(|c| {
            if system == ICD_10_CM {
                icd_key(c)
            } else {
                c.to_string()
            }
        })
        .collect();
    let filters = include.get("filter").and_then(Value::as_array);
    if !concepts.is_empty() {
        rules.push(Rule::Concepts {
            system: system.to_string(),
            codes: concepts,
        });
    } else if let Some(filter) = filters.and_then(|f| f.first()) {
        let op = filter.get("op").and_then(Value::as_str).unwrap_or("");
        let value = filter.get("value").and_then(Value::as_str).unwrap_or("");
        rules.push(Rule::Filter {
            system: system.to_string(),
            below: matches!(op, "is-a" | "descendent-of").then(|| Below::new(value, op == "is-a")),
        });
    } else {
        rules.push(Rule::WholeSystem(system.to_string()));
    }
    rules
}

/// An ICD-10-CM code as compared: upper case, without the dot.
fn icd_key(code: &str) -> String {
    code.chars()
        .filter(|c| *c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A filter's `is-a` (`self_too`) or `descendent-of` target, kept ready for comparison: an
/// ICD-10-CM code or block (`C00-C96`) as [`icd_key`]s.
#[derive(Debug)]
struct Below {
    value: String,
    key: String,
    block: Option<(String, String)>,
    self_too: bool,
}

impl Below {
    fn new(value: &str, self_too: bool) -> Self {
        Self {
            value: value.to_string(),
            key: icd_key(value),
            block: value
                .split_once('-')
                .map(|(low, high)| (icd_key(low), icd_key(high))),
            self_too,
        }
    }

    /// Whether the filter's own code is `code` (all we can place in a hierarchy we do not hold).
    fn is_the_code(&self, code: &str) -> bool {
        self.self_too && code == self.value
    }

    /// Whether the ICD-10-CM code with key `code` ([`icd_key`]) is below: a code (C34 → C34.90)
    /// or a block of categories (its three-character category within the range).
    fn holds_icd(&self, code: &str) -> bool {
        if self.key.is_empty() || code.len() < 3 || !code.is_char_boundary(3) {
            return false;
        }
        if let Some((low, high)) = &self.block {
            let category = &code[..3];
            return category >= low.as_str() && category <= high.as_str();
        }
        code.starts_with(self.key.as_str()) && (self.self_too || code.len() > self.key.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd_10_cm_codes_are_placed_by_their_characters() {
        let below = |code: &str, parent: &str, self_too: bool| {
            Below::new(parent, self_too).holds_icd(&icd_key(code))
        };
        assert!(below("C34.90", "C00-C96", true));
        assert!(below("C7A.1", "C00-C96", true));
        assert!(!below("D49.9", "C00-C96", true));
        assert!(below("G20", "G20", true));
        assert!(!below("G20", "G20", false));
        assert!(below("g20.a1", "G20", false));
        assert!(below("I50.22", "I50", true));
        assert!(!below("I51.9", "I50", true));
        assert!(!below("J9", "J96.1", true));
        assert!(!below("C34", "", true));
        assert!(!below("ÄÖ", "C00-C96", true));
    }
}
