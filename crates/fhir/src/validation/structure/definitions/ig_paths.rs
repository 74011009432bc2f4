//! Operator IGs (`--ig`, `validation.ig_dirs`), each path one of:
//! - a package tarball (`*.tgz`, `*.tar.gz`);
//! - an unpacked package (a folder with `package/package.json`, or the `package/` folder);
//! - a package cache (`~/.fhir/packages`: `<name>#<version>/package/…`): every R4 package in it;
//! - a folder of conformance files, or one file.
//!
//! Then every loaded package's dependencies: from the cache the package came from (a package of
//! a cache, or a cache), or from another path given. `hl7.fhir.r4.core` is the vendored core.
//! A dependency that cannot be found is a warning naming it and the package that needs it;
//! one found only in another version is loaded with a warning.

use super::package::{self, Package};
use super::package_cache::{version_matches, Found, PackageCache};
use super::{conformance_file, Definitions, LoadError};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The core package, vendored: never read from a package.
const R4_CORE_PACKAGE: &str = "hl7.fhir.r4.core";

struct Dependency {
    name: String,
    version: String,
    needed_by: String,
    cache: Option<Arc<PackageCache>>,
}

#[derive(Default)]
struct Loader {
    /// `(name, version)` of every package loaded.
    loaded: Vec<(String, String)>,
    pending: VecDeque<Dependency>,
}

impl Definitions {
    /// Adds the operator IGs at `paths`, in order, then the packages' dependencies. Their
    /// resources are published, except dependencies found in a cache.
    pub fn add_igs(&mut self, paths: &[PathBuf]) -> Result<(), LoadError> {
        let mut loader = Loader::default();
        for path in paths {
            loader.add_path(self, path)?;
        }
        loader.add_dependencies(self)
    }
}

impl Loader {
    fn add_path(&mut self, defs: &mut Definitions, path: &Path) -> Result<(), LoadError> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| LoadError::Io(name.clone(), e))?;
        if meta.is_file() {
            return if package::is_tarball(path) {
                let pkg = package::read_tarball(path)?;
                self.add_package(defs, pkg, None, true)
            } else {
                defs.add_file(path)
            };
        }
        if package::unpacked_root(path).is_some() {
            let pkg = package::read_unpacked(path)?;
            // a package folder inside a cache takes its dependencies from that cache
            let cache = path
                .parent()
                .filter(|p| PackageCache::is_cache(p))
                .map(PackageCache::open)
                .transpose()?
                .map(Arc::new);
            return self.add_package(defs, pkg, cache, true);
        }
        if PackageCache::is_cache(path) {
            let cache = Arc::new(PackageCache::open(path)?);
            for cached in &cache.packages {
                let pkg = package::read_unpacked(&cached.dir)?;
                if !pkg.manifest.is_r4() {
                    defs.warn(format!(
                        "{} in the package cache {name} is for FHIR {}, not R4: skipped",
                        pkg.manifest.id(),
                        pkg.manifest.fhir_versions.join(", ")
                    ));
                    continue;
                }
                self.add_package(defs, pkg, Some(Arc::clone(&cache)), true)?;
            }
            return Ok(());
        }
        defs.add_dir(path).map(|_| ())
    }

    fn add_package(
        &mut self,
        defs: &mut Definitions,
        pkg: Package,
        cache: Option<Arc<PackageCache>>,
        publish: bool,
    ) -> Result<(), LoadError> {
        let manifest = &pkg.manifest;
        if manifest.name == R4_CORE_PACKAGE {
            return Ok(());
        }
        if !manifest.is_r4() {
            return Err(LoadError::Package(format!(
                "{} ({}) is for FHIR {}, not R4",
                manifest.id(),
                pkg.location,
                manifest.fhir_versions.join(", ")
            )));
        }
        let key = (manifest.name.clone(), manifest.version.clone());
        if self.loaded.contains(&key) {
            return Ok(());
        }
        for file in &pkg.files {
            let source = pkg.source_name(&file.name);
            let value = conformance_file::parse(&source, &file.bytes)?;
            defs.add_from(value, &source, publish);
        }
        self.loaded.push(key);
        let id = manifest.id();
        for (name, version) in &manifest.dependencies {
            self.pending.push_back(Dependency {
                name: name.clone(),
                version: version.clone(),
                needed_by: id.clone(),
                cache: cache.clone(),
            });
        }
        Ok(())
    }

    fn add_dependencies(&mut self, defs: &mut Definitions) -> Result<(), LoadError> {
        while let Some(dep) = self.pending.pop_front() {
            if dep.name == R4_CORE_PACKAGE {
                continue;
            }
            let wanted = format!("{}#{}", dep.name, dep.version);
            let loaded: Vec<&String> = self
                .loaded
                .iter()
                .filter(|(n, _)| *n == dep.name)
                .map(|(_, v)| v)
                .collect();
            if !loaded.is_empty() {
                if !loaded.iter().any(|v| version_matches(&dep.version, v)) {
                    let versions: Vec<&str> = loaded.iter().map(|v| v.as_str()).collect();
                    defs.warn(format!(
                        "{} needs {wanted}; {}#{} is loaded instead",
                        dep.needed_by,
                        dep.name,
                        versions.join(", ")
                    ));
                }
                continue;
            }
            let Some(cache) = dep.cache.as_ref() else {
                defs.warn(format!(
                    "{} needs {wanted}, which is not loaded: add it with --ig (or validation.ig_dirs), or load both from a package cache; \
                     profiles, extensions and value sets of it are unknown here",
                    dep.needed_by
                ));
                continue;
            };
            let found = match cache.find(&dep.name, &dep.version) {
                Found::Matching(p) => p,
                Found::OtherVersion(p) => {
                    defs.warn(format!(
                        "{} needs {wanted}, which is not in the package cache {}; using {}#{}",
                        dep.needed_by,
                        cache.root.display(),
                        p.name,
                        p.version
                    ));
                    p
                }
                Found::Missing => {
                    defs.warn(format!(
                        "{} needs {wanted}, which is not in the package cache {}; \
                         profiles, extensions and value sets of it are unknown here",
                        dep.needed_by,
                        cache.root.display()
                    ));
                    continue;
                }
            };
            let pkg = package::read_unpacked(&found.dir)?;
            if !pkg.manifest.is_r4() {
                defs.warn(format!(
                    "{} needs {wanted}, but {} is for FHIR {}, not R4: skipped",
                    dep.needed_by,
                    pkg.manifest.id(),
                    pkg.manifest.fhir_versions.join(", ")
                ));
                continue;
            }
            let cache = Some(Arc::clone(cache));
            self.add_package(defs, pkg, cache, false)?;
        }
        Ok(())
    }
}
