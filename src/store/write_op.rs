use super::delivery_request::DeliveryRequest;
use super::write_audit::AuditIntent;
use super::StoredResource;
use fhir_engine::model::identifier::IdentifierToken;
use serde_json::Value;

/// A write, with ids already assigned by the caller.
#[derive(Debug, Clone)]
pub enum WriteOp {
    Create {
        resource_type: String,
        id: String,
        resource: Value,
        /// `If-None-Exist: identifier=…`: reuse the one match instead of creating.
        if_none_exist: Option<IdentifierToken>,
    },
    /// Update, or create with a client-chosen id when the resource does not exist.
    Update {
        resource_type: String,
        id: String,
        resource: Value,
        if_match: Option<u64>,
    },
    Delete {
        resource_type: String,
        id: String,
        /// `If-Match` / `entry.request.ifMatch`: the version that must be current.
        if_match: Option<u64>,
    },
    /// Records an outbox entry in the same transaction (issue #5). It writes no resource.
    EnqueueDelivery(DeliveryRequest),
    /// Records the request's audit intent in the same transaction, naming every version the
    /// transaction's other operations stored, wherever it stands among them (`write_audit`).
    /// Nothing is recorded when they stored nothing. It writes no resource.
    RecordAudit(Box<AuditIntent>),
}

impl WriteOp {
    pub fn resource_type(&self) -> &str {
        match self {
            WriteOp::Create { resource_type, .. }
            | WriteOp::Update { resource_type, .. }
            | WriteOp::Delete { resource_type, .. } => resource_type,
            WriteOp::EnqueueDelivery(_) => "Task",
            WriteOp::RecordAudit(_) => "AuditEvent",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            WriteOp::Create { id, .. }
            | WriteOp::Update { id, .. }
            | WriteOp::Delete { id, .. } => id,
            WriteOp::EnqueueDelivery(request) => &request.task_id,
            WriteOp::RecordAudit(intent) => &intent.id,
        }
    }

    pub(crate) fn resource_mut(&mut self) -> Option<&mut Value> {
        match self {
            WriteOp::Create { resource, .. } | WriteOp::Update { resource, .. } => Some(resource),
            WriteOp::Delete { .. } | WriteOp::EnqueueDelivery(_) | WriteOp::RecordAudit(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum WriteOutcome {
    Created(StoredResource),
    /// A conditional create found this existing resource; nothing new was stored.
    Matched(StoredResource),
    Updated(StoredResource),
    /// `version_id` is the tombstone's version, `None` when there was nothing to delete.
    Deleted {
        version_id: Option<u64>,
    },
    /// The outbox record's id.
    DeliveryEnqueued {
        delivery_id: String,
    },
    /// The audit intent was recorded, naming these versions (`Type/id/_history/version`);
    /// empty when the transaction stored nothing (and so recorded no intent).
    Audited {
        written: Vec<String>,
    },
}
