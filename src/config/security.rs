//! `[auth]` (SMART Backend Services: clients, keys, tokens) and `[security]` (rate limits,
//! timeouts, CORS, audit) settings.

use super::ConfigError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Every `/fhir` request needs a bearer token (except `/fhir/metadata` and `.well-known`).
    pub enabled: bool,
    /// PEM (PKCS#8, EC P-384) key that signs access tokens (`hbpc-gateway keys generate`).
    /// Empty: a key is generated at start and lost at exit (one replica only).
    pub signing_key: String,
    /// `iss` of the access tokens we issue.
    pub issuer: String,
    /// The token URL clients put in `aud`; empty derives it from `server.public_base_url`
    /// (`…/fhir` → `…/auth/token`) or, failing that, from each request's host.
    pub token_url: String,
    /// Lifetime of issued access tokens.
    pub access_token_lifetime_secs: u64,
    /// A TOML file with more `[[clients]]` (what `hbpc-gateway clients add` edits when set).
    pub clients_file: String,
    /// Registered clients.
    pub clients: Vec<ClientSettings>,
    /// External issuer mode: also accept access tokens whose `iss` is this ...
    pub external_issuer: String,
    /// ... signed by a key in this JWKS file (re-read when it changes: key rotation) ...
    pub external_jwks_file: String,
    /// ... or in the JWKS at this URL (https; http only on loopback), cached and refreshed.
    pub external_jwks_url: String,
    /// Fetched keys are used for `Cache-Control: max-age`, kept within these bounds; without
    /// a max-age, for the maximum.
    pub external_jwks_min_refresh_secs: u64,
    pub external_jwks_max_refresh_secs: u64,
    /// A token naming an unknown `kid` refetches the JWKS at most once per this interval.
    pub external_jwks_unknown_kid_cooldown_secs: u64,
    /// Time limit of one JWKS fetch (connect and body).
    pub external_jwks_timeout_ms: u64,
    /// A larger JWKS response is refused.
    pub external_jwks_max_bytes: u64,
    /// `aud` required in external tokens; empty accepts any audience.
    pub external_audience: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    pub client_id: String,
    /// Scopes this client may be granted, e.g. `["system/ServiceRequest.c", "system/Task.rs"]`.
    pub scopes: Vec<String>,
    /// The client's public keys as an inline JWKS JSON document ...
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jwks: String,
    /// ... or a JWKS file (re-read when it changes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jwks_file: String,
    /// Task read, search and history show this client only the Tasks of referrals it
    /// submitted ("an EHR reads its own Tasks").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_referrals_only: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// Token bucket per client (per replica): sustained requests per second; 0 turns it off.
    pub rate_limit_per_second: u32,
    /// Token bucket size: the burst a client may send at once.
    pub rate_limit_burst: u32,
    /// A client must send its request headers within this time (slowloris).
    pub client_request_timeout_ms: u64,
    /// A request body must arrive within this time.
    pub body_timeout_ms: u64,
    /// Idle keep-alive connections are closed after this time.
    pub keep_alive_secs: u64,
    /// Origins allowed to call from a browser; empty: CORS off (no CORS headers at all).
    pub cors_allowed_origins: Vec<String>,
    /// Record an AuditEvent for every request (turning it off is for benchmarks only).
    pub audit: bool,
    /// When a read's AuditEvent is committed: just after the response (`queued`), or before
    /// it (`committed`). Records of changes are always committed before the response.
    pub audit_reads: AuditReads,
}

/// See `SecuritySettings::audit_reads`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditReads {
    #[default]
    Queued,
    Committed,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            signing_key: String::new(),
            issuer: "hbpc-gateway".into(),
            token_url: String::new(),
            access_token_lifetime_secs: 300,
            clients_file: String::new(),
            clients: Vec::new(),
            external_issuer: String::new(),
            external_jwks_file: String::new(),
            external_jwks_url: String::new(),
            external_jwks_min_refresh_secs: 60,
            external_jwks_max_refresh_secs: 900,
            external_jwks_unknown_kid_cooldown_secs: 30,
            external_jwks_timeout_ms: 5_000,
            external_jwks_max_bytes: 256 * 1024,
            external_audience: String::new(),
        }
    }
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            rate_limit_per_second: 100,
            rate_limit_burst: 200,
            client_request_timeout_ms: 5_000,
            body_timeout_ms: 30_000,
            keep_alive_secs: 30,
            cors_allowed_origins: Vec::new(),
            audit: true,
            audit_reads: AuditReads::Queued,
        }
    }
}

fn invalid(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        message: message.into(),
    }
}

