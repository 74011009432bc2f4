//! The authorization server (client_credentials with a `private_key_jwt` assertion) and the
//! resource server's bearer-token check.

use super::client_registry::ClientRegistry;
use super::gateway_key::GatewayKey;
use super::key_source::KeySource;
use super::principal::Principal;
use super::remote_jwks::RemoteJwks;
use crate::domain::auth::client_assertion::{self, AssertionClaims, Issuer, ASSERTION_TYPE};
use crate::domain::auth::jwks::{candidates, PublicKey};
use crate::domain::auth::jwt_parts::{peek_claims, read_header, JwtError, SigningAlg};
use crate::domain::auth::scope::ScopeSet;
use crate::domain::auth::token_window::{self, TokenTimes, WindowError};
use crate::store::security::SharedSecurityStore;
use fhir_engine::model::instant::now_millis;
use jsonwebtoken::{DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// OAuth 2.0 token endpoint errors (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    #[error("temporarily_unavailable: {0}")]
    Unavailable(String),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::UnsupportedGrantType(_) => "unsupported_grant_type",
            TokenError::InvalidClient(_) => "invalid_client",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::Unavailable(_) => "temporarily_unavailable",
        }
    }

    pub fn description(&self) -> &str {
        match self {
            TokenError::InvalidRequest(d)
            | TokenError::UnsupportedGrantType(d)
            | TokenError::InvalidClient(d)
            | TokenError::InvalidScope(d)
            | TokenError::Unavailable(d) => d,
        }
    }
}

/// Why a bearer token was refused (`WWW-Authenticate: Bearer error="invalid_token"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
    #[serde(skip)]
    pub client_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    sub: String,
    /// A string, or an array of strings in external tokens.
    aud: serde_json::Value,
    exp: i64,
    /// Required in tokens we accept, so that a token cannot claim to be issued later than now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    jti: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    client_id: Option<String>,
}

/// Accept tokens of an external authorization server too.
pub struct ExternalIssuer {
    pub issuer: String,
    pub audience: String,
    pub keys: ExternalKeys,
}

/// Where the external issuer's public keys come from.
pub enum ExternalKeys {
    File(KeySource),
    Url(Arc<RemoteJwks>),
}

impl ExternalKeys {
    fn keys(&self) -> Arc<[PublicKey]> {
        match self {
            ExternalKeys::File(source) => Arc::from(source.keys()),
            ExternalKeys::Url(remote) => remote.keys(),
        }
    }

    /// The generation of a fetched key set (tokens verified with another are checked again).
    fn generation(&self) -> Option<u64> {
        match self {
            ExternalKeys::File(_) => None,
            ExternalKeys::Url(remote) => Some(remote.generation()),
        }
    }
}

/// Why verification failed: a plain refusal, or an external token whose key is not cached
/// (worth one refetch of the issuer's JWKS).
enum Unverified {
    Refused(BearerError),
    KeyNotCached(Arc<RemoteJwks>),
}

impl From<BearerError> for Unverified {
    fn from(e: BearerError) -> Self {
        Unverified::Refused(e)
    }
}

/// Verified tokens, keyed by a SHA-256 of the token: a signature check per request would cost
/// more than the read it protects.
const CACHE_MAX: usize = 10_000;

struct CachedToken {
    token: Box<[u8]>,
    principal: Arc<Principal>,
    /// For tokens verified with fetched external keys: the key set's generation then.
    key_generation: Option<u64>,
}

pub struct TokenService {
    pub registry: ClientRegistry,
    key: GatewayKey,
    issuer: String,
    lifetime_secs: u64,
    external: Option<ExternalIssuer>,
    store: SharedSecurityStore,
    cache: Mutex<HashMap<[u8; 32], CachedToken>>,
}

fn digest(token: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Why a JWT was not accepted by [`verify`].
enum Unsigned {
    /// No candidate key verifies the signature.
    Signature,
    /// The signature verifies, but the claims miss a required one or have the wrong type.
    Claims(String),
}

/// Verifies the signature with the first matching key, then returns the claims.
fn verify<T: DeserializeOwned>(
    jwt: &str,
    alg: SigningAlg,
    keys: impl Iterator<Item = DecodingKey>,
) -> Result<T, Unsigned> {
    let mut validation = Validation::new(alg.jsonwebtoken());
    // Time, audience and issuer are checked by us, with precise errors.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    for key in keys {
        match jsonwebtoken::decode::<T>(jwt, &key, &validation) {
            Ok(data) => return Ok(data.claims),
            // the claims are read only once the signature has verified
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::Json(_)) => {
                return Err(Unsigned::Claims(claims_error(&e.to_string())));
            }
            Err(_) => {}
        }
    }
    Err(Unsigned::Signature)
}

