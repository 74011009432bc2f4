//! The tables `migrate` moves or checks, described once for both backends, and their rows as
//! plain cells so that one copy, compare and checksum serves them all.

/// How a column is read on each side (PostgreSQL BOOLEAN and INTEGER become `Int`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Bool,
    Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

pub type Row = Vec<Cell>;

pub struct Column {
    pub sqlite: &'static str,
    pub postgres: &'static str,
    pub kind: Kind,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        sqlite: name,
        postgres: name,
        kind,
    }
}

pub struct Table {
    pub name: &'static str,
    /// Where SQLite keeps it (the audit trail is in its own file, schema `audit`), or a
    /// subquery that reads it with the columns PostgreSQL holds.
    pub sqlite: &'static str,
    pub columns: &'static [Column],
    /// The leading columns that identify a row (its primary key); 0 for a table without one.
    pub key: usize,
    /// Columns set to NULL on the copy: a lease taken on the old node means nothing on the new.
    pub cleared: &'static [&'static str],
    /// Checksums and counts are kept per value of this column (the resource type).
    pub per_type: bool,
    /// The columns SQLite pages by, where they are not the key columns in order: a unique
    /// order that one of its indexes holds, so that each page is read along that index.
    pub sqlite_key_order: &'static [usize],
}

impl Table {
    /// The row as the target must hold it.
    pub fn as_copied(&self, mut row: Row) -> Row {
        for (c, cell) in self.columns.iter().zip(row.iter_mut()) {
            if self.cleared.contains(&c.sqlite) {
                *cell = Cell::Null;
            }
        }
        row
    }

    pub fn key_of(&self, row: &Row) -> Vec<Cell> {
        row[..self.key].to_vec()
    }

    /// Positions of the key columns in SQLite's key order.
    pub fn page_key(&self) -> Vec<usize> {
        if self.sqlite_key_order.is_empty() {
            (0..self.key).collect()
        } else {
            self.sqlite_key_order.to_vec()
        }
    }

    /// Where the next page starts: `row`'s key in SQLite's key order.
    pub fn page_cursor(&self, row: &Row) -> Vec<Cell> {
        self.page_key()
            .into_iter()
            .map(|i| row[i].clone())
            .collect()
    }

    /// A key as operators read it in a message, e.g. `(Patient, 3f2…, 2)`.
    pub fn describe_key(&self, row: &Row) -> String {
        let parts: Vec<String> = row[..self.key]
            .iter()
            .map(|c| match c {
                Cell::Null => "NULL".into(),
                Cell::Int(i) => i.to_string(),
                Cell::Text(t) => t.clone(),
                Cell::Bytes(b) => format!("{} bytes", b.len()),
            })
            .collect();
        format!("({})", parts.join(", "))
    }
}

use Kind::*;

pub const RESOURCE_VERSION: Table = Table {
    name: "resource_version",
    sqlite: "main.resource_version",
    columns: &[
        col("resource_type", Text),
        col("id", Text),
        col("version_id", Int),
        col("last_updated_ms", Int),
        col("deleted", Bool),
        Column {
            sqlite: "body",
            postgres: "body_text",
            kind: Text,
        },
    ],
    key: 3,
    cleared: &[],
    per_type: true,
    // paged along its type history index (type, last_updated_ms, id, version_id): SQLite keys
    // versions by the resource's rk since migration 9
    sqlite_key_order: &[0, 3, 1, 2],
};

pub const RESOURCE_CURRENT: Table = Table {
    name: "resource_current",
    sqlite: "main.resource_current",
    columns: &[
        col("resource_type", Text),
        col("id", Text),
        col("version_id", Int),
    ],
    key: 2,
    cleared: &[],
    per_type: true,
    // its unique index (id, resource_type), since migration 7
    sqlite_key_order: &[1, 0],
};

/// Rebuilt on the target from the copied current versions, and checked.
pub const RESOURCE_IDENTIFIER: Table = Table {
    name: "resource_identifier",
    // keyed by the resource's rk on SQLite (migration 9): named by type and id as PostgreSQL
    // holds them
    sqlite: "(SELECT c.resource_type AS resource_type, c.id AS id, i.system AS system, i.value AS value \
               FROM main.resource_identifier i JOIN main.resource_current c ON c.rk = i.rk) AS resource_identifier",
    columns: &[
        col("resource_type", Text),
        col("id", Text),
        col("system", Text),
        col("value", Text),
    ],
    key: 0,
    cleared: &[],
    per_type: true,
    sqlite_key_order: &[],
};

