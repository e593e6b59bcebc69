//! The typed changes of the design vocabulary: [`ChangeKind`],
//! [`TypeChangeClass`], [`Change`] and its [`ChangeDetail`], with the
//! constructors the CLI uses for changes that come from source history
//! (table drops, truncates and renames) rather than from comparing schemas.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalog::{TargetColumn, TargetTable};
use crate::model::{SourceType, TableId};
use crate::types::{Conversion, Loss, SrType};

/// The kind of a change (design.md vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// `create_table`
    CreateTable,
    /// `drop_table`
    DropTable,
    /// `truncate_table`
    TruncateTable,
    /// `rename_table`
    RenameTable,
    /// `add_column`
    AddColumn,
    /// `drop_column`
    DropColumn,
    /// `rename_column`
    RenameColumn,
    /// `modify_column_type`
    ModifyColumnType,
    /// `make_nullable`
    MakeNullable,
    /// `make_not_null`
    MakeNotNull,
    /// `change_default`
    ChangeDefault,
    /// `change_comment`
    ChangeComment,
    /// `change_primary_key`
    ChangePrimaryKey,
    /// `reorder_column`
    ReorderColumn,
    /// `regenerate_mv`: a ddlsync-generated materialized view (the
    /// current-state view over a raw table) is dropped and re-created because
    /// the source columns it is generated from changed.
    RegenerateMv,
}

impl ChangeKind {
    /// Every kind, in vocabulary order.
    pub const ALL: [ChangeKind; 15] = [
        ChangeKind::CreateTable,
        ChangeKind::DropTable,
        ChangeKind::TruncateTable,
        ChangeKind::RenameTable,
        ChangeKind::AddColumn,
        ChangeKind::DropColumn,
        ChangeKind::RenameColumn,
        ChangeKind::ModifyColumnType,
        ChangeKind::MakeNullable,
        ChangeKind::MakeNotNull,
        ChangeKind::ChangeDefault,
        ChangeKind::ChangeComment,
        ChangeKind::ChangePrimaryKey,
        ChangeKind::ReorderColumn,
        ChangeKind::RegenerateMv,
    ];

    /// The vocabulary name (`add_column`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::CreateTable => "create_table",
            ChangeKind::DropTable => "drop_table",
            ChangeKind::TruncateTable => "truncate_table",
            ChangeKind::RenameTable => "rename_table",
            ChangeKind::AddColumn => "add_column",
            ChangeKind::DropColumn => "drop_column",
            ChangeKind::RenameColumn => "rename_column",
            ChangeKind::ModifyColumnType => "modify_column_type",
            ChangeKind::MakeNullable => "make_nullable",
            ChangeKind::MakeNotNull => "make_not_null",
            ChangeKind::ChangeDefault => "change_default",
            ChangeKind::ChangeComment => "change_comment",
            ChangeKind::ChangePrimaryKey => "change_primary_key",
            ChangeKind::ReorderColumn => "reorder_column",
            ChangeKind::RegenerateMv => "regenerate_mv",
        }
    }

    /// Whether the change can lose data or break readers (drops, truncates,
    /// renames, narrowing nullability, key changes).
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            ChangeKind::DropTable
                | ChangeKind::TruncateTable
                | ChangeKind::RenameTable
                | ChangeKind::DropColumn
                | ChangeKind::RenameColumn
                | ChangeKind::MakeNotNull
                | ChangeKind::ChangePrimaryKey
        )
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a change kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown change kind {0:?}")]
pub struct UnknownKind(pub String);

impl FromStr for ChangeKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChangeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// Class of a type change (design.md vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeChangeClass {
    /// Lossless and StarRocks converts in place.
    Widening,
    /// May lose data.
    Narrowing,
    /// StarRocks cannot convert in place: rebuild.
    Incompatible,
}

