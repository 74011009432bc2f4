//! `[search]`: page sizes and include limits of FHIR search and history, and whether updates
//! must carry `If-Match`.

use super::ConfigError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// Entries per page when the client gives no `_count`.
    pub default_count: usize,
    /// The largest `_count` honoured; larger values are lowered to it.
    pub max_count: usize,
    /// Most `_include`/`_revinclude` resources added to one page.
    pub max_included: usize,
    /// Refuse `PUT` updates of existing resources that carry no `If-Match` (428).
    pub require_if_match: bool,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            default_count: 20,
            max_count: 1000,
            max_included: 1000,
            require_if_match: false,
        }
    }
}

impl SearchSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting: &str, message: String| ConfigError::Invalid {
            setting: setting.into(),
            message,
        };
        if !(1..=10_000).contains(&self.max_count) {
            return Err(invalid(
                "search.max_count",
                format!("{} is outside 1..=10000", self.max_count),
            ));
        }
        if !(1..=self.max_count).contains(&self.default_count) {
            return Err(invalid(
                "search.default_count",
                format!(
                    "{} is outside 1..=search.max_count ({})",
                    self.default_count, self.max_count
                ),
            ));
        }
        if !(0..=100_000).contains(&self.max_included) {
            return Err(invalid(
                "search.max_included",
                format!("{} is outside 0..=100000", self.max_included),
            ));
        }
        Ok(())
    }
}
