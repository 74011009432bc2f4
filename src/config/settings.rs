use super::workflow_settings::{CarePlanSettings, EligibilitySettings, ProgramSettings};
use super::ConfigError;
use fhir_engine::json::JsonLimits;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub limits: LimitSettings,
    pub validation: ValidationSettings,
    pub log: LogSettings,
    pub program: ProgramSettings,
    pub eligibility: EligibilitySettings,
    pub care_plan: CarePlanSettings,
    pub delivery: super::DeliverySettings,
    pub auth: super::AuthSettings,
    pub security: super::SecuritySettings,
    pub search: super::search::SearchSettings,
    pub metrics: super::MetricsSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSettings {
    /// Validate an HBPC referral ServiceRequest that declares no meta.profile against the HBPC
    /// referral profile (other resources: R4 and their declared profiles).
    pub default_profiles: bool,
    /// Extra implementation guides (US Core, your own profiles) to load at start: folders of
    /// conformance resources, FHIR packages (`.tgz` or unpacked) or package caches
    /// (docs/conformance.md, "Implementation guides and FHIR packages").
    pub ig_dirs: Vec<String>,
}

impl Default for ValidationSettings {
    fn default() -> Self {
        Self {
            default_profiles: true,
            ig_dirs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub listen: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Threads for CPU-heavy request work (parsing, validation, indexing, evaluation), apart
    /// from the HTTP workers; 0 means one per core.
    pub compute_threads: usize,
    /// Seconds in-flight requests get to finish after SIGTERM or Ctrl-C.
    pub shutdown_timeout_secs: u64,
    /// Public FHIR base URL (e.g. `https://gw.example.org/fhir`); empty derives it from each request.
    pub public_base_url: String,
    /// Refuse writes with 503 and `Retry-After` (reads and deliveries go on): for the cut-over
    /// to another database (`hbpc-gateway migrate`).
    pub read_only: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (embedded) or `postgres://user@host:port/db` (shared by replicas).
    pub url: String,
    /// PostgreSQL connection pool size per replica.
    pub pool_size: u32,
    /// Idle read connections kept open.
    pub read_connections: usize,
    /// Most write requests committed together in one transaction (group commit).
    pub write_batch_max: usize,
    /// Write requests that may wait for the writer before callers are held back.
    pub write_queue: usize,
    /// Longest a write waits for room in the SQLite write queue, or any request for a
    /// PostgreSQL connection, before it is shed with 503 and `Retry-After`.
    pub queue_wait_ms: u64,
    pub busy_timeout_ms: u64,
    /// Most search index rows one resource may produce: the write work of a resource that
    /// repeats an element many times (more gets 400 `too-costly`).
    pub max_index_rows: usize,
    /// SQLite: recent search index rows that start a merge into the main index
    /// (`store::sqlite::index_merge`); 0 merges after every commit.
    pub index_merge_rows: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest accepted request body, in bytes (larger gets 413).
    pub max_body_bytes: usize,
    /// Deepest accepted JSON nesting (deeper gets 400).
    pub max_json_depth: usize,
    /// Most entries in one transaction or batch Bundle.
    pub max_bundle_entries: usize,
    /// Most JSON values (members and array items) in one request body (more gets 400).
    pub max_elements: usize,
}

impl LimitSettings {
    /// What one JSON request body may hold.
    pub fn json(&self) -> JsonLimits {
        JsonLimits {
            max_depth: self.max_json_depth,
            max_elements: self.max_elements,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A tracing filter: `info`, `hbpc_gateway=debug,actix_web=warn`, …
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            workers: 0,
            compute_threads: 0,
            shutdown_timeout_secs: 30,
            public_base_url: String::new(),
            read_only: false,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://./data/hbpc.sqlite".into(),
            pool_size: 16,
            read_connections: 8,
            write_batch_max: 256,
            write_queue: 1024,
            queue_wait_ms: 5000,
            busy_timeout_ms: 5000,
            max_index_rows: 10_000,
            index_merge_rows: 512,
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            max_json_depth: 64,
            max_bundle_entries: 1000,
            max_elements: 200_000,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Json,
        }
    }
}

fn invalid(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        message: message.into(),
    }
}

fn in_range(setting: &str, value: usize, min: usize, max: usize) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            setting,
            format!("{value} is outside {min}..={max}"),
        ))
    }
}

