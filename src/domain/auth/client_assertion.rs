//! The rules of a SMART Backend Services client assertion (`private_key_jwt`), once its
//! signature has been verified: who, for whom, until when, and a unique `jti`.

use serde::Deserialize;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// SMART: `exp` no more than five minutes in the future.
pub const MAX_LIFETIME_SECS: i64 = 300;

/// Clock skew we forgive between the client and us.
pub const CLOCK_SKEW_SECS: i64 = 5;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, url: &str) -> bool {
        match self {
            Audience::One(a) => a == url,
            Audience::Many(all) => all.iter().any(|a| a == url),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub jti: String,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
}

/// Only the issuer, to find the client whose keys verify the signature.
#[derive(Debug, Clone, Deserialize)]
pub struct Issuer {
    pub iss: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("iss and sub must both be the client_id")]
    IssuerMismatch,
    #[error("aud must be this server's token URL {0}")]
    WrongAudience(String),
    #[error("the assertion has expired")]
    Expired,
    #[error("exp is more than {MAX_LIFETIME_SECS} seconds in the future")]
    TooLongLived,
    #[error("the assertion is not valid yet (nbf/iat in the future)")]
    NotYetValid,
    #[error("jti must be 1-256 characters")]
    BadJti,
}

/// Checks the verified claims against the registered client and our token URL at `now` (seconds).
pub fn check(
    claims: &AssertionClaims,
    client_id: &str,
    token_url: &str,
    now: i64,
) -> Result<(), AssertionError> {
    if claims.iss != client_id || claims.sub != client_id {
        return Err(AssertionError::IssuerMismatch);
    }
    if !claims.aud.contains(token_url) {
        return Err(AssertionError::WrongAudience(token_url.to_string()));
    }
    if claims.exp <= now - CLOCK_SKEW_SECS {
        return Err(AssertionError::Expired);
    }
    if claims.exp > now + MAX_LIFETIME_SECS + CLOCK_SKEW_SECS {
        return Err(AssertionError::TooLongLived);
    }
    let future = |t: Option<i64>| t.is_some_and(|t| t > now + CLOCK_SKEW_SECS);
    if future(claims.nbf) || future(claims.iat) {
        return Err(AssertionError::NotYetValid);
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(AssertionError::BadJti);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://gw.example.org/auth/token";

    fn claims(exp: i64) -> AssertionClaims {
        AssertionClaims {
            iss: "ehr".into(),
            sub: "ehr".into(),
            aud: Audience::One(URL.into()),
            exp,
            jti: "j1".into(),
            nbf: None,
            iat: Some(1000),
        }
    }

    #[test]
    fn rules() {
        assert_eq!(check(&claims(1100), "ehr", URL, 1000), Ok(()));
        assert_eq!(
            check(&claims(1100), "hie", URL, 1000),
            Err(AssertionError::IssuerMismatch)
        );
        assert!(matches!(
            check(&claims(1100), "ehr", "https://other/auth/token", 1000),
            Err(AssertionError::WrongAudience(_))
        ));
        assert_eq!(
            check(&claims(990), "ehr", URL, 1000),
            Err(AssertionError::Expired)
        );
        assert_eq!(
            check(&claims(1400), "ehr", URL, 1000),
            Err(AssertionError::TooLongLived)
        );
        let mut c = claims(1100);
        c.sub = "other".into();
        assert_eq!(
            check(&c, "ehr", URL, 1000),
            Err(AssertionError::IssuerMismatch)
        );
        let mut c = claims(1100);
        c.aud = Audience::Many(vec!["x".into(), URL.into()]);
        assert_eq!(check(&c, "ehr", URL, 1000), Ok(()));
        c.jti = String::new();
        assert_eq!(check(&c, "ehr", URL, 1000), Err(AssertionError::BadJti));
        c.jti = "j".into();
        c.nbf = Some(2000);
        assert_eq!(
            check(&c, "ehr", URL, 1000),
            Err(AssertionError::NotYetValid)
        );
    }
}