pub const CONDITIONAL_CREATE_CLAIM: Table = Table {
    name: "conditional_create_claim",
    sqlite: "main.conditional_create_claim",
    columns: &[
        col("resource_type", Text),
        col("system", Text),
        col("value", Text),
        col("id", Text),
    ],
    key: 3,
    cleared: &[],
    per_type: false,
    sqlite_key_order: &[],
};

pub const DELIVERY: Table = Table {
    name: "delivery",
    sqlite: "main.delivery",
    columns: &[
        col("seq", Int),
        col("id", Text),
        col("task_id", Text),
        col("destination", Text),
        col("resources", Text),
        col("state", Text),
        col("attempts", Int),
        col("created_ms", Int),
        col("age_from_ms", Int),
        col("next_attempt_ms", Int),
        col("lease_owner", Text),
        col("lease_until_ms", Int),
        col("last_status", Int),
        col("last_error", Text),
        col("delivered_ms", Int),
        col("upstream", Text),
        col("superseded_by", Text),
        col("updated_ms", Int),
    ],
    key: 1,
    cleared: &["lease_owner", "lease_until_ms"],
    per_type: false,
    sqlite_key_order: &[],
};

pub const AUDIT_EVENT: Table = Table {
    name: "audit_event",
    sqlite: "audit.audit_event",
    columns: &[
        col("seq", Int),
        col("id", Text),
        col("recorded_ms", Int),
        col("client_id", Text),
        col("subtype", Text),
        col("outcome", Text),
        col("entity_type", Text),
        col("body", Text),
    ],
    key: 1,
    cleared: &[],
    per_type: false,
    sqlite_key_order: &[],
};

pub const AUDIT_QUARANTINE: Table = Table {
    name: "audit_quarantine",
    sqlite: "audit.audit_quarantine",
    columns: &[
        col("seq", Int),
        col("id", Text),
        col("recorded_ms", Int),
        col("quarantined_ms", Int),
        col("error", Text),
        col("record", Bytes),
    ],
    key: 1,
    cleared: &[],
    per_type: false,
    sqlite_key_order: &[],
};

/// Audit intents of committed writes not yet settled (`store::write_audit`): the target
/// settles them at its start.
pub const AUDIT_INTENT: Table = Table {
    name: "audit_intent",
    sqlite: "main.audit_intent",
    columns: &[
        col("seq", Int),
        col("id", Text),
        col("recorded_ms", Int),
        col("client_id", Text),
        col("subtype", Text),
        col("entity_type", Text),
        col("template", Text),
        col("written", Text),
    ],
    key: 1,
    cleared: &[],
    per_type: false,
    sqlite_key_order: &[],
};

/// Copied so that an assertion used on the old node cannot be replayed on a new replica before
/// it expires; not verified, since entries expire and are purged on their own.
pub const AUTH_JTI: Table = Table {
    name: "auth_jti",
    sqlite: "main.auth_jti",
    columns: &[
        col("client_id", Text),
        col("jti", Text),
        col("expires_ms", Int),
    ],
    key: 2,
    cleared: &[],
    per_type: false,
    sqlite_key_order: &[],
};

/// Copied as rows, in this order (versions first: claims point at resources).
pub const COPIED: [&Table; 6] = [
    &CONDITIONAL_CREATE_CLAIM,
    &DELIVERY,
    &AUDIT_EVENT,
    &AUDIT_QUARANTINE,
    &AUDIT_INTENT,
    &AUTH_JTI,
];

/// Compared row for row (count and content checksum) by verification.
pub const VERIFIED: [&Table; 8] = [
    &RESOURCE_VERSION,
    &RESOURCE_CURRENT,
    &RESOURCE_IDENTIFIER,
    &CONDITIONAL_CREATE_CLAIM,
    &DELIVERY,
    &AUDIT_EVENT,
    &AUDIT_QUARANTINE,
    &AUDIT_INTENT,
];
