//! The emulated FE catalog: databases, tables, materialized views, schema-change jobs,
//! Stream Load labels and Routine Load jobs. Persisted as JSON under `--data`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{Result, SrError};
use super::lexer::Tok;
use super::types::SrType;

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Name as declared.
    pub name: String,
    /// Type.
    pub ty: SrType,
    /// NULL allowed.
    pub nullable: bool,
    /// DEFAULT literal (`CURRENT_TIMESTAMP` when `default_is_expr`).
    pub default: Option<String>,
    /// Whether the default is an expression such as CURRENT_TIMESTAMP.
    pub default_is_expr: bool,
    /// COMMENT text.
    pub comment: String,
    /// Key column.
    pub is_key: bool,
    /// Aggregate type of an AGGREGATE KEY value column (SUM, REPLACE...).
    pub agg: Option<String>,
}

impl Column {
    /// The SHOW CREATE TABLE line (without indentation).
    pub fn show(&self) -> String {
        let mut s = format!("`{}` {}", self.name, self.ty.show());
        if let Some(a) = &self.agg {
            s.push(' ');
            s.push_str(a);
        }
        s.push_str(if self.nullable { " NULL" } else { " NOT NULL" });
        if let Some(d) = &self.default {
            if self.default_is_expr {
                s.push_str(&format!(" DEFAULT {d}"));
            } else {
                s.push_str(&format!(" DEFAULT \"{d}\""));
            }
        }
        s.push_str(&format!(" COMMENT \"{}\"", self.comment));
        s
    }
}

/// The key model of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeysType {
    /// DUPLICATE KEY
    Duplicate,
    /// AGGREGATE KEY
    Aggregate,
    /// UNIQUE KEY
    Unique,
    /// PRIMARY KEY
    Primary,
}

impl KeysType {
    /// `PRIMARY KEY` etc.
    pub fn sql(self) -> &'static str {
        match self {
            KeysType::Duplicate => "DUPLICATE KEY",
            KeysType::Aggregate => "AGGREGATE KEY",
            KeysType::Unique => "UNIQUE KEY",
            KeysType::Primary => "PRIMARY KEY",
        }
    }

    /// `PRIMARY_KEYS` etc. (information_schema.tables_config TABLE_MODEL).
    pub fn model(self) -> &'static str {
        match self {
            KeysType::Duplicate => "DUP_KEYS",
            KeysType::Aggregate => "AGG_KEYS",
            KeysType::Unique => "UNIQUE_KEYS",
            KeysType::Primary => "PRIMARY_KEYS",
        }
    }
}

/// DISTRIBUTED BY clause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// HASH columns; empty for RANDOM.
    pub cols: Vec<String>,
    /// BUCKETS n.
    pub buckets: Option<u64>,
}

/// A base table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Table id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Key model.
    pub keys: KeysType,
    /// Key columns.
    pub key_cols: Vec<String>,
    /// PARTITION BY clause tokens (after `PARTITION BY`).
    pub partition: Option<Vec<Tok>>,
    /// Partition columns.
    pub partition_cols: Vec<String>,
    /// DISTRIBUTED BY.
    pub distribution: Option<Distribution>,
    /// ORDER BY (sort key) when declared.
    pub order_by: Vec<String>,
    /// PROPERTIES with defaults filled.
    pub properties: BTreeMap<String, String>,
    /// Table COMMENT.
    pub comment: String,
    /// Old names of renamed columns: they cannot be re-added.
    pub renamed_away: Vec<String>,
    /// Schema version, bumped by each finished job.
    pub schema_version: u64,
    /// CREATE_TIME.
    pub create_time: String,
    /// UPDATE_TIME.
    pub update_time: String,
}

impl Table {
    /// Column by case-insensitive name.
    pub fn col(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Index of a column by case-insensitive name.
    pub fn col_idx(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Whether `name` is a distribution column.
    pub fn is_dist_col(&self, name: &str) -> bool {
        self.distribution
            .as_ref()
            .is_some_and(|d| d.cols.iter().any(|c| c.eq_ignore_ascii_case(name)))
    }

    /// Whether `name` is a partition column.
    pub fn is_part_col(&self, name: &str) -> bool {
        self.partition_cols
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    /// Whether `name` is a sort-key column.
    pub fn is_sort_col(&self, name: &str) -> bool {
        self.order_by.iter().any(|c| c.eq_ignore_ascii_case(name))
    }

    /// Whether fast schema evolution is on.
    pub fn fast_schema_evolution(&self) -> bool {
        self.properties
            .get("fast_schema_evolution")
            .is_none_or(|v| v == "true")
    }
}

/// State of a schema-change job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    /// PENDING
    Pending,
    /// WAITING_TXN
    WaitingTxn,
    /// RUNNING
    Running,
    /// FINISHED
    Finished,
    /// CANCELLED
    Cancelled,
}

impl JobState {
    /// Upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            JobState::Pending => "PENDING",
            JobState::WaitingTxn => "WAITING_TXN",
            JobState::Running => "RUNNING",
            JobState::Finished => "FINISHED",
            JobState::Cancelled => "CANCELLED",
        }
    }

    /// FINISHED or CANCELLED.
    pub fn terminal(self) -> bool {
        matches!(self, JobState::Finished | JobState::Cancelled)
    }
}

