//! `[delivery]`: where accepted referrals' CarePlans and CareTeams go upstream (issue #5).

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// Deliveries in flight at once, per replica.
    pub concurrency: usize,
    /// How often an idle worker looks for due deliveries.
    pub poll_interval_ms: u64,
    /// How long a claimed delivery stays ours; a replica that dies loses it after this.
    pub lease_secs: u64,
    /// The upstream (a key of `upstreams`) for referrals whose source no upstream lists;
    /// empty: such referrals are not delivered.
    pub default_upstream: String,
    /// Upstream EHRs by name. No upstreams: delivery is off and nothing is enqueued.
    pub upstreams: BTreeMap<String, UpstreamSettings>,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            poll_interval_ms: 1000,
            lease_secs: 120,
            default_upstream: String::new(),
            upstreams: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryMode {
    /// One transaction Bundle of conditional updates per delivery.
    Transaction,
    /// One conditional update per resource, for EHRs without transactions.
    PerResource,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    /// The EHR's FHIR base URL, e.g. `https://ehr.example.org/fhir`.
    pub base_url: String,
    /// Referral sources routed here: `MessageHeader.source.endpoint` values and requester
    /// organisations as `Organization/{id}`.
    pub sources: Vec<String>,
    pub mode: DeliveryMode,
    /// Deliveries in flight to this upstream at once, per replica.
    pub concurrency: usize,
    pub connect_timeout_ms: u64,
    /// Whole-request timeout (connect, send, response).
    pub request_timeout_ms: u64,
    /// First retry delay; each further retry multiplies it, up to `retry_max_ms`.
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    pub retry_multiplier: f64,
    /// 0..1: each delay is shortened by a random fraction up to this.
    pub retry_jitter: f64,
    /// Attempts before a delivery becomes a dead letter.
    pub max_attempts: u32,
    /// Age (since enqueue or re-queue) after which a failing delivery becomes a dead letter.
    pub max_age_secs: u64,
    pub auth: UpstreamAuthSettings,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            sources: Vec::new(),
            mode: DeliveryMode::Transaction,
            concurrency: 2,
            connect_timeout_ms: 5_000,
            request_timeout_ms: 30_000,
            retry_initial_ms: 1_000,
            retry_max_ms: 600_000,
            retry_multiplier: 2.0,
            retry_jitter: 0.2,
            max_attempts: 50,
            max_age_secs: 7 * 24 * 3600,
            auth: UpstreamAuthSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    None,
    /// A static bearer token, inline (`token`) or read from `token_file`.
    Bearer,
    /// SMART Backend Services: client_credentials with a signed client assertion.
    SmartBackend,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamAuthSettings {
    pub kind: AuthKind,
    /// Never printed back (`check-config` shows it as redacted).
    #[serde(serialize_with = "redacted")]
    pub token: String,
    pub token_file: String,
    pub client_id: String,
    /// Private key: PEM (PKCS#8 or PKCS#1 RSA) or a JWK / JWKS (first private key) file.
    pub key_file: String,
    /// `RS384` or `ES384`.
    pub algorithm: String,
    /// `kid` of the assertion header (the key's id in the JWKS the EHR knows).
    pub key_id: String,
    /// Empty: discovered from `{base_url}/.well-known/smart-configuration`.
    pub token_endpoint: String,
    pub scope: String,
}

fn redacted<S: serde::Serializer>(secret: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.is_empty() { "" } else { "(redacted)" })
}

impl Default for UpstreamAuthSettings {
    fn default() -> Self {
        Self {
            kind: AuthKind::None,
            token: String::new(),
            token_file: String::new(),
            client_id: String::new(),
            key_file: String::new(),
            algorithm: "RS384".into(),
            key_id: String::new(),
            token_endpoint: String::new(),
            scope:
                "system/CarePlan.write system/CareTeam.write system/Task.write system/Goal.write"
                    .into(),
        }
    }
}

fn invalid(setting: String, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        message: message.into(),
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

impl DeliverySettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = |k: &str| format!("delivery.{k}");
        if !(1..=1024).contains(&self.concurrency) {
            return Err(invalid(s("concurrency"), "must be within 1..=1024"));
        }
        if !(10..=60_000).contains(&self.poll_interval_ms) {
            return Err(invalid(s("poll_interval_ms"), "must be within 10..=60000"));
        }
        if !(1..=86_400).contains(&self.lease_secs) {
            return Err(invalid(s("lease_secs"), "must be within 1..=86400"));
        }
        if !self.default_upstream.is_empty() && !self.upstreams.contains_key(&self.default_upstream)
        {
            return Err(invalid(
                s("default_upstream"),
                format!(
                    "'{}' is not a key of delivery.upstreams",
                    self.default_upstream
                ),
            ));
        }
        for (name, u) in &self.upstreams {
            u.validate(name, self.lease_secs)?;
        }
        Ok(())
    }
}

