//! A FHIR package (an npm-style `package/` folder with `package.json`), as a tarball (`.tgz`)
//! or unpacked: its manifest and the conformance files at the top of `package/`. Examples and
//! other subfolders (`example/`, `xml/`, `other/`) are not read. `.index.json` says which files
//! hold which resource type when the package has one; otherwise files are chosen by name
//! ([`conformance_file::worth_reading`]).

use super::conformance_file::{self, SourceFile, LOADED_TYPES};
use super::LoadError;
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// `package/package.json`: what the loader needs of it.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    /// `(name, version)` in manifest order.
    pub dependencies: Vec<(String, String)>,
    pub fhir_versions: Vec<String>,
}

impl Manifest {
    pub fn parse(origin: &str, bytes: &[u8]) -> Result<Self, LoadError> {
        let bad = |why: &str| LoadError::Package(format!("{origin}: package/package.json {why}"));
        let json: Value =
            serde_json::from_slice(bytes).map_err(|e| bad(&format!("is not valid JSON: {e}")))?;
        let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_string);
        let name = text("name").ok_or_else(|| bad("has no name"))?;
        let version = text("version").ok_or_else(|| bad("has no version"))?;
        let dependencies = json
            .get("dependencies")
            .and_then(Value::as_object)
            .map(|deps| {
                deps.iter()
                    .filter_map(|(n, v)| Some((n.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let fhir_versions = json
            .get("fhirVersions")
            .or_else(|| json.get("fhir-version-list"))
            .and_then(Value::as_array)
            .map(|vs| {
                vs.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            name,
            version,
            dependencies,
            fhir_versions,
        })
    }

    /// `name#version`, as the FHIR tools write it.
    pub fn id(&self) -> String {
        format!("{}#{}", self.name, self.version)
    }

    /// Whether it is for FHIR R4 (4.0.x); a package that does not say is taken as R4.
    pub fn is_r4(&self) -> bool {
        self.fhir_versions.is_empty() || self.fhir_versions.iter().any(|v| v.starts_with("4.0"))
    }
}

/// A package read into memory: the manifest and its conformance files.
pub struct Package {
    pub manifest: Manifest,
    /// The tarball or folder it was read from.
    pub location: String,
    /// Named `package/<file>`.
    pub files: Vec<SourceFile>,
}

impl Package {
    /// How its files are named in messages: `name#version (location): package/file`.
    pub fn source_name(&self, file: &str) -> String {
        format!("{} ({}): {file}", self.manifest.id(), self.location)
    }
}

/// Whether `path` names a package tarball.
pub fn is_tarball(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.ends_with(".tgz") || name.ends_with(".tar.gz")
}

/// The `package/` folder of an unpacked package: `dir/package/` or `dir` itself.
pub fn unpacked_root(dir: &Path) -> Option<std::path::PathBuf> {
    [dir.join("package"), dir.to_path_buf()]
        .into_iter()
        .find(|p| p.join("package.json").is_file())
}

pub fn read_tarball(path: &Path) -> Result<Package, LoadError> {
    let location = path.display().to_string();
    let io = |e: std::io::Error| LoadError::Io(location.clone(), e);
    let file = std::fs::File::open(path).map_err(io)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut manifest = None;
    let mut index = None;
    let mut files = Vec::new();
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let entry_path = entry.path().map_err(io)?.to_string_lossy().into_owned();
        let Some(name) = top_level_name(&entry_path) else {
            continue;
        };
        let wanted = name == "package.json"
            || name == ".index.json"
            || conformance_file::worth_reading(&name);
        if !wanted {
            continue;
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| LoadError::Io(format!("{location}: {entry_path}"), e))?;
        match name.as_str() {
            "package.json" => manifest = Some(bytes),
            ".index.json" => index = Some(bytes),
            _ => files.push(SourceFile {
                name: format!("package/{name}"),
                bytes,
            }),
        }
    }
    let manifest = manifest.ok_or_else(|| {
        LoadError::Package(format!(
            "{location}: not a FHIR package (no package/package.json)"
        ))
    })?;
    let manifest = Manifest::parse(&location, &manifest)?;
    if let Some(selected) = index.as_deref().and_then(indexed_files) {
        files.retain(|f| {
            f.name
                .strip_prefix("package/")
                .is_some_and(|n| selected.iter().any(|s| s == n))
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Package {
        manifest,
        location,
        files,
    })
}

/// An unpacked package: `dir` holds `package/package.json` (or is the `package/` folder).
pub fn read_unpacked(dir: &Path) -> Result<Package, LoadError> {
    let location = dir.display().to_string();
    let root = unpacked_root(dir).ok_or_else(|| {
        LoadError::Package(format!(
            "{location}: not a FHIR package (no package/package.json)"
        ))
    })?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| LoadError::Io(p.display().to_string(), e));
    let manifest = Manifest::parse(&location, &read(&root.join("package.json"))?)?;
    let names: Vec<String> = match std::fs::read(root.join(".index.json"))
        .ok()
        .as_deref()
        .and_then(indexed_files)
    {
        Some(names) => names,
        None => {
            let entries =
                std::fs::read_dir(&root).map_err(|e| LoadError::Io(location.clone(), e))?;
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| conformance_file::worth_reading(n))
                .collect()
        }
    };
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let path = root.join(&name);
        files.push(SourceFile {
            name: format!("package/{name}"),
            bytes: read(&path)?,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Package {
        manifest,
        location,
        files,
    })
}

/// `package/x.json` (or `./package/x.json`) → `x.json`; deeper paths → `None`.
fn top_level_name(entry_path: &str) -> Option<String> {
    let rest = entry_path.strip_prefix("./").unwrap_or(entry_path);
    let name = rest.strip_prefix("package/")?;
    (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
}

/// The files `.index.json` lists with a loaded resource type; `None` when it cannot be read
/// (the files are then chosen by name).
fn indexed_files(bytes: &[u8]) -> Option<Vec<String>> {
    let index: Value = serde_json::from_slice(bytes).ok()?;
    let files = index.get("files")?.as_array()?;
    Some(
        files
            .iter()
            .filter(|f| {
                f.get("resourceType")
                    .and_then(Value::as_str)
                    .is_some_and(|t| LOADED_TYPES.contains(&t))
            })
            .filter_map(|f| f.get("filename")?.as_str())
            // a listed name is a file of this folder, nothing else
            .filter(|n| !n.contains('/') && !n.contains('\\') && *n != "..")
            .map(str::to_string)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_say_name_version_dependencies_and_fhir_version() {
        let m = Manifest::parse(
            "x.tgz",
            br#"{"name": "hl7.fhir.uv.ips", "version": "2.0.0", "fhirVersions": ["4.0.1"],
                 "dependencies": {"hl7.fhir.r4.core": "4.0.1", "hl7.fhir.uv.ipa": "1.1.0"}}"#,
        )
        .unwrap();
        assert_eq!(m.id(), "hl7.fhir.uv.ips#2.0.0");
        assert_eq!(
            m.dependencies[1],
            ("hl7.fhir.uv.ipa".into(), "1.1.0".into())
        );
        assert!(m.is_r4());
        let r5 = Manifest::parse(
            "y",
            br#"{"name": "a", "version": "1", "fhirVersions": ["5.0.0"]}"#,
        )
        .unwrap();
        assert!(!r5.is_r4());
        let err = Manifest::parse("z.tgz", br#"{"version": "1"}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("z.tgz: package/package.json has no name"),
            "{err}"
        );
    }

    #[test]
    fn only_top_level_files_of_package_are_read() {
        assert_eq!(top_level_name("package/a.json").as_deref(), Some("a.json"));
        assert_eq!(
            top_level_name("./package/a.json").as_deref(),
            Some("a.json")
        );
        assert_eq!(top_level_name("package/example/a.json"), None);
        assert_eq!(top_level_name("other/a.json"), None);
        let index = br#"{"index-version": 1, "files": [
            {"filename": "StructureDefinition-a.json", "resourceType": "StructureDefinition"},
            {"filename": "Patient-b.json", "resourceType": "Patient"},
            {"filename": "../escape.json", "resourceType": "ValueSet"}]}"#;
        assert_eq!(
            indexed_files(index).unwrap(),
            ["StructureDefinition-a.json"]
        );
        assert!(indexed_files(b"not json").is_none());
    }
}
