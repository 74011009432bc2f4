//! The search parameter registry: the official R4 SearchParameter definitions of the stored
//! types (vendored in `profiles/r4-core/search-parameters.json` by
//! `scripts/profiles/vendor_search_params.py`), each expression compiled once by our FHIRPath
//! engine. Search, index extraction and the CapabilityStatement all read this one registry.

use crate::domain::fhir::member::member_str;
use crate::domain::fhir::resource_type::REFERRAL_RESOURCE_TYPES;
use crate::domain::fhirpath::{CompiledPath, FhirPathEngine, MemberChain};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

const SEARCH_PARAMETERS_JSON: &str =
    include_str!("../../../profiles/r4-core/search-parameters.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Token,
    String,
    Reference,
    Date,
    Uri,
}

impl ParamType {
    /// The R4 `search-param-type` code; None for types this server does not index
    /// (number, quantity, composite, special).
    fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "token" => ParamType::Token,
            "string" => ParamType::String,
            "reference" => ParamType::Reference,
            "date" => ParamType::Date,
            "uri" => ParamType::Uri,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            ParamType::Token => "token",
            ParamType::String => "string",
            ParamType::Reference => "reference",
            ParamType::Date => "date",
            ParamType::Uri => "uri",
        }
    }

    /// The modifiers this server implements for the type (`missing` applies to all).
    pub fn modifiers(self) -> &'static [&'static str] {
        match self {
            ParamType::Token => &["missing", "not"],
            ParamType::String => &["missing", "exact", "contains"],
            ParamType::Reference => &["missing", "[type]"],
            ParamType::Date | ParamType::Uri => &["missing"],
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawParam {
    url: String,
    code: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "resourceType")]
    resource_type: String,
    expression: String,
    #[serde(default)]
    target: Vec<String>,
}

/// One search parameter of one resource type.
#[derive(Debug, Clone)]
pub struct ParamDef {
    pub resource_type: String,
    pub code: String,
    pub url: String,
    pub kind: ParamType,
    /// The official expression, as published.
    pub expression: String,
    /// Reference targets that are stored types.
    pub targets: Vec<String>,
    pub(crate) path: CompiledPath,
    /// `path` as a plain member chain, when it is one (most are): walked without the evaluator.
    pub(crate) chain: Option<ChainPath>,
}

/// A parameter expression that a [`MemberChain`] walks: `Type.a.b`, or
/// `Type.a.where(resolve() is Target)`, which keeps the references to `Target`.
#[derive(Debug, Clone)]
pub(crate) struct ChainPath {
    pub chain: MemberChain,
    /// `Target/` and `/Target/`: the rewritten `resolve() is Target` (see [`without_resolve`]).
    reference_to: Option<(String, String)>,
}

impl ChainPath {
    /// `compiled` is `expression` as the registry compiled it; a plain chain is taken from it,
    /// and only the path before a `resolve()` filter is compiled again.
    fn of(engine: &FhirPathEngine, expression: &str, compiled: &CompiledPath) -> Option<Self> {
        match expression
            .strip_suffix(')')
            .and_then(|e| e.rsplit_once(".where(resolve() is "))
        {
            Some((path, target)) if target.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Some(Self {
                    chain: engine.compile(path).ok()?.member_chain()?,
                    reference_to: Some((format!("{target}/"), format!("/{target}/"))),
                })
            }
            _ => Some(Self {
                chain: compiled.member_chain()?,
                reference_to: None,
            }),
        }
    }

    /// Whether a found node passes the `resolve() is Target` filter.
    pub fn keeps(&self, node: &Value) -> bool {
        let Some((prefix, infix)) = &self.reference_to else {
            return true;
        };
        member_str(node, "reference")
            .is_some_and(|r| r.starts_with(prefix.as_str()) || r.contains(infix.as_str()))
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    by_type: HashMap<String, Vec<ParamDef>>,
    /// (type, code, why) of definitions left out: unsupported type or an expression our
    /// engine cannot compile.
    pub skipped: Vec<(String, String, String)>,
}

