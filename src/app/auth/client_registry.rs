//! Registered Backend Services clients: id, the scopes they may get and their public keys.

use super::key_source::{KeySource, KeySourceError};
use crate::config::{validate_clients, AuthSettings, ClientSettings, ConfigError};
use crate::domain::auth::scope::{Grant, ScopeSet};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub struct RegisteredClient {
    pub client_id: String,
    pub allowed: ScopeSet,
    pub keys: KeySource,
    /// Sees only the Tasks of referrals it submitted.
    pub own_referrals_only: bool,
}

#[derive(Default)]
pub struct ClientRegistry {
    clients: HashMap<String, RegisteredClient>,
}

/// The `auth.clients_file` format: `[[clients]]` tables, as in the main config.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientsFile {
    #[serde(default)]
    pub clients: Vec<ClientSettings>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read clients file {path}: {message}")]
    File { path: String, message: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("client `{client}`: {source}")]
    Keys {
        client: String,
        source: KeySourceError,
    },
}

pub fn read_clients_file(path: &str) -> Result<ClientsFile, RegistryError> {
    let text = std::fs::read_to_string(path).map_err(|e| RegistryError::File {
        path: path.into(),
        message: e.to_string(),
    })?;
    let file: ClientsFile = toml::from_str(&text).map_err(|e| RegistryError::File {
        path: path.into(),
        message: e.message().to_string(),
    })?;
    validate_clients(&format!("clients file {path}:"), &file.clients)?;
    Ok(file)
}

impl ClientRegistry {
    /// The clients of the config plus those of `auth.clients_file`; an id may appear once.
    pub fn load(settings: &AuthSettings) -> Result<Self, RegistryError> {
        let mut all = settings.clients.clone();
        if !settings.clients_file.is_empty() {
            all.extend(read_clients_file(&settings.clients_file)?.clients);
        }
        validate_clients("auth.clients", &all)?;
        let mut clients = HashMap::new();
        for c in all {
            let keys = if c.jwks_file.is_empty() {
                KeySource::inline(&c.jwks, &format!("of client {}", c.client_id))
            } else {
                KeySource::file(&c.jwks_file)
            }
            .map_err(|source| RegistryError::Keys {
                client: c.client_id.clone(),
                source,
            })?;
            // validate_clients has parsed every scope already
            let grants = c
                .scopes
                .iter()
                .filter_map(|s| Grant::parse(s).ok())
                .collect();
            clients.insert(
                c.client_id.clone(),
                RegisteredClient {
                    client_id: c.client_id,
                    allowed: ScopeSet::from_grants(grants),
                    keys,
                    own_referrals_only: c.own_referrals_only,
                },
            );
        }
        Ok(Self { clients })
    }

    pub fn get(&self, client_id: &str) -> Option<&RegisteredClient> {
        self.clients.get(client_id)
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}
