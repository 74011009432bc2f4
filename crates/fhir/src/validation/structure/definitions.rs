//! Loading conformance resources: the vendored R4 core, the caller's embedded sources and
//! operator IG folders.

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// The R4 core definitions, stripped by scripts/profiles/vendor_r4_core.py.
pub const R4_CORE_JSON: &str = include_str!("../../../definitions/r4-core/definitions.json");

/// The R4 core resource profiles (vitalsigns, bp, …), differential only: their snapshots are
/// generated at load.
pub const R4_CORE_PROFILES_JSON: &str = include_str!("../../../definitions/r4-core/profiles.json");

/// A conformance resource (or a Bundle of them) compiled into the caller, e.g. with
/// `include_str!`: a name for messages and the JSON text.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedSource {
    pub name: &'static str,
    pub json: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{source_name}: not valid JSON: {error}")]
    Json {
        source_name: String,
        error: serde_json::Error,
    },
    #[error("{0}: cannot read: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Compile(String),
    #[error("cannot generate a snapshot: {0}")]
    Snapshot(#[from] crate::validation::snapshot::SnapshotError),
}

/// Conformance resources by canonical URL (version suffixes dropped).
#[derive(Default)]
pub struct Definitions {
    pub structure_definitions: HashMap<String, Value>,
    pub value_sets: HashMap<String, Value>,
    pub code_systems: HashMap<String, Value>,
    /// The caller's artifacts plus operator IGs, in load order: what a server publishes.
    pub published: Vec<Value>,
}

impl Definitions {
    /// The vendored R4 core.
    pub fn r4_core() -> Result<Self, LoadError> {
        let mut defs = Self::default();
        defs.add_json(R4_CORE_JSON, "definitions/r4-core/definitions.json", false)?;
        defs.add_json(
            R4_CORE_PROFILES_JSON,
            "definitions/r4-core/profiles.json",
            false,
        )?;
        Ok(defs)
    }

    /// Adds an embedded source; its resources are published.
    pub fn add_source(&mut self, source: &EmbeddedSource) -> Result<(), LoadError> {
        self.add_json(source.json, source.name, true)
    }

    /// Adds every `*.json` conformance resource (or Bundle of them) in `dir`.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize, LoadError> {
        let name = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Io(name.clone(), e))?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let before = self.published.len();
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| LoadError::Io(path.display().to_string(), e))?;
            self.add_json(&text, &path.display().to_string(), true)?;
        }
        Ok(self.published.len() - before)
    }

    fn add_json(&mut self, text: &str, source_name: &str, publish: bool) -> Result<(), LoadError> {
        let value: Value = serde_json::from_str(text).map_err(|error| LoadError::Json {
            source_name: source_name.to_string(),
            error,
        })?;
        self.add(value, publish);
        Ok(())
    }

    pub fn add(&mut self, value: Value, publish: bool) {
        match value.get("resourceType").and_then(Value::as_str) {
            Some("Bundle") => {
                if let Some(Value::Array(entries)) = value.get("entry") {
                    for entry in entries {
                        if let Some(r) = entry.get("resource") {
                            self.add(r.clone(), publish);
                        }
                    }
                }
            }
            Some(kind @ ("StructureDefinition" | "ValueSet" | "CodeSystem")) => {
                let Some(url) = value.get("url").and_then(Value::as_str) else {
                    return;
                };
                let url = url.to_string();
                if publish {
                    self.published.push(value.clone());
                }
                let map = match kind {
                    "StructureDefinition" => &mut self.structure_definitions,
                    "ValueSet" => &mut self.value_sets,
                    _ => &mut self.code_systems,
                };
                map.insert(url, value);
            }
            _ => {}
        }
    }
}

/// `http://x/ValueSet/y|4.0.1` → `http://x/ValueSet/y`.
pub fn unversioned(canonical: &str) -> &str {
    canonical.split('|').next().unwrap_or(canonical)
}
