//! A real `hbpc-gateway serve` process on a free loopback port with its own data directory.

use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const FHIR_JSON: &str = "application/fhir+json";

/// Where a test server keeps its data.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// A database of its own on the PostgreSQL named by `HBPC_TEST_DATABASE_URL`.
    Postgres {
        admin_url: String,
    },
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

/// SQLite always; PostgreSQL when `HBPC_TEST_DATABASE_URL` is set (otherwise says it skips).
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    match std::env::var("HBPC_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => all.push(Backend::Postgres { admin_url: url }),
        _ => eprintln!(
            "SKIPPED (postgres): HBPC_TEST_DATABASE_URL is not set; running on SQLite only"
        ),
    }
    all
}

/// Runs `test` once per backend, each time on a fresh server and database.
pub async fn on_each_backend<F, Fut>(env: &[(&str, &str)], test: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        eprintln!("-- backend: {}", backend.name());
        test(TestServer::start_on(backend, env).await).await;
    }
}

/// SQLite's index rows where a search finds them (`database.index_merge_rows`): all recent (a
/// merge size no test reaches), all merged (a merge after every commit), and a mix (a merge
/// every few resources).
pub const SQLITE_INDEX_LAYOUTS: [(&str, &str); 3] =
    [("recent", "100000"), ("merged", "0"), ("mixed", "25")];

/// `on_each_backend`, with SQLite once per index layout (`SQLITE_INDEX_LAYOUTS`): for the
/// searches whose answers must not depend on where the rows are.
pub async fn on_each_backend_and_index_layout<F, Fut>(env: &[(&str, &str)], test: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        let layouts: &[(&str, &str)] = match backend {
            Backend::Sqlite => &SQLITE_INDEX_LAYOUTS,
            Backend::Postgres { .. } => &[("", "")],
        };
        for (layout, merge_rows) in layouts {
            eprintln!("-- backend: {} {layout}", backend.name());
            let mut env = env.to_vec();
            if !merge_rows.is_empty() {
                env.push(("HBPC_DATABASE_INDEX_MERGE_ROWS", merge_rows));
            }
            test(TestServer::start_on(backend.clone(), &env).await).await;
        }
    }
}

/// Rows in `search_index` and in `search_index_recent` of a SQLite test server.
pub fn sqlite_index_rows(server: &TestServer) -> (i64, i64) {
    let path = server
        .database_url
        .strip_prefix("sqlite://")
        .expect("a SQLite server");
    let conn = rusqlite::Connection::open(path).expect("open the test database");
    let count = |table: &str| {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    };
    (count("search_index"), count("search_index_recent"))
}

/// Where every test server's log (stdout, info level) goes, for the PHI scan that
/// `scripts/test.sh` runs after the whole suite (tests/log_scan.rs).
pub const SERVER_LOG_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/server-logs");

fn run_log(port: u16) -> std::fs::File {
    std::fs::create_dir_all(SERVER_LOG_DIR).expect("log dir");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{SERVER_LOG_DIR}/api-{port}.log"))
        .expect("server log file")
}

pub struct TestServer {
    pub base: String,
    pub port: u16,
    _data_dir: tempfile::TempDir,
    pub database_url: String,
    /// Set on the server that created a PostgreSQL database; it drops it at the end.
    owned_database: Option<(String, String)>,
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
    /// A server on SQLite.
    pub async fn start() -> Self {
        Self::start_on(Backend::Sqlite, &[]).await
    }

