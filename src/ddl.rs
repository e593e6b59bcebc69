//! The StarRocks statement AST and its rendering to SQL.
//!
//! Owns [`Statement`] and the types it is built from ([`CreateTable`],
//! [`AlterTable`], [`AlterClause`], [`ColumnDef`], [`InsertSelect`], ...), the
//! one identifier-quoting function [`quote_ident`] and the one string-literal
//! function [`quote_string`]. SQL text is produced only by `Display` on these
//! types; nothing else in the crate formats SQL. Pure: no I/O, no clock.
//!
//! ```
//! use ddlsync::ddl::{quote_ident, AlterClause, AlterTable, ColumnDef, Statement};
//! use ddlsync::model::TableId;
//! use ddlsync::types::SrType;
//!
//! let stmt = Statement::AlterTable(AlterTable {
//!     table: TableId::new("shop", "orders"),
//!     clauses: vec![AlterClause::AddColumn {
//!         column: ColumnDef::new("e`mail", SrType::Varchar { len: 1020 }, true),
//!         after: None,
//!     }],
//! });
//! assert_eq!(
//!     stmt.to_string(),
//!     "ALTER TABLE `shop`.`orders` ADD COLUMN `e``mail` VARCHAR(1020) NULL"
//! );
//! assert_eq!(quote_ident("a b;"), "`a b;`");
//! ```

mod create;
pub mod mv;

use std::fmt;

use serde::{Serialize, Serializer};

use crate::model::TableId;
use crate::types::SrType;

pub use create::CreateTable;
pub use mv::CreateMaterializedViewAs;

/// Errors of this module (none of the renderers fail; kept for the module contract).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A statement was built without any clause.
    #[error("table {table}: alter table without clauses")]
    EmptyAlter {
        /// The table.
        table: TableId,
    },
}

/// Quotes an identifier for StarRocks: backticks around it, embedded backticks
/// doubled. This is the only place identifiers are quoted.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// Quotes a table name as `` `db`.`table` ``.
pub fn quote_table(id: &TableId) -> String {
    format!("{}.{}", quote_ident(&id.database), quote_ident(&id.table))
}

/// Quotes a string literal: double quotes (as StarRocks' `SHOW CREATE` prints
/// them), with backslash, quote and control characters escaped. This is the
/// only place string literals are written.
pub fn quote_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// A column's default value in DDL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum DefaultValue {
    /// A literal, written as a string literal (`DEFAULT "0"`).
    Literal(String),
    /// `DEFAULT CURRENT_TIMESTAMP` (DATETIME columns).
    CurrentTimestamp,
}

impl fmt::Display for DefaultValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultValue::Literal(v) => f.write_str(&quote_string(v)),
            DefaultValue::CurrentTimestamp => f.write_str("CURRENT_TIMESTAMP"),
        }
    }
}

impl DefaultValue {
    /// Reads a default as `SHOW CREATE TABLE` / the catalog stores it.
    pub fn from_catalog(value: &str) -> Self {
        if value.eq_ignore_ascii_case("CURRENT_TIMESTAMP") {
            DefaultValue::CurrentTimestamp
        } else {
            DefaultValue::Literal(value.to_string())
        }
    }
}

/// A full column definition, as CREATE TABLE, ADD COLUMN and MODIFY COLUMN need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// StarRocks type.
    pub ty: SrType,
    /// Write the `KEY` keyword (key columns in ADD/MODIFY COLUMN).
    pub key: bool,
    /// Aggregate function of an AGGREGATE KEY value column.
    pub aggregation: Option<String>,
    /// NULL allowed.
    pub nullable: bool,
    /// Default value.
    pub default: Option<DefaultValue>,
    /// Comment.
    pub comment: Option<String>,
}

impl ColumnDef {
    /// A plain value column.
    pub fn new(name: impl Into<String>, ty: SrType, nullable: bool) -> Self {
        Self {
            name: name.into(),
            ty,
            key: false,
            aggregation: None,
            nullable,
            default: None,
            comment: None,
        }
    }
}

impl fmt::Display for ColumnDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", quote_ident(&self.name), self.ty)?;
        if self.key {
            f.write_str(" KEY")?;
        }
        if let Some(agg) = &self.aggregation {
            write!(f, " {agg}")?;
        }
        f.write_str(if self.nullable { " NULL" } else { " NOT NULL" })?;
        if let Some(d) = &self.default {
            write!(f, " DEFAULT {d}")?;
        }
        if let Some(c) = &self.comment {
            write!(f, " COMMENT {}", quote_string(c))?;
        }
        Ok(())
    }
}

