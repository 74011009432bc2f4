//! A small recording fake EHR on 127.0.0.1 for delivery tests: FHIR conditional updates
//! (transaction Bundles or one PUT per resource), a SMART token endpoint that verifies client
//! assertions, and scripted faults (status codes, Retry-After, stalls, connection resets).
//!
//! It speaks just enough HTTP/1.1 (one request per connection) to be told to misbehave in ways
//! a real framework would not allow, such as resetting the connection mid-request.

#![allow(dead_code)]

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the next FHIR request gets instead of a normal answer.
#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16),
    /// 429 or 503 with this `Retry-After` value.
    RetryAfter(u16, String),
    /// Answer only after this long (longer than the client's timeout: a timeout).
    Stall(Duration),
    /// Read the request, then reset the connection.
    Reset,
    /// 400 with an OperationOutcome.
    Invalid(String),
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: std::time::Instant,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Verifying SMART client assertions.
#[derive(Clone)]
pub struct TokenPolicy {
    pub client_id: String,
    pub algorithm: Algorithm,
    pub public_key_pem: Vec<u8>,
    pub expires_in: u64,
}

#[derive(Default)]
struct State {
    faults: VecDeque<Fault>,
    requests: Vec<Recorded>,
    /// (type, system|value) → (resource, version)
    resources: HashMap<(String, String), (Value, u64)>,
    token_policy: Option<TokenPolicy>,
    valid_tokens: HashSet<String>,
    token_requests: usize,
    seen_jti: HashSet<String>,
    /// Why assertions were refused.
    assertion_errors: Vec<String>,
    issued: usize,
}

#[derive(Clone)]
pub struct FakeEhr {
    pub port: u16,
    state: Arc<Mutex<State>>,
    down: Arc<AtomicBool>,
}

