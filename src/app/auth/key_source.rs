//! A set of public keys from an inline JWKS or a JWKS file; a file is re-read when it changes,
//! so an operator rotates keys by replacing the file, without a restart.

use crate::domain::auth::jwks::{parse_jwks, JwksError, PublicKey};
use std::sync::RwLock;
use std::time::SystemTime;

pub struct KeySource {
    file: Option<String>,
    state: RwLock<(Option<SystemTime>, Vec<PublicKey>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeySourceError {
    #[error("cannot read JWKS file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("JWKS {origin}: {source}")]
    Jwks { origin: String, source: JwksError },
}

fn modified(path: &str) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load_file(path: &str) -> Result<Vec<PublicKey>, KeySourceError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeySourceError::Read {
        path: path.to_string(),
        source,
    })?;
    parse_jwks(&text).map_err(|source| KeySourceError::Jwks {
        origin: path.to_string(),
        source,
    })
}

impl KeySource {
    pub fn inline(jwks: &str, origin: &str) -> Result<Self, KeySourceError> {
        let keys = parse_jwks(jwks).map_err(|source| KeySourceError::Jwks {
            origin: origin.to_string(),
            source,
        })?;
        Ok(Self {
            file: None,
            state: RwLock::new((None, keys)),
        })
    }

    pub fn file(path: &str) -> Result<Self, KeySourceError> {
        let stamp = modified(path);
        let keys = load_file(path)?;
        Ok(Self {
            file: Some(path.to_string()),
            state: RwLock::new((stamp, keys)),
        })
    }

    /// The current keys; a changed file is read again (a broken new file keeps the old keys).
    pub fn keys(&self) -> Vec<PublicKey> {
        if let Some(path) = &self.file {
            let stamp = modified(path);
            let stale = self.state.read().map(|s| s.0 != stamp).unwrap_or(true);
            if stale {
                match load_file(path) {
                    Ok(keys) => {
                        if let Ok(mut s) = self.state.write() {
                            *s = (stamp, keys);
                        }
                        tracing::info!(file = %path, "JWKS reloaded");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "JWKS changed but cannot be used; keeping the previous keys")
                    }
                }
            }
        }
        self.state.read().map(|s| s.1.clone()).unwrap_or_default()
    }
}