/// serde's message without its position ("missing field `exp` at line 1 column 80").
fn claims_error(serde_message: &str) -> String {
    let cut = serde_message
        .find(" at line ")
        .unwrap_or(serde_message.len());
    format!("claims: {}", &serde_message[..cut])
}

fn bearer_error(e: Unsigned) -> Unverified {
    Unverified::Refused(match e {
        Unsigned::Signature => BearerError::Invalid("bad signature".into()),
        Unsigned::Claims(why) => BearerError::Invalid(why),
    })
}

fn jwt_error(e: JwtError) -> TokenError {
    TokenError::InvalidClient(format!("client_assertion: {e}"))
}

fn form_value<'a>(form: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, TokenError> {
    let mut values = form.iter().filter(|(k, _)| k == name);
    let first = values.next().map(|(_, v)| v.as_str());
    if values.next().is_some() {
        return Err(TokenError::InvalidRequest(format!("{name} is repeated")));
    }
    Ok(first)
}

impl TokenService {
    pub fn new(
        registry: ClientRegistry,
        key: GatewayKey,
        issuer: String,
        lifetime_secs: u64,
        external: Option<ExternalIssuer>,
        store: SharedSecurityStore,
    ) -> Self {
        Self {
            registry,
            key,
            issuer,
            lifetime_secs,
            external,
            store,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn public_jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.key.public_jwk] })
    }

    /// `POST /auth/token`: a form with grant_type, scope, client_assertion_type and
    /// client_assertion. `token_url` is what the assertion's `aud` must be.
    pub async fn exchange(
        &self,
        form: &[(String, String)],
        token_url: &str,
    ) -> Result<IssuedToken, TokenError> {
        match form_value(form, "grant_type")? {
            Some("client_credentials") => {}
            Some(other) => {
                return Err(TokenError::UnsupportedGrantType(format!(
                    "grant_type '{}' is not supported; use client_credentials",
                    other.chars().take(64).collect::<String>()
                )))
            }
            None => return Err(TokenError::InvalidRequest("grant_type is missing".into())),
        }
        if form_value(form, "client_assertion_type")? != Some(ASSERTION_TYPE) {
            return Err(TokenError::InvalidRequest(format!(
                "client_assertion_type must be {ASSERTION_TYPE}"
            )));
        }
        let assertion = form_value(form, "client_assertion")?
            .ok_or_else(|| TokenError::InvalidRequest("client_assertion is missing".into()))?;
        let requested = form_value(form, "scope")?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| TokenError::InvalidScope("scope is missing".into()))?;

        let header = read_header(assertion).map_err(jwt_error)?;
        let Issuer { iss } = peek_claims(assertion).map_err(jwt_error)?;
        let client = self
            .registry
            .get(&iss)
            .ok_or_else(|| TokenError::InvalidClient("unknown client".into()))?;
        let keys = client.keys.keys();
        let claims: AssertionClaims = verify(
            assertion,
            header.alg,
            candidates(&keys, &header).map(|k: &PublicKey| k.key.clone()),
        )
        .map_err(|e| match e {
            Unsigned::Signature => TokenError::InvalidClient(
                "client_assertion signature does not verify with the client's registered keys"
                    .into(),
            ),
            Unsigned::Claims(why) => TokenError::InvalidClient(format!("client_assertion: {why}")),
        })?;
        let now = now_millis() / 1000;
        client_assertion::check(&claims, &client.client_id, token_url, now)
            .map_err(|e| TokenError::InvalidClient(format!("client_assertion: {e}")))?;
        let fresh = self
            .store
            .claim_jti(
                &client.client_id,
                &claims.jti,
                (claims.exp + client_assertion::CLOCK_SKEW_SECS) * 1000,
                now * 1000,
            )
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "jti replay cache unavailable");
                TokenError::Unavailable("try again later".into())
            })?;
        if !fresh {
            return Err(TokenError::InvalidClient(
                "client_assertion: this jti has been used before (replay)".into(),
            ));
        }
        let granted = ScopeSet::grantable(requested, &client.allowed);
        if granted.is_empty() {
            return Err(TokenError::InvalidScope(
                "none of the requested scopes is allowed for this client".into(),
            ));
        }
        let scope = granted.join(" ");
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: client.client_id.clone(),
            aud: serde_json::Value::String(self.issuer.clone()),
            exp: now + self.lifetime_secs as i64,
            iat: Some(now),
            nbf: None,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: scope.clone(),
            client_id: Some(client.client_id.clone()),
        };
        let mut jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES384);
        jwt_header.kid = Some(self.key.kid.clone());
        jwt_header.typ = Some("at+jwt".into());
        let access_token = jsonwebtoken::encode(&jwt_header, &claims, &self.key.encoding)
            .map_err(|e| TokenError::Unavailable(format!("cannot sign the token: {e}")))?;
        Ok(IssuedToken {
            access_token,
            token_type: "Bearer",
            expires_in: self.lifetime_secs,
            scope,
            client_id: client.client_id.clone(),
        })
    }

    /// Checks a bearer token: ours, or the external issuer's. Async only for an external
    /// token whose `kid` is not cached: that may refetch the issuer's JWKS (rate-limited).
    pub async fn authenticate(&self, token: &str) -> Result<Arc<Principal>, BearerError> {
        let now = now_millis() / 1000;
        let key = digest(token);
        if let Ok(cache) = self.cache.lock() {
            if let Some(hit) = cache.get(&key) {
                // The digest found it; the token itself is compared in constant time.
                let same = bool::from(hit.token.as_ref().ct_eq(token.as_bytes()));
                let current = hit.key_generation.is_none()
                    || hit.key_generation == self.external_generation();
                if same && current {
                    return if hit.principal.expires_at > now {
                        Ok(Arc::clone(&hit.principal))
                    } else {
                        Err(BearerError::Expired)
                    };
                }
            }
        }
        let verified = match self.verify_access(token, now) {
            Err(Unverified::KeyNotCached(remote)) => {
                if remote.refetch_for_unknown_kid().await {
                    self.verify_access(token, now)
                } else {
                    Err(Unverified::Refused(BearerError::Invalid(
                        "the token's signing key is not known".into(),
                    )))
                }
            }
            other => other,
        };
        let (principal, key_generation) = match verified {
            Ok(v) => v,
            Err(Unverified::Refused(e)) => return Err(e),
            Err(Unverified::KeyNotCached(_)) => {
                return Err(BearerError::Invalid(
                    "the token's signing key is not known".into(),
                ))
            }
        };
        let principal = Arc::new(principal);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_MAX {
                cache.retain(|_, c| c.principal.expires_at > now);
                if cache.len() >= CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(
                key,
                CachedToken {
                    token: token.as_bytes().into(),
                    principal: Arc::clone(&principal),
                    key_generation,
                },
            );
        }
        Ok(principal)
    }

    fn external_generation(&self) -> Option<u64> {
        self.external.as_ref().and_then(|e| e.keys.generation())
    }

    /// The caller, with the external key set's generation when fetched keys verified it.
    fn verify_access(&self, token: &str, now: i64) -> Result<(Principal, Option<u64>), Unverified> {
        let invalid = |e: JwtError| BearerError::Invalid(e.to_string());
        let header = read_header(token).map_err(invalid)?;
        let Issuer { iss } = peek_claims(token).map_err(invalid)?;
        let (claims, audience, key_generation): (AccessClaims, &str, Option<u64>) =
            if iss == self.issuer {
                let ours = header.alg == SigningAlg::Es384
                    && header.kid.as_deref().is_none_or(|k| k == self.key.kid);
                if !ours {
                    return Err(BearerError::Invalid("bad signature".into()).into());
                }
                let claims = verify(
                    token,
                    header.alg,
                    std::iter::once(self.key.decoding.clone()),
                )
                .map_err(bearer_error)?;
                (claims, &self.issuer, None)
            } else if let Some(ext) = self.external.as_ref().filter(|e| e.issuer == iss) {
                if let ExternalKeys::Url(remote) = &ext.keys {
                    if remote.lacks(header.kid.as_deref()) {
                        return Err(Unverified::KeyNotCached(Arc::clone(remote)));
                    }
                }
                // read before the keys: a change in between only causes one more check
                let generation = ext.keys.generation();
                let keys = ext.keys.keys();
                let claims = verify(
                    token,
                    header.alg,
                    candidates(&keys, &header).map(|k| k.key.clone()),
                )
                .map_err(bearer_error)?;
                (claims, &ext.audience, generation)
            } else {
                return Err(BearerError::Invalid("unknown issuer".into()).into());
            };
        let aud_ok = match &claims.aud {
            serde_json::Value::String(a) => a == audience,
            serde_json::Value::Array(all) => all.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !audience.is_empty() && !aud_ok {
            return Err(BearerError::Invalid("wrong audience".into()).into());
        }
        let times = TokenTimes {
            exp: claims.exp,
            iat: claims.iat,
            nbf: claims.nbf,
        };
        let expires_at =
            token_window::accepted_until(times, now, self.lifetime_secs).map_err(|e| match e {
                WindowError::Expired => BearerError::Expired,
                other => BearerError::Invalid(other.to_string()),
            })?;
        let client_id = claims.client_id.unwrap_or(claims.sub);
        // Our own tokens name a registered client, whose restrictions apply.
        let own_referrals_only = iss == self.issuer
            && self
                .registry
                .get(&client_id)
                .is_some_and(|c| c.own_referrals_only);
        Ok((
            Principal {
                client_id,
                scopes: ScopeSet::parse_lenient(&claims.scope),
                expires_at,
                authenticated: true,
                own_referrals_only,
            },
            key_generation,
        ))
    }
}
