//! One typed configuration: defaults, then an optional TOML file, then `HBPC_*` environment
//! overrides, validated at start.

mod delivery;
mod env_overrides;
mod metrics;
mod search;
mod security;
mod settings;
mod workflow_settings;

pub use delivery::{
    AuthKind, DeliveryMode, DeliverySettings, UpstreamAuthSettings, UpstreamSettings,
};
pub use metrics::MetricsSettings;
pub use search::{SearchSettings, UnknownParameters};
pub use security::{validate_clients, AuditReads, AuthSettings, ClientSettings, SecuritySettings};
pub use settings::{
    DatabaseSettings, LimitSettings, LogFormat, LogSettings, ServerSettings, Settings,
    ValidationSettings,
};
pub use workflow_settings::{CarePlanSettings, EligibilitySettings, ProgramSettings};

use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("setting `{setting}`: {message}")]
    Invalid { setting: String, message: String },
}

/// Loads settings from an optional file and the given environment (`HBPC_*` variables).
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let mut table = toml::Table::try_from(Settings::default()).map_err(|e| ConfigError::Parse {
        path: "(defaults)".into(),
        message: e.to_string(),
    })?;
    let source = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let overlay: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::Parse {
                        path: path.display().to_string(),
                        message: e.message().to_string(),
                    })?;
            merge(&mut table, overlay);
            path.display().to_string()
        }
        None => "(defaults and environment)".to_string(),
    };
    env_overrides::apply(&mut table, env)?;
    let settings: Settings = table
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: source,
            message: e.message().to_string(),
        })?;
    settings.validate()?;
    Ok(settings)
}

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn defaults_are_valid() {
        let s = load(None, []).unwrap();
        assert_eq!(s.server.listen, "127.0.0.1:8080");
        assert_eq!(s.database.url, "sqlite://./data/hbpc.sqlite");
        assert_eq!(s.limits.max_body_bytes, 4 * 1024 * 1024);
    }

    #[test]
    fn file_then_env() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "[server]\nlisten = \"127.0.0.1:9000\"\n[limits]\nmax_json_depth = 40"
        )
        .unwrap();
        let env = [("HBPC_LIMITS_MAX_JSON_DEPTH".to_string(), "50".to_string())];
        let s = load(Some(f.path()), env).unwrap();
        assert_eq!(s.server.listen, "127.0.0.1:9000");
        assert_eq!(s.limits.max_json_depth, 50);
    }

    #[test]
    fn unknown_file_key_is_named() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "[server]\nlisen = \"x\"").unwrap();
        let err = load(Some(f.path()), []).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let env = [("HBPC_SERVER_LISTEN".to_string(), "nowhere".to_string())];
        let err = load(None, env).unwrap_err().to_string();
        assert!(err.contains("server.listen"), "{err}");
        let env = [("HBPC_LIMITS_MAX_BODY_BYTES".to_string(), "lots".to_string())];
        let err = load(None, env).unwrap_err().to_string();
        assert!(err.contains("HBPC_LIMITS_MAX_BODY_BYTES"), "{err}");
        let env = [("HBPC_NOPE".to_string(), "1".to_string())];
        assert!(load(None, env).is_err());
    }
}