    pub async fn start_on(backend: Backend, env: &[(&str, &str)]) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (database_url, owned_database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", data_dir.path().join("hbpc.sqlite").display()),
                None,
            ),
            Backend::Postgres { admin_url } => {
                let name = format!("hbpc_test_{}", uuid::Uuid::new_v4().simple());
                postgres_admin(&admin_url, &format!("CREATE DATABASE {name}")).await;
                (with_database(&admin_url, &name), Some((admin_url, name)))
            }
        };
        Self::spawn_new(data_dir, database_url, owned_database, env).await
    }

    /// A second replica on the same database (its own port and process).
    pub async fn replica(&self) -> Self {
        let env: Vec<(&str, &str)> = self
            .extra_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let data_dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_new(data_dir, self.database_url.clone(), None, &env).await
    }

    async fn spawn_new(
        data_dir: tempfile::TempDir,
        database_url: String,
        owned_database: Option<(String, String)>,
        env: &[(&str, &str)],
    ) -> Self {
        let port = free_port();
        let mut server = TestServer {
            base: format!("http://127.0.0.1:{port}/fhir"),
            port,
            _data_dir: data_dir,
            database_url,
            owned_database,
            child: None,
            extra_env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"));
        cmd.arg("serve")
            .env("HBPC_SERVER_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("HBPC_SERVER_WORKERS", "2")
            .env("HBPC_SERVER_SHUTDOWN_TIMEOUT_SECS", "10")
            .env("HBPC_DATABASE_URL", &self.database_url)
            .env("HBPC_LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(run_log(self.port)))
            .stderr(Stdio::inherit());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
            // HBPC_TEST_LOG_FILE=path: the server's log (stdout) is appended there.
            if k == "HBPC_TEST_LOG_FILE" {
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(v)
                    .expect("log file");
                cmd.stdout(Stdio::from(log));
            }
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

    /// An environment variable for the next (re)start.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.to_string(), value.to_string()));
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

    /// The server's database, opened directly through the store API.
    async fn store(&self) -> hbpc_gateway::store::SharedStore {
        let settings = hbpc_gateway::config::DatabaseSettings::default();
        hbpc_gateway::store::open(&self.database_url, &settings)
            .await
            .expect("open the test database")
    }

    /// Versions stored in the database, read directly: proof of what was (not) written.
    pub async fn stored_versions(&self) -> u64 {
        self.store().await.stats().await.expect("stats").versions
    }

    /// Every stored version (tombstones included) as `Type/id/_history/version`, read
    /// directly from the database.
    pub async fn stored_version_references(&self) -> Vec<String> {
        let query = fhir_engine::search::HistoryQuery {
            resource_type: None,
            id: None,
            since_ms: None,
            count: 1_000_000,
            after: None,
        };
        let versions = self.store().await.history(&query).await.expect("history");
        versions
            .iter()
            .map(|v| format!("{}/{}/_history/{}", v.resource_type, v.id, v.version_id))
            .collect()
    }

    /// (resource type, parameter) of every row in the search index, read directly.
    pub async fn indexed_parameters(&self) -> std::collections::BTreeSet<(String, String)> {
        const SQL: &str = "SELECT DISTINCT resource_type, param FROM search_index";
        if let Some(path) = self.database_url.strip_prefix("sqlite://") {
            // SQLite keeps a commit's rows in search_index_recent until a merge, and names
            // (type, parameter) by a code that search_param_code lists
            let conn = rusqlite::Connection::open(path).expect("open the test database");
            let mut stmt = conn
                .prepare(
                    "SELECT DISTINCT p.resource_type, p.param \
                       FROM (SELECT tp FROM search_index UNION SELECT tp FROM search_index_recent) AS r \
                       JOIN search_param_code p ON p.tp = r.tp",
                )
                .expect("query");
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("rows");
            return rows.collect::<Result<_, _>>().expect("indexed parameters");
        }
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.database_url)
            .await
            .expect("connect to the test database");
        let rows: Vec<(String, String)> = sqlx::query_as(SQL)
            .fetch_all(&mut conn)
            .await
            .expect("indexed parameters");
        rows.into_iter().collect()
    }

    pub async fn stored_with_identifier(&self, resource_type: &str, value: &str) -> usize {
        let token = fhir_engine::model::identifier::IdentifierToken::parse(value).expect("token");
        self.store()
            .await
            .find_by_identifier(resource_type, &token)
            .await
            .expect("lookup")
            .len()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
        if let Some((admin_url, name)) = self.owned_database.take() {
            // Drop runs outside any runtime we can block on: use a thread with its own.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(postgres_admin(
                        &admin_url,
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    ));
                }
            })
            .join();
        }
    }
}

/// `postgres://u@h:p/db?x` with another database name.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{database}?{q}"),
        None => format!("{prefix}/{database}"),
    }
}

async fn postgres_admin(admin_url: &str, statement: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to HBPC_TEST_DATABASE_URL");
    sqlx::raw_sql(statement)
        .execute(&mut conn)
        .await
        .expect("admin statement");
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

/// One FHIR JSON request: status, parsed body (Null when empty) and headers.
pub async fn request(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    // paths may be written as the client sees them, with the /fhir base
    let relative = path.strip_prefix("/fhir").unwrap_or(path);
    let mut req = client()
        .request(method, server.url(relative))
        .header("Accept", FHIR_JSON);
    if let Some(body) = body {
        req = req.header("Content-Type", FHIR_JSON).body(body.to_string());
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
    };
    (status, json, headers)
}

pub async fn get_json(server: &TestServer, path: &str) -> (u16, Value) {
    let (status, body, _) = request(server, reqwest::Method::GET, path, None, &[]).await;
    (status, body)
}

pub async fn post_json(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let (status, body, _) = request(server, reqwest::Method::POST, path, Some(body), &[]).await;
    (status, body)
}

/// `$validate` against the resource's declared profile: no errors.
pub async fn assert_valid(server: &TestServer, resource: &Value, what: &str) {
    let rt = resource["resourceType"].as_str().unwrap();
    let (status, outcome) = post_json(server, &format!("/fhir/{rt}/$validate"), resource).await;
    assert_eq!(status, 200, "{what}: {outcome}");
    let errors: Vec<&Value> = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "error" || i["severity"] == "fatal")
        .collect();
    assert!(errors.is_empty(), "{what} breaks its profile: {errors:?}");
}
