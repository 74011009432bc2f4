use crate::app::delivery::admin::DeliveryAdmin;
use crate::app::intake::Intake;
use crate::app::reads::Reads;
use crate::app::search::Search;
use crate::app::validation::Validation;
use crate::config::Settings;
use actix_web::HttpRequest;
use bytes::Bytes;
use std::sync::Arc;

/// Shared by every worker.
#[derive(Clone)]
pub struct AppState {
    pub intake: Intake,
    pub reads: Reads,
    pub search: Search,
    pub validation: Validation,
    /// The delivery outbox's admin view (issue #5).
    pub deliveries: DeliveryAdmin,
    pub settings: Arc<Settings>,
    /// The CapabilityStatement, rendered once at start.
    pub capability: Bytes,
    /// Tokens, audit trail, rate limits.
    pub security: Arc<crate::app::auth::Security>,
    /// Where CPU-heavy request work runs, off the HTTP workers.
    pub compute: crate::app::compute_pool::ComputePool,
}

impl AppState {
    /// Intake for this request's caller, recorded as the submitter of its referrals; its
    /// writes commit the request's audit record with them.
    pub fn intake_for(&self, req: &HttpRequest) -> Intake {
        let caller = crate::http::auth::principal(req);
        self.intake
            .submitted_by(caller.submitter())
            .audited_as(crate::http::auth::write_audit(req))
    }

    /// The FHIR base URL as clients see it.
    pub fn base_url(&self, req: &HttpRequest) -> String {
        let configured = self.settings.server.public_base_url.trim_end_matches('/');
        if configured.is_empty() {
            let info = req.connection_info();
            // without any host header (HTTP/1.0) actix names a placeholder: use our address
            let named = ["host", "forwarded", "x-forwarded-host"]
                .iter()
                .any(|h| req.headers().contains_key(*h));
            let host = if named {
                info.host()
            } else {
                self.settings.server.listen.as_str()
            };
            format!("{}://{host}/fhir", info.scheme())
        } else {
            configured.to_string()
        }
    }
}
