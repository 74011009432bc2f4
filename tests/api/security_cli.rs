//! The operator commands: keys generate, clients add|list|remove, assertion; and an external
//! issuer's tokens.

use crate::security_support::*;
use crate::support::*;
use serde_json::{json, Value};
use std::process::Command;

fn gateway(config: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"));
    cmd.env_remove("HBPC_CONFIG").arg("--config").arg(config);
    cmd
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn operator_registers_a_client_and_its_assertion_gets_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    let clients = dir.path().join("clients.toml");
    let signing = dir.path().join("signing.pem");
    let client_key = dir.path().join("client.pem");
    std::fs::write(
        &config,
        format!(
            "[auth]\nenabled = true\nsigning_key = \"{}\"\nclients_file = \"{}\"\n",
            signing.display(),
            clients.display()
        ),
    )
    .unwrap();
    // keys: the gateway's and a client's
    ok(gateway(&config)
        .args(["keys", "generate", "--out"])
        .arg(&signing)
        .output()
        .unwrap());
    let client_jwks = ok(gateway(&config)
        .args(["keys", "generate", "--out"])
        .arg(&client_key)
        .output()
        .unwrap());
    let jwks: Value = serde_json::from_str(&client_jwks).unwrap();
    assert_eq!(jwks["keys"][0]["crv"], "P-384");
    assert!(jwks["keys"][0].get("d").is_none(), "only the public half");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&signing).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // never overwrite a key
    let again = gateway(&config)
        .args(["keys", "generate", "--out"])
        .arg(&signing)
        .output()
        .unwrap();
    assert!(!again.status.success());

    // register, list, refuse a duplicate and a bad scope
    let out = ok(gateway(&config)
        .args(["clients", "add", "--client-id", "ehr-1"])
        .args(["--scope", "system/ServiceRequest.c system/Task.rs"])
        .args(["--jwks", &client_jwks])
        .output()
        .unwrap());
    assert!(out.contains("added client `ehr-1`"), "{out}");
    let dup = gateway(&config)
        .args([
            "clients",
            "add",
            "--client-id",
            "ehr-1",
            "--scope",
            "system/Task.rs",
        ])
        .args(["--jwks", &client_jwks])
        .output()
        .unwrap();
    assert!(!dup.status.success());
    let bad = gateway(&config)
        .args([
            "clients",
            "add",
            "--client-id",
            "x",
            "--scope",
            "user/Task.rs",
        ])
        .args(["--jwks", &client_jwks])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("system/"));
    ok(gateway(&config)
        .args([
            "clients",
            "add",
            "--client-id",
            "temp",
            "--scope",
            "system/Task.rs",
            "--own-referrals-only",
        ])
        .args(["--jwks-file", &key_path("ec384-client.jwks.json")])
        .output()
        .unwrap());
    let registered = std::fs::read_to_string(&clients).unwrap();
    assert!(
        registered.contains("own_referrals_only = true"),
        "{registered}"
    );
    let list = ok(gateway(&config).args(["clients", "list"]).output().unwrap());
    assert!(
        list.contains("ehr-1\tsystem/ServiceRequest.c system/Task.rs"),
        "{list}"
    );
    assert!(!list
        .lines()
        .any(|l| l.starts_with("ehr-1") && l.contains("own referrals")));
    assert!(
        list.lines()
            .any(|l| l.starts_with("temp") && l.ends_with("own referrals only")),
        "{list}"
    );
    ok(gateway(&config)
        .args(["clients", "remove", "--client-id", "temp"])
        .output()
        .unwrap());
    let list = ok(gateway(&config).args(["clients", "list"]).output().unwrap());
    assert!(!list.contains("temp"), "{list}");

    // the server takes it from there
    let env = [("HBPC_CONFIG", config.to_str().unwrap())];
    let server = TestServer::start_on(Backend::Sqlite, &env).await;
    let assertion = ok(gateway(&config)
        .args(["assertion", "--client-id", "ehr-1", "--key"])
        .arg(&client_key)
        .args(["--aud", &token_url(&server)])
        .output()
        .unwrap());
    let res = token_request(&server, assertion.trim(), "system/ServiceRequest.c").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "system/ServiceRequest.c");
    // the published key is the one in the signing key file
    let published: Value = client()
        .get(format!("http://127.0.0.1:{}/auth/jwks", server.port))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.kid.as_deref(), published["keys"][0]["kid"].as_str());
    // an RSA client key signs RS384
    let rsa = ok(gateway(&config)
        .args(["assertion", "--client-id", "ehr-1", "--aud", "x", "--key"])
        .arg(key_path("rsa2048-client.pem"))
        .output()
        .unwrap());
    assert_eq!(
        jsonwebtoken::decode_header(rsa.trim()).unwrap().alg,
        jsonwebtoken::Algorithm::RS384
    );
}