impl AuthSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3600).contains(&self.access_token_lifetime_secs) {
            return Err(invalid(
                "auth.access_token_lifetime_secs",
                format!("{} is outside 1..=3600", self.access_token_lifetime_secs),
            ));
        }
        let url = &self.token_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err(invalid(
                "auth.token_url",
                "must start with http:// or https://",
            ));
        }
        if self.issuer.trim().is_empty() {
            return Err(invalid("auth.issuer", "must not be empty"));
        }
        self.validate_external()?;
        validate_clients("auth.clients", &self.clients)
    }
}

/// `https://…`, or `http://…` when the host is loopback (a local sidecar, tests).
fn check_jwks_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    let Some(host) = parsed.host_str() else {
        return Err(format!("'{url}' has no host"));
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!(
            "'{url}' must use https (plain http is allowed only on a loopback host)"
        )),
        other => Err(format!(
            "'{url}': scheme {other} is not supported; use https"
        )),
    }
}

impl AuthSettings {
    /// External issuer mode: an issuer with exactly one key source, and sane fetch bounds.
    fn validate_external(&self) -> Result<(), ConfigError> {
        let (file, url) = (
            !self.external_jwks_file.is_empty(),
            !self.external_jwks_url.is_empty(),
        );
        if self.external_issuer.is_empty() {
            if file || url {
                return Err(invalid(
                    "auth.external_issuer",
                    "external_jwks_file or external_jwks_url is set but external_issuer is empty",
                ));
            }
            return Ok(());
        }
        if file == url {
            return Err(invalid(
                "auth.external_issuer",
                "give exactly one of external_jwks_file and external_jwks_url",
            ));
        }
        if url {
            check_jwks_url(&self.external_jwks_url)
                .map_err(|m| invalid("auth.external_jwks_url", m))?;
        }
        let min = self.external_jwks_min_refresh_secs;
        for (name, value, low, high) in [
            ("auth.external_jwks_min_refresh_secs", min, 1, 86_400),
            (
                "auth.external_jwks_max_refresh_secs",
                self.external_jwks_max_refresh_secs,
                min,
                7 * 86_400,
            ),
            (
                "auth.external_jwks_unknown_kid_cooldown_secs",
                self.external_jwks_unknown_kid_cooldown_secs,
                1,
                3_600,
            ),
            (
                "auth.external_jwks_timeout_ms",
                self.external_jwks_timeout_ms,
                100,
                60_000,
            ),
            (
                "auth.external_jwks_max_bytes",
                self.external_jwks_max_bytes,
                1_024,
                16 * 1024 * 1024,
            ),
        ] {
            if !(low..=high).contains(&value) {
                return Err(invalid(name, format!("{value} is outside {low}..={high}")));
            }
        }
        Ok(())
    }
}

/// Client ids are unique and plain; scopes parse; exactly one key source.
pub fn validate_clients(setting: &str, clients: &[ClientSettings]) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for c in clients {
        let at = format!("{setting} `{}`", c.client_id);
        let plain = !c.client_id.is_empty()
            && c.client_id.len() <= 128
            && c.client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b));
        if !plain {
            return Err(invalid(
                &at,
                "client_id must be 1-128 letters, digits or -_.:@",
            ));
        }
        if !seen.insert(c.client_id.as_str()) {
            return Err(invalid(&at, "client_id is registered twice"));
        }
        if c.jwks.is_empty() == c.jwks_file.is_empty() {
            return Err(invalid(&at, "give exactly one of jwks or jwks_file"));
        }
        for s in &c.scopes {
            crate::domain::auth::scope::Grant::parse(s)
                .map_err(|e| invalid(&at, format!("scope '{s}': {e}")))?;
        }
    }
    Ok(())
}

impl SecuritySettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rate = self.rate_limit_per_second;
        if rate > 1_000_000 {
            return Err(invalid(
                "security.rate_limit_per_second",
                format!("{rate} is outside 0..=1000000"),
            ));
        }
        if rate > 0 && self.rate_limit_burst == 0 {
            return Err(invalid(
                "security.rate_limit_burst",
                "must be at least 1 when rate limiting is on",
            ));
        }
        for (name, value, min, max) in [
            (
                "security.client_request_timeout_ms",
                self.client_request_timeout_ms,
                100,
                600_000,
            ),
            (
                "security.body_timeout_ms",
                self.body_timeout_ms,
                100,
                3_600_000,
            ),
            ("security.keep_alive_secs", self.keep_alive_secs, 1, 3600),
        ] {
            if !(min..=max).contains(&value) {
                return Err(invalid(name, format!("{value} is outside {min}..={max}")));
            }
        }
        for origin in &self.cors_allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) || origin == "*" {
                return Err(invalid(
                    "security.cors_allowed_origins",
                    format!("'{origin}' is not an origin such as https://app.example.org"),
                ));
            }
        }
        Ok(())
    }
}
