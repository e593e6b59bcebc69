//! The embedded store (SQLite): what the agent has seen of each source table,
//! the plans with their decisions, approvals and rejections, the steps applied
//! with their StarRocks job ids, and an audit log — all with timestamps and
//! source positions.
//!
//! Owns the file format and its versioning ([`SCHEMA_VERSION`], ordered
//! migrations, a newer store refused) and the plan life cycle ([`PlanStatus`]):
//! a new plan for a table replaces the table's pending (or stale) plan, which
//! becomes `superseded` (the caller computes the merged plan, which carries
//! both changes; the store links them). An approval is checked against the
//! target fingerprint the plan was made for ([`TargetCheck`]): a stale plan is
//! refused with the reason and marked `stale`; an approval from the desk,
//! which has no StarRocks connection, is recorded "to be verified" and the
//! agent verifies the target before applying ([`Store::verify_target`]).
//!
//! Must not: read the clock (every mutation takes `now`), talk to StarRocks,
//! or log secrets. The API is synchronous; async callers wrap it in
//! `spawn_blocking`. Several processes (the agent, the desk commands) may have
//! the same file open: WAL journal, a busy timeout, and write transactions
//! that take the lock up front.
//!
//! ```no_run
//! use std::time::SystemTime;
//! use ddlsync::store::{Store, TargetCheck};
//!
//! let store = Store::open("/var/lib/ddlsync/store.db")?;
//! for plan in store.pending()? {
//!     println!("plan {} for {}: {}", plan.id, plan.target_table, plan.status);
//! }
//! store.approve(ddlsync::store::PlanId(3), "alice", Some("ok"), TargetCheck::Deferred,
//!               SystemTime::now())?;
//! # Ok::<(), ddlsync::store::Error>(())
//! ```

mod log;
mod plans;
mod read;
mod schema;
mod types;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

pub use plans::{initial_status, AGENT, POLICY};
pub use schema::SCHEMA_VERSION;
pub use types::{
    short_fingerprint, Approval, AuditEvent, ChangeRecord, GateState, PlanContext, PlanId,
    PlanRecord, PlanStatus, Rejection, Seen, StepId, StepOutcome, StepRecord, TargetCheck,
    Timestamp,
};

/// How long a write waits for another process's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store's directory cannot be created.
    #[error("store {}: cannot create its directory: {source}", path.display())]
    CreateDir {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file cannot be opened.
    #[error("store {}: cannot open: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a newer ddlsync.
    #[error(
        "store schema version {found} is newer than this ddlsync knows ({known}); \
         upgrade ddlsync to use this store"
    )]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this binary knows.
        known: i64,
    },
    /// SQLite failed.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON value does not read back.
    #[error("store: {what}: {source}")]
    Json {
        /// What was read.
        what: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// No such plan.
    #[error("plan {0} not found")]
    NotFound(PlanId),
    /// No open plan holds a change with that id.
    #[error("no plan holds change {0:?}; `ddlsync pending` lists the plan ids")]
    UnknownChange(String),
    /// The plan is not in a status that allows the operation.
    #[error("plan {id} is {status}, not {expected}: {detail}")]
    WrongStatus {
        /// The plan.
        id: PlanId,
        /// Its status.
        status: PlanStatus,
        /// What the operation needs.
        expected: &'static str,
        /// Why it is where it is, and what to do.
        detail: String,
    },
    /// The target changed since the plan was made: refused.
    #[error(
        "plan {id} is stale: it was planned against target {planned} but the target is now \
         {current}; an approval applies only to the target it was made for, so the agent \
         re-plans the change: review and approve the new plan"
    )]
    Stale {
        /// The plan.
        id: PlanId,
        /// Short fingerprint the plan was made for.
        planned: String,
        /// Short fingerprint of the target now.
        current: String,
    },
    /// No such step.
    #[error("step {0} not found")]
    StepNotFound(StepId),
}

impl Error {
    /// Another process held the lock for longer than [`BUSY_TIMEOUT`]: try again.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    }
}

/// Result of store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The store: one SQLite connection behind a mutex (never held across `.await`).
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
                path: path.clone(),
                source,
            })?;
        }
        let conn = Connection::open(&path).map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        Self::with_connection(conn, path, schema::MIGRATIONS)
    }

    /// An in-memory store (tests, dry runs).
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        Self::with_connection(conn, PathBuf::from(":memory:"), schema::MIGRATIONS)
    }

    fn with_connection(
        mut conn: Connection,
        path: PathBuf,
        migrations: &[schema::Migration],
    ) -> Result<Self> {
        schema::migrate(&mut conn, migrations)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the file.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.lock().query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )?)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions
        // roll back on drop), so a poisoned mutex is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Resolves the configured store path: relative paths are relative to the
/// directory of the configuration file (like `rules_dir`), so the agent and
/// the desk commands open the same file wherever they are started.
pub fn resolve_path(config_file: &Path, store_path: &str) -> PathBuf {
    let p = Path::new(store_path);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    config_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(p)
}

#[cfg(test)]
mod tests;
