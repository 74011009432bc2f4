//! A real `hbpc-gateway serve` process on a free loopback port with its own data directory.

use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const FHIR_JSON: &str = "application/fhir+json";

pub struct TestServer {
    pub base: String,
    pub port: u16,
    pub data_dir: tempfile::TempDir,
    child: Option<Child>,
    extra_env: Vec<(String, String)>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).expect("fixture is JSON")
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut server = TestServer {
            base: format!("http://127.0.0.1:{port}/fhir"),
            port,
            data_dir: tempfile::tempdir().expect("temp dir"),
            child: None,
            extra_env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        server.spawn().await;
        server
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.path().join("hbpc.sqlite")
    }

    async fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"));
        cmd.arg("serve")
            .env("HBPC_SERVER_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("HBPC_SERVER_WORKERS", "2")
            .env("HBPC_SERVER_SHUTDOWN_TIMEOUT_SECS", "10")
            .env(
                "HBPC_DATABASE_URL",
                format!("sqlite://{}", self.db_path().display()),
            )
            .env("HBPC_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("start hbpc-gateway"));
        wait_ready(self.port).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn restart_after_kill9(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Rows stored in the database, read directly: proof of what was (not) written.
    pub fn stored_versions(&self) -> i64 {
        let conn = rusqlite::Connection::open_with_flags(
            self.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open db");
        conn.query_row("SELECT COUNT(*) FROM resource_version", [], |r| r.get(0))
            .expect("count")
    }

    pub fn stored_with_identifier(&self, resource_type: &str, value: &str) -> i64 {
        let conn = rusqlite::Connection::open_with_flags(
            self.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open db");
        conn.query_row(
            "SELECT COUNT(DISTINCT id) FROM resource_identifier WHERE resource_type = ?1 AND value = ?2",
            [resource_type, value],
            |r| r.get(0),
        )
        .expect("count")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub async fn wait_ready(port: u16) {
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(&url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("hbpc-gateway did not become ready on port {port}");
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Asserts an OperationOutcome body with at least one issue of `code`, each issue having text.
pub fn assert_outcome(body: &Value, code: &str) {
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    let issues = body["issue"].as_array().expect("issues");
    assert!(!issues.is_empty(), "{body}");
    for issue in issues {
        assert!(issue["severity"].is_string(), "{body}");
        assert!(
            issue["details"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{body}"
        );
    }
    assert!(
        issues.iter().any(|i| i["code"] == code),
        "expected an issue with code {code}: {body}"
    );
}

pub fn expressions(body: &Value) -> Vec<String> {
    body["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["expression"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}
