//! Security services: the token service (authorization and resource server), the audit
//! trail and the rate limiter. No HTTP here: `http::auth` maps requests onto these.

pub mod audit_trail;
pub mod client_registry;
pub mod gateway_key;
pub mod key_source;
pub mod principal;
pub mod rate_limiter;
pub mod remote_jwks;
pub mod token_service;
pub mod write_audit;

use crate::config::{SecuritySettings, Settings};
use crate::store::security::SharedSecurityStore;
use audit_trail::AuditTrail;
use client_registry::{ClientRegistry, RegistryError};
use gateway_key::{GatewayKey, KeyError};
use key_source::{KeySource, KeySourceError};
use rate_limiter::RateLimiter;
use remote_jwks::{RemoteJwks, RemoteJwksSettings, SetupError};
use std::sync::Arc;
use std::time::Duration;
use token_service::{ExternalIssuer, ExternalKeys, TokenService};

pub struct Security {
    /// `None`: auth is disabled and every caller is `Principal::anonymous()`.
    pub tokens: Option<TokenService>,
    /// `None` only when `security.audit = false`.
    pub audit: Option<AuditTrail>,
    pub limiter: Option<RateLimiter>,
    /// The configured token URL (`aud` of assertions); empty: derived per request.
    pub token_url: String,
    pub settings: SecuritySettings,
}

#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("auth.signing_key: {0}")]
    SigningKey(#[from] KeyError),
    #[error("auth clients: {0}")]
    Clients(#[from] RegistryError),
    #[error("auth.external_jwks_file: {0}")]
    ExternalKeys(#[from] KeySourceError),
    #[error("auth.external_jwks_url: {0}")]
    ExternalUrl(#[from] SetupError),
}

/// The external issuer's keys: a file, read now, or a URL, fetched now and then refreshed in
/// the background. A failed first fetch does not stop start-up: the gateway serves, external
/// tokens get 401 until the keys arrive (retried in the background and on each token, within
/// the cool-down), and the gateway's own tokens work throughout.
async fn external_keys(auth: &crate::config::AuthSettings) -> Result<ExternalKeys, SecurityError> {
    if auth.external_jwks_url.is_empty() {
        return Ok(ExternalKeys::File(KeySource::file(
            &auth.external_jwks_file,
        )?));
    }
    let remote = Arc::new(RemoteJwks::new(RemoteJwksSettings {
        url: auth.external_jwks_url.clone(),
        min_refresh: Duration::from_secs(auth.external_jwks_min_refresh_secs),
        max_refresh: Duration::from_secs(auth.external_jwks_max_refresh_secs),
        unknown_kid_cooldown: Duration::from_secs(auth.external_jwks_unknown_kid_cooldown_secs),
        timeout: Duration::from_millis(auth.external_jwks_timeout_ms),
        max_bytes: usize::try_from(auth.external_jwks_max_bytes).unwrap_or(usize::MAX),
    })?);
    if remote.refresh().await.is_err() {
        tracing::warn!(
            url = %remote.url(),
            "starting without the external issuer's keys: its tokens get 401 until a fetch succeeds"
        );
    }
    remote.spawn_refresher();
    Ok(ExternalKeys::Url(remote))
}

/// `auth.token_url`, else `server.public_base_url` with `/fhir` replaced by `/auth/token`.
pub fn configured_token_url(settings: &Settings) -> String {
    if !settings.auth.token_url.is_empty() {
        return settings.auth.token_url.clone();
    }
    let base = settings.server.public_base_url.trim_end_matches('/');
    if base.is_empty() {
        return String::new();
    }
    let origin = base.strip_suffix("/fhir").unwrap_or(base);
    format!("{origin}/auth/token")
}

impl Security {
    /// Async for the first fetch of an external issuer's JWKS URL (see `external_keys`).
    pub async fn build(
        settings: &Settings,
        store: SharedSecurityStore,
    ) -> Result<Self, SecurityError> {
        let auth = &settings.auth;
        let tokens = if auth.enabled {
            let key = if auth.signing_key.is_empty() {
                tracing::warn!(
                    "auth.signing_key is not set: access tokens are signed with a key generated \
                     at start, valid on this replica until it stops (set it for several replicas)"
                );
                GatewayKey::ephemeral()?
            } else {
                GatewayKey::from_file(&auth.signing_key)?
            };
            let registry = ClientRegistry::load(auth)?;
            let external = if auth.external_issuer.is_empty() {
                None
            } else {
                Some(ExternalIssuer {
                    issuer: auth.external_issuer.clone(),
                    audience: auth.external_audience.clone(),
                    keys: external_keys(auth).await?,
                })
            };
            if registry.is_empty() && external.is_none() {
                tracing::warn!(
                    "auth is enabled but no client is registered: every FHIR request will get 401"
                );
            }
            tracing::info!(
                clients = registry.len(),
                external = external.is_some(),
                "SMART Backend Services authorization on"
            );
            Some(TokenService::new(
                registry,
                key,
                auth.issuer.clone(),
                auth.access_token_lifetime_secs,
                external,
                store.clone(),
            ))
        } else {
            None
        };
        let sec = &settings.security;
        Ok(Self {
            tokens,
            audit: sec.audit.then(|| AuditTrail::new(store, sec.audit_reads)),
            limiter: (sec.rate_limit_per_second > 0)
                .then(|| RateLimiter::new(sec.rate_limit_per_second, sec.rate_limit_burst)),
            token_url: configured_token_url(settings),
            settings: sec.clone(),
        })
    }
}