impl FakeEhr {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let ehr = FakeEhr {
            port,
            state: Arc::default(),
            down: Arc::default(),
        };
        let server = ehr.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move { server.serve(socket).await });
            }
        });
        ehr
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/fhir", self.port)
    }

    pub fn token_url(&self) -> String {
        format!("http://127.0.0.1:{}/auth/token", self.port)
    }

    /// While down, every connection is reset.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    pub fn require_tokens(&self, policy: TokenPolicy) {
        self.state.lock().unwrap().token_policy = Some(policy);
    }

    /// Every token issued so far stops working (as if expired): the next request gets a 401.
    pub fn expire_tokens(&self) {
        self.state.lock().unwrap().valid_tokens.clear();
    }

    pub fn token_requests(&self) -> usize {
        self.state.lock().unwrap().token_requests
    }

    pub fn assertion_errors(&self) -> Vec<String> {
        self.state.lock().unwrap().assertion_errors.clone()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// FHIR requests (not token or discovery requests) received.
    pub fn fhir_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/fhir") && !r.path.contains(".well-known"))
            .collect()
    }

    /// Stored resources of a type: (identifier system|value, resource, version).
    pub fn stored(&self, resource_type: &str) -> Vec<(String, Value, u64)> {
        let state = self.state.lock().unwrap();
        let mut out: Vec<_> = state
            .resources
            .iter()
            .filter(|((t, _), _)| t == resource_type)
            .map(|((_, k), (r, v))| (k.clone(), r.clone(), *v))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    async fn serve(&self, mut socket: TcpStream) {
        let Some(request) = read_request(&mut socket).await else {
            return;
        };
        if self.down.load(Ordering::SeqCst) {
            return reset(socket);
        }
        let is_fhir = request.path.starts_with("/fhir") && !request.path.contains(".well-known");
        let fault = {
            let mut state = self.state.lock().unwrap();
            state.requests.push(request.clone());
            if is_fhir {
                state.faults.pop_front()
            } else {
                None
            }
        };
        let (status, headers, body) = match fault {
            Some(Fault::Reset) => return reset(socket),
            Some(Fault::Stall(d)) => {
                tokio::time::sleep(d).await;
                (503, vec![], outcome("transient", "stalled"))
            }
            Some(Fault::Status(s)) => (s, vec![], outcome("exception", "scripted failure")),
            Some(Fault::RetryAfter(s, after)) => (
                s,
                vec![("Retry-After".to_string(), after)],
                outcome("throttled", "slow down"),
            ),
            Some(Fault::Invalid(text)) => (400, vec![], outcome("invalid", &text)),
            None => self.answer(&request),
        };
        let reason = match status {
            200 => "OK",
            201 => "Created",
            400 => "Bad Request",
            401 => "Unauthorized",
            429 => "Too Many Requests",
            _ => "Status",
        };
        let mut head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let _ = socket.write_all(head.as_bytes()).await;
        let _ = socket.write_all(body.as_bytes()).await;
        let _ = socket.shutdown().await;
    }

    fn answer(&self, request: &Recorded) -> (u16, Vec<(String, String)>, String) {
        let mut state = self.state.lock().unwrap();
        if request.path.ends_with("/.well-known/smart-configuration") {
            let token = format!("http://127.0.0.1:{}/auth/token", self.port);
            return (200, vec![], json!({"token_endpoint": token}).to_string());
        }
        if request.path == "/auth/token" {
            return token_answer(&mut state, request, &self.token_url());
        }
        if state.token_policy.is_some() {
            let presented = request
                .headers
                .get("authorization")
                .and_then(|a| a.strip_prefix("Bearer "))
                .unwrap_or_default();
            if !state.valid_tokens.contains(presented) {
                return (401, vec![], outcome("login", "token expired or unknown"));
            }
        }
        let content_type = request
            .headers
            .get("content-type")
            .cloned()
            .unwrap_or_default();
        if content_type != "application/fhir+json; fhirVersion=4.0" {
            return (415, vec![], outcome("not-supported", "content type"));
        }
        match request.method.as_str() {
            "POST" if request.path == "/fhir" => transaction(&mut state, &request.json()),
            "PUT" => {
                let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
                let resource_type = path.trim_start_matches("/fhir/").to_string();
                match conditional_key(query) {
                    Some(key) => {
                        let (status, location, version) =
                            upsert(&mut state, &resource_type, &key, request.json());
                        (
                            status,
                            vec![
                                ("Location".into(), location),
                                ("ETag".into(), format!("W/\"{version}\"")),
                            ],
                            String::new(),
                        )
                    }
                    None => (400, vec![], outcome("invalid", "not a conditional update")),
                }
            }
            _ => (400, vec![], outcome("not-supported", "unexpected request")),
        }
    }
}

fn outcome(code: &str, text: &str) -> String {
    json!({"resourceType": "OperationOutcome",
           "issue": [{"severity": "error", "code": code, "details": {"text": text}}]})
    .to_string()
}

fn reset(socket: TcpStream) {
    // SO_LINGER 0: close() sends RST instead of FIN.
    let _ = socket.set_zero_linger();
    drop(socket);
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `identifier=system|value` → `system|value`
fn conditional_key(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|p| p.strip_prefix("identifier="))
        .map(percent_decode)
        .filter(|k| k.contains('|'))
}

fn upsert(
    state: &mut State,
    resource_type: &str,
    key: &str,
    resource: Value,
) -> (u16, String, u64) {
    state.issued += 1;
    let entry = state
        .resources
        .entry((resource_type.to_string(), key.to_string()));
    let (status, version) = match entry {
        std::collections::hash_map::Entry::Occupied(mut o) => {
            let v = o.get().1 + 1;
            o.insert((resource, v));
            (200, v)
        }
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert((resource, 1));
            (201, 1)
        }
    };
    let id = format!("{:x}", md5ish(key));
    (
        status,
        format!("{resource_type}/{id}/_history/{version}"),
        version,
    )
}

