//! Versioned schema migrations, run at start under an advisory lock so that replicas
//! starting together apply each migration once.

use sqlx::{Connection, PgConnection};

/// Any constant works; it only has to be the same for every replica.
const MIGRATION_LOCK: i64 = 0x0068_6270_636d_6967; // "hbpcmig"

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
    version_id      BIGINT  NOT NULL,
    last_updated_ms BIGINT  NOT NULL,
    deleted         BOOLEAN NOT NULL,
    -- The exact JSON served to clients (key order, decimal text) ...
    body_text       TEXT,
    -- ... and the same resource as JSONB for queries.
    body            JSONB,
    PRIMARY KEY (resource_type, id, version_id)
);
CREATE TABLE resource_current (
    resource_type TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    version_id    BIGINT NOT NULL,
    PRIMARY KEY (resource_type, id)
);
CREATE TABLE resource_identifier (
    resource_type TEXT NOT NULL,
    id            TEXT NOT NULL,
    system        TEXT NOT NULL,
    value         TEXT NOT NULL
);
CREATE INDEX resource_identifier_lookup ON resource_identifier (resource_type, value, system);
CREATE INDEX resource_identifier_owner ON resource_identifier (resource_type, id);
-- The unique key that makes concurrent identical conditional creates store one resource,
-- on any replica.
CREATE TABLE conditional_create_claim (
    resource_type TEXT NOT NULL,
    system        TEXT NOT NULL,
    value         TEXT NOT NULL,
    id            TEXT NOT NULL,
    PRIMARY KEY (resource_type, system, value)
);
CREATE INDEX conditional_create_claim_owner ON conditional_create_claim (resource_type, id);
"#,
    },
    Migration {
        version: 2,
        name: "search index rows, history indexes",
        sql: r#"
-- One row per indexed value of a current, live resource (see store/search_index.rs).
-- Dates use lo/hi (inclusive epoch ms); every other kind has lo NULL and uses val/sys/raw.
-- COLLATE "C": byte order, so prefix ranges and keyset order match SQLite's.
CREATE TABLE search_index (
    resource_type TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    param         TEXT COLLATE "C" NOT NULL,
    sys           TEXT COLLATE "C" NOT NULL DEFAULT '',
    val           TEXT COLLATE "C" NOT NULL DEFAULT '',
    raw           TEXT COLLATE "C" NOT NULL DEFAULT '',
    lo            BIGINT,
    hi            BIGINT
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
    seq             BIGSERIAL PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    task_id         TEXT    NOT NULL,
    destination     TEXT    NOT NULL,
    resources       TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_ms      BIGINT  NOT NULL,
    age_from_ms     BIGINT  NOT NULL,
    next_attempt_ms BIGINT  NOT NULL,
    lease_owner     TEXT,
    lease_until_ms  BIGINT,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_ms    BIGINT,
    upstream        TEXT,
    superseded_by   TEXT,
    updated_ms      BIGINT  NOT NULL
);
CREATE INDEX delivery_due ON delivery (state, next_attempt_ms);
CREATE INDEX delivery_task ON delivery (task_id, destination);
"#,
    },
    Migration {
        version: 4,
        name: "security: client-assertion jti replay cache, audit trail",
        sql: r#"
-- Shared by every replica: a jti used on one replica is refused on all of them.
CREATE TABLE auth_jti (
    client_id  TEXT   NOT NULL,
    jti        TEXT   NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX auth_jti_expiry ON auth_jti (expires_ms);
-- AuditEvents, apart from the resource tables: not resource versions.
CREATE TABLE audit_event (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT   NOT NULL UNIQUE,
    recorded_ms BIGINT NOT NULL,
    client_id   TEXT   NOT NULL,
    subtype     TEXT   NOT NULL,
    outcome     TEXT   NOT NULL,
    entity_type TEXT,
    body        TEXT   NOT NULL
);
CREATE INDEX audit_event_recorded ON audit_event (recorded_ms);
CREATE INDEX audit_event_client ON audit_event (client_id, seq);
"#,
    },
    Migration {
        version: 5,
        name: "audit records the store refused, kept apart with their error",
        sql: r#"
CREATE TABLE audit_quarantine (
    seq            BIGSERIAL PRIMARY KEY,
    id             TEXT   NOT NULL,
    recorded_ms    BIGINT NOT NULL,
    quarantined_ms BIGINT NOT NULL,
    error          TEXT   NOT NULL,
    record         BYTEA  NOT NULL
);
"#,
    },
    Migration {
        version: 6,
        name: "bounded index keys: long values store and stay searchable",
        sql: r#"
-- A B-tree entry holds at most about 2.7 KB; clinical text (an Observation.valueString),
-- a long identifier or system can be longer. The value indexes hold the first 200 characters
-- (at most 800 bytes each); queries compare that prefix, then the whole value
-- (store/search/sql.rs, PG_KEY_CHARS). The claim key is unique on hashes of its values.
DROP INDEX search_index_value;
CREATE INDEX search_index_value
    ON search_index (resource_type, param, left(val, 200), left(sys, 200)) WHERE lo IS NULL;
DROP INDEX resource_identifier_lookup;
CREATE INDEX resource_identifier_lookup
    ON resource_identifier (resource_type, left(value, 200), left(system, 200));
ALTER TABLE conditional_create_claim DROP CONSTRAINT conditional_create_claim_pkey;
CREATE UNIQUE INDEX conditional_create_claim_key
    ON conditional_create_claim (resource_type, md5(system), md5(value));
"#,
    },
    Migration {
        version: 7,
        name: "audit intents: a write's audit record commits with the write",
        sql: r#"
-- Inserted in the write's own transaction, settled into audit_event (store/write_audit.rs).
CREATE TABLE audit_intent (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT   NOT NULL,
    recorded_ms BIGINT NOT NULL,
    client_id   TEXT   NOT NULL,
    subtype     TEXT   NOT NULL,
    entity_type TEXT,
    template    TEXT   NOT NULL,
    written     TEXT   NOT NULL
);
"#,
    },
    Migration {
        version: 8,
        name: "the set of indexed search parameters the index rows were built for; no JSONB copy of versions",
        sql: r#"
-- Empty until the next start rebuilds the rows for the configured set
-- (search.indexed_parameters) and records it; a start with another set rebuilds them again.
CREATE TABLE search_indexed_set (params TEXT NOT NULL);
-- Nothing queried the JSONB copy of each version, and it doubled what a version writes
-- (heap and log); body_text is what is served.
ALTER TABLE resource_version DROP COLUMN body;
"#,
    },
];

pub async fn apply(conn: &mut PgConnection, now_ms: i64) -> Result<usize, sqlx::Error> {
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await?;
    let result = apply_locked(conn, now_ms).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await;
    let applied = result?;
    unlocked?;
    Ok(applied)
}

async fn apply_locked(conn: &mut PgConnection, now_ms: i64) -> Result<usize, sqlx::Error> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let mut applied = 0;
    for m in MIGRATIONS {
        let mut tx = conn.begin().await?;
        let done: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)",
        )
        .bind(m.version)
        .fetch_one(&mut *tx)
        .await?;
        if !done {
            sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            applied += 1;
        }
        tx.commit().await?;
    }
    Ok(applied)
}
