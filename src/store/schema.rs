//! The store's own schema versioning: a `schema_version` table and ordered
//! migrations, applied in one transaction each. A store written by a newer
//! binary (a version this one does not know) is refused, never downgraded.

use rusqlite::{params, Connection, TransactionBehavior};

use super::{Error, Result};

/// One migration: what it does, and its SQL.
pub(crate) type Migration = (&'static str, &'static str);

/// The migrations, in order; version `n` is `MIGRATIONS[n - 1]`. Append only.
pub(crate) const MIGRATIONS: &[Migration] = &[("initial schema", V1)];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const V1: &str = r"
CREATE TABLE source_seen (
    source_db    TEXT NOT NULL,
    source_table TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    position     TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (source_db, source_table)
);
CREATE TABLE target_seen (
    target_db    TEXT NOT NULL,
    target_table TEXT NOT NULL,
    fingerprint  TEXT,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (target_db, target_table)
);
CREATE TABLE plans (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    source_db        TEXT NOT NULL,
    source_table     TEXT NOT NULL,
    target_db        TEXT NOT NULL,
    target_table     TEXT NOT NULL,
    from_fingerprint TEXT,
    to_fingerprint   TEXT,
    plan_json        TEXT NOT NULL,
    plan_text        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'applying',
                         'applied', 'failed', 'rejected', 'superseded', 'stale', 'ignored')),
    status_reason    TEXT,
    supersedes       INTEGER REFERENCES plans (id),
    superseded_by    INTEGER REFERENCES plans (id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX plans_by_target ON plans (target_db, target_table, status);
CREATE INDEX plans_by_status ON plans (status);
CREATE TABLE decisions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id      INTEGER NOT NULL REFERENCES plans (id),
    ordinal      INTEGER NOT NULL,
    change_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    column_name  TEXT,
    verdict      TEXT NOT NULL,
    rule_code    TEXT NOT NULL,
    rule_name    TEXT NOT NULL,
    reason       TEXT NOT NULL,
    pending      INTEGER NOT NULL,
    statements   TEXT NOT NULL,
    position     TEXT,
    decided_at   INTEGER NOT NULL,
    UNIQUE (plan_id, ordinal)
);
CREATE INDEX decisions_by_change ON decisions (change_id);
CREATE TABLE approvals (
    plan_id      INTEGER PRIMARY KEY REFERENCES plans (id),
    approved_by  TEXT NOT NULL,
    approved_at  INTEGER NOT NULL,
    comment      TEXT,
    verification TEXT NOT NULL
);
CREATE TABLE rejections (
    plan_id      INTEGER PRIMARY KEY REFERENCES plans (id),
    rejected_by  TEXT NOT NULL,
    rejected_at  INTEGER NOT NULL,
    reason       TEXT NOT NULL
);
CREATE TABLE steps (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id      INTEGER NOT NULL REFERENCES plans (id),
    step_index   INTEGER NOT NULL,
    statement    TEXT NOT NULL,
    job_id       TEXT,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    outcome      TEXT NOT NULL,
    detail       TEXT,
    UNIQUE (plan_id, step_index)
);
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    plan_id      INTEGER,
    target_db    TEXT,
    target_table TEXT,
    detail       TEXT NOT NULL
);
CREATE INDEX audit_by_table ON audit (target_db, target_table);
";

/// Brings the schema up to date with `migrations`; returns the version.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<i64> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version     INTEGER PRIMARY KEY,
             description TEXT NOT NULL
         );",
    )?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    let known = migrations.len() as i64;
    if current > known {
        return Err(Error::SchemaTooNew {
            found: current,
            known,
        });
    }
    for (i, (description, sql)) in migrations.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, description) VALUES (?1, ?2)",
            params![i as i64 + 1, description],
        )?;
    }
    tx.commit()?;
    Ok(known)
}
