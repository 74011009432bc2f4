//! Issue #18: generated hostile requests against the real server, on SQLite and PostgreSQL.
//! Deterministic (a fixed seed, `HBPC_TEST_FUZZ_SEED` to explore others) and bounded: 2,000
//! requests per backend by default (`HBPC_TEST_FUZZ_REQUESTS`), 8 at a time.
//!
//! Asserts: no 5xx; no hang (every exchange ends within its timeout); every 4xx the
//! application answers to a well-formed HTTP request is an OperationOutcome; the replica
//! still serves afterwards, and stores nothing half.

use crate::support::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

const DEFAULT_SEED: u64 = 0x18_f022_2026;
const DEFAULT_REQUESTS: usize = 2000;
const PARALLEL: usize = 8;
/// Longest any one exchange may take: more is a hang.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);

/// xorshift64*: small, deterministic, good enough to pick cases.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const TYPES: &[&str] = &[
    "Patient",
    "Observation",
    "ServiceRequest",
    "Task",
    "Condition",
    "Coverage",
    "Consent",
    "Bundle",
    "Pati%00ent",
    "patient",
    "Unknown",
    "%2e%2e",
    "AuditEvent",
    "",
];

const HOSTILE_STRINGS: &[&str] = &[
    "a\u{0}b",
    "\u{1b}[31mred",
    "\u{7f}",
    "',\"); DROP TABLE search_index;--",
    "%00",
    "%",
    "\u{10ffff}",
    "\u{feff}bom",
    "e\u{301}",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "9999999999999999999999999999999999",
    "-0",
    "1e400",
    "2026-13-45",
    "2026-02-30T25:61:61Z",
    "",
    " ",
    "\t\r\n",
];

const SEARCH_PARAMS: &[&str] = &[
    "name",
    "family",
    "given",
    "identifier",
    "birthdate",
    "_id",
    "_lastUpdated",
    "_count",
    "_sort",
    "_include",
    "_revinclude",
    "_elements",
    "_total",
    "_cursor",
    "subject",
    "patient",
    "status",
    "code",
    "value-string",
    "subject:Patient.name",
    "name:contains",
    "name:exact",
    "name:missing",
    "_has:Observation:subject:code",
    "unknown",
    "_format",
];

const DATE_PREFIXES: &[&str] = &[
    "", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap", "zz",
];

fn hostile_str(rng: &mut Rng) -> &'static str {
    rng.pick::<&str>(HOSTILE_STRINGS)
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~|:,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hostile_value(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => rng.pick(HOSTILE_STRINGS).to_string(),
        1 => format!("{}{}", rng.pick(DATE_PREFIXES), rng.pick(HOSTILE_STRINGS)),
        2 => "x".repeat(rng.below(5000)),
        3 => format!("urn:s|{}", rng.pick(HOSTILE_STRINGS)),
        4 => format!("{}2026-01-0{}", rng.pick(DATE_PREFIXES), rng.below(10)),
        _ => rng.next().to_string(),
    }
}

/// A JSON value from the fixtures, mutated.
fn mutate(rng: &mut Rng, value: &mut Value, depth: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = rng.pick(&keys).clone();
            match rng.below(8) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(key, Value::String(rng.pick(HOSTILE_STRINGS).to_string()));
                }
                2 => {
                    map.insert(key, json!(rng.next() as i64));
                }
                3 => {
                    map.insert(key, Value::Null);
                }
                4 => {
                    map.insert(key, json!([[[]]]));
                }
                5 => {
                    map.insert(format!("{key}_x"), json!({"extension": true}));
                }
                _ => {
                    if let Some(inner) = map.get_mut(&key) {
                        if depth < 8 {
                            mutate(rng, inner, depth + 1);
                        }
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = rng.below(items.len());
            match rng.below(4) {
                0 => {
                    items.remove(i);
                }
                1 => {
                    let copy = items[i].clone();
                    for _ in 0..rng.below(50) {
                        items.push(copy.clone());
                    }
                }
                _ => {
                    if depth < 8 {
                        mutate(rng, &mut items[i], depth + 1)
                    }
                }
            }
        }
        other => *other = Value::String(hostile_value(rng)),
    }
}

