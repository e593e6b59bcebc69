//! The source model: what a source database (MySQL-family or PostgreSQL) says a
//! table looks like, version by version.
//!
//! Owns the sans-I/O domain types of the source side: [`TableId`],
//! [`SourceType`] (the type exactly as the source knows it), [`SourceColumn`],
//! [`SourceTable`], [`SourcePosition`] and the versioned [`history`].
//! It must not do I/O, read the clock or log above DEBUG; decoding of Debezium
//! messages lives in `source`, mapping to StarRocks types in `types`.

pub mod history;

use std::fmt;

use serde::{Deserialize, Serialize};

/// A fully qualified table name: database (MySQL database or PostgreSQL
/// schema) and table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TableId {
    /// Database (MySQL) or schema (PostgreSQL) name.
    pub database: String,
    /// Table name.
    pub table: String,
}

impl TableId {
    /// Builds a table id from its two parts.
    pub fn new(database: impl Into<String>, table: impl Into<String>) -> Self {
        Self {
            database: database.into(),
            table: table.into(),
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.table)
    }
}

/// Which family of source database a table comes from; decides how native
/// type names are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceDialect {
    /// MySQL, MariaDB and other MySQL-protocol sources (Debezium MySQL connector).
    Mysql,
    /// PostgreSQL (Debezium PostgreSQL connector).
    Postgres,
}

impl fmt::Display for SourceDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceDialect::Mysql => "mysql",
            SourceDialect::Postgres => "postgres",
        })
    }
}

/// A column type exactly as the source knows it, plus what Debezium says of it.
///
/// Nothing is mapped here: the StarRocks type is derived by `types::map_column`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct SourceType {
    /// Native type name, upper case, without length or modifiers:
    /// `VARCHAR`, `INT`, `BIGINT`, `DECIMAL`, `TINYINT`, `ENUM`, `_INT4`, `NUMERIC`,
    /// `TIMESTAMPTZ`, `UUID`, ... (PostgreSQL array types keep their `_` prefix
    /// as Debezium reports them).
    pub name: String,
    /// Length or precision (characters for strings, digits for decimals, bits for BIT).
    pub length: Option<u64>,
    /// Scale (decimals) or fractional-second precision where the source gives it there.
    pub scale: Option<u32>,
    /// MySQL `UNSIGNED`.
    pub unsigned: bool,
    /// Character set of a string column (`utf8mb4`, `latin1`, ...), when known.
    pub charset: Option<String>,
    /// Allowed values of ENUM / SET columns.
    pub enum_values: Vec<String>,
    /// Debezium semantic type (`io.debezium.time.Date`,
    /// `org.apache.kafka.connect.data.Decimal`, `io.debezium.data.Json`, ...), when known.
    pub semantic: Option<String>,
    /// Kafka Connect schema type (`int32`, `string`, `bytes`, `struct`, ...), when known.
    pub connect_type: Option<String>,
}

impl SourceType {
    /// A type with only a name (upper-cased), everything else unset.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_ascii_uppercase(),
            ..Self::default()
        }
    }
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match (self.length, self.scale) {
            (Some(l), Some(s)) => write!(f, "({l},{s})")?,
            (Some(l), None) => write!(f, "({l})")?,
            _ => {}
        }
        if self.unsigned {
            f.write_str(" UNSIGNED")?;
        }
        Ok(())
    }
}

/// Stable identity of a column through renames within one table's history.
///
/// Assigned by the history when the column first appears; a rename keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ColumnId(pub u32);

/// One column of a source table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceColumn {
    /// Identity through renames (see [`ColumnId`]).
    pub id: ColumnId,
    /// Current name.
    pub name: String,
    /// Names this column had earlier in the history, oldest first (empty when never renamed).
    pub former_names: Vec<String>,
    /// 1-based position in the table.
    pub position: u32,
    /// Type as the source knows it.
    pub ty: SourceType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default value expression as the source reports it (`None` when there is none).
    pub default: Option<String>,
    /// Column comment.
    pub comment: Option<String>,
    /// Auto-increment / serial column.
    pub auto_increment: bool,
}

/// A source table at one point of its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceTable {
    /// The table's name.
    pub id: TableId,
    /// Source family.
    pub dialect: SourceDialect,
    /// Columns in source order.
    pub columns: Vec<SourceColumn>,
    /// Primary-key column names in key order (empty when the table has none).
    pub primary_key: Vec<String>,
    /// Default character set of the table (MySQL), when known.
    pub charset: Option<String>,
    /// Table comment.
    pub comment: Option<String>,
}

impl SourceTable {
    /// The column called `name` (exact match first, then ASCII case-insensitive).
    pub fn column(&self, name: &str) -> Option<&SourceColumn> {
        self.columns.iter().find(|c| c.name == name).or_else(|| {
            self.columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
        })
    }
}

/// Where in the source stream a schema version was observed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourcePosition {
    /// Kafka topic, when the event came from Kafka.
    pub topic: Option<String>,
    /// Kafka partition.
    pub partition: Option<i32>,
    /// Kafka offset.
    pub offset: Option<i64>,
    /// 1-based line of the input file, when read from a file.
    pub line: Option<usize>,
    /// Source-native position: `mysql-bin.000003:1234` (binlog file and position),
    /// `lsn:24023128` (PostgreSQL), or `gtid:...`.
    pub native: Option<String>,
    /// Source event time in milliseconds since the epoch (`source.ts_ms`), when given.
    pub ts_ms: Option<i64>,
}

impl fmt::Display for SourcePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(n) = &self.native {
            parts.push(n.clone());
        }
        if let (Some(t), Some(p), Some(o)) = (&self.topic, self.partition, self.offset) {
            parts.push(format!("{t}[{p}]@{o}"));
        }
        if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if parts.is_empty() {
            f.write_str("-")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}