impl TypeChangeClass {
    /// The vocabulary name.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeChangeClass::Widening => "widening",
            TypeChangeClass::Narrowing => "narrowing",
            TypeChangeClass::Incompatible => "incompatible",
        }
    }

    /// The class of a conversion and whether StarRocks has an in-place
    /// `MODIFY COLUMN` for it; `None` for the identity.
    pub fn of(conversion: Conversion) -> Option<(Self, bool)> {
        match conversion {
            Conversion::Identity => None,
            Conversion::Widening => Some((TypeChangeClass::Widening, true)),
            Conversion::Narrowing { in_place } => Some((TypeChangeClass::Narrowing, in_place)),
            Conversion::Incompatible => Some((TypeChangeClass::Incompatible, false)),
        }
    }
}

impl fmt::Display for TypeChangeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mapping loss of one column of a new table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnLoss {
    /// The column.
    pub column: String,
    /// What is lost.
    pub loss: Loss,
}

/// What a change does, with everything the planner and the JSON need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeDetail {
    /// The target table is missing: create it as modelled.
    CreateTable {
        /// The table to create.
        table: Box<TargetTable>,
        /// Mapping losses per column.
        losses: Vec<ColumnLoss>,
    },
    /// The source dropped the table.
    DropTable,
    /// The source truncated the table.
    TruncateTable,
    /// The source renamed the table.
    RenameTable {
        /// The new name.
        to: TableId,
    },
    /// A source column the target lacks.
    AddColumn {
        /// The column as it should be created.
        column: TargetColumn,
        /// The source's native type.
        source_type: SourceType,
        /// What the mapping loses.
        losses: Vec<Loss>,
    },
    /// A target column the source no longer has.
    DropColumn {
        /// The target column.
        column: TargetColumn,
    },
    /// A column renamed in the source (with evidence in its history).
    RenameColumn {
        /// Name in the target.
        from: String,
        /// Name in the source.
        to: String,
    },
    /// The column's type must change.
    ModifyColumnType {
        /// The column (source name).
        column: String,
        /// Current target type.
        from: SrType,
        /// Type the source column maps to.
        to: SrType,
        /// Class of the change.
        class: TypeChangeClass,
        /// StarRocks has an in-place `MODIFY COLUMN` for it.
        in_place: bool,
        /// The source's native type.
        source_type: SourceType,
        /// What the mapping loses.
        losses: Vec<Loss>,
    },
    /// The source allows NULL where the target does not.
    MakeNullable {
        /// The column.
        column: String,
    },
    /// The source forbids NULL where the target allows it (from source history).
    MakeNotNull {
        /// The column.
        column: String,
    },
    /// The source changed a default (from source history).
    ChangeDefault {
        /// The column.
        column: String,
        /// Old default literal.
        from: Option<String>,
        /// New default literal.
        to: Option<String>,
    },
    /// A column comment (`column` set) or the table comment changed.
    ChangeComment {
        /// The column, `None` for the table comment.
        column: Option<String>,
        /// Current target comment.
        from: Option<String>,
        /// Source comment.
        to: Option<String>,
    },
    /// The primary key differs.
    ChangePrimaryKey {
        /// Current key columns.
        from: Vec<String>,
        /// Source key columns.
        to: Vec<String>,
    },
    /// The source moved a column (from source history).
    ReorderColumn {
        /// The column.
        column: String,
        /// The column it now follows (`None`: first).
        after: Option<String>,
    },
    /// A ddlsync-generated materialized view is missing: create it (kind
    /// `create_table`).
    CreateMv {
        /// The view as ddlsync generates it.
        mv: Box<crate::ddl::CreateMaterializedViewAs>,
    },
    /// A ddlsync-generated materialized view no longer matches its source:
    /// drop and re-create it (kind `regenerate_mv`).
    RegenerateMv {
        /// The view as ddlsync generates it now.
        mv: Box<crate::ddl::CreateMaterializedViewAs>,
        /// Fingerprint of the definition the view was generated from.
        from: String,
        /// Fingerprint of the definition generated now.
        to: String,
    },
}

