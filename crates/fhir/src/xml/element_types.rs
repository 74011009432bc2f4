//! What the XML form needs to know of each element, read from the R4 core
//! StructureDefinitions (the base types and resources, not the constraint profiles): the
//! children of each path in definition order, their types, whether they repeat, and where
//! the children of an inline (backbone) element or a `contentReference` are defined.

use crate::validation::structure::definitions::R4_CORE_JSON;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a value of one type is in XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `value` attribute; `id` and `extension` beside it (JSON `_name`).
    Primitive(JsonKind),
    /// Narrative `div`: XHTML kept as text.
    Xhtml,
    /// A resource inside an element (`contained`, `Bundle.entry.resource`, ...).
    Resource,
    /// Child elements.
    Complex,
}

/// The JSON type of a primitive's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    String,
    Boolean,
    Integer,
    Decimal,
}

/// One child element of a path.
#[derive(Debug, Clone)]
pub struct Child {
    /// The element name, `[x]` removed for choices.
    pub name: String,
    pub choice: bool,
    /// Type codes (`string`, `Quantity`, `BackboneElement`, ...).
    pub types: Vec<String>,
    /// Max cardinality above 1: a JSON array.
    pub repeats: bool,
    /// An XML attribute (`Element.id`, `Extension.url`), not an element.
    pub attribute: bool,
    /// Where inline children are defined: the element's own path for a backbone element,
    /// the referenced path for a `contentReference`.
    pub inline_path: Option<String>,
}

/// The element tables of the R4 core, built once.
pub struct ElementTypes {
    children: HashMap<String, Vec<Child>>,
    primitives: HashMap<String, JsonKind>,
    resources: std::collections::HashSet<String>,
}

/// The tables for the vendored R4 core, parsed on first use.
pub fn r4() -> &'static ElementTypes {
    static TYPES: OnceLock<ElementTypes> = OnceLock::new();
    TYPES.get_or_init(|| ElementTypes::from_bundle_text(R4_CORE_JSON))
}

impl ElementTypes {
    fn from_bundle_text(text: &str) -> Self {
        let bundle: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let mut types = ElementTypes {
            children: HashMap::new(),
            primitives: HashMap::new(),
            resources: Default::default(),
        };
        let entries = bundle.get("entry").and_then(Value::as_array);
        for sd in entries
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("resource"))
        {
            if sd.get("resourceType").and_then(Value::as_str) != Some("StructureDefinition")
                || sd.get("derivation").and_then(Value::as_str) == Some("constraint")
            {
                continue;
            }
            types.add(sd);
        }
        types
    }

    fn add(&mut self, sd: &Value) {
        let Some(name) = sd.get("type").and_then(Value::as_str) else {
            return;
        };
        match sd.get("kind").and_then(Value::as_str) {
            Some("primitive-type") => {
                self.primitives.insert(name.to_string(), json_kind(name));
                return;
            }
            Some("resource") => {
                self.resources.insert(name.to_string());
            }
            _ => {}
        }
        let is_resource = self.resources.contains(name);
        let elements = sd
            .pointer("/snapshot/element")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for element in elements {
            let Some(path) = element.get("path").and_then(Value::as_str) else {
                continue;
            };
            let Some((parent, last)) = path.rsplit_once('.') else {
                continue;
            };
            let types: Vec<String> = element
                .get("type")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.get("code").and_then(Value::as_str))
                .map(str::to_string)
                .collect();
            let inline_path = match element.get("contentReference").and_then(Value::as_str) {
                Some(reference) => Some(reference.trim_start_matches('#').to_string()),
                None if types
                    .iter()
                    .any(|t| t == "BackboneElement" || t == "Element") =>
                {
                    Some(path.to_string())
                }
                None => None,
            };
            let root_level = !parent.contains('.');
            let attribute = (last == "id" && !(root_level && is_resource))
                || (last == "url" && parent == "Extension");
            let choice = last.ends_with("[x]");
            let repeats = element
                .get("max")
                .and_then(Value::as_str)
                .is_some_and(|m| m != "1" && m != "0");
            self.children
                .entry(parent.to_string())
                .or_default()
                .push(Child {
                    name: last.trim_end_matches("[x]").to_string(),
                    choice,
                    types,
                    repeats,
                    attribute,
                    inline_path,
                });
        }
    }

    pub fn is_resource(&self, name: &str) -> bool {
        self.resources.contains(name)
    }

    /// The children of a path (`Observation`, `Observation.component`, `Quantity`).
    pub fn children(&self, path: &str) -> &[Child] {
        self.children.get(path).map_or(&[], Vec::as_slice)
    }

    /// The child an XML element (or JSON member) name stands for, and the type it has
    /// (the type a choice's name ends with).
    pub fn child<'a>(&'a self, path: &str, name: &str) -> Option<(&'a Child, &'a str)> {
        self.children(path).iter().find_map(|c| {
            if c.choice {
                let suffix = name.strip_prefix(c.name.as_str())?;
                c.types
                    .iter()
                    .find(|t| upper_first(t) == suffix)
                    .map(|t| (c, t.as_str()))
            } else {
                (c.name == name).then(|| (c, c.types.first().map_or("", String::as_str)))
            }
        })
    }

    /// How a value of `type_code` is written.
    pub fn shape(&self, type_code: &str) -> Shape {
        if type_code == "xhtml" {
            Shape::Xhtml
        } else if type_code == "Resource" || self.resources.contains(type_code) {
            Shape::Resource
        } else if let Some(kind) = self.primitives.get(type_code) {
            Shape::Primitive(*kind)
        } else if let Some(system) = type_code.strip_prefix("http://hl7.org/fhirpath/System.") {
            Shape::Primitive(match system {
                "Boolean" => JsonKind::Boolean,
                "Integer" => JsonKind::Integer,
                "Decimal" => JsonKind::Decimal,
                _ => JsonKind::String,
            })
        } else {
            Shape::Complex
        }
    }

    /// Where the children of a complex value of `child` with type `type_code` are defined.
    pub fn children_path<'a>(&self, child: &'a Child, type_code: &'a str) -> &'a str {
        child.inline_path.as_deref().unwrap_or(type_code)
    }
}

fn json_kind(primitive: &str) -> JsonKind {
    match primitive {
        "boolean" => JsonKind::Boolean,
        "integer" | "positiveInt" | "unsignedInt" => JsonKind::Integer,
        "decimal" => JsonKind::Decimal,
        _ => JsonKind::String,
    }
}

/// `string` → `String`: the suffix a choice element's name takes.
pub fn upper_first(type_code: &str) -> String {
    let mut chars = type_code.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}