impl Settings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        in_range("server.workers", self.server.workers, 0, 256)?;
        in_range(
            "server.compute_threads",
            self.server.compute_threads,
            0,
            256,
        )?;
        let base = &self.server.public_base_url;
        if !(base.is_empty() || base.starts_with("http://") || base.starts_with("https://")) {
            return Err(invalid(
                "server.public_base_url",
                "must start with http:// or https://",
            ));
        }
        match self.database.url.split_once("://") {
            Some(("sqlite", path)) if !path.is_empty() => {}
            Some(("postgres" | "postgresql", rest)) if !rest.is_empty() => {}
            _ => {
                return Err(invalid(
                    "database.url",
                    format!(
                        "'{}' is neither sqlite://PATH nor postgres://…",
                        self.database.url
                    ),
                ))
            }
        }
        in_range(
            "database.pool_size",
            self.database.pool_size as usize,
            1,
            1000,
        )?;
        in_range(
            "database.read_connections",
            self.database.read_connections,
            1,
            256,
        )?;
        in_range(
            "database.write_batch_max",
            self.database.write_batch_max,
            1,
            10_000,
        )?;
        in_range(
            "database.write_queue",
            self.database.write_queue,
            1,
            1_000_000,
        )?;
        in_range(
            "database.queue_wait_ms",
            self.database.queue_wait_ms as usize,
            10,
            600_000,
        )?;
        in_range(
            "database.max_index_rows",
            self.database.max_index_rows,
            100,
            10_000_000,
        )?;
        in_range(
            "database.index_merge_rows",
            self.database.index_merge_rows,
            0,
            100_000,
        )?;
        in_range(
            "limits.max_body_bytes",
            self.limits.max_body_bytes,
            1024,
            256 * 1024 * 1024,
        )?;
        // serde_json refuses nesting beyond 128 levels on its own.
        in_range("limits.max_json_depth", self.limits.max_json_depth, 8, 120)?;
        in_range(
            "limits.max_bundle_entries",
            self.limits.max_bundle_entries,
            1,
            100_000,
        )?;
        in_range(
            "limits.max_elements",
            self.limits.max_elements,
            100,
            10_000_000,
        )?;
        self.auth.validate()?;
        self.security.validate()?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", e.to_string()))?;
        self.delivery.validate()?;
        self.search.validate()?;
        self.metrics.validate(&self.server.listen)?;
        self.validate_workflow()
    }

    fn validate_workflow(&self) -> Result<(), ConfigError> {
        let token = |setting: &str, item: &str| -> Result<(), ConfigError> {
            match item.split_once('|') {
                Some((s, v)) if !s.is_empty() && !v.is_empty() => Ok(()),
                _ => Err(invalid(setting, format!("'{item}' is not system|value"))),
            }
        };
        token(
            "program.organization_identifier",
            &self.program.organization_identifier,
        )?;
        for (name, id) in [
            ("program.organization_id", &self.program.organization_id),
            ("program.device_id", &self.program.device_id),
        ] {
            if !fhir_engine::model::id::is_valid_id(id) {
                return Err(invalid(name, format!("'{id}' is not a valid FHIR id")));
            }
        }
        let e = &self.eligibility;
        let c = &self.care_plan;
        for (name, list) in [
            (
                "eligibility.plan_payor_identifiers",
                &e.plan_payor_identifiers,
            ),
            ("eligibility.physician_codes", &e.physician_codes),
            ("eligibility.homebound_codes", &e.homebound_codes),
            ("eligibility.home_care_codes", &e.home_care_codes),
            (
                "eligibility.palliative_care_codes",
                &e.palliative_care_codes,
            ),
            (
                "eligibility.caregiver_relationship_codes",
                &e.caregiver_relationship_codes,
            ),
            ("eligibility.home_safety_codes", &e.home_safety_codes),
            ("eligibility.home_safe_results", &e.home_safe_results),
            ("eligibility.home_unsafe_results", &e.home_unsafe_results),
            (
                "care_plan.personal_care_need_codes",
                &c.personal_care_need_codes,
            ),
            (
                "care_plan.physical_therapy_orders",
                &c.physical_therapy_orders,
            ),
            (
                "care_plan.occupational_therapy_orders",
                &c.occupational_therapy_orders,
            ),
            ("care_plan.speech_therapy_orders", &c.speech_therapy_orders),
        ] {
            for item in list {
                token(name, item)?;
            }
        }
        if e.plan_payor_identifiers.is_empty() {
            return Err(invalid(
                "eligibility.plan_payor_identifiers",
                "name at least one plan organisation",
            ));
        }
        for zip3 in &e.service_area_zip3 {
            if zip3.len() != 3 || !zip3.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "eligibility.service_area_zip3",
                    format!("'{zip3}' is not three digits"),
                ));
            }
        }
        for zip in &e.service_area_zip_codes {
            if zip.len() != 5 || !zip.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "eligibility.service_area_zip_codes",
                    format!("'{zip}' is not a five-digit ZIP code"),
                ));
            }
        }
        if e.service_area_zip_codes.is_empty()
            && e.service_area_zip3.is_empty()
            && e.service_area_counties.is_empty()
        {
            return Err(invalid(
                "eligibility.service_area_zip3",
                "the service area is empty: set ZIP codes, ZIP-3 prefixes or counties",
            ));
        }
        in_range(
            "eligibility.homebound_lookback_days",
            e.homebound_lookback_days as usize,
            1,
            3650,
        )?;
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| {
            invalid(
                "server.listen",
                format!(
                    "'{}' is not an address:port such as 127.0.0.1:8080",
                    self.server.listen
                ),
            )
        })
    }
}
