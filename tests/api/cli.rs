use std::process::Command;

fn gateway() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"));
    cmd.env_remove("HBPC_CONFIG");
    cmd
}

#[test]
fn help_names_the_commands() {
    let out = gateway().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "check-config", "--config", "HBPC_"] {
        assert!(text.contains(word), "--help lacks {word}: {text}");
    }
}

#[test]
fn check_config_prints_effective_settings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, "[server]\nlisten = \"0.0.0.0:9090\"\n").unwrap();
    let out = gateway()
        .args(["--config", file.to_str().unwrap(), "check-config"])
        .env("HBPC_LIMITS_MAX_BODY_BYTES", "1048576")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("listen = \"0.0.0.0:9090\""), "{text}");
    assert!(text.contains("max_body_bytes = 1048576"), "{text}");
}

#[test]
fn wrong_settings_are_named() {
    let out = gateway()
        .arg("check-config")
        .env("HBPC_DATABASE_URL", "mysql://db")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database.url"), "{err}");

    let out = gateway()
        .arg("check-config")
        .env("HBPC_SERVER_LISTEN_PORT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HBPC_SERVER_LISTEN_PORT"));

    let out = gateway()
        .args(["--config", "/nonexistent/gateway.toml", "check-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/gateway.toml"));
}

#[test]
fn validate_reports_per_file_and_exits_non_zero_on_errors() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/");
    let out = gateway()
        .arg("validate")
        .arg(format!(
            "{fixtures}referral-separate/13-servicerequest-referral.json"
        ))
        .arg(format!(
            "{fixtures}invalid/hbpc-servicerequest-intent-plan.json"
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("13-servicerequest-referral.json: valid"),
        "{text}"
    );
    assert!(
        text.contains("hbpc-servicerequest-intent-plan.json: INVALID"),
        "{text}"
    );
    assert!(
        text.contains("error       ServiceRequest.intent (line 19, column 3):"),
        "{text}"
    );

    let out = gateway()
        .args(["validate", "--format", "json"])
        .arg(format!("{fixtures}referral-transaction.json"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let oo: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(oo["resourceType"], "OperationOutcome");

    let out = gateway()
        .args([
            "validate",
            "--profile",
            "http://hbpc.example.org/fhir/StructureDefinition/hbpc-coverage",
        ])
        .arg(format!("{fixtures}invalid/hbpc-coverage-no-period.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Coverage.period"));

    let out = gateway()
        .args(["validate", "--profile", "http://acme.test/nope"])
        .arg(format!("{fixtures}referral-transaction.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn validate_takes_folders_and_globs_and_shows_progress_without_data() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/");
    let out = gateway()
        .arg("validate")
        .arg(format!("{fixtures}referral-separate"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches(": valid (").count(), 13, "{text}");
    // Not a terminal: progress lines on stderr, counts only.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("validating files: 13/13 (100%)"), "{err}");
    assert!(!err.contains("referral"), "{err}");

    let out = gateway()
        .args(["validate", "--quiet"])
        .arg(format!("{fixtures}referral-separate/0?-*.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches(": valid (").count(), 9, "{text}");
    assert!(out.stderr.is_empty());

    let out = gateway()
        .arg("validate")
        .arg(format!("{fixtures}referral-separate/*.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no file matches"));
}

/// The guide's Coverage profile as an operator's profile `id` that also requires `order`. The
/// guide's profiles are differential-only (SUSHI's output): the gateway makes the snapshot.
fn coverage_profile_requiring_order(id: &str) -> (String, serde_json::Value) {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut profile: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{root}/profiles/StructureDefinition-hbpc-coverage.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let url = format!("http://acme.test/StructureDefinition/{id}");
    profile["url"] = url.clone().into();
    profile["id"] = id.into();
    profile["differential"]["element"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": "Coverage.order", "path": "Coverage.order", "min": 1}));
    (url, profile)
}

#[test]
fn validate_loads_operator_profiles_with_ig() {
    let root = env!("CARGO_MANIFEST_DIR");
    let (url, profile) = coverage_profile_requiring_order("coverage-with-order");
    let url = url.as_str();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("profile.json"), profile.to_string()).unwrap();
    let coverage = format!("{root}/fixtures/referral-separate/06-coverage-coverage.json");

    let out = gateway()
        .args(["validate", "--profile", url, "--ig"])
        .arg(dir.path())
        .arg(&coverage)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("coverage-with-order: missing required element 'order'"),
        "{text}"
    );

    let out = gateway()
        .args(["validate", "--profile", url])
        .arg(&coverage)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "unknown without --ig");

    // the same profile as a FHIR package tarball, whose dependency is not at hand
    let pkg = tempfile::tempdir().unwrap();
    std::fs::create_dir(pkg.path().join("package")).unwrap();
    std::fs::write(
        pkg.path().join("package/package.json"),
        r#"{"name": "acme.coverage", "version": "1.0.0", "fhirVersions": ["4.0.1"],
            "dependencies": {"hl7.fhir.r4.core": "4.0.1", "acme.base": "1.0.0"}}"#,
    )
    .unwrap();
    std::fs::write(
        pkg.path()
            .join("package/StructureDefinition-coverage-with-order.json"),
        profile.to_string(),
    )
    .unwrap();
    let tgz = pkg.path().join("acme.coverage-1.0.0.tgz");
    let tar = std::process::Command::new("tar")
        .arg("czf")
        .arg(&tgz)
        .arg("-C")
        .arg(pkg.path())
        .arg("package")
        .status()
        .unwrap();
    assert!(tar.success());
    let out = gateway()
        .args(["validate", "--profile", &format!("{url}|0.1.0"), "--ig"])
        .arg(&tgz)
        .arg(&coverage)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("coverage-with-order: missing required element 'order'"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: acme.coverage#1.0.0 needs acme.base#1.0.0, which is not loaded"),
        "{err}"
    );
}

#[test]
fn validate_checks_any_r4_resource_without_the_hbpc_profiles_when_asked() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/");
    // an HBPC referral that declares no profile gets the referral profile: intent=plan is
    // valid R4 but not a referral
    let referral = format!("{fixtures}invalid/hbpc-servicerequest-intent-plan.json");
    let out = gateway().arg("validate").arg(&referral).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ServiceRequest.intent"));

    let out = gateway()
        .args(["validate", "--no-default-profiles"])
        .arg(&referral)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("hbpc-servicerequest-intent-plan.json: valid"),
        "{text}"
    );

    // R4 itself still applies
    let out = gateway()
        .args(["validate", "--no-default-profiles"])
        .arg(format!(
            "{fixtures}invalid/servicerequest-missing-subject.json"
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ServiceRequest.subject"), "{text}");
}

#[test]
fn evaluate_reports_each_criterion_and_exits_by_decision() {
    let fixture = |name: &str| format!("{}/fixtures/referrals/{name}", env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| gateway().arg("evaluate").args(args).output().unwrap();

    let out = run(&[&fixture("eligible-copd.json")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("ELIGIBLE -> Task accepted"), "{text}");
    assert_eq!(text.matches("[met    ]").count(), 10, "{text}");
    assert!(text.contains("Home health aide services"), "{text}");

    let out = run(&[&fixture("fails-service-area.json")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("[NOT MET] Home is in the service area"),
        "{text}"
    );
    assert!(text.contains("No plan of care"), "{text}");

    let out = run(&[&fixture("missing-homebound.json")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("needs: the homebound certification"),
        "{text}"
    );

    // the plan's rules are configuration: a service area without the patient's ZIP
    let out = gateway()
        .args(["evaluate", &fixture("eligible-copd.json")])
        .env("HBPC_ELIGIBILITY_SERVICE_AREA_ZIP3", "100")
        .env("HBPC_ELIGIBILITY_SERVICE_AREA_COUNTIES", "Kings County")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = run(&["--format", "json", &fixture("eligible-copd.json")]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["resourceType"], "Parameters");
    assert_eq!(json["parameter"][0]["valueCode"], "eligible");

    let out = run(&[&fixture("../referral-separate/04-patient-patient.json")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("referral Bundle"));
}

/// `fixtures/xml/errors.expected.json`: each hand-written XML error at its element and line.
#[test]
fn validate_reads_xml_and_reports_each_error_at_its_element_and_line() {
    let root = env!("CARGO_MANIFEST_DIR");
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{root}/fixtures/xml/errors.expected.json")).unwrap(),
    )
    .unwrap();
    for valid in expected["valid"].as_array().unwrap() {
        let out = gateway()
            .args(["validate", "--format", "json"])
            .arg(format!("{root}/fixtures/xml/{}", valid.as_str().unwrap()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{valid}: {text}");
    }
    for case in expected["invalid"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let out = gateway()
            .args(["validate", "--format", "json"])
            .arg(format!("{root}/fixtures/xml/{file}"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{file}: {text}");
        let oo: serde_json::Value = serde_json::from_str(&text).unwrap();
        let line = format!("line {}, column ", case["line"]);
        let found = oo["issue"].as_array().unwrap().iter().any(|issue| {
            issue["severity"] == "error"
                && issue["code"] == case["code"]
                && (case["expression"].is_null() || issue["expression"][0] == case["expression"])
                && issue["diagnostics"]
                    .as_str()
                    .is_some_and(|d| d.starts_with(&line))
        });
        assert!(found, "{file}: expected {case}, got {oo}");
    }
}

#[test]
fn validate_loads_xml_profiles_from_ig_folders() {
    let root = env!("CARGO_MANIFEST_DIR");
    let (url, profile) = coverage_profile_requiring_order("coverage-with-order-xml");
    let url = url.as_str();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("profile.xml"),
        fhir_engine::xml::write_resource(&profile),
    )
    .unwrap();
    // the instance in XML too
    let coverage: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{root}/fixtures/referral-separate/06-coverage-coverage.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let instance = dir.path().join("coverage.xml");
    std::fs::write(&instance, fhir_engine::xml::write_resource(&coverage)).unwrap();

    let out = gateway()
        .args(["validate", "--profile", url, "--ig"])
        .arg(dir.path())
        .arg(&instance)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("coverage-with-order-xml: missing required element 'order'"),
        "{text}"
    );
}