/// A stable id per identifier, so locations repeat across resends.
fn md5ish(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

fn transaction(state: &mut State, bundle: &Value) -> (u16, Vec<(String, String)>, String) {
    if bundle["resourceType"] != "Bundle" || bundle["type"] != "transaction" {
        return (400, vec![], outcome("invalid", "not a transaction Bundle"));
    }
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    let full_urls: HashSet<String> = entries
        .iter()
        .filter_map(|e| e["fullUrl"].as_str().map(str::to_string))
        .collect();
    // Atomic: check everything first.
    let mut planned = Vec::new();
    for e in &entries {
        let url = e["request"]["url"].as_str().unwrap_or_default();
        let (resource_type, query) = url.split_once('?').unwrap_or((url, ""));
        let Some(key) = conditional_key(query).filter(|_| e["request"]["method"] == "PUT") else {
            return (
                400,
                vec![],
                outcome("invalid", "every entry must be a conditional PUT"),
            );
        };
        if e["resource"]["resourceType"] != resource_type {
            return (
                400,
                vec![],
                outcome("invalid", "resource type does not match the URL"),
            );
        }
        for r in references(&e["resource"]) {
            if r.starts_with("urn:uuid:") && !full_urls.contains(&r) {
                return (
                    400,
                    vec![],
                    outcome("invalid", "unresolved urn:uuid reference"),
                );
            }
        }
        planned.push((resource_type.to_string(), key, e["resource"].clone()));
    }
    let mut responses = Vec::new();
    for (resource_type, key, resource) in planned {
        let (status, location, version) = upsert(state, &resource_type, &key, resource);
        responses.push(json!({"response": {
            "status": if status == 201 { "201 Created" } else { "200 OK" },
            "location": location, "etag": format!("W/\"{version}\"")}}));
    }
    (
        200,
        vec![],
        json!({"resourceType": "Bundle", "type": "transaction-response", "entry": responses})
            .to_string(),
    )
}

pub fn references(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    match (k.as_str(), c) {
                        ("reference", Value::String(s)) => out.push(s.clone()),
                        _ => walk(c, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    walk(value, &mut out);
    out
}

fn token_answer(
    state: &mut State,
    request: &Recorded,
    token_url: &str,
) -> (u16, Vec<(String, String)>, String) {
    state.token_requests += 1;
    let form: HashMap<String, String> = String::from_utf8_lossy(&request.body)
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect();
    let refuse = |state: &mut State, why: String| {
        state.assertion_errors.push(why);
        (400, vec![], json!({"error": "invalid_client"}).to_string())
    };
    let Some(policy) = state.token_policy.clone() else {
        return refuse(state, "no token policy".into());
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
        || form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return refuse(state, format!("wrong grant: {form:?}"));
    }
    let assertion = form.get("client_assertion").cloned().unwrap_or_default();
    let key = match policy.algorithm {
        Algorithm::ES384 => DecodingKey::from_ec_pem(&policy.public_key_pem),
        _ => DecodingKey::from_rsa_pem(&policy.public_key_pem),
    }
    .expect("test public key");
    let mut validation = Validation::new(policy.algorithm);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[policy.client_id.as_str()]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    validation.sub = Some(policy.client_id.clone());
    validation.leeway = 0;
    let claims = match jsonwebtoken::decode::<Value>(&assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return refuse(state, format!("assertion rejected: {e}")),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if claims["exp"].as_u64().unwrap_or(0) > now + 300 {
        return refuse(state, "exp more than 5 minutes ahead".into());
    }
    let Some(jti) = claims["jti"].as_str().map(str::to_string) else {
        return refuse(state, "no jti".into());
    };
    if !state.seen_jti.insert(jti) {
        return refuse(state, "replayed jti".into());
    }
    let token = format!("token-{}", uuid::Uuid::new_v4().simple());
    state.valid_tokens.insert(token.clone());
    (
        200,
        vec![],
        json!({"access_token": token, "token_type": "bearer", "expires_in": policy.expires_in,
               "scope": form.get("scope")})
        .to_string(),
    )
}

async fn read_request(socket: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = buf[header_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body,
        at: std::time::Instant::now(),
    })
}