/// Bodies that the JSON reader must refuse or the validator must judge.
fn hostile_body(rng: &mut Rng, fixtures: &[Value]) -> Vec<u8> {
    match rng.below(12) {
        0 => {
            let mut v = rng.pick(fixtures).clone();
            for _ in 0..=rng.below(4) {
                mutate(rng, &mut v, 0);
            }
            v.to_string().into_bytes()
        }
        1 => {
            // truncated JSON
            let text = rng.pick(fixtures).to_string();
            let cut = rng.below(text.len().max(1));
            text.as_bytes()[..cut].to_vec()
        }
        2 => br#"{"resourceType":"Patient","gender":"male","gender":"female"}"#.to_vec(),
        3 => format!("{}{}", "[".repeat(200), "]".repeat(200)).into_bytes(),
        4 => format!(
            r#"{{"resourceType":"Patient","name":[{{"family":"{}"}}]}}"#,
            "y".repeat(1024 * 1024 + rng.below(10))
        )
        .into_bytes(),
        5 => b"{\"resourceType\":\"Patient\",\"id\":\"a\\u0000b\"}".to_vec(),
        6 => vec![0xff, 0xfe, b'{', b'}'],
        7 => {
            let names: Vec<Value> = (0..rng.below(3000))
                .map(|i| json!({"family": format!("F{i}")}))
                .collect();
            json!({"resourceType": "Patient", "name": names})
                .to_string()
                .into_bytes()
        }
        8 => json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                    "valueString": "z".repeat(rng.below(6000))})
        .to_string()
        .into_bytes(),
        9 => json!({"resourceType": "Bundle", "type": rng.pick(&["transaction", "batch", "collection", "x"]),
                    "entry": [{"request": {"method": "POST", "url": "Patient",
                                "ifNoneExist": format!("identifier=urn:x|{}", percent_encode(hostile_str(rng)))},
                               "resource": {"resourceType": "Patient"}}]})
        .to_string()
        .into_bytes(),
        10 => Vec::new(),
        _ => rng.pick(fixtures).to_string().into_bytes(),
    }
}

enum Case {
    Http {
        method: reqwest::Method,
        path: String,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    },
    Raw(Vec<u8>),
}

fn http_case(rng: &mut Rng, fixtures: &[Value]) -> Case {
    use reqwest::Method;
    let ty = rng.pick(TYPES);
    let id = match rng.below(5) {
        0 => percent_encode(hostile_str(rng)),
        1 => "a".repeat(rng.below(100)),
        _ => format!("id-{}", rng.below(50)),
    };
    let mut params = Vec::new();
    for _ in 0..rng.below(4) {
        params.push(format!(
            "{}={}",
            rng.pick(SEARCH_PARAMS),
            percent_encode(&hostile_value(rng))
        ));
    }
    let query = params.join("&");
    let (method, path) = match rng.below(12) {
        0 | 1 => (Method::GET, format!("/fhir/{ty}?{query}")),
        2 => (Method::GET, format!("/fhir/{ty}/{id}")),
        3 => (
            Method::GET,
            format!(
                "/fhir/{ty}/{id}/_history/{}",
                rng.pick(HOSTILE_STRINGS).len()
            ),
        ),
        4 | 5 => (Method::POST, format!("/fhir/{ty}")),
        6 => (Method::PUT, format!("/fhir/{ty}/{id}")),
        7 => (Method::DELETE, format!("/fhir/{ty}/{id}")),
        8 => (Method::POST, "/fhir".to_string()),
        9 => (Method::POST, format!("/fhir/{ty}/$validate")),
        10 => (Method::POST, format!("/fhir/{ty}/_search?{query}")),
        _ => (
            rng.pick(&[Method::PATCH, Method::OPTIONS, Method::HEAD, Method::TRACE])
                .clone(),
            format!("/fhir/{ty}/{id}"),
        ),
    };
    let mut headers = vec![(
        "Content-Type".to_string(),
        // mostly the right media type, so that most bodies reach the reader and the store
        if rng.chance(75) {
            "application/fhir+json".to_string()
        } else {
            rng.pick(&[
                "application/json",
                "application/fhir+json; charset=utf-16",
                "text/plain",
                "application/fhir+xml",
            ])
            .to_string()
        },
    )];
    if rng.chance(20) {
        headers.push((
            "If-None-Exist".into(),
            format!("identifier=urn:x|{}", percent_encode(hostile_str(rng))),
        ));
    }
    if rng.chance(10) {
        headers.push((
            "If-Match".into(),
            rng.pick(&["W/\"1\"", "garbage", "W/\"-1\"", "*"])
                .to_string(),
        ));
    }
    if rng.chance(10) {
        headers.push((
            "Accept".into(),
            rng.pick(&["text/html", "application/fhir+xml", "*/*"])
                .to_string(),
        ));
    }
    if rng.chance(10) {
        headers.push((
            "Prefer".into(),
            rng.pick(&[
                "return=minimal",
                "return=OperationOutcome",
                "handling=strict",
                "x",
            ])
            .to_string(),
        ));
    }
    let body = matches!(method, Method::POST | Method::PUT).then(|| hostile_body(rng, fixtures));
    Case::Http {
        method,
        path,
        headers,
        body,
    }
}

