//! `[search]`: page sizes and include limits of FHIR search and history, what an unknown
//! search parameter gets, whether updates must carry `If-Match`, and which parameters are
//! indexed.

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
    /// What a search parameter we do not support gets when the request has no
    /// `Prefer: handling=`: `refuse` (400, as HAPI does; an ignored criterion would widen the
    /// result) or `ignore` (left out of the `self` link, which shows what was applied).
    pub unknown_parameters: UnknownParameters,
    /// The search parameters indexed, and so advertised and searchable: `Type.code`,
    /// `*.code` (every stored type that has it), `Type.*`, or `*` (every R4 parameter the
    /// server can index). `_id` and `_lastUpdated` always are (without index rows). Each other
    /// one costs index rows on every write of its type; a changed set rebuilds the index at
    /// the next start.
    pub indexed_parameters: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownParameters {
    Refuse,
    Ignore,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            default_count: 20,
            max_count: 1000,
            max_included: 1000,
            require_if_match: false,
            unknown_parameters: UnknownParameters::Refuse,
            indexed_parameters: crate::domain::guide::indexed_parameters::DEFAULT
                .iter()
                .map(|s| s.to_string())
                .collect(),
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
        crate::domain::guide::indexed_parameters::select(&self.indexed_parameters)
            .map_err(|message| invalid("search.indexed_parameters", message))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load;

    #[test]
    fn indexed_parameters_are_checked_and_overridden_from_the_environment() {
        let env = [(
            "HBPC_SEARCH_INDEXED_PARAMETERS".to_string(),
            "Patient.identifier, Task.*".to_string(),
        )];
        let s = load(None, env).expect("valid");
        assert_eq!(
            s.search.indexed_parameters,
            ["Patient.identifier", "Task.*"]
        );
        let env = [(
            "HBPC_SEARCH_INDEXED_PARAMETERS".to_string(),
            "Patient.identifer".to_string(),
        )];
        let err = load(None, env).expect_err("misspelt").to_string();
        assert!(err.contains("search.indexed_parameters"), "{err}");
        assert!(err.contains("Patient.identifer"), "{err}");
    }
}