/// One typed change of one target table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The target table the change applies to.
    pub table: TableId,
    /// Column ordinal used for ordering (source position; target position for
    /// drops; 0 for table-level changes).
    pub ordinal: u32,
    /// What changes.
    #[serde(flatten)]
    pub detail: ChangeDetail,
}

impl Change {
    /// A change of `table`.
    pub fn new(table: TableId, ordinal: u32, detail: ChangeDetail) -> Self {
        Self {
            table,
            ordinal,
            detail,
        }
    }

    /// `drop_table` (from a source history event).
    pub fn drop_table(table: TableId) -> Self {
        Self::new(table, 0, ChangeDetail::DropTable)
    }

    /// `truncate_table` (from a source history event).
    pub fn truncate_table(table: TableId) -> Self {
        Self::new(table, 0, ChangeDetail::TruncateTable)
    }

    /// `rename_table` (from a source history event); `to` keeps or changes the database.
    pub fn rename_table(table: TableId, to: TableId) -> Self {
        Self::new(table, 0, ChangeDetail::RenameTable { to })
    }

    /// The kind.
    pub fn kind(&self) -> ChangeKind {
        match &self.detail {
            ChangeDetail::CreateTable { .. } => ChangeKind::CreateTable,
            ChangeDetail::DropTable => ChangeKind::DropTable,
            ChangeDetail::TruncateTable => ChangeKind::TruncateTable,
            ChangeDetail::RenameTable { .. } => ChangeKind::RenameTable,
            ChangeDetail::AddColumn { .. } => ChangeKind::AddColumn,
            ChangeDetail::DropColumn { .. } => ChangeKind::DropColumn,
            ChangeDetail::RenameColumn { .. } => ChangeKind::RenameColumn,
            ChangeDetail::ModifyColumnType { .. } => ChangeKind::ModifyColumnType,
            ChangeDetail::MakeNullable { .. } => ChangeKind::MakeNullable,
            ChangeDetail::MakeNotNull { .. } => ChangeKind::MakeNotNull,
            ChangeDetail::ChangeDefault { .. } => ChangeKind::ChangeDefault,
            ChangeDetail::ChangeComment { .. } => ChangeKind::ChangeComment,
            ChangeDetail::ChangePrimaryKey { .. } => ChangeKind::ChangePrimaryKey,
            ChangeDetail::ReorderColumn { .. } => ChangeKind::ReorderColumn,
            ChangeDetail::CreateMv { .. } => ChangeKind::CreateTable,
            ChangeDetail::RegenerateMv { .. } => ChangeKind::RegenerateMv,
        }
    }

    /// The column the change is about, where one applies (the new name for renames).
    pub fn column(&self) -> Option<&str> {
        match &self.detail {
            ChangeDetail::AddColumn { column, .. } | ChangeDetail::DropColumn { column } => {
                Some(&column.name)
            }
            ChangeDetail::RenameColumn { to, .. } => Some(to),
            ChangeDetail::ModifyColumnType { column, .. }
            | ChangeDetail::MakeNullable { column }
            | ChangeDetail::MakeNotNull { column }
            | ChangeDetail::ChangeDefault { column, .. }
            | ChangeDetail::ReorderColumn { column, .. } => Some(column),
            ChangeDetail::ChangeComment { column, .. } => column.as_deref(),
            _ => None,
        }
    }

    /// The type-change class of a `modify_column_type`.
    pub fn type_change(&self) -> Option<TypeChangeClass> {
        match &self.detail {
            ChangeDetail::ModifyColumnType { class, .. } => Some(*class),
            _ => None,
        }
    }

