//! Loading conformance resources: the vendored R4 core, the caller's embedded sources and
//! operator IGs (folders, FHIR packages, package caches: [`ig_paths`]).

pub mod canonical;
pub mod conformance_file;
pub mod ig_paths;
pub mod package;
pub mod package_cache;

use canonical::{Canonicals, Inserted};
use serde_json::Value;
use std::path::Path;

/// The R4 core definitions, stripped by scripts/profiles/vendor_r4_core.py.
pub const R4_CORE_JSON: &str = include_str!("../../../definitions/r4-core/definitions.json");

/// The R4 core resource profiles (vitalsigns, bp, …), differential only: their snapshots are
/// generated at load.
pub const R4_CORE_PROFILES_JSON: &str = include_str!("../../../definitions/r4-core/profiles.json");

/// How the vendored core is named as a source. Packages that ship core resources again (e.g.
/// `hl7.fhir.r4.examples`) do not replace them, and say nothing about it.
const R4_CORE_SOURCE: &str = "the R4 core";

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
    #[error("{source_name}: not FHIR XML: {error}")]
    Xml {
        source_name: String,
        error: crate::xml::XmlError,
    },
    #[error("{0}: cannot read: {1}")]
    Io(String, std::io::Error),
    /// A package that cannot be used (no or a broken manifest, not R4).
    #[error("{0}")]
    Package(String),
    #[error("{0}")]
    Compile(String),
    #[error("cannot generate a snapshot: {0}")]
    Snapshot(#[from] crate::validation::snapshot::SnapshotError),
}

/// Conformance resources by canonical URL, every loaded version of each.
#[derive(Default)]
pub struct Definitions {
    pub structure_definitions: Canonicals,
    pub value_sets: Canonicals,
    pub code_systems: Canonicals,
    /// The caller's artifacts plus operator IGs, in load order: what a server publishes.
    pub published: Vec<Value>,
    /// Load warnings besides duplicates (package dependencies, skipped packages).
    notes: Vec<String>,
    /// Canonical URLs loaded in a second version, or twice in one version with other content.
    duplicates: Vec<String>,
}

impl Definitions {
    /// The vendored R4 core.
    pub fn r4_core() -> Result<Self, LoadError> {
        let mut defs = Self::default();
        for (name, json) in [
            ("definitions/r4-core/definitions.json", R4_CORE_JSON),
            ("definitions/r4-core/profiles.json", R4_CORE_PROFILES_JSON),
        ] {
            let value = conformance_file::parse(name, json.as_bytes())?;
            defs.add_from(value, R4_CORE_SOURCE, false);
        }
        Ok(defs)
    }

    /// Adds an embedded source; its resources are published.
    pub fn add_source(&mut self, source: &EmbeddedSource) -> Result<(), LoadError> {
        let value = conformance_file::parse(source.name, source.json.as_bytes())?;
        self.add_from(value, source.name, true);
        Ok(())
    }

    /// Adds every conformance file of `dir` (not its subfolders); its resources are published.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize, LoadError> {
        let name = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Io(name.clone(), e))?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| conformance_file::worth_reading(&n.to_string_lossy()))
            })
            .collect();
        paths.sort();
        let before = self.published.len();
        for path in paths {
            self.add_file(&path)?;
        }
        Ok(self.published.len() - before)
    }

    /// Adds one conformance file (or Bundle of them); its resources are published.
    pub fn add_file(&mut self, path: &Path) -> Result<(), LoadError> {
        let source_name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| LoadError::Io(source_name.clone(), e))?;
        let value = conformance_file::parse(&source_name, &bytes)?;
        self.add_from(value, &source_name, true);
        Ok(())
    }

    /// Adds a resource built by the caller (tests, tools).
    pub fn add(&mut self, value: Value, publish: bool) {
        self.add_from(value, "(added)", publish);
    }

    /// Adds a conformance resource (or each of a Bundle's), read from `source`.
    pub fn add_from(&mut self, value: Value, source: &str, publish: bool) {
        match value.get("resourceType").and_then(Value::as_str) {
            Some("Bundle") => {
                // entries are moved out, not copied (the vendored core is one large Bundle)
                let mut value = value;
                if let Some(Value::Array(entries)) = value.get_mut("entry").map(Value::take) {
                    for mut entry in entries {
                        if let Some(r) = entry.get_mut("resource").map(Value::take) {
                            self.add_from(r, source, publish);
                        }
                    }
                }
            }
            Some(kind @ ("StructureDefinition" | "ValueSet" | "CodeSystem")) => {
                let map = match kind {
                    "StructureDefinition" => &mut self.structure_definitions,
                    "ValueSet" => &mut self.value_sets,
                    _ => &mut self.code_systems,
                };
                let url = value.get("url").and_then(Value::as_str).map(str::to_string);
                let version = value
                    .get("version")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let published = publish.then(|| value.clone());
                let (Some(url), inserted) = (url, map.insert(value, source)) else {
                    return;
                };
                let label = format!("{url}|{}", version.as_deref().unwrap_or("(no version)"));
                match inserted {
                    Inserted::New => {}
                    Inserted::OtherVersions(others) => {
                        let others: Vec<&str> = others
                            .iter()
                            .map(|v| v.as_deref().unwrap_or("(no version)"))
                            .collect();
                        let latest = map
                            .resolve(&url)
                            .and_then(|r| r.entry.version.as_deref())
                            .unwrap_or("(no version)");
                        self.duplicates.push(format!(
                            "{label} (from {source}) is loaded besides version {}; `{url}` without a version means {latest}, the latest",
                            others.join(", ")
                        ));
                    }
                    Inserted::Duplicate {
                        kept,
                        same_content: false,
                    } if kept != R4_CORE_SOURCE => {
                        self.duplicates.push(format!(
                            "{label} from {source} differs from the one loaded before from {kept}, which is kept"
                        ));
                        return;
                    }
                    Inserted::Duplicate { .. } | Inserted::Ignored => return,
                }
                if let Some(value) = published {
                    self.published.push(value);
                }
            }
            _ => {}
        }
    }

    /// A load warning (a package dependency, a skipped package), said once.
    pub fn warn(&mut self, text: String) {
        if !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }

    /// What the operator should know about what was loaded: package warnings, then canonical
    /// URLs loaded in more than one version (at most ten named, then a count).
    pub fn warnings(&self) -> Vec<String> {
        const NAMED: usize = 10;
        let mut out = self.notes.clone();
        out.extend(self.duplicates.iter().take(NAMED).cloned());
        if self.duplicates.len() > NAMED {
            out.push(format!(
                "… and {} more canonical URLs loaded in more than one version",
                self.duplicates.len() - NAMED
            ));
        }
        out
    }
}

/// `http://x/ValueSet/y|4.0.1` → `http://x/ValueSet/y`.
pub fn unversioned(canonical: &str) -> &str {
    canonical::split(canonical).0
}
