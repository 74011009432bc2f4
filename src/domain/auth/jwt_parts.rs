//! Reading a compact JWT's header and claims *before* any signature check, with hard bounds.
//!
//! The algorithm is decided here, from the header we parse ourselves, and never taken on trust
//! by a library: `alg: none` and every HMAC algorithm are refused for good.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A client assertion or access token longer than this is refused unread.
pub const MAX_JWT_BYTES: usize = 8 * 1024;

/// The only signature algorithms we accept (SMART Backend Services: RS384 and ES384).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlg {
    Rs384,
    Es384,
}

impl SigningAlg {
    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::Rs384 => "RS384",
            SigningAlg::Es384 => "ES384",
        }
    }

    pub fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlg::Rs384 => jsonwebtoken::Algorithm::RS384,
            SigningAlg::Es384 => jsonwebtoken::Algorithm::ES384,
        }
    }

    /// The JWK `kty` a key for this algorithm has.
    pub fn key_type(self) -> &'static str {
        match self {
            SigningAlg::Rs384 => "RSA",
            SigningAlg::Es384 => "EC",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the JWT is longer than {MAX_JWT_BYTES} bytes")]
    TooLong,
    #[error("the JWT is not three base64url parts separated by dots")]
    Malformed,
    #[error("the JWT header is not a JSON object")]
    BadHeader,
    #[error("alg '{0}' is not accepted: use RS384 or ES384")]
    AlgorithmRejected(String),
    #[error("the JWT claims are not a JSON object of the expected shape: {0}")]
    BadClaims(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtHeader {
    pub alg: SigningAlg,
    pub kid: Option<String>,
}

fn parts(jwt: &str) -> Result<[&str; 3], JwtError> {
    if jwt.len() > MAX_JWT_BYTES {
        return Err(JwtError::TooLong);
    }
    let mut it = jwt.split('.');
    let (Some(h), Some(c), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(JwtError::Malformed);
    };
    let b64 = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !(b64(h) && b64(c) && b64(s)) {
        return Err(JwtError::Malformed);
    }
    Ok([h, c, s])
}

fn decode_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    // The JWT is at most 8 KiB, so serde_json's own recursion limit bounds the work.
    serde_json::from_slice::<Value>(&bytes).ok()
}

/// The header: alg RS384 or ES384 (anything else, `none` and HS* included, is refused) and kid.
pub fn read_header(jwt: &str) -> Result<JwtHeader, JwtError> {
    let [h, _, _] = parts(jwt)?;
    let header = decode_json(h).ok_or(JwtError::BadHeader)?;
    let obj = header.as_object().ok_or(JwtError::BadHeader)?;
    let alg = match obj.get("alg").and_then(Value::as_str) {
        Some("RS384") => SigningAlg::Rs384,
        Some("ES384") => SigningAlg::Es384,
        Some(other) => {
            return Err(JwtError::AlgorithmRejected(
                other.chars().take(32).collect(),
            ))
        }
        None => return Err(JwtError::AlgorithmRejected("(missing)".into())),
    };
    // `crit` would oblige us to understand extensions we do not know.
    if obj.contains_key("crit") {
        return Err(JwtError::BadHeader);
    }
    let kid = match obj.get("kid") {
        None => None,
        Some(Value::String(k)) if k.len() <= 256 => Some(k.clone()),
        Some(_) => return Err(JwtError::BadHeader),
    };
    Ok(JwtHeader { alg, kid })
}

/// The claims, unverified: only to find out who claims to have signed.
pub fn peek_claims<T: DeserializeOwned>(jwt: &str) -> Result<T, JwtError> {
    let [_, c, _] = parts(jwt)?;
    let claims = decode_json(c).ok_or_else(|| JwtError::BadClaims("not JSON".into()))?;
    serde_json::from_value(claims).map_err(|e| JwtError::BadClaims(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn none_and_hmac_are_refused() {
        for alg in ["none", "HS256", "HS384", "HS512", "RS256", "ES256", "PS384"] {
            let err = read_header(&jwt(&format!(r#"{{"alg":"{alg}"}}"#), "{}")).unwrap_err();
            assert_eq!(err, JwtError::AlgorithmRejected(alg.into()));
        }
        // alg:none tokens usually have an empty signature part
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert!(read_header(&unsigned).is_err());
    }

    #[test]
    fn rs384_and_es384_pass() {
        let h = read_header(&jwt(r#"{"alg":"ES384","kid":"k1","typ":"JWT"}"#, "{}")).unwrap();
        assert_eq!(h.alg, SigningAlg::Es384);
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert_eq!(
            read_header(&jwt(r#"{"alg":"RS384"}"#, "{}")).unwrap().alg,
            SigningAlg::Rs384
        );
    }

    #[test]
    fn shapes_are_checked() {
        assert_eq!(read_header("a.b"), Err(JwtError::Malformed));
        assert_eq!(read_header("a.b.c.d"), Err(JwtError::Malformed));
        assert_eq!(read_header("a+.b.c"), Err(JwtError::Malformed));
        assert_eq!(read_header("YQ.b.c"), Err(JwtError::BadHeader));
        assert_eq!(
            read_header(&"a".repeat(MAX_JWT_BYTES + 1)),
            Err(JwtError::TooLong)
        );
    }
}