/// One clause of an `ALTER TABLE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "clause", rename_all = "snake_case")]
pub enum AlterClause {
    /// `ADD COLUMN def [AFTER col]`
    AddColumn {
        /// The new column.
        column: ColumnDef,
        /// Position (`None`: appended last).
        after: Option<String>,
    },
    /// `DROP COLUMN col`
    DropColumn {
        /// The column.
        column: String,
    },
    /// `MODIFY COLUMN def` (full definition).
    ModifyColumn {
        /// The new definition.
        column: ColumnDef,
    },
    /// `MODIFY COLUMN col COMMENT "..."` (metadata only).
    ModifyColumnComment {
        /// The column.
        column: String,
        /// The new comment.
        comment: String,
    },
    /// `RENAME COLUMN a TO b` (synchronous; render it in its own statement).
    RenameColumn {
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// `COMMENT = "..."` (table comment; synchronous).
    Comment {
        /// The new comment.
        comment: String,
    },
    /// `RENAME new_name` (table rename; synchronous).
    RenameTable {
        /// The new table name (same database).
        to: String,
    },
    /// `SWAP WITH other` (synchronous, atomic).
    SwapWith {
        /// The other table (same database).
        with: String,
    },
}

impl AlterClause {
    /// Whether the clause starts an asynchronous schema-change job.
    pub fn starts_job(&self) -> bool {
        matches!(
            self,
            AlterClause::AddColumn { .. }
                | AlterClause::DropColumn { .. }
                | AlterClause::ModifyColumn { .. }
        )
    }
}

impl fmt::Display for AlterClause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlterClause::AddColumn { column, after } => {
                write!(f, "ADD COLUMN {column}")?;
                if let Some(a) = after {
                    write!(f, " AFTER {}", quote_ident(a))?;
                }
                Ok(())
            }
            AlterClause::DropColumn { column } => write!(f, "DROP COLUMN {}", quote_ident(column)),
            AlterClause::ModifyColumn { column } => write!(f, "MODIFY COLUMN {column}"),
            AlterClause::ModifyColumnComment { column, comment } => write!(
                f,
                "MODIFY COLUMN {} COMMENT {}",
                quote_ident(column),
                quote_string(comment)
            ),
            AlterClause::RenameColumn { from, to } => write!(
                f,
                "RENAME COLUMN {} TO {}",
                quote_ident(from),
                quote_ident(to)
            ),
            AlterClause::Comment { comment } => write!(f, "COMMENT = {}", quote_string(comment)),
            AlterClause::RenameTable { to } => write!(f, "RENAME {}", quote_ident(to)),
            AlterClause::SwapWith { with } => write!(f, "SWAP WITH {}", quote_ident(with)),
        }
    }
}

/// `ALTER TABLE t clause, clause, ...`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlterTable {
    /// The table.
    pub table: TableId,
    /// The clauses, in order.
    pub clauses: Vec<AlterClause>,
}

impl fmt::Display for AlterTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ALTER TABLE {} ", quote_table(&self.table))?;
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// One expression of the SELECT list of an [`InsertSelect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SelectExpr {
    /// The old column as it is.
    Column {
        /// Column of the old table.
        column: String,
    },
    /// `CAST(col AS type)`
    Cast {
        /// Column of the old table.
        column: String,
        /// The new type.
        ty: SrType,
    },
}

impl fmt::Display for SelectExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectExpr::Column { column } => f.write_str(&quote_ident(column)),
            SelectExpr::Cast { column, ty } => write!(f, "CAST({} AS {ty})", quote_ident(column)),
        }
    }
}

/// `INSERT INTO target (cols) SELECT exprs FROM source`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InsertSelect {
    /// Table written.
    pub target: TableId,
    /// Columns of the target written, in order.
    pub columns: Vec<String>,
    /// One expression per column.
    pub select_exprs: Vec<SelectExpr>,
    /// Table read.
    pub source: TableId,
}

impl fmt::Display for InsertSelect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cols: Vec<String> = self.columns.iter().map(|c| quote_ident(c)).collect();
        let exprs: Vec<String> = self.select_exprs.iter().map(|e| e.to_string()).collect();
        write!(
            f,
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            quote_table(&self.target),
            cols.join(", "),
            exprs.join(", "),
            quote_table(&self.source)
        )
    }
}

