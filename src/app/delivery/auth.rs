//! Credentials for an upstream: none, a static bearer token, or SMART Backend Services
//! (`client_credentials` with a `private_key_jwt` assertion signed RS384 or ES384).
//!
//! The SMART access token is cached until shortly before it expires; a 401 from the EHR drops
//! it (once per token, so concurrent deliveries renew once) and the caller retries once.

use super::jwk_key;
use crate::config::{AuthKind, UpstreamAuthSettings, UpstreamSettings};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use thiserror::Error;
use tokio::sync::Mutex;

#[derive(Debug, Error)]
pub enum AuthError {
    /// The configuration or key cannot work; found at start.
    #[error("{0}")]
    Setup(String),
    /// Worth retrying later: the token endpoint is unreachable, slow or answered 408/429/5xx.
    #[error("token request failed: {0}")]
    Unavailable(String),
    /// The token endpoint refused us (other 4xx, no token in the answer).
    #[error("token request refused: {0}")]
    Refused(String),
}

pub enum UpstreamAuth {
    None,
    Bearer(String),
    Smart(Box<SmartBackend>),
}

impl UpstreamAuth {
    /// Reads token and key files now, so a wrong path or key stops `serve` at start.
    pub fn from_settings(upstream: &UpstreamSettings) -> Result<Self, AuthError> {
        let a = &upstream.auth;
        Ok(match a.kind {
            AuthKind::None => UpstreamAuth::None,
            AuthKind::Bearer if !a.token.is_empty() => UpstreamAuth::Bearer(a.token.clone()),
            AuthKind::Bearer => {
                let token = std::fs::read_to_string(&a.token_file).map_err(|e| {
                    AuthError::Setup(format!("cannot read token_file {}: {e}", a.token_file))
                })?;
                UpstreamAuth::Bearer(token.trim().to_string())
            }
            AuthKind::SmartBackend => {
                UpstreamAuth::Smart(Box::new(SmartBackend::new(a, &upstream.base_url)?))
            }
        })
    }

    /// The `Authorization` header value to send, if any.
    pub async fn authorization(&self, http: &reqwest::Client) -> Result<Option<String>, AuthError> {
        match self {
            UpstreamAuth::None => Ok(None),
            UpstreamAuth::Bearer(token) => Ok(Some(format!("Bearer {token}"))),
            UpstreamAuth::Smart(smart) => smart
                .access_token(http)
                .await
                .map(|t| Some(format!("Bearer {t}"))),
        }
    }

    /// After a 401 to `authorization`: whether a fresh token is worth one more try.
    pub async fn rejected(&self, authorization: Option<&str>) -> bool {
        match (self, authorization.and_then(|a| a.strip_prefix("Bearer "))) {
            (UpstreamAuth::Smart(smart), Some(token)) => {
                smart.forget(token).await;
                true
            }
            _ => false,
        }
    }
}

pub struct SmartBackend {
    client_id: String,
    key: EncodingKey,
    algorithm: Algorithm,
    kid: Option<String>,
    scope: String,
    base_url: String,
    configured_endpoint: Option<String>,
    state: Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    endpoint: Option<String>,
    token: Option<(String, Instant)>,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    jti: String,
}

