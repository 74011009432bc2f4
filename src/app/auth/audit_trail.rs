//! The audit trail: every request becomes an AuditEvent, written before the response leaves.

use crate::domain::auth::audit_event::AuditRecord;
use crate::store::security::{AuditFilter, AuditRow, SharedSecurityStore};
use crate::store::StoreError;

#[derive(Clone)]
pub struct AuditTrail {
    store: SharedSecurityStore,
}

impl AuditTrail {
    pub fn new(store: SharedSecurityStore) -> Self {
        Self { store }
    }

    /// Stores the record durably; an error means it is not stored and the request must fail.
    pub async fn record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let row = AuditRow {
            id: record.id.clone(),
            recorded_ms: record.recorded_ms,
            client_id: record.client_id.clone(),
            subtype: record.subtype.clone(),
            outcome: record.outcome().to_string(),
            entity_type: record.entity_type().map(str::to_string),
            body: record.to_fhir().to_string(),
            // A record of a change is as durable as the change; a read's may skip the fsync.
            fsync: record.action != "R",
        };
        self.store.append_audit(vec![row]).await
    }

    pub async fn read(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.store.audit_event(id).await
    }

    pub async fn search(&self, filter: &AuditFilter) -> Result<Vec<String>, StoreError> {
        self.store.audit_events(filter).await
    }
}
