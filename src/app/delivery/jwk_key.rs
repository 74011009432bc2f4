//! Private JWKs as the DER that `jsonwebtoken` (ring) signs with: RSA → PKCS#1
//! `RSAPrivateKey`, EC P-384 → PKCS#8 wrapping an RFC 5915 `ECPrivateKey` with its public key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

/// The DER and the JWK's `kid`, if any.
pub struct JwkDer {
    pub der: Vec<u8>,
    pub kid: Option<String>,
}

/// The first private key of a JWK or JWKS document, of the family `algorithm` needs
/// (and with `kid == want_kid` when one is wanted).
pub fn private_key_der(text: &str, algorithm: &str, want_kid: &str) -> Result<JwkDer, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let keys: Vec<&Value> = match doc.get("keys").and_then(Value::as_array) {
        Some(keys) => keys.iter().collect(),
        None => vec![&doc],
    };
    let kty = if algorithm == "ES384" { "EC" } else { "RSA" };
    let key = keys
        .into_iter()
        .find(|k| {
            k.get("kty").and_then(Value::as_str) == Some(kty)
                && k.get("d").is_some()
                && (want_kid.is_empty() || k.get("kid").and_then(Value::as_str) == Some(want_kid))
        })
        .ok_or_else(|| format!("no private {kty} key for {algorithm} in the JWK file"))?;
    let der = if kty == "EC" {
        ec_p384(key)?
    } else {
        rsa(key)?
    };
    Ok(JwkDer {
        der,
        kid: key.get("kid").and_then(Value::as_str).map(str::to_string),
    })
}

fn member(key: &Value, name: &str) -> Result<Vec<u8>, String> {
    let text = key
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the JWK has no '{name}'"))?;
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| format!("the JWK's '{name}' is not base64url"))
}

fn length(len: usize) -> Vec<u8> {
    match len {
        0..=127 => vec![len as u8],
        128..=255 => vec![0x81, len as u8],
        256..=65535 => vec![0x82, (len >> 8) as u8, len as u8],
        _ => vec![0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8],
    }
}

fn tagged(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(length(content.len()));
    out.extend_from_slice(content);
    out
}

/// A non-negative DER INTEGER from big-endian magnitude bytes.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => &[0],
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tagged(0x02, &content)
}

fn rsa(key: &Value) -> Result<Vec<u8>, String> {
    let mut content = integer(&[0]);
    for name in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        content.extend(integer(&member(key, name)?));
    }
    Ok(tagged(0x30, &content))
}

fn ec_p384(key: &Value) -> Result<Vec<u8>, String> {
    if key.get("crv").and_then(Value::as_str) != Some("P-384") {
        return Err("ES384 needs a P-384 key (crv)".into());
    }
    let fixed = |name: &str| -> Result<Vec<u8>, String> {
        let v = member(key, name)?;
        if v.len() > 48 {
            return Err(format!("the JWK's '{name}' is longer than 48 bytes"));
        }
        let mut padded = vec![0u8; 48 - v.len()];
        padded.extend(v);
        Ok(padded)
    };
    let (d, x, y) = (fixed("d")?, fixed("x")?, fixed("y")?);
    let mut point = vec![0x00, 0x04];
    point.extend(x);
    point.extend(y);
    let mut ec_private = integer(&[1]);
    ec_private.extend(tagged(0x04, &d));
    ec_private.extend(tagged(0xA1, &tagged(0x03, &point)));
    // ecPublicKey (1.2.840.10045.2.1) on secp384r1 (1.3.132.0.34)
    let algorithm: &[u8] = &[
        0x30, 0x10, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x05, 0x2B, 0x81,
        0x04, 0x00, 0x22,
    ];
    let mut pkcs8 = integer(&[0]);
    pkcs8.extend_from_slice(algorithm);
    pkcs8.extend(tagged(0x04, &tagged(0x30, &ec_private)));
    Ok(tagged(0x30, &pkcs8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_non_negative() {
        assert_eq!(integer(&[0, 0, 5]), [0x02, 0x01, 0x05]);
        assert_eq!(integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(&[]), [0x02, 0x01, 0x00]);
        assert_eq!(length(300), [0x82, 0x01, 0x2C]);
    }

    #[test]
    fn wrong_family_is_named() {
        let e = private_key_der(r#"{"kty":"RSA","n":"AQ","e":"AQAB"}"#, "RS384", "")
            .err()
            .unwrap();
        assert!(e.contains("no private RSA key"), "{e}");
    }
}