/// A StarRocks statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `CREATE TABLE ...`
    CreateTable(Box<CreateTable>),
    /// `ALTER TABLE ...`
    AlterTable(AlterTable),
    /// `ALTER TABLE t RENAME new`
    RenameTable {
        /// The table.
        table: TableId,
        /// New name in the same database.
        to: String,
    },
    /// `DROP TABLE [IF EXISTS] t`
    DropTable {
        /// The table.
        table: TableId,
        /// Add `IF EXISTS`.
        if_exists: bool,
    },
    /// `CREATE DATABASE IF NOT EXISTS db`, before creating `table` in it.
    CreateDatabase {
        /// The database.
        database: String,
        /// The table whose creation needs it (when it exists, so does the database).
        table: TableId,
    },
    /// `TRUNCATE TABLE t`
    TruncateTable {
        /// The table.
        table: TableId,
    },
    /// `ALTER TABLE t SWAP WITH other`
    SwapWith {
        /// The table.
        table: TableId,
        /// The other table (same database).
        with: String,
    },
    /// `INSERT INTO ... SELECT ...`
    InsertSelect(InsertSelect),
    /// `ALTER MATERIALIZED VIEW mv ACTIVE`
    AlterMaterializedViewActive {
        /// The view.
        mv: TableId,
    },
    /// `REFRESH MATERIALIZED VIEW mv`
    RefreshMaterializedView {
        /// The view.
        mv: TableId,
    },
    /// `DROP MATERIALIZED VIEW [IF EXISTS] mv`
    DropMaterializedView {
        /// The view.
        mv: TableId,
        /// Add `IF EXISTS`.
        if_exists: bool,
    },
    /// `USE db` (before re-issuing a stored definition whose names may be
    /// unqualified).
    UseDatabase {
        /// The database.
        database: String,
    },
    /// `CREATE MATERIALIZED VIEW ...`, the stored definition re-issued verbatim.
    CreateMaterializedView {
        /// The view.
        mv: TableId,
        /// The definition as `SHOW CREATE MATERIALIZED VIEW` printed it.
        definition: String,
    },
}

impl Statement {
    /// Whether StarRocks runs the statement as an asynchronous job that must be awaited.
    pub fn starts_job(&self) -> bool {
        match self {
            Statement::AlterTable(a) => a.clauses.iter().any(AlterClause::starts_job),
            _ => false,
        }
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateTable(c) => write!(f, "{c}"),
            Statement::AlterTable(a) => write!(f, "{a}"),
            Statement::RenameTable { table, to } => {
                write!(
                    f,
                    "ALTER TABLE {} RENAME {}",
                    quote_table(table),
                    quote_ident(to)
                )
            }
            Statement::DropTable { table, if_exists } => write!(
                f,
                "DROP TABLE {}{}",
                if *if_exists { "IF EXISTS " } else { "" },
                quote_table(table)
            ),
            Statement::TruncateTable { table } => {
                write!(f, "TRUNCATE TABLE {}", quote_table(table))
            }
            Statement::CreateDatabase { database, .. } => {
                write!(f, "CREATE DATABASE IF NOT EXISTS {}", quote_ident(database))
            }
            Statement::SwapWith { table, with } => write!(
                f,
                "ALTER TABLE {} SWAP WITH {}",
                quote_table(table),
                quote_ident(with)
            ),
            Statement::InsertSelect(i) => write!(f, "{i}"),
            Statement::AlterMaterializedViewActive { mv } => {
                write!(f, "ALTER MATERIALIZED VIEW {} ACTIVE", quote_table(mv))
            }
            Statement::RefreshMaterializedView { mv } => {
                write!(f, "REFRESH MATERIALIZED VIEW {}", quote_table(mv))
            }
            Statement::DropMaterializedView { mv, if_exists } => write!(
                f,
                "DROP MATERIALIZED VIEW {}{}",
                if *if_exists { "IF EXISTS " } else { "" },
                quote_table(mv)
            ),
            Statement::UseDatabase { database } => write!(f, "USE {}", quote_ident(database)),
            Statement::CreateMaterializedView { definition, .. } => {
                f.write_str(definition.trim().trim_end_matches(';').trim_end())
            }
        }
    }
}

impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests;
