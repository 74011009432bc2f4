//! The audit record a write commits with (see `store::write_audit`), on the application's
//! side: what a request's writes carry to the store, what they committed, and the settlement
//! of intents left behind.

use crate::domain::auth::audit_event::{of_committed_write, AuditEntity, AuditRecord};
use crate::store::security::{AuditRow, SharedSecurityStore};
use crate::store::write_audit::{AuditIntent, Settlement, StoredIntent};
use crate::store::StoreError;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One request's audit record as known before its response, and what its writes committed.
/// Shared by the request's handler (its writes carry the intent) and the guard (its record
/// names what they committed).
#[derive(Debug)]
pub struct WriteAudit {
    record: AuditRecord,
    committed: Mutex<Vec<AuditEntity>>,
}

impl WriteAudit {
    pub fn new(record: AuditRecord) -> Self {
        Self {
            record,
            committed: Mutex::new(Vec::new()),
        }
    }

    /// What a write of this request carries into its transaction.
    pub fn intent(&self) -> AuditIntent {
        let record = self.record.recordable();
        AuditIntent {
            id: record.id.clone(),
            recorded_ms: record.recorded_ms,
            client_id: record.client_id.clone(),
            subtype: record.subtype.clone(),
            entity_type: record.entity_type().map(str::to_string),
            template: record.to_json(),
        }
    }

    /// A transaction of this request committed these versions (`Type/id/_history/version`).
    pub fn committed(&self, written: &[String]) {
        let entities = written.iter().filter_map(|r| entity_of(r));
        if let Ok(mut committed) = self.committed.lock() {
            committed.extend(entities);
        }
    }

    /// Every version this request's writes committed, in commit order.
    pub fn written(&self) -> Vec<AuditEntity> {
        self.committed.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// `Type/id/_history/version` → the entity.
fn entity_of(reference: &str) -> Option<AuditEntity> {
    let mut parts = reference.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(t), Some(id), Some("_history"), Some(v)) => Some(AuditEntity {
            resource_type: t.to_string(),
            id: Some(id.to_string()),
            version: Some(v.to_string()),
        }),
        _ => None,
    }
}

/// Intents read per round of settlement.
const PAGE: usize = 1000;

/// What one settlement did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// Intents whose request's own record was stored: deleted.
    pub dropped: usize,
    /// Records made from intents whose request left none.
    pub recorded: usize,
}

/// Settles the audit intents of committed writes: an intent whose request's own record is
/// stored is dropped; one recorded before `stale_before_ms` whose request left no record (the
/// process stopped, or the record could not be stored) becomes that record. Younger ones wait:
/// their request may still be storing its own.
pub async fn settle(
    store: &SharedSecurityStore,
    stale_before_ms: i64,
) -> Result<Settled, StoreError> {
    let mut settled = Settled::default();
    loop {
        let page = store.audit_intents(PAGE).await?;
        let full = page.len() == PAGE;
        let settlement = settlement(page, stale_before_ms);
        if settlement.intents.is_empty() {
            return Ok(settled);
        }
        let recorded = settlement.records.len();
        let dropped = settlement.intents.len();
        store.settle_audit_intents(settlement).await?;
        settled.recorded += recorded;
        settled.dropped += dropped;
        if !full {
            return Ok(settled);
        }
    }
}

/// The records to make and the intents to delete, from one page of intents (several intents
/// share an id when a request committed several transactions, as a batch does).
fn settlement(page: Vec<StoredIntent>, stale_before_ms: i64) -> Settlement {
    let mut by_request: BTreeMap<String, Vec<StoredIntent>> = BTreeMap::new();
    for stored in page {
        by_request
            .entry(stored.intent.id.clone())
            .or_default()
            .push(stored);
    }
    let mut out = Settlement {
        records: Vec::new(),
        intents: Vec::new(),
    };
    for (_, intents) in by_request {
        let settled = intents.iter().any(|i| i.settled);
        if !settled
            && intents
                .iter()
                .any(|i| i.intent.recorded_ms >= stale_before_ms)
        {
            continue;
        }
        out.intents.extend(intents.iter().map(|i| i.seq));
        if settled {
            continue;
        }
        let written: Vec<String> = intents.iter().flat_map(|i| i.written.clone()).collect();
        let first = &intents[0].intent;
        match of_committed_write(&first.template, &written) {
            Some(body) => out.records.push(AuditRow {
                id: first.id.clone(),
                recorded_ms: first.recorded_ms,
                client_id: first.client_id.clone(),
                subtype: first.subtype.clone(),
                outcome: "0".into(),
                entity_type: first.entity_type.clone(),
                body,
                fsync: true,
            }),
            // Our own rendering: cannot happen; keep the intent rather than lose it.
            None => {
                tracing::error!(audit_id = %first.id, "an audit intent is not an AuditEvent");
                out.intents
                    .retain(|seq| !intents.iter().any(|i| i.seq == *seq));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::audit_event::AuditKind;

    fn record(id: &str) -> AuditRecord {
        AuditRecord {
            id: id.into(),
            recorded_ms: 10,
            kind: AuditKind::Rest,
            subtype: "batch".into(),
            action: "E",
            client_id: "c".into(),
            address: None,
            entities: vec![],
            query_names: vec![],
            operation: None,
            status: 200,
            request_id: "r".into(),
        }
    }

    fn stored(seq: i64, id: &str, written: &[&str], settled: bool) -> StoredIntent {
        StoredIntent {
            seq,
            intent: WriteAudit::new(record(id)).intent(),
            written: written.iter().map(|w| w.to_string()).collect(),
            settled,
        }
    }

    #[test]
    fn settled_intents_are_dropped_and_orphans_become_their_record() {
        let page = vec![
            stored(1, "a", &["Patient/p/_history/1"], true),
            stored(2, "b", &["Patient/q/_history/1"], false),
            stored(3, "b", &["Task/t/_history/2"], false),
        ];
        let s = settlement(page, 11);
        assert_eq!(s.intents, [1, 2, 3]);
        assert_eq!(s.records.len(), 1);
        let e: serde_json::Value = serde_json::from_str(&s.records[0].body).unwrap();
        assert_eq!(e["id"], "b");
        assert_eq!(e["entity"][0]["what"]["reference"], "Patient/q/_history/1");
        assert_eq!(e["entity"][1]["what"]["reference"], "Task/t/_history/2");
    }

    #[test]
    fn a_young_intent_waits_for_its_request() {
        let s = settlement(vec![stored(1, "a", &["Patient/p/_history/1"], false)], 10);
        assert!(s.intents.is_empty() && s.records.is_empty());
    }

    #[test]
    fn committed_versions_become_entities() {
        let audit = WriteAudit::new(record("a"));
        audit.committed(&["Patient/p/_history/3".into(), "garbage".into()]);
        assert_eq!(
            audit.written(),
            [AuditEntity {
                resource_type: "Patient".into(),
                id: Some("p".into()),
                version: Some("3".into()),
            }]
        );
    }
}
