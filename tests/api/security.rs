//! SMART Backend Services through the real server: tokens, every rejection, scopes per
//! interaction, rate limit, headers, exposure rules.

use crate::security_support::*;
use crate::support::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::time::Duration;

async fn start(backend: Backend, config: &AuthConfig, extra: &[(&str, &str)]) -> TestServer {
    let mut env: Vec<(String, String)> = config.env();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestServer::start_on(backend, &env).await
}

fn www_authenticate(res: &reqwest::Response) -> String {
    res.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn oauth_error(res: reqwest::Response, status: u16, error: &str) -> String {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    body["error_description"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn backend_services_flow_with_rs384_and_es384_keys() {
    let config = AuthConfig::new("");
    for backend in backends() {
        let server = start(backend, &config, &[]).await;
        let http = client();
        // discovery
        let conf: Value = http
            .get(server.url(".well-known/smart-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(conf["token_endpoint"], token_url(&server));
        assert_eq!(
            conf["token_endpoint_auth_signing_alg_values_supported"],
            json!(["RS384", "ES384"])
        );
        // metadata needs no token
        let meta = http.get(server.url("metadata")).send().await.unwrap();
        assert_eq!(meta.status(), 200);
        let meta: Value = meta.json().await.unwrap();
        let security = &meta["rest"][0]["security"];
        assert_eq!(
            security["service"][0]["coding"][0]["code"], "SMART-on-FHIR",
            "{meta}"
        );

        // RS384: the EHR asks for more than it may have and gets its allowed part
        let assertion = sign(EHR.1, &assertion_claims(EHR.0, &token_url(&server)));
        assert!(assertion.starts_with(&URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"RS384"}"#)));
        let res = token_request(
            &server,
            &assertion,
            "system/ServiceRequest.c system/CarePlan.rs system/Patient.cu",
        )
        .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 300);
        assert_eq!(body["scope"], "system/ServiceRequest.c system/Patient.cu");
        let ehr = body["access_token"].as_str().unwrap().to_string();
        let referral = fixture_bytes("referral-separate/13-servicerequest-referral.json");
        let created = http
            .post(server.url("ServiceRequest"))
            .bearer_auth(&ehr)
            .header("Content-Type", FHIR_JSON)
            .body(referral)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let patient = http
            .put(server.url("Patient/hbpc-example-patient"))
            .bearer_auth(&ehr)
            .header("Content-Type", FHIR_JSON)
            .body(fixture_bytes("referral-separate/04-patient-patient.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(patient.status(), 201);

        // ES384: the HIE reads what the EHR wrote
        let hie = token_for(&server, HIE).await;
        let read = http
            .get(server.url("Patient/hbpc-example-patient"))
            .bearer_auth(&hie)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        assert_eq!(read.headers()["x-content-type-options"], "nosniff");
        assert_eq!(read.headers()["cache-control"], "no-store");
        assert!(read.headers().get("access-control-allow-origin").is_none());
        // ... but may not write
        let write = http
            .put(server.url("Patient/hbpc-example-patient"))
            .bearer_auth(&hie)
            .header("Content-Type", FHIR_JSON)
            .body(fixture_bytes("referral-separate/04-patient-patient.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(write.status(), 403);
        assert!(www_authenticate(&write).contains("insufficient_scope"));
        assert_outcome(&write.json().await.unwrap(), "forbidden");
        // the gateway's public key is published
        let jwks: Value = http
            .get(format!("http://127.0.0.1:{}/auth/jwks", server.port))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jwks["keys"][0]["alg"], "ES384");
    }
}

#[tokio::test]
async fn every_assertion_rejection() {
    let config = AuthConfig::new("");
    for backend in backends() {
        let mut server = start(backend, &config, &[]).await;
        let url = token_url(&server);
        let scope = "system/CarePlan.rs";
        let claims = |f: &dyn Fn(&mut Value)| {
            let mut c = assertion_claims(HIE.0, &url);
            f(&mut c);
            c
        };
        // expired
        let expired = sign(HIE.1, &claims(&|c| c["exp"] = json!(now() - 60)));
        let text = oauth_error(
            token_request(&server, &expired, scope).await,
            401,
            "invalid_client",
        )
        .await;
        assert!(text.contains("expired"), "{text}");
        // more than five minutes ahead
        let long = sign(HIE.1, &claims(&|c| c["exp"] = json!(now() + 3600)));
        oauth_error(
            token_request(&server, &long, scope).await,
            401,
            "invalid_client",
        )
        .await;
        // wrong aud
        let wrong_aud = sign(
            HIE.1,
            &claims(&|c| c["aud"] = json!("https://elsewhere/auth/token")),
        );
        let text = oauth_error(
            token_request(&server, &wrong_aud, scope).await,
            401,
            "invalid_client",
        )
        .await;
        assert!(text.contains("aud"), "{text}");
        // sub differs from iss
        let sub = sign(HIE.1, &claims(&|c| c["sub"] = json!("someone-else")));
        oauth_error(
            token_request(&server, &sub, scope).await,
            401,
            "invalid_client",
        )
        .await;
        // unknown client
        let unknown = sign(HIE.1, &assertion_claims("nobody", &url));
        let text = oauth_error(
            token_request(&server, &unknown, scope).await,
            401,
            "invalid_client",
        )
        .await;
        assert!(text.contains("unknown client"), "{text}");
        // bad signature: the HIE's id, another key
        let forged = sign("ec384-other.pem", &assertion_claims(HIE.0, &url));
        let text = oauth_error(
            token_request(&server, &forged, scope).await,
            401,
            "invalid_client",
        )
        .await;
        assert!(text.contains("signature"), "{text}");
        // a valid assertion with its signature swapped for another one's
        let good = sign(HIE.1, &assertion_claims(HIE.0, &url));
        let other = sign(HIE.1, &assertion_claims(HIE.0, &url));
        let spliced = format!(
            "{}.{}",
            good.rsplit_once('.').unwrap().0,
            other.rsplit_once('.').unwrap().1
        );
        oauth_error(
            token_request(&server, &spliced, scope).await,
            401,
            "invalid_client",
        )
        .await;
        // alg: none, and HMAC with the public key as secret (the classic confusion attack)
        let body = URL_SAFE_NO_PAD.encode(assertion_claims(HIE.0, &url).to_string());
        let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        oauth_error(
            token_request(&server, &none, scope).await,
            401,
            "invalid_client",
        )
        .await;
        let none_sig = format!(
            "{}.{body}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#)
        );
        let text = oauth_error(
            token_request(&server, &none_sig, scope).await,
            401,
            "invalid_client",
        )
        .await;
        assert!(text.contains("alg 'none'"), "{text}");
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &assertion_claims(HIE.0, &url),
            &jsonwebtoken::EncodingKey::from_secret(&std::fs::read(key_path(HIE.2)).unwrap()),
        )
        .unwrap();
        let text = oauth_error(
            token_request(&server, &hs, scope).await,
            401,
            "invalid_client",
        )
        .await;
        assert!(text.contains("HS256"), "{text}");
        // scope the client may not have
        let a = sign(HIE.1, &assertion_claims(HIE.0, &url));
        oauth_error(
            token_request(&server, &a, "system/AuditEvent.rs").await,
            400,
            "invalid_scope",
        )
        .await;
        // wrong grant type, missing assertion
        let res = client()
            .post(&url)
            .form(&[("grant_type", "password"), ("scope", scope)])
            .send()
            .await
            .unwrap();
        oauth_error(res, 400, "unsupported_grant_type").await;
        let res = client()
            .post(&url)
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .unwrap();
        oauth_error(res, 400, "invalid_request").await;

        // replayed jti: once is fine, twice is refused, also after a crash and restart
        let once = sign(HIE.1, &assertion_claims(HIE.0, &url));
        assert_eq!(token_request(&server, &once, scope).await.status(), 200);
        let text = oauth_error(
            token_request(&server, &once, scope).await,
            401,
            "invalid_client",
        )
        .await;
        assert!(text.contains("jti"), "{text}");
        server.restart_after_kill9().await;
        let text = oauth_error(
            token_request(&server, &once, scope).await,
            401,
            "invalid_client",
        )
        .await;
        assert!(text.contains("jti"), "{text}");
        // nothing of this stored a resource
        assert_eq!(server.stored_versions().await, 0);
    }
}

#[tokio::test]
async fn bearer_token_rejections() {
    // long enough that a loaded CI machine still uses the fresh token below in time
    let config = AuthConfig::new("access_token_lifetime_secs = 3");
    let server = start(Backend::Sqlite, &config, &[]).await;
    let http = client();
    // missing, on the FHIR API and on the operator endpoints
    let res = http
        .get(format!("http://127.0.0.1:{}/admin/deliveries", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "operator endpoints need a token too");
    let token = token_for(&server, HIE).await;
    let res = http
        .get(format!("http://127.0.0.1:{}/admin/deliveries", server.port))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "and the system/$deliveries scope");
    let res = http.get(server.url("Patient/p1")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        www_authenticate(&res).starts_with("Bearer "),
        "{}",
        www_authenticate(&res)
    );
    assert!(www_authenticate(&res).contains("error="));
    assert_outcome(&res.json().await.unwrap(), "login");
    // garbage and a token not signed by us
    for token in ["abc", "a.b.c", &sign(HIE.1, &assertion_claims(HIE.0, "x"))] {
        let res = http
            .get(server.url("Patient/p1"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert!(www_authenticate(&res).contains("error=\"invalid_token\""));
    }
    // a token we issued, tampered with: scope widened, signature kept
    let token = token_for(&server, HIE).await;
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["scope"] = json!("system/*.cruds");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let res = http
        .delete(server.url("Patient/p1"))
        .bearer_auth(parts.join("."))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // expired access token (a fresh one, valid for 3 s, whose exp has second resolution)
    let token = token_for(&server, HIE).await;
    let res = http
        .get(server.url("Patient/p1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "valid before it expires");
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let res = http
        .get(server.url("Patient/p1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(www_authenticate(&res).contains("invalid_token"));
    assert_outcome(&res.json().await.unwrap(), "expired");
}

fn fx(name: &str) -> String {
    String::from_utf8(fixture_bytes(name)).unwrap()
}

/// (who, method, path, query, body, allowed)
type Case<'a> = (&'a str, &'a str, &'a str, &'a str, Option<String>, bool);

#[tokio::test]
async fn scopes_are_checked_per_interaction_and_type() {
    let config = AuthConfig::new("");
    for backend in backends() {
        let server = start(backend, &config, &[]).await;
        let http = client();
        let all = token_for(&server, ALL).await;
        let ehr = token_for(&server, EHR).await;
        let hie = token_for(&server, HIE).await;
        let engineer = token_for(&server, ENGINEER).await;
        let admin = token_for(&server, ADMIN).await;
        let sr = "referral-separate/13-servicerequest-referral.json";
        let patient = "referral-separate/04-patient-patient.json";
        // a stored Patient and ServiceRequest to read, update, delete
        let res = http
            .put(server.url("Patient/hbpc-example-patient"))
            .bearer_auth(&all)
            .header("Content-Type", FHIR_JSON)
            .body(fixture_bytes(patient))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let res = http
            .post(server.url("ServiceRequest"))
            .bearer_auth(&all)
            .header("Content-Type", FHIR_JSON)
            .body(fixture_bytes(sr))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        let sr_path = format!("ServiceRequest/{}", created["id"].as_str().unwrap());
        let sr_v1 = format!("{sr_path}/_history/1");
        let sr_put = {
            let mut body = fixture_json(sr);
            body["id"] = created["id"].clone();
            body.to_string()
        };
        let p = "Patient/hbpc-example-patient";
        let cases: Vec<Case> = vec![
            // first: its conditional create matches the one ServiceRequest stored so far
            (
                "all",
                "POST",
                "",
                "",
                Some(fx("referral-transaction.json")),
                true,
            ),
            // create
            ("ehr", "POST", "ServiceRequest", "", Some(fx(sr)), true),
            ("hie", "POST", "ServiceRequest", "", Some(fx(sr)), false),
            (
                "engineer",
                "POST",
                "ServiceRequest",
                "",
                Some(fx(sr)),
                false,
            ),
            // read / vread
            ("hie", "GET", p, "", None, true),
            (
                "hie",
                "GET",
                "Patient/hbpc-example-patient/_history/1",
                "",
                None,
                true,
            ),
            ("hie", "GET", &sr_path, "", None, false),
            ("ehr", "GET", &sr_path, "", None, true),
            ("ehr", "GET", &sr_v1, "", None, true),
            ("engineer", "GET", p, "", None, false),
            ("admin", "GET", p, "", None, false),
            // update
            ("ehr", "PUT", p, "", Some(fx(patient)), true),
            ("hie", "PUT", p, "", Some(fx(patient)), false),
            ("ehr", "PUT", &sr_path, "", Some(sr_put.clone()), false),
            // delete
            ("ehr", "DELETE", &sr_path, "", None, false),
            ("hie", "DELETE", p, "", None, false),
            // $validate is its own permission
            (
                "engineer",
                "POST",
                "ServiceRequest/$validate",
                "",
                Some(fx(sr)),
                true,
            ),
            ("engineer", "POST", "$validate", "", Some(fx(sr)), true),
            (
                "ehr",
                "POST",
                "ServiceRequest/$validate",
                "",
                Some(fx(sr)),
                false,
            ),
            (
                "all",
                "POST",
                "ServiceRequest/$validate",
                "",
                Some(fx(sr)),
                true,
            ),
            // transaction: every entry must be allowed (the EHR may not create Coverage etc.)
            (
                "ehr",
                "POST",
                "",
                "",
                Some(fx("referral-transaction.json")),
                false,
            ),
            (
                "hie",
                "POST",
                "",
                "",
                Some(fx("referral-transaction.json")),
                false,
            ),
            // the audit trail: admin only, never through a wildcard
            ("admin", "GET", "AuditEvent", "", None, true),
            ("all", "GET", "AuditEvent", "", None, false),
            ("hie", "GET", "AuditEvent", "", None, false),
            // conformance resources: any authenticated client
            (
                "engineer",
                "GET",
                "StructureDefinition",
                "?url=x",
                None,
                true,
            ),
            // search is not served yet, but its scope is checked first
            ("engineer", "GET", "CarePlan", "", None, false),
            // update and delete with the right scopes, last
            ("all", "PUT", &sr_path, "", Some(sr_put.clone()), true),
            ("all", "DELETE", &sr_path, "", None, true),
        ];
        for (who, method, path, query, body, allowed) in cases {
            let token = match who {
                "ehr" => &ehr,
                "hie" => &hie,
                "engineer" => &engineer,
                "admin" => &admin,
                _ => &all,
            };
            let url = format!("{}{query}", server.url(path));
            let url = if path.is_empty() {
                server.base.clone()
            } else {
                url
            };
            let mut req = http
                .request(method.parse().unwrap(), &url)
                .bearer_auth(token);
            if let Some(b) = body {
                req = req.header("Content-Type", FHIR_JSON).body(b.clone());
            }
            let before = server.stored_versions().await;
            let res = req.send().await.unwrap();
            let status = res.status();
            if allowed {
                assert!(
                    status.is_success(),
                    "{who} {method} /{path}: expected success, got {status}: {}",
                    res.text().await.unwrap()
                );
            } else {
                assert_eq!(status, 403, "{who} {method} /{path}");
                let body: Value = res.json().await.unwrap();
                assert_outcome(&body, "forbidden");
                assert_eq!(
                    server.stored_versions().await,
                    before,
                    "{who} {method} /{path} stored something"
                );
            }
        }
    }
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let config = AuthConfig::new("");
    let server = start(
        Backend::Sqlite,
        &config,
        &[
            ("HBPC_SECURITY_RATE_LIMIT_PER_SECOND", "1"),
            ("HBPC_SECURITY_RATE_LIMIT_BURST", "3"),
        ],
    )
    .await;
    let hie = token_for(&server, HIE).await;
    let http = client();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let res = http
            .get(server.url("Patient/p1"))
            .bearer_auth(&hie)
            .send()
            .await
            .unwrap();
        if res.status() == 429 {
            retry_after = Some(res.headers()["retry-after"].to_str().unwrap().to_string());
            assert_outcome(&res.json().await.unwrap(), "throttled");
            statuses.push(429);
        } else {
            statuses.push(res.status().as_u16());
        }
    }
    assert_eq!(statuses, [404, 404, 404, 429, 429]);
    let secs: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=2).contains(&secs));
    // another client has its own bucket
    let ehr = token_for(&server, EHR).await;
    let res = http
        .get(server.url("ServiceRequest/x"))
        .bearer_auth(&ehr)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let res = http
        .get(server.url("Patient/p1"))
        .bearer_auth(&hie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "refilled after a second");
}

#[tokio::test]
async fn cors_is_off_by_default_and_on_for_configured_origins() {
    let server = TestServer::start_on(
        Backend::Sqlite,
        &[(
            "HBPC_SECURITY_CORS_ALLOWED_ORIGINS",
            "https://app.example.org",
        )],
    )
    .await;
    let http = client();
    let res = http
        .request(reqwest::Method::OPTIONS, server.url("Patient/p1"))
        .header("Origin", "https://app.example.org")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let res = http
        .get(server.url("metadata"))
        .header("Origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let plain = TestServer::start().await;
    let res = http
        .get(plain.url("metadata"))
        .header("Origin", "https://app.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert_eq!(res.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn element_count_limit() {
    let server =
        TestServer::start_on(Backend::Sqlite, &[("HBPC_LIMITS_MAX_ELEMENTS", "100")]).await;
    let codings: Vec<Value> = (0..120)
        .map(|i| json!({"system": "http://loinc.org", "code": format!("{i}")}))
        .collect();
    let obs = json!({"resourceType": "Observation", "status": "final",
                     "code": {"coding": codings}});
    let res = client()
        .post(server.url("Observation"))
        .header("Content-Type", FHIR_JSON)
        .body(obs.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_outcome(&res.json().await.unwrap(), "too-costly");
    assert_eq!(server.stored_versions().await, 0);
}

#[tokio::test]
async fn non_loopback_without_auth_refuses_to_start_unless_insecure() {
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let run = |insecure: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"));
        cmd.arg("serve")
            .env_remove("HBPC_CONFIG")
            .env("HBPC_SERVER_LISTEN", format!("0.0.0.0:{port}"))
            .env(
                "HBPC_DATABASE_URL",
                format!("sqlite://{}/db.sqlite", data.path().display()),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if insecure {
            cmd.arg("--insecure");
        }
        cmd
    };
    let out = run(false).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0"), "{err}");
    assert!(err.contains("--insecure"), "{err}");
    let mut child = run(true).spawn().unwrap();
    wait_ready(port).await;
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn include_never_leaks_a_type_outside_the_scopes() {
    let config = AuthConfig::new("");
    let server = start(Backend::Sqlite, &config, &[]).await;
    let http = client();
    // an eligible referral: its evaluation stores a CarePlan, CareTeam and Provenance
    let all = token_for(&server, ALL).await;
    let res = http
        .post(server.url(""))
        .bearer_auth(&all)
        .header("Content-Type", FHIR_JSON)
        .body(fixture_bytes("referral-transaction.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let included = |bundle: &Value| -> Vec<String> {
        let mut types: Vec<String> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["search"]["mode"] == "include")
            .map(|e| e["resource"]["resourceType"].as_str().unwrap().to_string())
            .collect();
        types.sort();
        types.dedup();
        types
    };
    let query = "CarePlan?_include=CarePlan:care-team&_revinclude=Provenance:target";
    let search = |token: String| {
        let http = http.clone();
        let url = server.url(query);
        async move {
            let res = http.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(included(&search(all).await), ["CareTeam", "Provenance"]);
    // the HIE may search CarePlan and CareTeam, not Provenance
    let hie = search(token_for(&server, HIE).await).await;
    assert_eq!(
        hie["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["search"]["mode"] == "match")
            .count(),
        1
    );
    assert_eq!(included(&hie), ["CareTeam"], "{hie}");
    // the same search as a GET entry of a batch
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": query}},
    ]});
    let res = http
        .post(server.url(""))
        .bearer_auth(token_for(&server, HIE).await)
        .header("Content-Type", FHIR_JSON)
        .body(batch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let response: Value = res.json().await.unwrap();
    let searchset = &response["entry"][0]["resource"];
    assert_eq!(searchset["type"], "searchset", "{response}");
    assert_eq!(included(searchset), ["CareTeam"], "{searchset}");
}

/// Authorization reads the Bundle as intake parsed it: an entry authorization cannot read
/// (a `url` that is not a string) does not switch off the check of the others. When a
/// lighter parse of its own failed on it, the batch went on to intake unchecked, and its
/// other entries were processed.
#[tokio::test]
async fn an_unreadable_entry_does_not_switch_off_the_check_of_the_others() {
    let config = AuthConfig::new("");
    for backend in backends() {
        let server = start(backend, &config, &[]).await;
        let patient = fixture_json("referral-separate/04-patient-patient.json");
        let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": 5}},
            {"resource": patient, "request": {"method": "POST", "url": "Patient"}},
        ]});
        let hie = token_for(&server, HIE).await;
        let res = post_bundle_as(&server, &hie, &batch).await;
        assert_eq!(res.status(), 403);
        let body: Value = res.json().await.unwrap();
        assert_outcome(&body, "forbidden");
        assert!(
            expressions(&body).contains(&"Bundle.entry[1].request".to_string()),
            "{body}"
        );
        let all = token_for(&server, ALL).await;
        let stored = get_json_as(&server, &all, "Patient").await;
        assert_eq!(
            stored["entry"].as_array().map(Vec::len),
            Some(0),
            "nothing was stored: {stored}"
        );
    }
}

/// A conditional reference searches its type, so it needs search access to that type: a
/// client that may create referrals but not search Patients cannot probe them this way.
#[tokio::test]
async fn conditional_references_need_search_access_to_their_type() {
    let config = AuthConfig::new("");
    for backend in backends() {
        let server = start(backend, &config, &[]).await;
        let mut referral = fixture_json("referral-separate/13-servicerequest-referral.json");
        referral["subject"] = json!({"reference": "Patient?identifier=urn:mrn|NOT-STORED"});
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": referral, "request": {"method": "POST", "url": "ServiceRequest"}},
        ]});
        for (who, status) in [(EHR, 403), (ALL, 412)] {
            let token = token_for(&server, who).await;
            let res = post_bundle_as(&server, &token, &bundle).await;
            assert_eq!(res.status(), status, "{}", who.0);
            let body: Value = res.json().await.unwrap();
            if status == 403 {
                assert_outcome(&body, "forbidden");
                assert_eq!(
                    expressions(&body),
                    ["Bundle.entry[0].resource.subject.reference"]
                );
            }
        }
    }
}
