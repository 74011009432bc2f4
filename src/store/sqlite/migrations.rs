//! Versioned schema migrations, applied at start in order, each in its own transaction.

use rusqlite::Connection;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "versioned resources, identifier index, conditional-create claims",
        sql: r#"
CREATE TABLE resource_version (
    resource_type   TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    version_id      INTEGER NOT NULL,
    last_updated_ms INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    body            TEXT,
    PRIMARY KEY (resource_type, id, version_id)
);
CREATE TABLE resource_current (
    resource_type TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    version_id    INTEGER NOT NULL,
    PRIMARY KEY (resource_type, id)
) WITHOUT ROWID;
CREATE TABLE resource_identifier (
    resource_type TEXT NOT NULL,
    id            TEXT NOT NULL,
    system        TEXT NOT NULL,
    value         TEXT NOT NULL
);
CREATE INDEX resource_identifier_lookup ON resource_identifier (resource_type, value, system);
CREATE INDEX resource_identifier_owner ON resource_identifier (resource_type, id);
-- One row per conditional-create key: the database, not a search, makes concurrent
-- identical conditional creates store exactly one resource.
CREATE TABLE conditional_create_claim (
    resource_type TEXT NOT NULL,
    system        TEXT NOT NULL,
    value         TEXT NOT NULL,
    id            TEXT NOT NULL,
    PRIMARY KEY (resource_type, system, value)
) WITHOUT ROWID;
CREATE INDEX conditional_create_claim_owner ON conditional_create_claim (resource_type, id);
"#,
    },
    Migration {
        version: 2,
        name: "search index rows, history indexes",
        sql: r#"
-- One row per indexed value of a current, live resource (see store/search_index.rs).
-- Dates use lo/hi (inclusive epoch ms); every other kind has lo NULL and uses val/sys/raw.
CREATE TABLE search_index (
    resource_type TEXT NOT NULL,
    id            TEXT NOT NULL,
    param         TEXT NOT NULL,
    sys           TEXT NOT NULL DEFAULT '',
    val           TEXT NOT NULL DEFAULT '',
    raw           TEXT NOT NULL DEFAULT '',
    lo            INTEGER,
    hi            INTEGER
);
CREATE INDEX search_index_value ON search_index (resource_type, param, val, sys) WHERE lo IS NULL;
CREATE INDEX search_index_date ON search_index (resource_type, param, lo, hi) WHERE lo IS NOT NULL;
CREATE INDEX search_index_owner ON search_index (resource_type, id, param);
CREATE INDEX resource_version_system_history
    ON resource_version (last_updated_ms, resource_type, id, version_id);
CREATE INDEX resource_version_type_history
    ON resource_version (resource_type, last_updated_ms, id, version_id);
-- Resources stored before this migration are indexed once at the next start.
CREATE TABLE search_reindex_pending (pending INTEGER NOT NULL);
INSERT INTO search_reindex_pending (pending) VALUES (1);
"#,
    },
    Migration {
        version: 3,
        name: "delivery outbox",
        sql: r#"
-- Issue #5: one row per delivery of a referral's resources to an upstream EHR.
CREATE TABLE delivery (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    task_id         TEXT    NOT NULL,
    destination     TEXT    NOT NULL,
    resources       TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_ms      INTEGER NOT NULL,
    age_from_ms     INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until_ms  INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_ms    INTEGER,
    upstream        TEXT,
    superseded_by   TEXT,
    updated_ms      INTEGER NOT NULL
);
CREATE INDEX delivery_due ON delivery (state, next_attempt_ms);
CREATE INDEX delivery_task ON delivery (task_id, destination);
"#,
    },
    Migration {
        version: 4,
        name: "security: client-assertion jti replay cache, audit trail",
        sql: r#"
-- A jti is kept until its assertion expires: a replay before then is refused, after it the
-- assertion itself has expired.
CREATE TABLE auth_jti (
    client_id  TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
) WITHOUT ROWID;
CREATE INDEX auth_jti_expiry ON auth_jti (expires_ms);
-- AuditEvents, apart from the resource tables: not resource versions.
CREATE TABLE audit_event (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    recorded_ms INTEGER NOT NULL,
    client_id   TEXT    NOT NULL,
    subtype     TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    entity_type TEXT,
    body        TEXT    NOT NULL
);
CREATE INDEX audit_event_recorded ON audit_event (recorded_ms);
CREATE INDEX audit_event_client ON audit_event (client_id, seq);
"#,
    },
    Migration {
        version: 5,
        name: "audit trail moved to its own file (schema audit, store/sqlite/audit_file.rs)",
        sql: r#"
-- Audit commits no longer change the main file, so they leave the readers' page caches alone.
INSERT INTO audit.audit_event (seq, id, recorded_ms, client_id, subtype, outcome, entity_type, body)
    SELECT seq, id, recorded_ms, client_id, subtype, outcome, entity_type, body FROM main.audit_event;
DROP TABLE main.audit_event;
"#,
    },
    Migration {
        version: 6,
        name: "the set of indexed search parameters the index rows were built for",
        sql: r#"
-- Empty until the next start rebuilds the rows for the configured set
-- (search.indexed_parameters) and records it; a start with another set rebuilds them again.
CREATE TABLE search_indexed_set (params TEXT NOT NULL);
"#,
    },
    Migration {
        version: 7,
        name: "owner and value keys led by the resource id and the value",
        sql: r#"
-- Server ids are UUIDv7, so a commit's new resources have neighbouring ids: keyed by id first,
-- their rows share a few pages of each B-tree, where (type, id) gave each type its own page
-- to write per commit (docs/performance.md). Every lookup on these keys names both columns.
-- The same for values: most of a referral's values are its own new resources' ids (references)
-- and codes every referral shares, so the value index leads with the value; string prefix and
-- :contains searches, which range over values of one parameter, get an index of their own.
DROP INDEX search_index_value;
CREATE INDEX search_index_value ON search_index (val, resource_type, param, sys) WHERE lo IS NULL;
CREATE INDEX search_index_text ON search_index (resource_type, param, val)
    WHERE lo IS NULL AND sys = '' AND raw <> '';
DROP INDEX search_index_owner;
CREATE INDEX search_index_owner ON search_index (id, resource_type, param);
DROP INDEX resource_identifier_owner;
CREATE INDEX resource_identifier_owner ON resource_identifier (id, resource_type);
DROP INDEX conditional_create_claim_owner;
CREATE INDEX conditional_create_claim_owner ON conditional_create_claim (id, resource_type);
CREATE TABLE resource_current_by_id (
    id            TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    version_id    INTEGER NOT NULL,
    PRIMARY KEY (id, resource_type)
) WITHOUT ROWID;
INSERT INTO resource_current_by_id (id, resource_type, version_id)
    SELECT id, resource_type, version_id FROM resource_current;
DROP TABLE resource_current;
ALTER TABLE resource_current_by_id RENAME TO resource_current;
"#,
    },
    Migration {
        version: 8,
        name: "recent index rows, merged into search_index in bulk",
        sql: r#"
-- A commit's new index rows land here, on the right edge of one small table, and the writer
-- moves them into search_index in bulk (store/sqlite/index_merge.rs): one page per distinct
-- value a commit touched was a frame of its own in the log (docs/performance.md). Searches
-- read both tables; a resource's rows are always all in one of them. Keyed by owner and row
-- number: one B-tree to write, found by owner as search_index is by search_index_owner.
CREATE TABLE search_index_recent (
    id            TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    n             INTEGER NOT NULL,
    param         TEXT NOT NULL,
    sys           TEXT NOT NULL DEFAULT '',
    val           TEXT NOT NULL DEFAULT '',
    raw           TEXT NOT NULL DEFAULT '',
    lo            INTEGER,
    hi            INTEGER,
    PRIMARY KEY (id, resource_type, n)
) WITHOUT ROWID;
"#,
    },
    Migration {
        version: 9,
        name: "index rows and identifiers keyed by integers: the resource's row number and the parameter's code",
        sql: r#"
-- Each index row held its owner's type and 36-character id and the parameter's name, in the
-- row and again in each of its index entries: more than half of a referral's bytes at rest
-- (docs/performance.md). A row now holds its owner's `rk`, the rowid of its resource_current
-- row, and `tp`, the code of its (type, parameter) (store/search/param_code.rs). New
-- resources take the next rk, so a commit's rows sit at the right edge of the owner keys.
-- Keyed by (rk, tp, n), n a row's number within its resource, both tables are their own
-- index by owner: the value, text and date indexes' entries carry that short key.
CREATE TABLE resource_current_keyed (
    rk            INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    version_id    INTEGER NOT NULL
);
INSERT INTO resource_current_keyed (id, resource_type, version_id)
    SELECT id, resource_type, version_id FROM resource_current;
DROP TABLE resource_current;
ALTER TABLE resource_current_keyed RENAME TO resource_current;
CREATE UNIQUE INDEX resource_current_id ON resource_current (id, resource_type);
DROP TABLE search_index;
DROP TABLE search_index_recent;
CREATE TABLE search_index (
    rk  INTEGER NOT NULL,
    tp  INTEGER NOT NULL,
    n   INTEGER NOT NULL,
    sys TEXT    NOT NULL DEFAULT '',
    val TEXT    NOT NULL DEFAULT '',
    raw TEXT    NOT NULL DEFAULT '',
    lo  INTEGER,
    hi  INTEGER,
    PRIMARY KEY (rk, tp, n)
) WITHOUT ROWID;
CREATE INDEX search_index_value ON search_index (val, tp) WHERE lo IS NULL;
CREATE INDEX search_index_text ON search_index (tp, val) WHERE lo IS NULL AND sys = '' AND raw <> '';
CREATE INDEX search_index_date ON search_index (tp, lo, hi) WHERE lo IS NOT NULL;
CREATE TABLE search_index_recent (
    rk  INTEGER NOT NULL,
    tp  INTEGER NOT NULL,
    n   INTEGER NOT NULL,
    sys TEXT    NOT NULL DEFAULT '',
    val TEXT    NOT NULL DEFAULT '',
    raw TEXT    NOT NULL DEFAULT '',
    lo  INTEGER,
    hi  INTEGER,
    PRIMARY KEY (rk, tp, n)
) WITHOUT ROWID;
-- A resource's identifiers, under its key and numbered by their place in it: the table is
-- its own index by owner, and the lookup index's entries carry that short key.
CREATE TABLE resource_identifier_keyed (
    rk     INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    system TEXT    NOT NULL,
    value  TEXT    NOT NULL,
    PRIMARY KEY (rk, n)
) WITHOUT ROWID;
INSERT INTO resource_identifier_keyed (rk, n, system, value)
    SELECT c.rk, ROW_NUMBER() OVER (PARTITION BY c.rk ORDER BY i.rowid) - 1, i.system, i.value
      FROM resource_identifier i
      JOIN resource_current c ON c.id = i.id AND c.resource_type = i.resource_type;
DROP TABLE resource_identifier;
ALTER TABLE resource_identifier_keyed RENAME TO resource_identifier;
CREATE INDEX resource_identifier_lookup ON resource_identifier (value, system);
-- Versions under their resource's key: the unique key (rk, version_id) replaces the primary
-- key (type, id, version_id), which took a page per type of every commit, and 50 bytes a
-- version. Type and id stay for the history indexes and for migrate.
CREATE TABLE resource_version_keyed (
    rk              INTEGER NOT NULL,
    version_id      INTEGER NOT NULL,
    resource_type   TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    last_updated_ms INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    body            TEXT
);
INSERT INTO resource_version_keyed (rk, version_id, resource_type, id, last_updated_ms, deleted, body)
    SELECT c.rk, v.version_id, v.resource_type, v.id, v.last_updated_ms, v.deleted, v.body
      FROM resource_version v
      JOIN resource_current c ON c.id = v.id AND c.resource_type = v.resource_type
     ORDER BY v.rowid;
DROP TABLE resource_version;
ALTER TABLE resource_version_keyed RENAME TO resource_version;
CREATE UNIQUE INDEX resource_version_key ON resource_version (rk, version_id);
CREATE INDEX resource_version_system_history
    ON resource_version (last_updated_ms, resource_type, id, version_id);
CREATE INDEX resource_version_type_history
    ON resource_version (resource_type, last_updated_ms, id, version_id);
-- What each tp stands for, written with the rows (store/sqlite/search.rs).
CREATE TABLE search_param_code (
    tp            INTEGER PRIMARY KEY,
    resource_type TEXT NOT NULL,
    param         TEXT NOT NULL
);
-- The rows are rebuilt under the new keys at the next start.
DELETE FROM search_indexed_set;
"#,
    },
];

pub fn apply(conn: &mut Connection, now_ms: i64) -> rusqlite::Result<usize> {
    apply_through(conn, now_ms, i64::MAX)
}

/// The migrations up to `last` only: a store as an earlier release left it (tests).
pub(super) fn apply_through(
    conn: &mut Connection,
    now_ms: i64,
    last: i64,
) -> rusqlite::Result<usize> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)",
    )?;
    let mut applied = 0;
    for m in MIGRATIONS.iter().take_while(|m| m.version <= last) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [m.version],
            |r| r.get(0),
        )?;
        if !done {
            tx.execute_batch(m.sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?1, ?2, ?3)",
                rusqlite::params![m.version, m.name, now_ms],
            )?;
            applied += 1;
        }
        tx.commit()?;
    }
    Ok(applied)
}
