//! Who is calling, and what they may do.

use crate::domain::auth::scope::ScopeSet;

#[derive(Debug, Clone)]
pub struct Principal {
    pub client_id: String,
    pub scopes: ScopeSet,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

impl Principal {
    /// With auth disabled (loopback development), everyone may do everything.
    pub fn anonymous() -> Self {
        Self {
            client_id: "anonymous".into(),
            scopes: ScopeSet::everything(),
            expires_at: i64::MAX,
        }
    }
}
