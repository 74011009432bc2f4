//! The audit record a write commits with (issue #18, item 7): no committed write exists
//! without its audit record, even when the process is killed between the commit and the
//! response.
//!
//! A request's own AuditEvent is stored once its response is known (`app::auth::audit_trail`),
//! in the audit table. So that a crash between the two cannot leave a write unaudited, the
//! write carries an *intent* (`WriteOp::RecordAudit`): the request's record as known before its
//! response, which the store inserts in the write's own transaction, in the resource database
//! (on SQLite the main file: a transaction across the attached audit file is not atomic in
//! WAL mode), naming every version the transaction stored. Intents are settled later
//! (`SecurityStore::audit_intents` / `settle_audit_intents`): dropped once the request's own
//! record is stored, or turned into that record when it never was.

use super::security::AuditRow;
use super::WriteOutcome;

/// What a write transaction records of its request, before the request's response exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditIntent {
    /// The request's AuditEvent id: its own record, stored later, has the same.
    pub id: String,
    pub recorded_ms: i64,
    pub client_id: String,
    pub subtype: String,
    pub entity_type: Option<String>,
    /// The AuditEvent as known before the response, without the versions written.
    pub template: String,
}

/// A stored intent, as settlement reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIntent {
    /// Its row, for deleting it once settled.
    pub seq: i64,
    pub intent: AuditIntent,
    /// `Type/id/_history/version` of every version its transaction stored.
    pub written: Vec<String>,
    /// The request's own record is stored: the intent is no longer needed.
    pub settled: bool,
}

impl StoredIntent {
    /// The stored `written` column: one reference a line.
    pub fn written_from_column(column: &str) -> Vec<String> {
        column.lines().map(str::to_string).collect()
    }
}

/// The versions one transaction stored, in the order of its operations.
#[derive(Debug, Default)]
pub struct WrittenVersions(Vec<String>);

impl WrittenVersions {
    /// Notes the version an operation on `resource_type/id` stored, if it stored one.
    pub fn note(&mut self, resource_type: &str, id: &str, outcome: &WriteOutcome) {
        let version = match outcome {
            WriteOutcome::Created(s) | WriteOutcome::Updated(s) => s.version_id,
            WriteOutcome::Deleted {
                version_id: Some(v),
            } => *v,
            WriteOutcome::Deleted { version_id: None }
            | WriteOutcome::Matched(_)
            | WriteOutcome::DeliveryEnqueued { .. }
            | WriteOutcome::Audited { .. } => return,
        };
        self.0
            .push(format!("{resource_type}/{id}/_history/{version}"));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `written` column.
    pub fn column(&self) -> String {
        self.0.join("\n")
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

/// What settlement stores for intents whose request left no record of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// Records made from intents; stored unless a record with the same id already is.
    pub records: Vec<AuditRow>,
    /// Intents to delete, once `records` are durably stored.
    pub intents: Vec<i64>,
}
