//! Who is calling, and what they may do.

use crate::domain::auth::scope::ScopeSet;

#[derive(Debug, Clone)]
pub struct Principal {
    pub client_id: String,
    pub scopes: ScopeSet,
    /// Seconds since the epoch.
    pub expires_at: i64,
    /// False only for `anonymous` (auth disabled).
    pub authenticated: bool,
    /// Task reads, searches and history show only the Tasks of referrals this client
    /// submitted (`own_referrals_only` in the client's registration).
    pub own_referrals_only: bool,
}

impl Principal {
    /// With auth disabled (loopback development), everyone may do everything.
    pub fn anonymous() -> Self {
        Self {
            client_id: "anonymous".into(),
            scopes: ScopeSet::everything(),
            expires_at: i64::MAX,
            authenticated: false,
            own_referrals_only: false,
        }
    }

    /// The client recorded as the submitter of the referrals it sends; none with auth off.
    pub fn submitter(&self) -> Option<&str> {
        self.authenticated.then_some(self.client_id.as_str())
    }

    /// The client whose Tasks alone this caller may see, when restricted.
    pub fn restricted_to(&self) -> Option<&str> {
        (self.authenticated && self.own_referrals_only).then_some(self.client_id.as_str())
    }
}