/// `X.where(resolve() is Patient)`: our engine resolves only contained resources, so the
/// type test is made on the reference text (`Patient/1`, `http://…/Patient/1`) instead.
fn without_resolve(expression: &str) -> String {
    let mut out = expression.to_string();
    while let Some(start) = out.find("resolve() is ") {
        let after = start + "resolve() is ".len();
        let end = out[after..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(out.len(), |n| after + n);
        let ty = out[after..end].to_string();
        out.replace_range(
            start..end,
            &format!("(reference.startsWith('{ty}/') or reference.contains('/{ty}/'))"),
        );
    }
    out
}

impl Registry {
    pub fn from_json(text: &str, stored_types: &[&str]) -> Result<Self, serde_json::Error> {
        let raw: Vec<RawParam> = serde_json::from_str(text)?;
        let engine = FhirPathEngine::new();
        let mut registry = Registry::default();
        for p in raw {
            if !stored_types.contains(&p.resource_type.as_str()) {
                continue;
            }
            let Some(kind) = ParamType::parse(&p.kind) else {
                registry.skipped.push((
                    p.resource_type,
                    p.code,
                    format!("{} parameters are not indexed", p.kind),
                ));
                continue;
            };
            match engine.compile(&without_resolve(&p.expression)) {
                Ok(path) => {
                    let chain = ChainPath::of(&engine, &p.expression, &path);
                    registry
                        .by_type
                        .entry(p.resource_type.clone())
                        .or_default()
                        .push(ParamDef {
                            resource_type: p.resource_type,
                            code: p.code,
                            url: p.url,
                            kind,
                            expression: p.expression,
                            targets: p.target,
                            path,
                            chain,
                        });
                }
                Err(e) => registry
                    .skipped
                    .push((p.resource_type, p.code, e.to_string())),
            }
        }
        for params in registry.by_type.values_mut() {
            params.sort_by(|a, b| a.code.cmp(&b.code));
        }
        Ok(registry)
    }

    pub fn params(&self, resource_type: &str) -> &[ParamDef] {
        self.by_type.get(resource_type).map_or(&[], Vec::as_slice)
    }

    pub fn param(&self, resource_type: &str, code: &str) -> Option<&ParamDef> {
        let params = self.params(resource_type);
        params
            .binary_search_by(|p| p.code.as_str().cmp(code))
            .ok()
            .map(|i| &params[i])
    }

    /// `Type:param` of every reference parameter of the type: what `_include` accepts.
    pub fn includes(&self, resource_type: &str) -> Vec<String> {
        self.params(resource_type)
            .iter()
            .filter(|p| p.kind == ParamType::Reference)
            .map(|p| format!("{}:{}", p.resource_type, p.code))
            .collect()
    }

    /// `Source:param` of every reference parameter that may point at the type.
    pub fn revincludes(&self, resource_type: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .by_type
            .values()
            .flatten()
            .filter(|p| {
                p.kind == ParamType::Reference && p.targets.iter().any(|t| t == resource_type)
            })
            .map(|p| format!("{}:{}", p.resource_type, p.code))
            .collect();
        out.sort();
        out
    }
}

/// The registry of the stored types, built once per process.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // The vendored file is part of the build; a parse failure is a build defect that the
        // registry test catches, so an empty registry here only disables search.
        Registry::from_json(SEARCH_PARAMETERS_JSON, REFERRAL_RESOURCE_TYPES).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fhirpath::FhirPathValue;

    #[test]
    fn vendored_definitions_compile() {
        let r = Registry::from_json(SEARCH_PARAMETERS_JSON, REFERRAL_RESOURCE_TYPES).unwrap();
        for (ty, code) in [
            ("CarePlan", "patient"),
            ("CarePlan", "care-team"),
            ("CarePlan", "date"),
            ("CareTeam", "participant"),
            ("Patient", "birthdate"),
            ("Patient", "family"),
            ("ServiceRequest", "authored"),
            ("Task", "business-status"),
            ("Provenance", "target"),
            ("Observation", "_lastUpdated"),
            ("Goal", "_profile"),
            ("Task", "_tag"),
        ] {
            assert!(r.param(ty, code).is_some(), "{ty}.{code}: {:?}", r.skipped);
        }
        let compile_errors: Vec<_> = r
            .skipped
            .iter()
            .filter(|s| !s.2.ends_with("not indexed"))
            .collect();
        assert!(compile_errors.is_empty(), "{compile_errors:?}");
        assert!(r
            .includes("CarePlan")
            .contains(&"CarePlan:care-team".to_string()));
        assert!(r
            .revincludes("CarePlan")
            .contains(&"Provenance:target".to_string()));
    }

    /// Every resource in `fixtures/` (Bundle entries included) and, when the test script has
    /// fetched them (`HBPC_TEST_R4_EXAMPLES`), the official R4 examples of the stored types.
    fn sample_resources() -> Vec<Value> {
        fn collect(v: Value, out: &mut Vec<Value>) {
            if let Some(entries) = v.get("entry").and_then(Value::as_array) {
                for r in entries.iter().filter_map(|e| e.get("resource")) {
                    collect(r.clone(), out);
                }
            }
            if v.get("resourceType").is_some() {
                out.push(v);
            }
        }
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    files(&path, out);
                } else if path.extension().is_some_and(|e| e == "json") {
                    out.push(path);
                }
            }
        }
        let mut paths = Vec::new();
        files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
            &mut paths,
        );
        if let Ok(dir) = std::env::var("HBPC_TEST_R4_EXAMPLES") {
            let mut examples = Vec::new();
            files(std::path::Path::new(&dir), &mut examples);
            paths.extend(examples.into_iter().filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.split('-').next())
                    .is_some_and(|ty| REFERRAL_RESOURCE_TYPES.contains(&ty))
            }));
        }
        let mut out = Vec::new();
        for path in paths {
            if let Ok(v) = serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
            {
                collect(v, &mut out);
            }
        }
        out
    }

    #[test]
    fn member_chains_find_what_the_evaluator_finds() {
        let r = registry();
        let chained = r.by_type.values().flatten().filter(|p| p.chain.is_some());
        assert!(chained.count() > 300, "most parameters are plain paths");
        let mut compared = 0;
        for resource in sample_resources() {
            let ty = resource["resourceType"].as_str().unwrap_or_default();
            for def in r.params(ty) {
                let Some(chain) = &def.chain else { continue };
                let mut walked = Vec::new();
                chain.chain.for_each(&resource, |t, v| {
                    if chain.keeps(v) {
                        walked.push((t.to_string(), v.clone()))
                    }
                });
                let evaluated: Vec<_> = def
                    .path
                    .evaluate(&resource, &resource)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|v| match v {
                        FhirPathValue::Node { type_name, value } if !value.is_null() => {
                            Some((type_name, value))
                        }
                        _ => None,
                    })
                    .collect();
                assert_eq!(walked, evaluated, "{ty}.{} ({})", def.code, def.expression);
                compared += usize::from(!walked.is_empty());
            }
        }
        assert!(compared > 100, "only {compared} non-empty comparisons");
    }

    #[test]
    fn resolve_is_rewritten() {
        assert_eq!(
            without_resolve("CarePlan.subject.where(resolve() is Patient)"),
            "CarePlan.subject.where((reference.startsWith('Patient/') or reference.contains('/Patient/')))"
        );
    }
}
