//! The gateway's own signing key (EC P-384, ES384): it signs the access tokens we issue.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Format(String),
}

pub struct GatewayKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// The public half as a JWK, published at `/auth/jwks`.
    pub public_jwk: Value,
}

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// A new EC P-384 private key as PKCS#8 PEM.
pub fn generate_pem() -> Result<String, KeyError> {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|_| KeyError::Format("the system random generator failed".into()))?;
    let b64 = STANDARD.encode(doc.as_ref());
    let mut pem = String::from(PEM_BEGIN);
    pem.push('\n');
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(PEM_END);
    pem.push('\n');
    Ok(pem)
}

/// The DER inside a PKCS#8 PEM.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, KeyError> {
    if pem.contains("BEGIN EC PRIVATE KEY") {
        return Err(KeyError::Format(
            "this is a SEC1 EC key: convert it with `openssl pkcs8 -topk8 -nocrypt`".into(),
        ));
    }
    let start = pem
        .find(PEM_BEGIN)
        .ok_or_else(|| KeyError::Format(format!("no `{PEM_BEGIN}` block")))?;
    let body = &pem[start + PEM_BEGIN.len()..];
    let end = body
        .find(PEM_END)
        .ok_or_else(|| KeyError::Format(format!("no `{PEM_END}` line")))?;
    let b64: String = body[..end].split_whitespace().collect();
    STANDARD
        .decode(b64)
        .map_err(|e| KeyError::Format(format!("the PEM body is not base64: {e}")))
}

impl GatewayKey {
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let der = pem_to_der(pem)?;
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &der, &SystemRandom::new())
                .map_err(|e| KeyError::Format(format!("not a PKCS#8 EC P-384 private key: {e}")))?;
        // uncompressed point: 0x04 || x (48 bytes) || y (48 bytes)
        let point = pair.public_key().as_ref();
        if point.len() != 97 {
            return Err(KeyError::Format(
                "unexpected P-384 public key length".into(),
            ));
        }
        let x = URL_SAFE_NO_PAD.encode(&point[1..49]);
        let y = URL_SAFE_NO_PAD.encode(&point[49..]);
        let digest = ring::digest::digest(&ring::digest::SHA256, point);
        let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12]);
        let decoding =
            DecodingKey::from_ec_components(&x, &y).map_err(|e| KeyError::Format(e.to_string()))?;
        Ok(Self {
            encoding: EncodingKey::from_ec_der(&der),
            decoding,
            public_jwk: json!({"kty": "EC", "crv": "P-384", "use": "sig", "alg": "ES384",
                               "kid": kid, "x": x, "y": y}),
            kid,
        })
    }

    pub fn from_file(path: &str) -> Result<Self, KeyError> {
        let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_string(),
            source,
        })?;
        Self::from_pem(&pem)
    }

    /// A key that lives as long as the process.
    pub fn ephemeral() -> Result<Self, KeyError> {
        Self::from_pem(&generate_pem()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_load_and_openssl_keys_too() {
        let key = GatewayKey::ephemeral().unwrap();
        assert_eq!(key.public_jwk["crv"], "P-384");
        let pem = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/keys/ec384-client.pem"
        ))
        .unwrap();
        let key = GatewayKey::from_pem(&pem).unwrap();
        let jwks: Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/keys/ec384-client.jwks.json"
            ))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(key.public_jwk["x"], jwks["keys"][0]["x"]);
        assert!(GatewayKey::from_pem("-----BEGIN EC PRIVATE KEY-----").is_err());
    }
}
