//! External issuer mode with a JWKS URL: a small issuer on 127.0.0.1, started by each test,
//! publishes the keys; the gateway fetches, caches, follows rotation, keeps its keys while
//! the issuer is down and refetches at most once per cool-down for unknown `kid`s.

use crate::security_support::*;
use crate::support::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ISSUER: &str = "https://idp.example.org";
const AUDIENCE: &str = "https://gw.example.org/fhir";
/// (key file, kid in its JWKS)
const KEY_A: (&str, &str) = ("ec384-client.pem", "ec-test-1");
const KEY_B: (&str, &str) = ("ec384-other.pem", "ec-other-1");

struct Published {
    /// `None`: the issuer is down (connections are closed unanswered).
    jwks: Option<String>,
    cache_control: String,
}

/// A JWKS endpoint that counts the requests it gets.
struct FakeIssuer {
    url: String,
    published: Arc<Mutex<Published>>,
    hits: Arc<AtomicUsize>,
}

fn jwks_of(files: &[&str]) -> String {
    let keys: Vec<Value> = files
        .iter()
        .flat_map(|f| {
            let doc: Value =
                serde_json::from_str(&std::fs::read_to_string(key_path(f)).unwrap()).unwrap();
            doc["keys"].as_array().unwrap().clone()
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

impl FakeIssuer {
    async fn start(files: &[&str], cache_control: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let published = Arc::new(Mutex::new(Published {
            jwks: Some(jwks_of(files)),
            cache_control: cache_control.into(),
        }));
        let hits = Arc::new(AtomicUsize::new(0));
        let (p, h) = (Arc::clone(&published), Arc::clone(&hits));
        // ends with the test's runtime
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (p, h) = (Arc::clone(&p), Arc::clone(&h));
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    h.fetch_add(1, Ordering::SeqCst);
                    let (jwks, cache_control) = {
                        let p = p.lock().unwrap();
                        (p.jwks.clone(), p.cache_control.clone())
                    };
                    let Some(body) = jwks else {
                        return; // down: the connection is dropped
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: {cache_control}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self {
            url,
            published,
            hits,
        }
    }

    fn publish(&self, files: &[&str], cache_control: &str) {
        let mut p = self.published.lock().unwrap();
        p.jwks = Some(jwks_of(files));
        p.cache_control = cache_control.into();
    }

    fn go_down(&self) {
        self.published.lock().unwrap().jwks = None;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn gateway(issuer: &FakeIssuer, cooldown_secs: u64) -> (TestServer, AuthConfig) {
    let config = AuthConfig::new(&format!(
        "external_issuer = \"{ISSUER}\"\nexternal_jwks_url = \"{}\"\nexternal_audience = \"{AUDIENCE}\"\n\
         external_jwks_min_refresh_secs = 1\nexternal_jwks_max_refresh_secs = 3600\n\
         external_jwks_unknown_kid_cooldown_secs = {cooldown_secs}\nexternal_jwks_timeout_ms = 2000",
        issuer.url
    ));
    let mut env: Vec<(String, String)> = config.env();
    env.push(("HBPC_TEST_LOG_FILE".into(), log_path(&config)));
    env.push(("HBPC_LOG_LEVEL".into(), "info".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    (TestServer::start_on(Backend::Sqlite, &env).await, config)
}

fn log_path(config: &AuthConfig) -> String {
    config.dir.path().join("server.log").display().to_string()
}

/// An external access token signed with `key`, naming `kid`; each one is new (own jti).
fn token(key: &str, kid: &str) -> String {
    let pem = std::fs::read(key_path(key)).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES384);
    header.kid = Some(kid.into());
    let claims = json!({"iss": ISSUER, "sub": "hie-via-idp", "aud": [AUDIENCE],
        "exp": now() + 120, "scope": "system/Patient.rs",
        "jti": uuid::Uuid::new_v4().to_string()});
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap(),
    )
    .unwrap()
}

/// 404 (an unknown Patient) means the token was accepted; 401 that it was not.
async fn read_with(server: &TestServer, token: &str) -> u16 {
    client()
        .get(server.url("Patient/p1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn keys_from_a_url_are_cached_and_follow_rotation() {
    let issuer = FakeIssuer::start(&["ec384-client.jwks.json"], "max-age=3600").await;
    let (server, config) = gateway(&issuer, 1).await;
    assert_eq!(issuer.hits(), 1, "fetched once at start");
    let first = token(KEY_A.0, KEY_A.1);
    assert_eq!(read_with(&server, &first).await, 404);
    assert_eq!(read_with(&server, &token(KEY_A.0, KEY_A.1)).await, 404);
    // a token signed by a key the issuer does not publish
    assert_eq!(read_with(&server, &token(KEY_B.0, KEY_A.1)).await, 401);
    assert_eq!(issuer.hits(), 1, "known keys come from the cache");

    // rotation announced: the new key's first token refetches and is accepted at once
    issuer.publish(
        &["ec384-client.jwks.json", "ec384-other.jwks.json"],
        "public, max-age=2",
    );
    assert_eq!(read_with(&server, &token(KEY_B.0, KEY_B.1)).await, 404);
    assert_eq!(issuer.hits(), 2);
    assert_eq!(read_with(&server, &token(KEY_A.0, KEY_A.1)).await, 404);

    // the old key is withdrawn: accepted while the cache lasts, refused once it expired
    issuer.publish(&["ec384-other.jwks.json"], "max-age=2");
    assert_eq!(read_with(&server, &token(KEY_A.0, KEY_A.1)).await, 404);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert!(
        issuer.hits() >= 3,
        "refreshed in the background: {}",
        std::fs::read_to_string(log_path(&config)).unwrap()
    );
    assert_eq!(read_with(&server, &token(KEY_A.0, KEY_A.1)).await, 401);
    // ... also a token verified (and cached) before the withdrawal
    assert_eq!(read_with(&server, &first).await, 401);
    assert_eq!(read_with(&server, &token(KEY_B.0, KEY_B.1)).await, 404);
}

#[tokio::test]
async fn the_last_good_keys_stay_while_the_issuer_is_down() {
    let issuer = FakeIssuer::start(&["ec384-client.jwks.json"], "max-age=1").await;
    let (server, config) = gateway(&issuer, 1).await;
    assert_eq!(read_with(&server, &token(KEY_A.0, KEY_A.1)).await, 404);
    issuer.go_down();
    let before = issuer.hits();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(issuer.hits() > before, "the gateway tried to refresh");
    assert_eq!(read_with(&server, &token(KEY_A.0, KEY_A.1)).await, 404);
    assert_eq!(read_with(&server, &token(KEY_B.0, KEY_B.1)).await, 401);
    let log = std::fs::read_to_string(log_path(&config)).unwrap();
    assert!(
        log.contains("cannot fetch the external issuer's JWKS; keeping the last good keys"),
        "{log}"
    );

    // a gateway started while the issuer is down starts anyway, and catches up
    let (late, _late_config) = gateway(&issuer, 1).await;
    assert_eq!(read_with(&late, &token(KEY_A.0, KEY_A.1)).await, 401);
    issuer.publish(&["ec384-client.jwks.json"], "max-age=3600");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(read_with(&late, &token(KEY_A.0, KEY_A.1)).await, 404);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_refetches_at_most_once_per_cooldown() {
    let issuer = FakeIssuer::start(&["ec384-client.jwks.json"], "max-age=3600").await;
    let cooldown = Duration::from_secs(5);
    let (server, _config) = gateway(&issuer, cooldown.as_secs()).await;
    assert_eq!(issuer.hits(), 1);
    let flood = |n: usize| {
        let server = &server;
        async move {
            let all = (0..n).map(|i| {
                let bad = token(KEY_B.0, &format!("unknown-{i}"));
                async move { read_with(server, &bad).await }
            });
            futures_util::future::join_all(all).await
        }
    };
    let started = std::time::Instant::now();
    let statuses = flood(40).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(issuer.hits(), 2, "one refetch for the whole flood");
    assert!(flood(20).await.iter().all(|s| *s == 401));
    assert!(
        started.elapsed() < cooldown,
        "the floods took longer than the cool-down; the check below would mean nothing"
    );
    assert_eq!(issuer.hits(), 2, "none within the cool-down");
    // good tokens are unaffected
    assert_eq!(read_with(&server, &token(KEY_A.0, KEY_A.1)).await, 404);
    tokio::time::sleep((cooldown + Duration::from_millis(300)).saturating_sub(started.elapsed()))
        .await;
    assert!(flood(10).await.iter().all(|s| *s == 401));
    assert_eq!(issuer.hits(), 3, "one more after the cool-down");
}

#[tokio::test]
async fn a_jwks_url_must_be_https_unless_loopback() {
    let config = AuthConfig::new(&format!(
        "external_issuer = \"{ISSUER}\"\nexternal_jwks_url = \"http://idp.example.org/jwks\""
    ));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"))
        .env("HBPC_CONFIG", &config.path)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("auth.external_jwks_url") && err.contains("https"),
        "{err}"
    );
    let both = AuthConfig::new(&format!(
        "external_issuer = \"{ISSUER}\"\nexternal_jwks_url = \"https://idp.example.org/jwks\"\nexternal_jwks_file = \"{}\"",
        key_path("ec384-client.jwks.json")
    ));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"))
        .env("HBPC_CONFIG", &both.path)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exactly one"));
}
