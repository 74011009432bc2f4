//! `[metrics]`: the Prometheus endpoint (`GET /metrics`), on the main listener or its own.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Serve `GET /metrics` (Prometheus text format; counts and timings only, never PHI).
    pub enabled: bool,
    /// Its own `address:port` (for example an address only the scraper reaches); empty
    /// serves it on `server.listen`.
    pub listen: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: String::new(),
        }
    }
}

impl MetricsSettings {
    /// The address of a listener of its own, if one is configured.
    pub fn own_listener(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.listen.is_empty() {
            return Ok(None);
        }
        self.listen
            .parse()
            .map(Some)
            .map_err(|_| ConfigError::Invalid {
                setting: "metrics.listen".into(),
                message: format!(
                    "'{}' is not an address:port such as 127.0.0.1:9090",
                    self.listen
                ),
            })
    }

    pub fn validate(&self, server_listen: &str) -> Result<(), ConfigError> {
        if let Some(addr) = self.own_listener()? {
            if server_listen.parse::<SocketAddr>().ok() == Some(addr) {
                return Err(ConfigError::Invalid {
                    setting: "metrics.listen".into(),
                    message: "is server.listen; leave it empty to serve /metrics there".into(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::load;

    #[test]
    fn on_by_default_on_the_main_listener() {
        let s = load(None, []).unwrap();
        assert!(s.metrics.enabled);
        assert_eq!(s.metrics.own_listener().unwrap(), None);
    }

    #[test]
    fn env_overrides_and_bad_addresses_are_named() {
        let env = [
            ("HBPC_METRICS_ENABLED".to_string(), "false".to_string()),
            (
                "HBPC_METRICS_LISTEN".to_string(),
                "127.0.0.1:9464".to_string(),
            ),
        ];
        let s = load(None, env).unwrap();
        assert!(!s.metrics.enabled);
        assert_eq!(
            s.metrics.own_listener().unwrap(),
            Some("127.0.0.1:9464".parse().unwrap())
        );
        let env = [("HBPC_METRICS_LISTEN".to_string(), "nowhere".to_string())];
        let err = load(None, env).unwrap_err().to_string();
        assert!(err.contains("metrics.listen"), "{err}");
        let env = [(
            "HBPC_METRICS_LISTEN".to_string(),
            "127.0.0.1:8080".to_string(),
        )];
        let err = load(None, env).unwrap_err().to_string();
        assert!(err.contains("metrics.listen"), "{err}");
    }
}