    /// Mapping losses the change carries.
    pub fn losses(&self) -> Vec<ColumnLoss> {
        match &self.detail {
            ChangeDetail::CreateTable { losses, .. } => losses.clone(),
            ChangeDetail::AddColumn { column, losses, .. } => losses
                .iter()
                .map(|l| ColumnLoss {
                    column: column.name.clone(),
                    loss: l.clone(),
                })
                .collect(),
            ChangeDetail::ModifyColumnType { column, losses, .. } => losses
                .iter()
                .map(|l| ColumnLoss {
                    column: column.clone(),
                    loss: l.clone(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Ordering phase: table-level first, then key, renames, drops,
    /// per-column modifications, adds, and the table comment last.
    fn phase(&self) -> u8 {
        match &self.detail {
            ChangeDetail::CreateTable { .. }
            | ChangeDetail::CreateMv { .. }
            | ChangeDetail::RegenerateMv { .. }
            | ChangeDetail::DropTable
            | ChangeDetail::TruncateTable
            | ChangeDetail::RenameTable { .. } => 0,
            ChangeDetail::ChangePrimaryKey { .. } => 1,
            ChangeDetail::RenameColumn { .. } => 2,
            ChangeDetail::DropColumn { .. } => 3,
            ChangeDetail::ChangeComment { column: None, .. } => 6,
            ChangeDetail::AddColumn { .. } => 5,
            _ => 4,
        }
    }

    /// The deterministic sort key: table, phase, column ordinal, kind, column.
    pub fn sort_key(&self) -> (TableId, u8, u32, ChangeKind, String) {
        (
            self.table.clone(),
            self.phase(),
            self.ordinal,
            self.kind(),
            self.column().unwrap_or_default().to_string(),
        )
    }

    /// One line for humans: `add_column email VARCHAR(1020)`.
    pub fn summary(&self) -> String {
        let k = self.kind();
        match &self.detail {
            ChangeDetail::CreateTable { table, .. } => {
                format!("{k} {} ({} columns)", table.id, table.columns.len())
            }
            ChangeDetail::DropTable | ChangeDetail::TruncateTable => format!("{k} {}", self.table),
            ChangeDetail::RenameTable { to } => format!("{k} {} → {to}", self.table),
            ChangeDetail::AddColumn { column, .. } => {
                let null = if column.nullable { "NULL" } else { "NOT NULL" };
                format!("{k} {} {} {null}", column.name, column.ty)
            }
            ChangeDetail::DropColumn { column } => format!("{k} {} {}", column.name, column.ty),
            ChangeDetail::RenameColumn { from, to } => format!("{k} {from} → {to}"),
            ChangeDetail::ModifyColumnType {
                column,
                from,
                to,
                class,
                ..
            } => format!("{k} {column} {from} → {to} ({class})"),
            ChangeDetail::MakeNullable { column } => format!("{k} {column} NOT NULL → NULL"),
            ChangeDetail::MakeNotNull { column } => format!("{k} {column} NULL → NOT NULL"),
            ChangeDetail::ChangeDefault { column, from, to } => format!(
                "{k} {column} {} → {}",
                from.as_deref().unwrap_or("(none)"),
                to.as_deref().unwrap_or("(none)")
            ),
            ChangeDetail::ChangeComment { column, to, .. } => format!(
                "{k} {} → {:?}",
                column.as_deref().unwrap_or("(table)"),
                to.as_deref().unwrap_or("")
            ),
            ChangeDetail::ChangePrimaryKey { from, to } => {
                format!("{k} ({}) → ({})", from.join(", "), to.join(", "))
            }
            ChangeDetail::ReorderColumn { column, after } => match after {
                Some(a) => format!("{k} {column} after {a}"),
                None => format!("{k} {column} first"),
            },
            ChangeDetail::CreateMv { mv } => {
                format!(
                    "{k} {} (materialized view, {} columns)",
                    mv.mv,
                    mv.query.items.len()
                )
            }
            ChangeDetail::RegenerateMv { mv, .. } => {
                format!("{k} {} ({} columns)", mv.mv, mv.query.items.len())
            }
        }
    }
}
