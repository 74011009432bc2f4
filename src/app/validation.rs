//! The `$validate` operation and the conformance resources we publish: the same engine as
//! intake, answering with issues instead of storing.

use super::AppError;
use fhir_engine::json::position;
use fhir_engine::json::{parse_resource, resource_type_of, JsonLimits};
use fhir_engine::outcome::{Issue, IssueType, Severity};
use fhir_engine::validation::structure::{Request, StructureValidator};
use serde_json::Value;
use std::sync::Arc;

#[derive(Clone)]
pub struct Validation {
    validator: Arc<StructureValidator>,
    default_profiles: bool,
    json_limits: JsonLimits,
}

/// What a `$validate` call asks for, from the URL and the body.
#[derive(Debug, Default)]
pub struct ValidateCall<'a> {
    /// `{type}` of a type- or instance-level call.
    pub resource_type: Option<&'a str>,
    /// `{id}` of an instance-level call.
    pub id: Option<&'a str>,
    /// `?profile=` of the URL.
    pub profile: Option<&'a str>,
}

pub const CONFORMANCE_TYPES: [&str; 3] = ["StructureDefinition", "ValueSet", "CodeSystem"];

impl Validation {
    pub fn new(
        validator: Arc<StructureValidator>,
        default_profiles: bool,
        json_limits: JsonLimits,
    ) -> Self {
        Self {
            validator,
            default_profiles,
            json_limits,
        }
    }

    pub fn validator(&self) -> &StructureValidator {
        &self.validator
    }

    /// Runs `$validate`: the issues found (at least one), or a 4xx when it cannot run.
    pub fn validate(&self, call: &ValidateCall<'_>, body: &[u8]) -> Result<Vec<Issue>, AppError> {
        let input = parse_resource(body, self.json_limits)?;
        // positions are given for a raw resource; inside Parameters they would not match
        let (resource, mut profiles, mode, raw) = match resource_type_of(&input) {
            Some("Parameters") if call.resource_type != Some("Parameters") => {
                let (r, p, m) = parameters(&input)?;
                (r, p, m, false)
            }
            _ => (input, Vec::new(), None, true),
        };
        profiles.extend(call.profile.map(str::to_string));
        if mode.as_deref() == Some("delete") {
            return Ok(vec![Issue::information(
                "mode delete: this server allows deleting any stored referral resource",
            )]);
        }
        if let Some(mode) = mode
            .as_deref()
            .filter(|m| !matches!(*m, "create" | "update"))
        {
            return Err(AppError::invalid(
                Issue::error(
                    IssueType::Value,
                    format!("mode '{mode}' is not create, update or delete"),
                )
                .at("Parameters.parameter.where(name = 'mode')"),
            ));
        }
        let rt = resource_type_of(&resource).unwrap_or_default().to_string();
        if let Some(expected) = call.resource_type.filter(|t| *t != rt) {
            return Err(AppError::invalid(
                Issue::error(
                    IssueType::Invalid,
                    format!("the resource is a {rt}, but the URL is for {expected}"),
                )
                .at(format!("{rt}.resourceType")),
            ));
        }
        if !self.validator.knows_resource_type(&rt) {
            return Err(AppError::UnsupportedType(Issue::error(
                IssueType::NotSupported,
                format!("'{rt}' is not a FHIR R4 resource type"),
            )));
        }
        for p in &profiles {
            match self.validator.plan(p) {
                None => {
                    return Err(AppError::invalid(Issue::error(
                        IssueType::NotSupported,
                        format!("profile {p} is not known to this server (see GET /fhir/StructureDefinition)"),
                    )))
                }
                Some(plan) if plan.type_name != rt => {
                    return Err(AppError::invalid(Issue::error(
                        IssueType::Invalid,
                        format!("profile {p} constrains {}, not {rt}", plan.type_name),
                    )))
                }
                Some(_) => {}
            }
        }
        let mut issues = self
            .validator
            .validate(
                &resource,
                &Request {
                    profiles,
                    default_profiles: self.default_profiles,
                },
            )
            .all();
        if raw {
            position::annotate(body, &rt, &mut issues);
        }
        if let (Some(id), Some(body_id)) = (call.id, resource.get("id").and_then(Value::as_str)) {
            if id != body_id {
                issues.push(
                    Issue::error(
                        IssueType::Invalid,
                        format!("the resource id '{body_id}' is not the URL id '{id}'"),
                    )
                    .at(format!("{rt}.id")),
                );
            }
        }
        if !self.validator.invariant_stats().engine {
            issues.push(Issue::information(
                "FHIRPath invariants were not evaluated: no invariant engine is configured",
            ));
        }
        if !issues.iter().any(|i| {
            matches!(
                i.severity,
                Severity::Error | Severity::Fatal | Severity::Warning
            )
        }) {
            issues.insert(
                0,
                Issue::information("validation passed: no errors or warnings"),
            );
        }
        Ok(issues)
    }

    /// `GET /fhir/{StructureDefinition|ValueSet|CodeSystem}?url=`: matching published resources.
    pub fn search(&self, kind: &str, url: Option<&str>) -> Vec<&Value> {
        self.published(kind)
            .filter(|r| url.is_none_or(|u| r.get("url").and_then(Value::as_str) == Some(u)))
            .collect()
    }

    pub fn read(&self, kind: &str, id: &str) -> Result<&Value, AppError> {
        self.published(kind)
            .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
            .ok_or_else(|| {
                AppError::NotFound(Issue::error(
                    IssueType::NotFound,
                    format!("{kind}/{id} is not known"),
                ))
            })
    }

    fn published<'s>(&'s self, kind: &str) -> impl Iterator<Item = &'s Value> + 's {
        let kind = kind.to_string();
        self.validator
            .published()
            .iter()
            .filter(move |r| resource_type_of(r) == Some(kind.as_str()))
    }

    /// (resource type, profile URL) of every published profile, for the CapabilityStatement.
    pub fn supported_profiles(&self) -> Vec<(String, String)> {
        self.published("StructureDefinition")
            .filter(|r| r.get("derivation").and_then(Value::as_str) == Some("constraint"))
            .filter_map(|r| {
                Some((
                    r.get("type")?.as_str()?.to_string(),
                    r.get("url")?.as_str()?.to_string(),
                ))
            })
            .collect()
    }
}

/// `resource`, `profile` and `mode` from a Parameters body.
fn parameters(input: &Value) -> Result<(Value, Vec<String>, Option<String>), AppError> {
    let mut resource = None;
    let mut profiles = Vec::new();
    let mut mode = None;
    for p in input
        .get("parameter")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match p.get("name").and_then(Value::as_str) {
            Some("resource") => resource = p.get("resource").cloned(),
            Some("profile") => profiles.extend(
                ["valueUri", "valueCanonical", "valueString"]
                    .iter()
                    .find_map(|k| p.get(*k).and_then(Value::as_str))
                    .map(str::to_string),
            ),
            Some("mode") => {
                mode = p
                    .get("valueCode")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }
            _ => {}
        }
    }
    match resource {
        Some(r) if r.get("resourceType").and_then(Value::as_str).is_some() => {
            Ok((r, profiles, mode))
        }
        _ if mode.as_deref() == Some("delete") => Ok((Value::Null, profiles, mode)),
        _ => Err(AppError::invalid(
            Issue::error(
                IssueType::Required,
                "the Parameters need a 'resource' parameter holding the resource",
            )
            .at("Parameters.parameter"),
        )),
    }
}