impl UpstreamSettings {
    fn validate(&self, name: &str, lease_secs: u64) -> Result<(), ConfigError> {
        let s = |k: &str| format!("delivery.upstreams.{name}.{k}");
        if !is_http_url(&self.base_url) {
            return Err(invalid(
                s("base_url"),
                "must start with http:// or https://",
            ));
        }
        if !(1..=256).contains(&self.concurrency) {
            return Err(invalid(s("concurrency"), "must be within 1..=256"));
        }
        if self.connect_timeout_ms == 0 || self.request_timeout_ms == 0 {
            return Err(invalid(s("request_timeout_ms"), "timeouts must be above 0"));
        }
        // A lease shorter than one request would let a second worker start while the first
        // is still sending, and an older version could then land last.
        if self.request_timeout_ms.saturating_mul(2) > lease_secs.saturating_mul(1000) {
            return Err(invalid(
                s("request_timeout_ms"),
                format!("must be at most half of delivery.lease_secs ({lease_secs} s)"),
            ));
        }
        if self.retry_initial_ms == 0 || self.retry_max_ms < self.retry_initial_ms {
            return Err(invalid(
                s("retry_max_ms"),
                "retry_initial_ms must be above 0 and retry_max_ms at least retry_initial_ms",
            ));
        }
        if !(1.0..=100.0).contains(&self.retry_multiplier) {
            return Err(invalid(s("retry_multiplier"), "must be within 1..=100"));
        }
        if !(0.0..=1.0).contains(&self.retry_jitter) {
            return Err(invalid(s("retry_jitter"), "must be within 0..=1"));
        }
        if self.max_attempts == 0 {
            return Err(invalid(s("max_attempts"), "must be at least 1"));
        }
        if self.max_age_secs == 0 {
            return Err(invalid(s("max_age_secs"), "must be at least 1"));
        }
        let a = &self.auth;
        match a.kind {
            AuthKind::None => {}
            AuthKind::Bearer => {
                if a.token.is_empty() == a.token_file.is_empty() {
                    return Err(invalid(
                        s("auth.token"),
                        "bearer auth needs exactly one of token and token_file",
                    ));
                }
            }
            AuthKind::SmartBackend => {
                if a.client_id.is_empty() {
                    return Err(invalid(s("auth.client_id"), "smart-backend auth needs it"));
                }
                if a.key_file.is_empty() {
                    return Err(invalid(s("auth.key_file"), "smart-backend auth needs it"));
                }
                if !matches!(a.algorithm.as_str(), "RS384" | "ES384") {
                    return Err(invalid(
                        s("auth.algorithm"),
                        format!("'{}' is neither RS384 nor ES384", a.algorithm),
                    ));
                }
                if !(a.token_endpoint.is_empty() || is_http_url(&a.token_endpoint)) {
                    return Err(invalid(
                        s("auth.token_endpoint"),
                        "must be empty (discovered) or start with http:// or https://",
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream() -> UpstreamSettings {
        UpstreamSettings {
            base_url: "http://127.0.0.1:9/fhir".into(),
            ..UpstreamSettings::default()
        }
    }

    #[test]
    fn defaults_are_valid_and_off() {
        let d = DeliverySettings::default();
        d.validate().unwrap();
        assert!(d.upstreams.is_empty());
    }

    #[test]
    fn an_inline_token_is_not_printed() {
        let mut d = DeliverySettings::default();
        let mut u = upstream();
        u.auth.kind = AuthKind::Bearer;
        u.auth.token = "s3cret".into();
        d.upstreams.insert("ehr".into(), u);
        let text = toml::to_string(&d).unwrap();
        assert!(
            !text.contains("s3cret") && text.contains("(redacted)"),
            "{text}"
        );
    }

    #[test]
    fn wrong_settings_are_named() {
        let mut d = DeliverySettings::default();
        d.upstreams.insert("ehr".into(), upstream());
        d.validate().unwrap();
        d.default_upstream = "nope".into();
        let e = d.validate().unwrap_err().to_string();
        assert!(e.contains("delivery.default_upstream"), "{e}");
        d.default_upstream = "ehr".into();
        d.upstreams.get_mut("ehr").unwrap().auth.kind = AuthKind::SmartBackend;
        let e = d.validate().unwrap_err().to_string();
        assert!(e.contains("delivery.upstreams.ehr.auth.client_id"), "{e}");
        d.upstreams.get_mut("ehr").unwrap().request_timeout_ms = 100_000;
        let e = d.validate().unwrap_err().to_string();
        assert!(e.contains("request_timeout_ms"), "{e}");
    }
}
