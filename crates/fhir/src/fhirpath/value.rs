//! Values: the public `FhirPathValue` results, and the borrowed `Item` the evaluator works
//! with so that navigating a resource never copies its JSON.

use super::decimal::Decimal;
use super::quantity::Quantity;
use crate::temporal::{DateTime, Time};
use serde_json::Value;

/// One item of an evaluation result.
#[derive(Debug, Clone)]
pub enum FhirPathValue {
    Boolean(bool),
    Integer(i64),
    Decimal(Decimal),
    String(String),
    Date(DateTime),
    DateTime(DateTime),
    Time(Time),
    Quantity(Quantity),
    /// A node of the resource: a FHIR primitive (`type_name` such as `date`, `code`) or a
    /// complex element/resource. `value` is null for a primitive that has only extensions.
    Node {
        type_name: String,
        value: Value,
    },
    /// The result of `type()`.
    TypeInfo {
        namespace: String,
        name: String,
    },
}

impl FhirPathValue {
    /// The type name as the FHIRPath suite writes it (`integer`, `date`, `code`, `Quantity`…).
    pub fn type_name(&self) -> &str {
        match self {
            Self::Boolean(_) => "boolean",
            Self::Integer(_) => "integer",
            Self::Decimal(_) => "decimal",
            Self::String(_) => "string",
            Self::Date(_) => "date",
            Self::DateTime(_) => "dateTime",
            Self::Time(_) => "time",
            Self::Quantity(_) => "Quantity",
            Self::Node { type_name, .. } => type_name,
            Self::TypeInfo { .. } => "TypeInfo",
        }
    }

    /// The value as text: primitives as FHIR writes them, quantities as `5 'mg'`.
    pub fn to_text(&self) -> String {
        match self {
            Self::Boolean(b) => b.to_string(),
            Self::Integer(i) => i.to_string(),
            Self::Decimal(d) => d.to_string(),
            Self::String(s) => s.clone(),
            Self::Date(d) | Self::DateTime(d) => d.to_string(),
            Self::Time(t) => t.to_string(),
            Self::Quantity(q) => q.to_string(),
            Self::Node { value, .. } => match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            Self::TypeInfo { namespace, name } => format!("{namespace}.{name}"),
        }
    }
}

/// A node of the input JSON with its FHIR type. A primitive carries its `_name` sibling.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    pub value: Option<&'a Value>,
    pub ext: Option<&'a Value>,
    pub ty: &'a str,
}

#[derive(Debug, Clone)]
pub(crate) enum Item<'a> {
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Str(String),
    Date(DateTime),
    DateTime(DateTime),
    Time(Time),
    Quantity(Quantity),
    Node(Node<'a>),
    TypeInfo(&'static str, String),
}

const STRING_TYPES: &[&str] = &[
    "string",
    "code",
    "id",
    "markdown",
    "uri",
    "url",
    "canonical",
    "oid",
    "uuid",
    "base64Binary",
    "xhtml",
];

impl<'a> Node<'a> {
    pub fn is_primitive(&self) -> bool {
        self.ty.starts_with(|c: char| c.is_ascii_lowercase())
    }
}

impl<'a> Item<'a> {
    /// FHIR primitives become System values; other items are returned as they are.
    pub fn to_system(&self) -> Option<Item<'a>> {
        let Item::Node(n) = self else {
            return Some(self.clone());
        };
        let v = n.value?;
        Some(match v {
            Value::Bool(b) => Item::Bool(*b),
            Value::Number(num) => {
                let text = num.to_string();
                if n.ty == "decimal" || text.contains(['.', 'e', 'E']) {
                    Item::Dec(Decimal::parse(&text)?)
                } else {
                    Item::Int(text.parse().ok()?)
                }
            }
            Value::String(s) => match n.ty {
                "date" => Item::Date(DateTime::parse(s)?),
                "dateTime" | "instant" => Item::DateTime(DateTime::parse(s)?),
                "time" => Item::Time(Time::parse(s)?),
                _ => Item::Str(s.clone()),
            },
            Value::Object(o)
                if matches!(
                    n.ty,
                    "Quantity"
                        | "Age"
                        | "Duration"
                        | "Distance"
                        | "Count"
                        | "MoneyQuantity"
                        | "SimpleQuantity"
                ) =>
            {
                let value = Decimal::parse(&o.get("value")?.to_string())?;
                let unit = o
                    .get("code")
                    .or_else(|| o.get("unit"))
                    .and_then(Value::as_str)
                    .unwrap_or("1");
                Item::Quantity(Quantity::new(value, unit))
            }
            _ => return Some(self.clone()),
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Item::Str(s) => Some(s),
            Item::Node(n) if STRING_TYPES.contains(&n.ty) || n.ty == "string" => {
                n.value.and_then(Value::as_str)
            }
            Item::Node(n) => n.value.and_then(Value::as_str).filter(|_| n.is_primitive()),
            _ => None,
        }
    }

    pub fn to_public(&self) -> FhirPathValue {
        match self {
            Item::Bool(b) => FhirPathValue::Boolean(*b),
            Item::Int(i) => FhirPathValue::Integer(*i),
            Item::Dec(d) => FhirPathValue::Decimal(*d),
            Item::Str(s) => FhirPathValue::String(s.clone()),
            Item::Date(d) => FhirPathValue::Date(*d),
            Item::DateTime(d) => FhirPathValue::DateTime(*d),
            Item::Time(t) => FhirPathValue::Time(*t),
            Item::Quantity(q) => FhirPathValue::Quantity(q.clone()),
            Item::Node(n) => FhirPathValue::Node {
                type_name: n.ty.to_string(),
                value: n.value.cloned().unwrap_or(Value::Null),
            },
            Item::TypeInfo(ns, name) => FhirPathValue::TypeInfo {
                namespace: ns.to_string(),
                name: name.clone(),
            },
        }
    }
}
