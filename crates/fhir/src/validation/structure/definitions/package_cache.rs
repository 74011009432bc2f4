//! A FHIR package cache folder, as the FHIR tools keep it (`~/.fhir/packages`): one folder
//! `<name>#<version>` per package, each holding `package/package.json`. Finds the package a
//! dependency names.

use super::canonical::compare_versions;
use super::LoadError;
use std::path::{Path, PathBuf};

/// One package folder of a cache.
#[derive(Debug, Clone)]
pub struct CachedPackage {
    pub name: String,
    pub version: String,
    pub dir: PathBuf,
}

/// What a dependency found in a cache.
#[derive(Debug)]
pub enum Found<'a> {
    /// The version asked for (or, for `4.0.x`, `current`, `latest`, the latest that matches).
    Matching(&'a CachedPackage),
    /// Only other versions are cached: the latest of them.
    OtherVersion(&'a CachedPackage),
    Missing,
}

pub struct PackageCache {
    pub root: PathBuf,
    /// By name, then version oldest first.
    pub packages: Vec<CachedPackage>,
}

impl PackageCache {
    /// Whether `dir` is laid out as a package cache (some `<name>#<version>/package/package.json`).
    pub fn is_cache(dir: &Path) -> bool {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                parse_folder_name(&e.file_name().to_string_lossy()).is_some()
                    && e.path().join("package/package.json").is_file()
            })
        })
    }

    pub fn open(root: &Path) -> Result<Self, LoadError> {
        let entries =
            std::fs::read_dir(root).map_err(|e| LoadError::Io(root.display().to_string(), e))?;
        let mut packages: Vec<CachedPackage> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let folder = e.file_name().to_string_lossy().into_owned();
                let (name, version) = parse_folder_name(&folder)?;
                let dir = e.path();
                dir.join("package/package.json")
                    .is_file()
                    .then(|| CachedPackage {
                        name: name.to_string(),
                        version: version.to_string(),
                        dir,
                    })
            })
            .collect();
        packages.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| compare_versions(Some(&a.version), Some(&b.version)))
        });
        Ok(Self {
            root: root.to_path_buf(),
            packages,
        })
    }

    /// The cached package a dependency `name: version` means.
    pub fn find(&self, name: &str, version: &str) -> Found<'_> {
        let same_name: Vec<&CachedPackage> =
            self.packages.iter().filter(|p| p.name == name).collect();
        if let Some(p) = same_name.iter().find(|p| p.version == version) {
            return Found::Matching(p);
        }
        let matching = same_name
            .iter()
            .rev()
            .find(|p| version_matches(version, &p.version));
        match (matching, same_name.last()) {
            (Some(p), _) => Found::Matching(p),
            (None, Some(p)) => Found::OtherVersion(p),
            (None, None) => Found::Missing,
        }
    }
}

/// `hl7.fhir.us.core#6.1.0` → (`hl7.fhir.us.core`, `6.1.0`).
fn parse_folder_name(folder: &str) -> Option<(&str, &str)> {
    let (name, version) = folder.split_once('#')?;
    (!name.is_empty() && !version.is_empty()).then_some((name, version))
}

/// Whether a dependency's version (`4.0.1`, `4.0.x`, `4.0`, `current`, `dev`, `latest`) accepts
/// a cached version.
pub(super) fn version_matches(wanted: &str, cached: &str) -> bool {
    match wanted {
        "current" | "dev" | "latest" | "*" => true,
        _ => {
            let stem = wanted.strip_suffix(".x").unwrap_or(wanted);
            cached == stem
                || cached
                    .strip_prefix(stem)
                    .is_some_and(|rest| rest.starts_with('.'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_find_their_version_or_say_what_is_there() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for folder in [
            "a#1.0.0",
            "a#1.2.0",
            "a#2.0.0",
            "b#0.1.0",
            "not-a-package",
            "c#1.0.0",
        ] {
            std::fs::create_dir_all(dir.join(folder).join("package")).unwrap();
            if folder != "c#1.0.0" {
                std::fs::write(dir.join(folder).join("package/package.json"), "{}").unwrap();
            }
        }
        assert!(PackageCache::is_cache(dir));
        assert!(!PackageCache::is_cache(&dir.join("a#1.0.0")));
        let cache = PackageCache::open(dir).unwrap();
        let ids: Vec<String> = cache
            .packages
            .iter()
            .map(|p| format!("{}#{}", p.name, p.version))
            .collect();
        assert_eq!(ids, ["a#1.0.0", "a#1.2.0", "a#2.0.0", "b#0.1.0"]);
        let version = |f: Found<'_>| match f {
            Found::Matching(p) => format!("= {}", p.version),
            Found::OtherVersion(p) => format!("~ {}", p.version),
            Found::Missing => "missing".into(),
        };
        assert_eq!(version(cache.find("a", "1.0.0")), "= 1.0.0");
        assert_eq!(version(cache.find("a", "1.x")), "= 1.2.0");
        assert_eq!(version(cache.find("a", "current")), "= 2.0.0");
        assert_eq!(version(cache.find("b", "0.2.0")), "~ 0.1.0");
        assert_eq!(version(cache.find("c", "1.0.0")), "missing");
    }
}
