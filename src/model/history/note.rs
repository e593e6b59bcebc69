//! What folding an event into the histories reports: [`HistoryNote`] (per
//! event) and [`TableEvent`] (table-level events kept in stream order).

use std::fmt;

use serde::Serialize;

use super::Fingerprint;
use crate::model::{SourcePosition, TableId};

/// A table-level event, in the order observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TableEvent {
    /// The table appeared (CREATE, snapshot, or first inline schema).
    Created {
        /// The table.
        id: TableId,
        /// Where.
        position: SourcePosition,
    },
    /// The table was dropped.
    Dropped {
        /// The table.
        id: TableId,
        /// Where.
        position: SourcePosition,
    },
    /// The table was renamed; its history moved to `to`.
    Renamed {
        /// Old name.
        from: TableId,
        /// New name.
        to: TableId,
        /// Where.
        position: SourcePosition,
    },
    /// The table was truncated.
    Truncated {
        /// The table.
        id: TableId,
        /// Where.
        position: SourcePosition,
    },
}

/// What folding one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryNote {
    /// A new version of `table` (index into its `versions`).
    NewVersion {
        /// The table.
        table: TableId,
        /// Index of the version.
        version: usize,
        /// Its fingerprint.
        fingerprint: Fingerprint,
    },
    /// The event confirmed the latest version.
    Unchanged {
        /// The table.
        table: TableId,
    },
    /// A table rename.
    TableRenamed {
        /// Old name.
        from: TableId,
        /// New name.
        to: TableId,
    },
    /// A column rename with ddl evidence.
    ColumnRenamed {
        /// The table.
        table: TableId,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// A dropped + added column pair without ddl evidence (treated as drop + add).
    PossibleRename {
        /// The table.
        table: TableId,
        /// Dropped column.
        from: String,
        /// Added column.
        to: String,
    },
    /// The table was dropped.
    Dropped {
        /// The table.
        table: TableId,
    },
    /// The table was truncated.
    Truncated {
        /// The table.
        table: TableId,
    },
    /// sqlparser could not parse the ddl; `tableChanges` were applied anyway.
    DdlNotParsed {
        /// The statement.
        ddl: String,
        /// The parser's error.
        error: String,
    },
    /// Nothing to apply (a statement without table changes, a drop of an
    /// unknown table, a data event without schema for an unknown table, ...).
    Skipped {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for HistoryNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryNote::NewVersion { table, version, fingerprint } => {
                write!(f, "table {table}: version {} ({fingerprint})", version + 1)
            }
            HistoryNote::Unchanged { table } => write!(f, "table {table}: schema unchanged"),
            HistoryNote::TableRenamed { from, to } => write!(f, "table {from}: renamed to {to}"),
            HistoryNote::ColumnRenamed { table, from, to } => {
                write!(f, "table {table}: column {from} renamed to {to}")
            }
            HistoryNote::PossibleRename { table, from, to } => write!(
                f,
                "table {table}: possible rename {from} -> {to} (no ddl evidence; treated as drop + add)"
            ),
            HistoryNote::Dropped { table } => write!(f, "table {table}: dropped"),
            HistoryNote::Truncated { table } => write!(f, "table {table}: truncated"),
            HistoryNote::DdlNotParsed { ddl, error } => {
                write!(f, "ddl not parsed ({error}): {ddl}")
            }
            HistoryNote::Skipped { reason } => write!(f, "skipped: {reason}"),
        }
    }
}
