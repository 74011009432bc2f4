//! Helpers for the security tests: a config with registered clients, signed assertions and
//! access tokens from the real token endpoint.

use crate::support::*;
use serde_json::{json, Value};
use std::path::PathBuf;

pub fn key_path(name: &str) -> String {
    format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// (client_id, key file, JWKS file, scopes)
pub const EHR: (&str, &str, &str, &str) = (
    "ehr-epic",
    "rsa2048-client.pem",
    "rsa2048-client.jwks.json",
    "system/ServiceRequest.c system/Patient.cu system/Task.rs system/ServiceRequest.r",
);
pub const HIE: (&str, &str, &str, &str) = (
    "hie-regional",
    "ec384-client.pem",
    "ec384-client.jwks.json",
    "system/CarePlan.rs system/CareTeam.rs system/Patient.rs",
);
pub const ENGINEER: (&str, &str, &str, &str) = (
    "interface-engineer",
    "ec384-client.pem",
    "ec384-client.jwks.json",
    "system/$validate",
);
pub const ADMIN: (&str, &str, &str, &str) = (
    "security-officer",
    "ec384-client.pem",
    "ec384-client.jwks.json",
    "system/AuditEvent.rs",
);
/// May do everything but read the audit trail.
pub const ALL: (&str, &str, &str, &str) = (
    "integration-all",
    "ec384-client.pem",
    "ec384-client.jwks.json",
    "system/*.cruds system/$validate",
);

/// A config file enabling auth with the test clients; returned with the env to start on.
pub struct AuthConfig {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl AuthConfig {
    pub fn new(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        let mut text = format!("[auth]\nenabled = true\n{extra}\n");
        for (id, _, jwks, scopes) in [EHR, HIE, ENGINEER, ADMIN, ALL] {
            let scopes: Vec<String> = scopes
                .split_whitespace()
                .map(|s| format!("\"{s}\""))
                .collect();
            text.push_str(&format!(
                "[[auth.clients]]\nclient_id = \"{id}\"\nscopes = [{}]\njwks_file = \"{}\"\n",
                scopes.join(", "),
                key_path(jwks)
            ));
        }
        std::fs::write(&path, text).unwrap();
        Self { dir, path }
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![("HBPC_CONFIG".into(), self.path.display().to_string())]
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn token_url(server: &TestServer) -> String {
    format!("http://127.0.0.1:{}/auth/token", server.port)
}

/// Signs `claims` with a test key (RS384 for RSA keys, ES384 for EC keys).
pub fn sign(key_file: &str, claims: &Value) -> String {
    let pem = std::fs::read(key_path(key_file)).unwrap();
    let (alg, key) = if key_file.starts_with("rsa") {
        (
            jsonwebtoken::Algorithm::RS384,
            jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
        )
    } else {
        (
            jsonwebtoken::Algorithm::ES384,
            jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap(),
        )
    };
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), claims, &key).unwrap()
}

pub fn assertion_claims(client_id: &str, aud: &str) -> Value {
    json!({
        "iss": client_id, "sub": client_id, "aud": aud,
        "exp": now() + 240, "iat": now(),
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

pub async fn token_request(server: &TestServer, assertion: &str, scope: &str) -> reqwest::Response {
    client()
        .post(format!("http://127.0.0.1:{}/auth/token", server.port))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
}

/// A token for one of the test clients, with all its scopes.
pub async fn token_for(server: &TestServer, who: (&str, &str, &str, &str)) -> String {
    let (id, key, _, scopes) = who;
    let assertion = sign(key, &assertion_claims(id, &token_url(server)));
    let res = token_request(server, &assertion, scopes).await;
    assert_eq!(res.status(), 200, "token for {id}");
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// `POST [base]` of a Bundle with a bearer token.
pub async fn post_bundle_as(server: &TestServer, token: &str, bundle: &Value) -> reqwest::Response {
    client()
        .post(server.url(""))
        .bearer_auth(token)
        .header("Content-Type", FHIR_JSON)
        .body(bundle.to_string())
        .send()
        .await
        .unwrap()
}

/// `GET [base]/{path}` with a bearer token, as JSON.
pub async fn get_json_as(server: &TestServer, token: &str, path: &str) -> Value {
    client()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