fn raw_case(rng: &mut Rng) -> Vec<u8> {
    let body = br#"{"resourceType":"Patient"}"#;
    match rng.below(10) {
        0 => b"GARBAGE\r\n\r\n".to_vec(),
        1 => b"GET /fhir/metadata HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
        2 => format!(
            "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\n\r\n{}",
            rng.pick(&["abc", "-1", "99999999999999999999", "5, 6"]),
            std::str::from_utf8(body).unwrap_or_default()
        )
        .into_bytes(),
        3 => format!(
            "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Flood: {}\r\n\r\n",
            "f".repeat(20_000 + rng.below(60_000))
        )
        .into_bytes(),
        4 => b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n".to_vec(),
        5 => {
            let mut r = b"GET /fhir/metadata HTTP/1.1\r\n".to_vec();
            for i in 0..(100 + rng.below(200)) {
                r.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
            }
            r.extend_from_slice(b"\r\n");
            r
        }
        6 => format!("GET /fhir/{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(rng.below(40_000))).into_bytes(),
        7 => b"GET /fhir/Pati\x00ent HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        8 => b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\n{}".to_vec(),
        _ => b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    }
}

/// What one exchange answered: the status (0: closed without an answer) and whether the
/// body is an OperationOutcome.
struct Answer {
    status: u16,
    outcome: bool,
    body: String,
}

fn raw_exchange(port: u16, request: &[u8]) -> Answer {
    let started = std::time::Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(EXCHANGE_TIMEOUT))
        .expect("timeout");
    stream
        .set_write_timeout(Some(EXCHANGE_TIMEOUT))
        .expect("timeout");
    // the server may answer and close before it has read everything we send
    let _ = stream.write_all(request);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "raw exchange hung or failed after {:?}: {e}",
                started.elapsed()
            ),
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let outcome = text
        .split_once("\r\n\r\n")
        .is_some_and(|(_, body)| body.contains("\"resourceType\":\"OperationOutcome\""));
    Answer {
        status,
        outcome,
        body: text.chars().take(400).collect(),
    }
}

async fn http_exchange(server_base: &str, case: Case) -> (String, Answer) {
    let Case::Http {
        method,
        path,
        headers,
        body,
    } = case
    else {
        unreachable!()
    };
    let client = reqwest::Client::builder()
        .timeout(EXCHANGE_TIMEOUT)
        .build()
        .expect("client");
    let relative = path.strip_prefix("/fhir").unwrap_or(&path);
    let mut req = client.request(method.clone(), format!("{server_base}{relative}"));
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let what = format!("{method} {}", path.chars().take(200).collect::<String>());
    let res = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: no answer ({e})"));
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    // a HEAD answer has no body (RFC 9110 §9.3.2): HTTP does not allow one there
    let xml_limits = fhir_engine::json::JsonLimits {
        max_depth: 64,
        max_elements: 100_000,
    };
    // an OperationOutcome in JSON, or in XML when the client's Accept asked for XML
    let outcome = method == reqwest::Method::HEAD
        || serde_json::from_str::<Value>(&text)
            .is_ok_and(|v| v["resourceType"] == "OperationOutcome")
        || fhir_engine::xml::parse_resource(text.as_bytes(), xml_limits)
            .is_ok_and(|v| v["resourceType"] == "OperationOutcome");
    (
        what,
        Answer {
            status,
            outcome,
            body: text.chars().take(400).collect(),
        },
    )
}

fn fixtures() -> Vec<Value> {
    let mut all = Vec::new();
    for dir in ["referral-separate", "invalid"] {
        for entry in std::fs::read_dir(fixture_path(dir)).expect("fixtures") {
            let path = entry.expect("entry").path();
            if let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) {
                all.push(v);
            }
        }
    }
    all.push(fixture_json("referral-transaction.json"));
    all
}

