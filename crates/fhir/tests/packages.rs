//! Operator IGs as people bring them: package tarballs, unpacked packages, package caches with
//! dependencies, and canonical versions. Real content: the official `hl7.fhir.r4.examples`
//! package (FHIR_R4_EXAMPLES, fetched by scripts/test.sh) and US Core 9.0.0's conformance
//! resources (`../shared/ig/us-core/resources`, packed into packages at test time: shared
//! material stays outside the repository).

mod support;

use fhir_engine::outcome::{Issue, Severity};
use fhir_engine::validation::structure::definitions::{Definitions, LoadError};
use fhir_engine::validation::structure::{LoadOptions, Request, StructureValidator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const US_CORE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/ig/us-core/resources"
);
const US_CORE_SD: &str = "http://hl7.org/fhir/us/core/StructureDefinition/";

fn us_core(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(US_CORE);
    if dir.is_dir() {
        return Some(dir);
    }
    support::not_tested(
        test,
        &format!("US Core 9.0.0 is absent: {US_CORE} (shared material outside the repository)"),
    );
    None
}

/// US Core's files whose names start with one of `prefixes` (case-insensitive).
fn us_core_files(dir: &Path, prefixes: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
            prefixes.iter().any(|x| name.starts_with(&x.to_lowercase()))
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn manifest(name: &str, version: &str, dependencies: &[(&str, &str)]) -> Vec<u8> {
    let deps: serde_json::Map<String, Value> = dependencies
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    json!({"name": name, "version": version, "fhirVersions": ["4.0.1"], "dependencies": deps})
        .to_string()
        .into_bytes()
}

/// Writes `dir/package/` with `package.json` and `files` (names may hold a subfolder).
fn write_package(dir: &Path, manifest: Vec<u8>, files: &[(String, Vec<u8>)]) {
    let root = dir.join("package");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("package.json"), manifest).unwrap();
    for (name, bytes) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// Packs `dir/package/` into an npm-style tarball at `out`.
fn pack(dir: &Path, out: &Path) {
    let file = std::fs::File::create(out).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("package", dir.join("package")).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
}

fn load(paths: &[PathBuf]) -> Result<Definitions, LoadError> {
    let mut defs = Definitions::r4_core()?;
    defs.add_igs(paths)?;
    Ok(defs)
}

#[test]
fn a_package_tarball_loads_its_conformance_resources_only() {
    let Some(dir) = us_core("packages_tarball") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut files = us_core_files(&dir, &[""]);
    let (sds, vss, css) = (
        us_core_files(&dir, &["StructureDefinition-"]).len(),
        us_core_files(&dir, &["ValueSet-"]).len(),
        us_core_files(&dir, &["CodeSystem-"]).len(),
    );
    // examples in a subfolder and by name are never read, broken or not
    files.push(("example/Patient-example.json".into(), b"{".to_vec()));
    files.push(("Patient-broken.json".into(), b"{".to_vec()));
    write_package(
        tmp.path(),
        manifest(
            "hl7.fhir.us.core",
            "9.0.0",
            &[("hl7.fhir.r4.core", "4.0.1")],
        ),
        &files,
    );
    let tgz = tmp.path().join("us-core.tgz");
    pack(tmp.path(), &tgz);

    let defs = load(std::slice::from_ref(&tgz)).expect("loads");
    let us_core_sds = defs
        .structure_definitions
        .iter()
        .filter(|(url, _)| url.starts_with(US_CORE_SD))
        .count();
    assert_eq!(us_core_sds, sds);
    assert!(defs
        .value_sets
        .get("http://hl7.org/fhir/us/core/ValueSet/us-core-narrative-status")
        .is_some());
    assert!(defs
        .code_systems
        .get("http://hl7.org/fhir/us/core/CodeSystem/us-core-category")
        .is_some());
    // what a server publishes: the package's own StructureDefinitions, ValueSets, CodeSystems
    assert_eq!(defs.published.len(), sds + vss + css);
    assert!(defs.warnings().is_empty(), "{:?}", defs.warnings());

    // a broken conformance file: the error names the package and the file
    std::fs::write(
        tmp.path().join("package/StructureDefinition-broken.json"),
        "{\"resourceType\": ",
    )
    .unwrap();
    pack(tmp.path(), &tgz);
    let err = load(std::slice::from_ref(&tgz))
        .err()
        .expect("fails")
        .to_string();
    assert!(
        err.contains("hl7.fhir.us.core#9.0.0")
            && err.contains("package/StructureDefinition-broken.json")
            && err.contains("not valid JSON"),
        "{err}"
    );

    // not a package at all
    std::fs::write(&tgz, b"not gzip").unwrap();
    let err = load(&[tgz]).err().expect("fails").to_string();
    assert!(err.contains("us-core.tgz"), "{err}");
}

#[test]
fn an_unpacked_package_reads_the_files_its_index_lists() {
    let Some(dir) = us_core("packages_unpacked") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let files = us_core_files(
        &dir,
        &[
            "StructureDefinition-us-core-patient",
            "structuredefinition-us-core-patient",
            "StructureDefinition-us-core-race",
            "ValueSet-us-core-narrative-status",
        ],
    );
    let mut listed = files.clone();
    // the index lists a file whose name says nothing of its type
    let (_, race) = listed
        .iter()
        .find(|(n, _)| n.contains("race"))
        .cloned()
        .unwrap();
    listed.push(("profile-1.json".into(), race));
    write_package(
        tmp.path(),
        manifest("example.us.core.part", "1.0.0", &[]),
        &listed,
    );
    // without an index every conformance file is read
    let defs = load(&[tmp.path().to_path_buf()]).unwrap();
    assert!(defs
        .structure_definitions
        .get(&format!("{US_CORE_SD}us-core-race"))
        .is_some());
    assert!(defs
        .structure_definitions
        .get(&format!("{US_CORE_SD}us-core-patient"))
        .is_some());

    // with one, only what it lists as StructureDefinition, ValueSet or CodeSystem
    let index = json!({"index-version": 2, "files": [
        {"filename": "profile-1.json", "resourceType": "StructureDefinition"},
        {"filename": "ValueSet-us-core-narrative-status.json", "resourceType": "ValueSet"},
        {"filename": "structuredefinition-us-core-patient.json", "resourceType": "Patient"}
    ]});
    std::fs::write(tmp.path().join("package/.index.json"), index.to_string()).unwrap();
    // the `package/` folder itself names the package too
    let defs = load(&[tmp.path().join("package")]).unwrap();
    assert!(defs
        .structure_definitions
        .get(&format!("{US_CORE_SD}us-core-race"))
        .is_some());
    assert!(defs
        .structure_definitions
        .get(&format!("{US_CORE_SD}us-core-patient"))
        .is_none());
    assert_eq!(defs.published.len(), 2);
}

/// A cache: `example.profiles#1.0.0` (US Core's profiles) → `example.terminology#1.0.0` (its
/// ValueSets) → `example.codesystems#2.0.x` (its CodeSystems, cached as 1.0.0 and 2.0.1).
fn cache_with_a_chain(dir: &Path, us_core: &Path, profiles_deps: &[(&str, &str)]) {
    let mut deps = vec![
        ("hl7.fhir.r4.core", "4.0.1"),
        ("example.terminology", "1.0.0"),
    ];
    deps.extend_from_slice(profiles_deps);
    write_package(
        &dir.join("example.profiles#1.0.0"),
        manifest("example.profiles", "1.0.0", &deps),
        &us_core_files(us_core, &["StructureDefinition-", "structuredefinition-"]),
    );
    write_package(
        &dir.join("example.terminology#1.0.0"),
        manifest(
            "example.terminology",
            "1.0.0",
            &[("example.codesystems", "2.0.x")],
        ),
        &us_core_files(us_core, &["ValueSet-", "valueset-"]),
    );
    for version in ["1.0.0", "2.0.1"] {
        let files: Vec<(String, Vec<u8>)> = us_core_files(us_core, &["CodeSystem-"])
            .into_iter()
            .map(|(name, bytes)| {
                let mut cs: Value = serde_json::from_slice(&bytes).unwrap();
                cs["version"] = version.into();
                (name, cs.to_string().into_bytes())
            })
            .collect();
        write_package(
            &dir.join(format!("example.codesystems#{version}")),
            manifest("example.codesystems", version, &[]),
            &files,
        );
    }
}

#[test]
fn a_package_in_a_cache_brings_its_dependencies_transitively() {
    let Some(us) = us_core("packages_cache") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    cache_with_a_chain(cache.path(), &us, &[]);
    let defs = load(&[cache.path().join("example.profiles#1.0.0")]).unwrap();
    assert!(defs.warnings().is_empty(), "{:?}", defs.warnings());
    assert!(defs
        .structure_definitions
        .get(&format!("{US_CORE_SD}us-core-patient"))
        .is_some());
    assert!(defs
        .value_sets
        .get("http://hl7.org/fhir/us/core/ValueSet/us-core-narrative-status")
        .is_some());
    // `2.0.x` is the latest 2.0 in the cache, and only it is loaded
    let category = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category";
    let versions: Vec<_> = defs
        .code_systems
        .versions(category)
        .iter()
        .map(|e| e.version.clone())
        .collect();
    assert_eq!(versions, [Some("2.0.1".to_string())]);
    // dependencies are loaded, not published
    assert!(defs
        .published
        .iter()
        .all(|r| r["resourceType"] == "StructureDefinition"));

    // the cache itself: every package in it, both versions of the code systems
    let defs = load(&[cache.path().to_path_buf()]).unwrap();
    assert_eq!(defs.code_systems.versions(category).len(), 2);
    assert_eq!(
        defs.code_systems.get(category).unwrap()["version"],
        "2.0.1",
        "the latest is the default"
    );
    let warnings = defs.warnings().join("\n");
    assert!(
        warnings.contains(&format!("{category}|2.0.1 (from example.codesystems#2.0.1"))
            && warnings.contains("besides version 1.0.0")
            && warnings.contains("means 2.0.1, the latest"),
        "{warnings}"
    );
}

#[test]
fn a_missing_dependency_is_named_with_the_package_that_needs_it() {
    let Some(us) = us_core("packages_missing_dependency") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    cache_with_a_chain(
        cache.path(),
        &us,
        &[
            ("hl7.fhir.uv.extensions.r4", "5.2.0"),
            ("example.codesystems", "3.0.0"),
        ],
    );
    let defs = load(&[cache.path().join("example.profiles#1.0.0")]).unwrap();
    let warnings = defs.warnings().join("\n");
    assert!(
        warnings.contains(
            "example.profiles#1.0.0 needs hl7.fhir.uv.extensions.r4#5.2.0, which is not in the package cache"
        ),
        "{warnings}"
    );
    // another version in the cache: loaded, and said
    assert!(
        warnings.contains("example.profiles#1.0.0 needs example.codesystems#3.0.0, which is not in the package cache")
            && warnings.contains("using example.codesystems#2.0.1"),
        "{warnings}"
    );
    // the package still loads; the vendored core is never asked of the cache
    assert!(defs
        .structure_definitions
        .get(&format!("{US_CORE_SD}us-core-patient"))
        .is_some());
    assert!(!warnings.contains("hl7.fhir.r4.core"), "{warnings}");

    // a tarball's dependencies come from the other paths given, or are named
    let tgz = cache.path().join("terminology.tgz");
    pack(&cache.path().join("example.terminology#1.0.0"), &tgz);
    let defs = load(std::slice::from_ref(&tgz)).unwrap();
    let warnings = defs.warnings().join("\n");
    assert!(
        warnings.contains("example.terminology#1.0.0 needs example.codesystems#2.0.x, which is not loaded: add it with --ig"),
        "{warnings}"
    );
    let defs = load(&[tgz, cache.path().join("example.codesystems#2.0.1")]).unwrap();
    assert!(defs.warnings().is_empty(), "{:?}", defs.warnings());
}

/// A Patient profile made from the core Patient snapshot: `required` made mandatory.
fn patient_profile(version: &str, required: &str) -> Value {
    let core = Definitions::r4_core().unwrap();
    let mut sd = core
        .structure_definitions
        .get("http://hl7.org/fhir/StructureDefinition/Patient")
        .unwrap()
        .clone();
    sd["url"] = "http://example.org/StructureDefinition/versioned-patient".into();
    sd["id"] = "versioned-patient".into();
    sd["name"] = "VersionedPatient".into();
    sd["version"] = version.into();
    sd["derivation"] = "constraint".into();
    sd["baseDefinition"] = "http://hl7.org/fhir/StructureDefinition/Patient".into();
    for e in sd["snapshot"]["element"].as_array_mut().unwrap() {
        if e["id"] == format!("Patient.{required}") {
            e["min"] = 1.into();
        }
    }
    sd
}

#[test]
fn canonical_versions_pick_the_profile_and_duplicates_warn() {
    let tmp = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    // the later version first: the default is the latest version, not the last loaded
    for (version, required) in [("2.0.0", "birthDate"), ("1.0.0", "gender")] {
        let dir = tmp.path().join(version);
        let sd = patient_profile(version, required);
        write_package(
            &dir,
            manifest("example.versioned", version, &[]),
            &[(
                "StructureDefinition-versioned-patient.json".into(),
                sd.to_string().into_bytes(),
            )],
        );
        let tgz = tmp.path().join(format!("versioned-{version}.tgz"));
        pack(&dir, &tgz);
        paths.push(tgz);
    }
    let v = StructureValidator::load(&LoadOptions {
        ig_paths: paths,
        ..LoadOptions::default()
    })
    .expect("loads");
    let warnings = v.load_warnings().join("\n");
    assert!(
        warnings.contains("http://example.org/StructureDefinition/versioned-patient|1.0.0 (from example.versioned#1.0.0")
            && warnings.contains("besides version 2.0.0")
            && warnings.contains("means 2.0.0, the latest"),
        "{warnings}"
    );
    let url = "http://example.org/StructureDefinition/versioned-patient";
    let errors_at = |profile: &str| -> Vec<String> {
        let patient = json!({"resourceType": "Patient", "meta": {"profile": [profile]}});
        v.validate(&patient, &Request::default())
            .all()
            .iter()
            .filter(|i| i.is_error())
            .flat_map(|i| i.expression.clone())
            .collect()
    };
    assert_eq!(errors_at(&format!("{url}|1.0.0")), ["Patient.gender"]);
    assert_eq!(errors_at(&format!("{url}|2.0.0")), ["Patient.birthDate"]);
    assert_eq!(errors_at(url), ["Patient.birthDate"]);
    assert_eq!(errors_at(&format!("{url}|1.0")), ["Patient.gender"]);
    // a version not loaded: the latest, and the outcome says so
    let patient = json!({"resourceType": "Patient", "meta": {"profile": [format!("{url}|3.0.0")]}});
    let issues = v.validate(&patient, &Request::default()).all();
    let note: Vec<&Issue> = issues
        .iter()
        .filter(|i| i.severity == Severity::Information)
        .collect();
    assert!(
        note.iter().any(|i| i.text
            == format!("{url} version 3.0.0 is not loaded; checked against version 2.0.0")),
        "{issues:#?}"
    );
    assert!(issues
        .iter()
        .any(|i| i.is_error() && i.expression == ["Patient.birthDate"]));
    // asked for, as `$validate?profile=` and `--profile` do
    let asked = v.validate(
        &json!({"resourceType": "Patient"}),
        &Request {
            profiles: vec![format!("{url}|1.0.0")],
            default_profiles: false,
        },
    );
    assert!(asked
        .all()
        .iter()
        .any(|i| i.is_error() && i.expression == ["Patient.gender"]));
}

#[test]
fn the_official_r4_examples_package_loads_and_its_profiles_apply() {
    let Some(examples) = support::examples_dir("packages_r4_examples") else {
        return;
    };
    // The package as published, less its two example profiles that ship a differential only
    // (`example-composition`, `example-section-library`): they need the snapshot generator
    // (issue #24, item 1), without which a profile cannot be compiled.
    let tmp = tempfile::tempdir().unwrap();
    let package = tmp.path().join("hl7.fhir.r4.examples");
    std::fs::create_dir_all(package.join("package")).unwrap();
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let differential_only = name == "StructureDefinition-example-composition.json"
            || name == "StructureDefinition-example-section-library.json";
        if path.is_file() && !differential_only {
            std::fs::copy(&path, package.join("package").join(&name)).unwrap();
        }
    }
    let observation: Value = serde_json::from_slice(
        &std::fs::read(examples.join("Observation-blood-pressure.json")).unwrap(),
    )
    .unwrap();
    let v = StructureValidator::load(&LoadOptions {
        ig_paths: vec![package],
        ..LoadOptions::default()
    })
    .expect("loads");
    // the core resources it ships again stay the vendored ones, silently
    assert!(v.load_warnings().is_empty(), "{:?}", v.load_warnings());
    let vitalsigns = "http://hl7.org/fhir/StructureDefinition/vitalsigns";
    assert!(v.knows_profile(vitalsigns) && v.knows_profile(&format!("{vitalsigns}|4.0.1")));
    // the example declares vitalsigns; here with the version
    let mut observation = observation;
    observation["meta"]["profile"] = json!([format!("{vitalsigns}|4.0.1")]);
    let request = Request::default();
    let issues = v.validate(&observation, &request).all();
    assert!(issues.is_empty(), "{}", texts(&issues));
    // vitalsigns (declared) requires effective[x]
    let mut broken = observation.clone();
    broken.as_object_mut().unwrap().remove("effectiveDateTime");
    let issues = v.validate(&broken, &request).all();
    assert!(
        issues.iter().any(|i| i.is_error()
            && i.expression
                .iter()
                .any(|e| e.starts_with("Observation.effective"))),
        "{}",
        texts(&issues)
    );
}

fn texts(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|i| format!("{:?} {:?}: {}", i.severity, i.expression, i.text))
        .collect::<Vec<_>>()
        .join("\n")
}