/// A schema-change job (SHOW ALTER TABLE COLUMN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// JobId.
    pub id: u64,
    /// Database.
    pub db: String,
    /// Table id.
    pub table_id: u64,
    /// TableName at creation.
    pub table_name: String,
    /// Unix ms at creation.
    pub created_ms: i64,
    /// CreateTime text.
    pub create_time: String,
    /// FinishTime text.
    pub finish_time: Option<String>,
    /// Duration in ms from creation to FINISHED.
    pub duration_ms: i64,
    /// State.
    pub state: JobState,
    /// Msg.
    pub msg: String,
    /// TransactionId.
    pub txn_id: u64,
    /// The table as it will be when the job finishes.
    pub target: Table,
    /// Columns dropped or modified (they inactivate MVs that read them).
    pub changed_cols: Vec<String>,
    /// Columns dropped (Routine Load jobs that map them pause).
    pub dropped_cols: Vec<String>,
    /// Fail instead of finishing, with this Msg.
    pub fail_msg: Option<String>,
}

/// An async materialized view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mv {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Output columns.
    pub columns: Vec<Column>,
    /// Defining query as written.
    pub query: String,
    /// DISTRIBUTED BY clause text, if any.
    pub distribution: Option<String>,
    /// COMMENT, kept verbatim and shown by SHOW CREATE MATERIALIZED VIEW.
    #[serde(default)]
    pub comment: Option<String>,
    /// `ASYNC ...` or `MANUAL` as written.
    pub refresh: String,
    /// PROPERTIES.
    pub properties: BTreeMap<String, String>,
    /// IS_ACTIVE.
    pub active: bool,
    /// INACTIVE_REASON.
    pub inactive_reason: String,
    /// Base tables `(db, table)`.
    pub base_tables: Vec<(String, String)>,
    /// Base columns read `(db, table, column)`, lower-case column.
    pub base_cols: Vec<(String, String, String)>,
    /// Last refresh time.
    pub last_refresh: Option<String>,
    /// Last refresh state.
    pub last_refresh_state: String,
}

/// A Stream Load label entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelEntry {
    /// TxnId of the load.
    pub txn_id: u64,
    /// FINISHED, etc.
    pub status: String,
}

/// A Routine Load job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutineLoad {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Database.
    pub db: String,
    /// Target table.
    pub table: String,
    /// NEED_SCHEDULE / RUNNING / PAUSED / STOPPED.
    pub state: String,
    /// COLUMNS(...) items as written.
    pub columns: Vec<String>,
    /// Job properties.
    pub properties: BTreeMap<String, String>,
    /// Kafka source properties.
    pub source: BTreeMap<String, String>,
    /// CreateTime.
    pub create_time: String,
    /// PauseTime.
    pub pause_time: Option<String>,
    /// EndTime.
    pub end_time: Option<String>,
    /// ReasonOfStateChanged.
    pub reason: String,
}

/// A database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Database {
    /// Id.
    pub id: u64,
    /// Base tables by name.
    pub tables: BTreeMap<String, Table>,
    /// Materialized views by name.
    pub mvs: BTreeMap<String, Mv>,
}

/// Everything the FE remembers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Id sequence.
    pub next_id: u64,
    /// Databases by name.
    pub dbs: BTreeMap<String, Database>,
    /// Schema-change jobs, oldest first.
    pub jobs: Vec<Job>,
    /// Stream Load labels, keyed `db/label`.
    pub labels: BTreeMap<String, LabelEntry>,
    /// Routine Load jobs, keyed `db/name`.
    pub routine_loads: BTreeMap<String, RoutineLoad>,
}

impl Catalog {
    /// A fresh id.
    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        10_000 + self.next_id
    }

    /// Database by name.
    pub fn db(&self, db: &str) -> Result<&Database> {
        self.dbs.get(db).ok_or_else(|| SrError::unknown_db(db))
    }

    /// Mutable database by name.
    pub fn db_mut(&mut self, db: &str) -> Result<&mut Database> {
        self.dbs.get_mut(db).ok_or_else(|| SrError::unknown_db(db))
    }

    /// Table by name.
    pub fn table(&self, db: &str, name: &str) -> Result<&Table> {
        self.db(db)?
            .tables
            .get(name)
            .ok_or_else(|| SrError::unknown_table(db, name))
    }

    /// Mutable table by name.
    pub fn table_mut(&mut self, db: &str, name: &str) -> Result<&mut Table> {
        self.db_mut(db)?
            .tables
            .get_mut(name)
            .ok_or_else(|| SrError::unknown_table(db, name))
    }

    /// Finds a table by id: `(db, name)`.
    pub fn table_by_id(&self, id: u64) -> Option<(String, String)> {
        self.dbs.iter().find_map(|(dn, d)| {
            d.tables
                .values()
                .find(|t| t.id == id)
                .map(|t| (dn.clone(), t.name.clone()))
        })
    }

    /// The unfinished job of a table, if any.
    pub fn running_job(&self, table_id: u64) -> Option<&Job> {
        self.jobs
            .iter()
            .find(|j| j.table_id == table_id && !j.state.terminal())
    }

    /// Loads the catalog from `dir/catalog.json`, or a fresh one.
    pub fn load(dir: &Path) -> std::io::Result<Catalog> {
        let p = dir.join("catalog.json");
        if !p.exists() {
            return Ok(Catalog::default());
        }
        let text = std::fs::read_to_string(p)?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }

    /// Writes the catalog atomically to `dir/catalog.json`.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join("catalog.json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, dir.join("catalog.json"))
    }
}

/// The current time as StarRocks prints it.
pub fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The current time in unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