impl SmartBackend {
    fn new(a: &UpstreamAuthSettings, base_url: &str) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(&a.key_file)
            .map_err(|e| AuthError::Setup(format!("cannot read key_file {}: {e}", a.key_file)))?;
        let es = a.algorithm == "ES384";
        let algorithm = if es {
            Algorithm::ES384
        } else {
            Algorithm::RS384
        };
        let bad_key = |e: String| AuthError::Setup(format!("key_file {}: {e}", a.key_file));
        let (key, jwk_kid) = if text.trim_start().starts_with('{') {
            let jwk = jwk_key::private_key_der(&text, &a.algorithm, &a.key_id).map_err(bad_key)?;
            let key = if es {
                EncodingKey::from_ec_der(&jwk.der)
            } else {
                EncodingKey::from_rsa_der(&jwk.der)
            };
            (key, jwk.kid)
        } else {
            let key = if es {
                EncodingKey::from_ec_pem(text.as_bytes())
            } else {
                EncodingKey::from_rsa_pem(text.as_bytes())
            };
            (key.map_err(|e| bad_key(e.to_string()))?, None)
        };
        let smart = Self {
            client_id: a.client_id.clone(),
            key,
            algorithm,
            kid: Some(a.key_id.clone()).filter(|k| !k.is_empty()).or(jwk_kid),
            scope: a.scope.clone(),
            base_url: base_url.trim_end_matches('/').to_string(),
            configured_endpoint: Some(a.token_endpoint.clone()).filter(|e| !e.is_empty()),
            state: Mutex::new(TokenState::default()),
        };
        // Sign once now: a key that does not fit the algorithm fails at start, not at 3 a.m.
        smart
            .assertion("https://example.invalid/token")
            .map_err(|e| bad_key(format!("cannot sign {} with it: {e}", a.algorithm)))?;
        Ok(smart)
    }

    /// The signed client assertion for `aud` (the token endpoint).
    pub fn assertion(&self, aud: &str) -> Result<String, jsonwebtoken::errors::Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut header = Header::new(self.algorithm);
        header.typ = Some("JWT".into());
        header.kid = self.kid.clone();
        let claims = AssertionClaims {
            iss: &self.client_id,
            sub: &self.client_id,
            aud,
            // SMART: no more than five minutes in the future.
            exp: now + 300,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
    }

    async fn access_token(&self, http: &reqwest::Client) -> Result<String, AuthError> {
        let mut state = self.state.lock().await;
        if let Some((token, renew_at)) = &state.token {
            if Instant::now() < *renew_at {
                return Ok(token.clone());
            }
        }
        let endpoint = match (&self.configured_endpoint, &state.endpoint) {
            (Some(e), _) | (None, Some(e)) => e.clone(),
            (None, None) => {
                let found = self.discover(http).await?;
                state.endpoint = Some(found.clone());
                found
            }
        };
        let assertion = self
            .assertion(&endpoint)
            .map_err(|e| AuthError::Refused(format!("cannot sign the client assertion: {e}")))?;
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", self.scope.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ];
        let response = http
            .post(&endpoint)
            .header("Accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| AuthError::Unavailable(super::client::transport_error(&e)))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            let why = format!(
                "{status} {}",
                body.get("error").and_then(Value::as_str).unwrap_or("")
            );
            return Err(if super::retry::is_retryable_status(status) {
                AuthError::Unavailable(why)
            } else {
                AuthError::Refused(why)
            });
        }
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| AuthError::Refused("no access_token in the answer".into()))?
            .to_string();
        let lifetime = Duration::from_secs(
            body.get("expires_in")
                .and_then(Value::as_u64)
                .unwrap_or(300),
        );
        // Renew a little before expiry so a token never expires in flight.
        let margin = (lifetime / 2).min(Duration::from_secs(30));
        state.token = Some((token.clone(), Instant::now() + lifetime - margin));
        tracing::info!(client_id = %self.client_id, expires_in_s = lifetime.as_secs(), "SMART access token obtained");
        Ok(token)
    }

    async fn discover(&self, http: &reqwest::Client) -> Result<String, AuthError> {
        let url = format!("{}/.well-known/smart-configuration", self.base_url);
        let response = http
            .get(&url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| AuthError::Unavailable(super::client::transport_error(&e)))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let why = format!("{url} answered {status}");
            return Err(if super::retry::is_retryable_status(status) {
                AuthError::Unavailable(why)
            } else {
                AuthError::Refused(why)
            });
        }
        let doc: Value = response
            .json()
            .await
            .map_err(|e| AuthError::Unavailable(format!("{url}: {e}")))?;
        doc.get("token_endpoint")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| AuthError::Refused(format!("{url} names no token_endpoint")))
    }

    async fn forget(&self, token: &str) {
        let mut state = self.state.lock().await;
        if state.token.as_ref().is_some_and(|(t, _)| t == token) {
            state.token = None;
        }
    }
}
