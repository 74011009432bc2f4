//! Public keys from a JWKS document: RSA (RS384) and EC P-384 (ES384) only.
//! Symmetric (`oct`) keys are never loaded, so an HMAC key can never verify anything.

use super::jwt_parts::{JwtHeader, SigningAlg};
use jsonwebtoken::DecodingKey;
use serde_json::Value;

#[derive(Clone)]
pub struct PublicKey {
    pub kid: Option<String>,
    pub alg: SigningAlg,
    pub key: DecodingKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({:?}, {})", self.kid, self.alg.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("not a JWKS document (a JSON object with a `keys` array): {0}")]
    NotJwks(String),
    #[error("key {index}: {message}")]
    BadKey { index: usize, message: String },
    #[error("no RSA or EC P-384 signing key in the JWKS")]
    NoUsableKey,
}

fn text<'a>(key: &'a Value, name: &str, index: usize) -> Result<&'a str, JwksError> {
    key.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| JwksError::BadKey {
            index,
            message: format!("`{name}` is missing"),
        })
}

/// Parses a JWKS; keys for other uses (`use` ≠ `sig`) or other algorithms are skipped.
pub fn parse_jwks(json: &str) -> Result<Vec<PublicKey>, JwksError> {
    let doc: Value = serde_json::from_str(json).map_err(|e| JwksError::NotJwks(e.to_string()))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| JwksError::NotJwks("no `keys` array".into()))?;
    let mut out = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        if key
            .get("use")
            .and_then(Value::as_str)
            .is_some_and(|u| u != "sig")
        {
            continue;
        }
        let declared = key.get("alg").and_then(Value::as_str);
        let kid = key.get("kid").and_then(Value::as_str).map(str::to_string);
        let bad = |e: jsonwebtoken::errors::Error| JwksError::BadKey {
            index,
            message: e.to_string(),
        };
        let parsed = match key.get("kty").and_then(Value::as_str) {
            Some("RSA") if declared.is_none_or(|a| a == "RS384") => Some((
                SigningAlg::Rs384,
                DecodingKey::from_rsa_components(text(key, "n", index)?, text(key, "e", index)?)
                    .map_err(bad)?,
            )),
            Some("EC")
                if declared.is_none_or(|a| a == "ES384")
                    && key.get("crv").and_then(Value::as_str) == Some("P-384") =>
            {
                Some((
                    SigningAlg::Es384,
                    DecodingKey::from_ec_components(text(key, "x", index)?, text(key, "y", index)?)
                        .map_err(bad)?,
                ))
            }
            _ => None,
        };
        if let Some((alg, key)) = parsed {
            out.push(PublicKey { kid, alg, key });
        }
    }
    if out.is_empty() {
        return Err(JwksError::NoUsableKey);
    }
    Ok(out)
}

/// The keys that may have signed a JWT with this header: same algorithm, and the same
/// `kid` when the header names one.
pub fn candidates<'a>(
    keys: &'a [PublicKey],
    header: &'a JwtHeader,
) -> impl Iterator<Item = &'a PublicKey> + 'a {
    keys.iter().filter(move |k| {
        k.alg == header.alg
            && match (&header.kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                (Some(_), None) | (None, _) => true,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oct_keys_are_never_loaded() {
        let err = parse_jwks(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).unwrap_err();
        assert_eq!(err, JwksError::NoUsableKey);
        assert!(matches!(parse_jwks("[]"), Err(JwksError::NotJwks(_))));
    }

    #[test]
    fn test_keys_load() {
        for (file, alg) in [
            ("rsa2048-client.jwks.json", SigningAlg::Rs384),
            ("ec384-client.jwks.json", SigningAlg::Es384),
        ] {
            let path = format!("{}/tests/keys/{file}", env!("CARGO_MANIFEST_DIR"));
            let keys = parse_jwks(&std::fs::read_to_string(path).unwrap()).unwrap();
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0].alg, alg);
        }
    }
}
