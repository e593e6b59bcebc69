//! The target catalog: what StarRocks has — tables, their keys, partitioning,
//! distribution and properties, and the materialized views over them with the
//! base columns each one reads.
//!
//! Owns the target-side model ([`Catalog`], [`TargetTable`], [`TargetColumn`],
//! [`MaterializedView`]) and the parsers that build it from StarRocks output
//! (`SHOW CREATE TABLE`, `SHOW CREATE MATERIALIZED VIEW`). Pure: the
//! introspection that fetches that output lives at the edge.
//!
//! * [`show_create`]: [`parse_catalog`] and [`render_show_create`].
//! * [`mv`]: which base columns a materialized view's query reads.
//! * `input`, `cursor`, `types_text`, `render` (private): CLI output splitting,
//!   tokens, type spelling, and the `SHOW CREATE TABLE` printer.

mod cursor;
mod input;
pub mod mv;
mod render;
pub mod show_create;
mod types_text;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use show_create::{parse_catalog, parse_catalog_with_warnings, render_show_create};

use crate::model::TableId;
use crate::types::SrType;

/// StarRocks table type (key model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeysType {
    /// `PRIMARY KEY`
    Primary,
    /// `DUPLICATE KEY`
    Duplicate,
    /// `UNIQUE KEY`
    Unique,
    /// `AGGREGATE KEY`
    Aggregate,
}

/// One column of a StarRocks table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetColumn {
    /// Column name.
    pub name: String,
    /// StarRocks type.
    pub ty: SrType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default value as StarRocks shows it (`None` when there is none): the
    /// unquoted text of a string literal (`DEFAULT "0"` → `0`), or the
    /// expression itself (`CURRENT_TIMESTAMP`).
    pub default: Option<String>,
    /// Column comment (`None` when empty).
    pub comment: Option<String>,
    /// Aggregate function of a value column of an AGGREGATE KEY table (`SUM`, `REPLACE`, ...).
    pub aggregation: Option<String>,
}

/// Bucketing of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Distribution {
    /// `DISTRIBUTED BY HASH(cols) [BUCKETS n]`
    Hash {
        /// Hash columns.
        columns: Vec<String>,
        /// Bucket count, when given.
        buckets: Option<u32>,
    },
    /// `DISTRIBUTED BY RANDOM [BUCKETS n]`
    Random {
        /// Bucket count, when given.
        buckets: Option<u32>,
    },
}

/// A StarRocks table as `SHOW CREATE TABLE` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetTable {
    /// Database and table name.
    pub id: TableId,
    /// Columns in table order.
    pub columns: Vec<TargetColumn>,
    /// Key model.
    pub keys_type: KeysType,
    /// Key columns in key order.
    pub key_columns: Vec<String>,
    /// Partition clause verbatim (e.g. ``PARTITION BY RANGE(`dt`)(...)``), when partitioned.
    pub partition_clause: Option<String>,
    /// Columns the partition clause uses.
    pub partition_columns: Vec<String>,
    /// Bucketing, when given.
    pub distribution: Option<Distribution>,
    /// `ORDER BY` sort key columns (empty when not given).
    pub order_by: Vec<String>,
    /// Table properties, sorted by name.
    pub properties: BTreeMap<String, String>,
    /// Table comment.
    pub comment: Option<String>,
}

impl TargetTable {
    /// The column called `name` (StarRocks column names are case-insensitive).
    pub fn column(&self, name: &str) -> Option<&TargetColumn> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// How an async materialized view refreshes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshKind {
    /// `REFRESH ASYNC [...]`
    Async,
    /// `REFRESH MANUAL`
    Manual,
    /// Anything else, verbatim.
    Other(String),
}

/// An asynchronous materialized view and what it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterializedView {
    /// Database and view name.
    pub id: TableId,
    /// The full `CREATE MATERIALIZED VIEW` statement as StarRocks shows it.
    pub create_sql: String,
    /// The `AS SELECT ...` query.
    pub query: String,
    /// Refresh scheme.
    pub refresh: RefreshKind,
    /// Base columns the query reads, per base table (lower-cased column names;
    /// [`mv::ALL_COLUMNS`] (`*`) when the table is not in the catalog and the
    /// query reads all of it). Every base table has an entry, possibly empty.
    pub reads: BTreeMap<TableId, BTreeSet<String>>,
    /// Whether the view is active (`information_schema.materialized_views.IS_ACTIVE`);
    /// `true` when unknown (offline input).
    pub is_active: bool,
    /// StarRocks' `INACTIVE_REASON`, when inactive.
    pub inactive_reason: Option<String>,
    /// What could not be resolved exactly (e.g. a query sqlparser could not
    /// parse, so `reads` conservatively holds every column of its tables).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Everything known about the target: its tables and views.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Catalog {
    /// Tables by id.
    pub tables: BTreeMap<TableId, TargetTable>,
    /// Materialized views by id.
    pub views: BTreeMap<TableId, MaterializedView>,
}

impl Catalog {
    /// The views that read at least one of `columns` of `table` (column names
    /// compared case-insensitively). With `columns` empty: every view reading `table`.
    pub fn views_reading<'a>(
        &'a self,
        table: &'a TableId,
        columns: &'a [String],
    ) -> impl Iterator<Item = &'a MaterializedView> + 'a {
        self.views
            .values()
            .filter(move |mv| match mv.reads.get(table) {
                None => false,
                Some(read) => {
                    columns.is_empty()
                        || read.contains(mv::ALL_COLUMNS)
                        || columns
                            .iter()
                            .any(|c| read.contains(&c.to_ascii_lowercase()))
                }
            })
    }
}

/// Why a `SHOW CREATE` text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogError {
    /// The text is not what StarRocks prints.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line of the input.
        line: usize,
        /// What was expected and what was found.
        message: String,
    },
}

impl CatalogError {
    /// The 1-based input line the error is about.
    pub fn line(&self) -> usize {
        match self {
            CatalogError::Syntax { line, .. } => *line,
        }
    }
}

/// Parses a StarRocks column type as `SHOW CREATE TABLE` or
/// `information_schema.columns.COLUMN_TYPE` spell it (`int(11)`,
/// `decimal(10,2)`, `varchar(65533)`, `array<int(11)>`).
pub fn parse_type_text(text: &str) -> Result<SrType, CatalogError> {
    let mut seg = input::Segment::default();
    seg.text = text.trim().to_string();
    let toks = input::tokenize(&seg.text).map_err(|(_, what)| CatalogError::Syntax {
        line: 1,
        message: format!("unterminated {what}"),
    })?;
    let mut c = cursor::Cursor {
        seg: &seg,
        toks: &toks,
        pos: 0,
    };
    let ty = types_text::parse_type(&mut c)?;
    if c.pos < toks.len() {
        return Err(c.err("the end of the type"));
    }
    Ok(ty)
}
