//! Security services: the token service (authorization and resource server), the audit
//! trail and the rate limiter. No HTTP here: `http::auth` maps requests onto these.

pub mod audit_trail;
pub mod client_registry;
pub mod gateway_key;
pub mod key_source;
pub mod principal;
pub mod rate_limiter;
pub mod token_service;

use crate::config::{SecuritySettings, Settings};
use crate::store::security::SharedSecurityStore;
use audit_trail::AuditTrail;
use client_registry::{ClientRegistry, RegistryError};
use gateway_key::{GatewayKey, KeyError};
use key_source::{KeySource, KeySourceError};
use rate_limiter::RateLimiter;
use token_service::{ExternalIssuer, TokenService};

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
    pub fn build(settings: &Settings, store: SharedSecurityStore) -> Result<Self, SecurityError> {
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
                    keys: KeySource::file(&auth.external_jwks_file)?,
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
            audit: sec.audit.then(|| AuditTrail::new(store)),
            limiter: (sec.rate_limit_per_second > 0)
                .then(|| RateLimiter::new(sec.rate_limit_per_second, sec.rate_limit_burst)),
            token_url: configured_token_url(settings),
            settings: sec.clone(),
        })
    }
}