#[tokio::test]
async fn hostile_requests_never_take_the_replica_down() {
    let seed = std::env::var("HBPC_TEST_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let count = std::env::var("HBPC_TEST_FUZZ_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_REQUESTS);
    let fixtures = Arc::new(fixtures());
    on_each_backend(&[], |server| {
        let fixtures = fixtures.clone();
        async move {
            let mut rng = Rng(seed | 1);
            let mut cases = Vec::with_capacity(count);
            for _ in 0..count {
                cases.push(if rng.chance(25) {
                    Case::Raw(raw_case(&mut rng))
                } else {
                    http_case(&mut rng, &fixtures)
                });
            }
            let base = server.base.clone();
            let port = server.port;
            let queue = Arc::new(std::sync::Mutex::new(cases));
            let mut workers = Vec::new();
            for _ in 0..PARALLEL {
                let queue = queue.clone();
                let base = base.clone();
                workers.push(tokio::spawn(async move {
                    let mut seen = Vec::new();
                    loop {
                        let Some(case) = queue.lock().unwrap().pop() else {
                            return seen;
                        };
                        let (what, answer) = match case {
                            Case::Raw(bytes) => {
                                let what = String::from_utf8_lossy(&bytes[..bytes.len().min(120)])
                                    .into_owned();
                                let answer =
                                    tokio::task::spawn_blocking(move || raw_exchange(port, &bytes))
                                        .await
                                        .expect("raw exchange");
                                (format!("raw {what:?}"), answer)
                            }
                            http => {
                                let (what, mut answer) = http_exchange(&base, http).await;
                                // only well-formed HTTP is held to the OperationOutcome rule
                                answer.outcome |= !(400..500).contains(&answer.status);
                                (what, answer)
                            }
                        };
                        seen.push((what, answer));
                    }
                }));
            }
            let mut answers = Vec::new();
            for w in workers {
                answers.extend(w.await.expect("fuzz worker"));
            }
            assert_eq!(answers.len(), count);
            let mut by_status = std::collections::BTreeMap::new();
            for (_, a) in &answers {
                *by_status.entry(a.status).or_insert(0usize) += 1;
            }
            eprintln!("fuzz seed {seed:#x}: {count} requests, answers by status (0: closed) {by_status:?}");
            let server_errors: Vec<String> = answers
                .iter()
                .filter(|(_, a)| a.status >= 500)
                .map(|(w, a)| format!("{w} -> {} {}", a.status, a.body))
                .collect();
            assert!(
                server_errors.is_empty(),
                "{} 5xx answers, e.g.:\n{}",
                server_errors.len(),
                server_errors[..server_errors.len().min(5)].join("\n")
            );
            let bare: Vec<String> = answers
                .iter()
                .filter(|(_, a)| (400..500).contains(&a.status) && !a.outcome)
                .map(|(w, a)| format!("{w} -> {} {}", a.status, a.body))
                .collect();
            assert!(
                bare.is_empty(),
                "{} 4xx answers without an OperationOutcome, e.g.:\n{}",
                bare.len(),
                bare[..bare.len().min(5)].join("\n")
            );
            // actix-http abandons a request with an invalid chunk size; it is answered all the same
            let unanswered_chunks: Vec<&String> = answers
                .iter()
                .filter(|(w, a)| w.contains("chunked\\r\\n\\r\\nZZ") && a.status != 400)
                .map(|(w, _)| w)
                .collect();
            assert!(
                unanswered_chunks.is_empty(),
                "invalid chunk sizes not answered with 400: {unanswered_chunks:?}"
            );
            // the replica still serves: reads, a write, and its readiness
            let (status, _) = get_json(&server, "/fhir/metadata").await;
            assert_eq!(status, 200);
            let (status, body) = post_json(
                &server,
                "/fhir/Patient",
                &fixture_json("referral-separate/04-patient-patient.json"),
            )
            .await;
            assert!(
                status == 201 || status == 422 || status == 200,
                "{status} {body}"
            );
            let ready = client()
                .get(format!("http://127.0.0.1:{}/readyz", server.port))
                .send()
                .await
                .expect("readyz");
            assert_eq!(ready.status().as_u16(), 200);
        }
    })
    .await;
}