#[tokio::test]
async fn tokens_of_an_external_issuer_are_accepted_and_its_keys_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("external.jwks.json");
    std::fs::copy(key_path("ec384-client.jwks.json"), &jwks).unwrap();
    let config = AuthConfig::new(&format!(
        "external_issuer = \"https://idp.example.org\"\nexternal_jwks_file = \"{}\"\nexternal_audience = \"https://gw.example.org/fhir\"",
        jwks.display()
    ));
    let env: Vec<(String, String)> = config.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = TestServer::start_on(Backend::Sqlite, &env).await;
    let external = |key: &str| {
        sign(
            key,
            &json!({"iss": "https://idp.example.org", "sub": "hie-via-idp",
                    "aud": ["https://gw.example.org/fhir"], "exp": now() + 60,
                    "jti": uuid::Uuid::new_v4().to_string(), "scope": "system/Patient.rs"}),
        )
    };
    let read = |token: String| {
        let url = server.url("Patient/p1");
        async move {
            client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(read(external("ec384-client.pem")).await, 404);
    assert_eq!(read(external("ec384-other.pem")).await, 401);
    // the issuer rotates to a new key: the file is replaced, no restart
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::copy(key_path("ec384-other.jwks.json"), &jwks).unwrap();
    assert_eq!(read(external("ec384-other.pem")).await, 404);
    // wrong audience
    let wrong = sign(
        "ec384-other.pem",
        &json!({"iss": "https://idp.example.org", "sub": "x", "aud": "https://other",
                "exp": now() + 60, "jti": "j-wrong-aud", "scope": "system/Patient.rs"}),
    );
    assert_eq!(read(wrong).await, 401);
}

/// Item 8 of #18: time claims are checked, a lifetime longer than ours is capped, and a missing
/// `exp` or `jti` is named as such rather than reported as a bad signature.
#[tokio::test]
async fn external_tokens_are_held_to_their_time_claims_and_our_lifetime() {
    let config = AuthConfig::new(&format!(
        "external_issuer = \"https://idp.example.org\"\nexternal_jwks_file = \"{}\"\nexternal_audience = \"https://gw.example.org/fhir\"",
        key_path("ec384-client.jwks.json")
    ));
    let env: Vec<(String, String)> = config.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = TestServer::start_on(Backend::Sqlite, &env).await;
    let token = |extra: serde_json::Value, drop: &[&str]| {
        let mut claims = json!({"iss": "https://idp.example.org", "sub": "hie-via-idp",
            "aud": "https://gw.example.org/fhir", "exp": now() + 60, "iat": now(),
            "jti": uuid::Uuid::new_v4().to_string(), "scope": "system/Patient.rs"});
        let map = claims.as_object_mut().unwrap();
        for (k, v) in extra.as_object().unwrap() {
            map.insert(k.clone(), v.clone());
        }
        for k in drop {
            map.remove(*k);
        }
        sign("ec384-client.pem", &claims)
    };
    let read = |token: String| {
        let url = server.url("Patient/p1");
        async move {
            let r = client().get(url).bearer_auth(token).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    // sanity: the base token is accepted (404: no such Patient)
    assert_eq!(read(token(json!({}), &[])).await.0, 404);
    // the configured lifetime (300 s by default) caps a day-long exp: issued 10 min ago, it is
    // expired although exp says tomorrow
    let (status, body) = read(token(
        json!({"iat": now() - 600, "exp": now() + 86_400}),
        &[],
    ))
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("expired"), "{body}");
    // issued just now with a day-long exp: accepted, for our lifetime only
    assert_eq!(
        read(token(json!({"exp": now() + 86_400}), &[])).await.0,
        404
    );
    for (claim, body_names) in [
        ("iat", "iat is in the future"),
        ("nbf", "nbf is in the future"),
    ] {
        let (status, body) = read(token(json!({ claim: now() + 120 }), &[])).await;
        assert_eq!(status, 401, "{claim}: {body}");
        assert!(body.contains(body_names), "{claim}: {body}");
    }
    for missing in ["exp", "jti"] {
        let (status, body) = read(token(json!({}), &[missing])).await;
        assert_eq!(status, 401, "{missing}: {body}");
        assert!(
            body.contains(&format!("missing field `{missing}`")),
            "{missing}: {body}"
        );
        assert!(!body.contains("signature"), "{missing}: {body}");
    }
}
