//! Typed changes between a source table and its StarRocks target.
//!
//! Owns [`diff_table`] (structural comparison of a [`SourceTable`] with its
//! [`TargetTable`]), [`history_changes`] (changes only the source history can
//! reveal: NULL → NOT NULL, default changes, moved columns), the
//! [`desired_table`] a source table maps to, and the pure model
//! [`apply_changes`] used by the planner and the property tests. Pure: no
//! I/O, no clock. SQL is not produced here (see `plan` and `ddl`).
//!
//! A target column that can already hold the source column (`can_hold`, and
//! nullable where the source is) is in sync. Renames come only from evidence
//! (`SourceColumn::former_names`); a dropped and an added column of the same
//! type are reported as a *possible* rename note, never as `rename_column`.
//! Column order is not compared: StarRocks appends new columns last, so
//! `reorder_column` comes only from source history.
//!
//! ```
//! use ddlsync::diff::{diff_table, desired_table};
//! use ddlsync::model::{ColumnId, SourceColumn, SourceDialect, SourceTable, SourceType, TableId};
//! use ddlsync::types::MappingOptions;
//!
//! let col = |id, name: &str, ty: &str| SourceColumn {
//!     id: ColumnId(id), name: name.into(), former_names: vec![], position: id,
//!     ty: SourceType::named(ty), nullable: id != 1, default: None, comment: None,
//!     auto_increment: false,
//! };
//! let source = SourceTable {
//!     id: TableId::new("shop", "orders"), dialect: SourceDialect::Mysql,
//!     columns: vec![col(1, "id", "BIGINT")], primary_key: vec!["id".into()],
//!     charset: None, comment: None,
//! };
//! let opts = MappingOptions::default();
//! // No target yet: one create_table change.
//! let d = diff_table(&source, None, &opts);
//! assert_eq!(d.changes.len(), 1);
//! // The table it would create is in sync with the source.
//! let (target, _) = desired_table(&source, &source.id, &opts);
//! assert!(diff_table(&source, Some(&target), &opts).changes.is_empty());
//! ```

mod apply;
mod change;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::catalog::{Distribution, KeysType, TargetColumn, TargetTable};
use crate::model::{SourceColumn, SourceTable, TableId};
use crate::types::{can_hold, classify_conversion, map_column, MappingOptions};

pub use apply::{apply_changes, apply_changes_to};
pub use change::{Change, ChangeDetail, ChangeKind, ColumnLoss, TypeChangeClass, UnknownKind};

/// Errors of the diff module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A change names a column the table does not have (model application).
    #[error("table {table}: column {column} not found")]
    ColumnNotFound {
        /// The table.
        table: TableId,
        /// The column.
        column: String,
    },
}

/// Something worth telling that is not a change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Note {
    /// Stable code: `possible_rename`, `no_primary_key`, `default_not_literal`.
    pub code: String,
    /// The column it concerns, if any.
    pub column: Option<String>,
    /// One sentence.
    pub message: String,
}

/// The typed changes of one source table against its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDiff {
    /// The source table.
    pub source_table: TableId,
    /// The target table (same name unless configured otherwise).
    pub target_table: TableId,
    /// Changes in deterministic order (see [`Change::sort_key`]).
    pub changes: Vec<Change>,
    /// Notes (possible renames, ...), sorted.
    pub notes: Vec<Note>,
}

impl TableDiff {
    /// No change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Adds changes (e.g. from [`history_changes`] or table events) and restores the order.
    pub fn extend(&mut self, changes: impl IntoIterator<Item = Change>) {
        self.changes.extend(changes);
        self.changes.sort_by_key(Change::sort_key);
        self.changes.dedup();
    }
}

/// Reduces a source default expression to a literal StarRocks accepts, or
/// `None` (no default, NULL, or an expression such as `CURRENT_TIMESTAMP` or
/// `nextval(...)`).
pub fn literal_default(expr: &str) -> Option<String> {
    let mut e = expr.trim();
    if let Some(i) = e.find("::") {
        // PostgreSQL cast suffix: 'abc'::character varying
        e = e[..i].trim();
    }
    if e.is_empty() || e.eq_ignore_ascii_case("null") {
        return None;
    }
    if e.len() >= 2 && e.starts_with('\'') && e.ends_with('\'') {
        return Some(e[1..e.len() - 1].replace("''", "'"));
    }
    let upper = e.to_ascii_uppercase();
    const KEYWORDS: [&str; 6] = [
        "CURRENT_TIMESTAMP",
        "CURRENT_DATE",
        "CURRENT_TIME",
        "LOCALTIMESTAMP",
        "LOCALTIME",
        "NOW",
    ];
    if e.contains('(') || KEYWORDS.iter().any(|k| upper.starts_with(k)) {
        return None;
    }
    Some(e.to_string())
}

fn in_pk(source: &SourceTable, col: &SourceColumn) -> bool {
    source
        .primary_key
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&col.name))
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|c| !c.is_empty()).cloned()
}

/// The target column a source column maps to, with the mapping's losses.
pub fn desired_column(
    source: &SourceTable,
    col: &SourceColumn,
    options: &MappingOptions,
) -> (TargetColumn, Vec<crate::types::Loss>) {
    let key = in_pk(source, col);
    let mapped = map_column(source.dialect, col, key, options);
    let column = TargetColumn {
        name: col.name.clone(),
        ty: mapped.ty,
        nullable: col.nullable && !key,
        default: col.default.as_deref().and_then(literal_default),
        comment: non_empty(&col.comment),
        aggregation: None,
    };
    (column, mapped.losses)
}

/// The table ddlsync creates for `source` under the name `id`: a PRIMARY KEY
/// table keyed like the source (key columns first, NOT NULL), hash-distributed
/// on the key, `fast_schema_evolution` on. Without a source key: a DUPLICATE
/// KEY table on the first column with random bucketing. The planner adds
/// `replication_num`.
pub fn desired_table(
    source: &SourceTable,
    id: &TableId,
    options: &MappingOptions,
) -> (TargetTable, Vec<ColumnLoss>) {
    let mut keyed: Vec<&SourceColumn> = source
        .primary_key
        .iter()
        .filter_map(|k| source.column(k))
        .collect();
    let has_key = !keyed.is_empty();
    for c in &source.columns {
        if !keyed.iter().any(|k| k.id == c.id) {
            keyed.push(c);
        }
    }
    let mut columns = Vec::new();
    let mut losses = Vec::new();
    for c in keyed {
        let (col, l) = desired_column(source, c, options);
        losses.extend(l.into_iter().map(|loss| ColumnLoss {
            column: col.name.clone(),
            loss,
        }));
        columns.push(col);
    }
    let key_columns: Vec<String> = if has_key {
        columns
            .iter()
            .take(source.primary_key.len())
            .map(|c| c.name.clone())
            .collect()
    } else {
        columns.iter().take(1).map(|c| c.name.clone()).collect()
    };
    let mut properties = BTreeMap::new();
    properties.insert("fast_schema_evolution".to_string(), "true".to_string());
    let table = TargetTable {
        id: id.clone(),
        columns,
        keys_type: if has_key {
            KeysType::Primary
        } else {
            KeysType::Duplicate
        },
        key_columns: key_columns.clone(),
        partition_clause: None,
        partition_columns: Vec::new(),
        distribution: Some(if has_key {
            Distribution::Hash {
                columns: key_columns,
                buckets: None,
            }
        } else {
            Distribution::Random { buckets: None }
        }),
        order_by: Vec::new(),
        properties,
        comment: non_empty(&source.comment),
    };
    (table, losses)
}

/// Diffs `source` against its target (same name). See [`diff_table_into`].
pub fn diff_table(
    source: &SourceTable,
    target: Option<&TargetTable>,
    options: &MappingOptions,
) -> TableDiff {
    let id = target.map_or_else(|| source.id.clone(), |t| t.id.clone());
    diff_table_into(source, &id, target, options)
}

/// Which target column each source column corresponds to: by current name,
/// else by a former name (latest first) that no other source column claims.
fn match_columns(source: &SourceTable, target: &TargetTable) -> Vec<Option<usize>> {
    let find = |name: &str| {
        target
            .columns
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(name))
    };
    let mut taken = BTreeSet::new();
    let mut out: Vec<Option<usize>> = source.columns.iter().map(|c| find(&c.name)).collect();
    for i in out.iter().flatten() {
        taken.insert(*i);
    }
    for (si, c) in source.columns.iter().enumerate() {
        if out[si].is_some() {
            continue;
        }
        for former in c.former_names.iter().rev() {
            if let Some(ti) = find(former) {
                if taken.insert(ti) {
                    out[si] = Some(ti);
                    break;
                }
            }
        }
    }
    out
}

/// Diffs `source` against `target` (or its absence) for the target table `id`.
pub fn diff_table_into(
    source: &SourceTable,
    id: &TableId,
    target: Option<&TargetTable>,
    options: &MappingOptions,
) -> TableDiff {
    let mut diff = TableDiff {
        source_table: source.id.clone(),
        target_table: id.clone(),
        changes: Vec::new(),
        notes: Vec::new(),
    };
    let Some(target) = target else {
        let (table, losses) = desired_table(source, id, options);
        if source.primary_key.is_empty() {
            diff.notes.push(Note {
                code: "no_primary_key".into(),
                column: None,
                message: "the source table has no primary key: a DUPLICATE KEY table is created \
                          and updates and deletes cannot be applied"
                    .into(),
            });
        }
        diff.changes.push(Change::new(
            id.clone(),
            0,
            ChangeDetail::CreateTable {
                table: Box::new(table),
                losses,
            },
        ));
        return diff;
    };
    let matches = match_columns(source, target);
    let mut changes = Vec::new();
    let mut adds = Vec::new();
    for (si, col) in source.columns.iter().enumerate() {
        let (want, losses) = desired_column(source, col, options);
        let Some(ti) = matches[si] else {
            adds.push(want.clone());
            changes.push(Change::new(
                id.clone(),
                col.position,
                ChangeDetail::AddColumn {
                    column: want,
                    source_type: col.ty.clone(),
                    losses,
                },
            ));
            continue;
        };
        let have = &target.columns[ti];
        let mut push = |detail| changes.push(Change::new(id.clone(), col.position, detail));
        if !have.name.eq_ignore_ascii_case(&col.name) {
            push(ChangeDetail::RenameColumn {
                from: have.name.clone(),
                to: col.name.clone(),
            });
        }
        if have.ty != want.ty && !can_hold(&have.ty, &want.ty) {
            if let Some((class, in_place)) =
                TypeChangeClass::of(classify_conversion(&have.ty, &want.ty))
            {
                push(ChangeDetail::ModifyColumnType {
                    column: col.name.clone(),
                    from: have.ty.clone(),
                    to: want.ty.clone(),
                    class,
                    in_place,
                    source_type: col.ty.clone(),
                    losses,
                });
            }
        }
        if want.nullable && !have.nullable {
            push(ChangeDetail::MakeNullable {
                column: col.name.clone(),
            });
        }
        if want.comment.is_some() && want.comment != have.comment {
            push(ChangeDetail::ChangeComment {
                column: Some(col.name.clone()),
                from: have.comment.clone(),
                to: want.comment.clone(),
            });
        }
    }
    let matched: BTreeSet<usize> = matches.iter().flatten().copied().collect();
    let mut drops = Vec::new();
    for (ti, col) in target.columns.iter().enumerate() {
        if !matched.contains(&ti) {
            drops.push(col.clone());
            changes.push(Change::new(
                id.clone(),
                ti as u32 + 1,
                ChangeDetail::DropColumn {
                    column: col.clone(),
                },
            ));
        }
    }
    if target.keys_type == KeysType::Primary && !source.primary_key.is_empty() {
        // Target key columns, under their source names.
        let renamed: Vec<String> = target
            .key_columns
            .iter()
            .map(|k| {
                let ti = target
                    .columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(k));
                matches
                    .iter()
                    .position(|m| m.is_some() && *m == ti)
                    .map_or_else(
                        || k.to_ascii_lowercase(),
                        |si| source.columns[si].name.to_ascii_lowercase(),
                    )
            })
            .collect();
        let want: Vec<String> = source
            .primary_key
            .iter()
            .map(|k| k.to_ascii_lowercase())
            .collect();
        if renamed != want {
            changes.push(Change::new(
                id.clone(),
                0,
                ChangeDetail::ChangePrimaryKey {
                    from: target.key_columns.clone(),
                    to: source.primary_key.clone(),
                },
            ));
        }
    }
    if let Some(c) = non_empty(&source.comment) {
        if target.comment.as_ref() != Some(&c) {
            changes.push(Change::new(
                id.clone(),
                0,
                ChangeDetail::ChangeComment {
                    column: None,
                    from: target.comment.clone(),
                    to: Some(c),
                },
            ));
        }
    }
    for d in &drops {
        for a in &adds {
            if d.ty == a.ty {
                diff.notes.push(Note {
                    code: "possible_rename".into(),
                    column: Some(a.name.clone()),
                    message: format!(
                        "{} may be a rename of {} (same type {}), but the source history has no \
                         rename: planned as drop + add",
                        a.name, d.name, a.ty
                    ),
                });
            }
        }
    }
    for col in &source.columns {
        if let Some(d) = &col.default {
            if literal_default(d).is_none() && !d.trim().eq_ignore_ascii_case("null") {
                diff.notes.push(Note {
                    code: "default_not_literal".into(),
                    column: Some(col.name.clone()),
                    message: format!(
                        "default {d} of {} is not a literal: StarRocks gets no default",
                        col.name
                    ),
                });
            }
        }
    }
    diff.notes.sort();
    diff.notes.dedup();
    diff.extend(changes);
    diff
}

/// Changes that only the source history reveals, between the `previous` and
/// `current` versions of a source table, for columns the `target` has:
/// `make_not_null` (NULL → NOT NULL while the target column is nullable),
/// `change_default`, and `reorder_column` (columns moved relative to the
/// others; added and dropped columns do not count).
pub fn history_changes(
    previous: &SourceTable,
    current: &SourceTable,
    target: &TargetTable,
) -> Vec<Change> {
    let mut out = Vec::new();
    let id = &target.id;
    let prev_by_id: BTreeMap<_, _> = previous.columns.iter().map(|c| (c.id, c)).collect();
    let in_target = |c: &SourceColumn| {
        target
            .column(&c.name)
            .or_else(|| c.former_names.iter().rev().find_map(|f| target.column(f)))
    };
    for col in &current.columns {
        let (Some(prev), Some(have)) = (prev_by_id.get(&col.id), in_target(col)) else {
            continue;
        };
        if prev.nullable && !col.nullable && have.nullable {
            out.push(Change::new(
                id.clone(),
                col.position,
                ChangeDetail::MakeNotNull {
                    column: col.name.clone(),
                },
            ));
        }
        let (from, to) = (
            prev.default.as_deref().and_then(literal_default),
            col.default.as_deref().and_then(literal_default),
        );
        if from != to {
            out.push(Change::new(
                id.clone(),
                col.position,
                ChangeDetail::ChangeDefault {
                    column: col.name.clone(),
                    from,
                    to,
                },
            ));
        }
    }
    // Moved columns: common columns in current order, by previous index; the
    // ones outside a longest increasing run moved.
    let common: Vec<(&SourceColumn, usize)> = current
        .columns
        .iter()
        .filter_map(|c| {
            previous
                .columns
                .iter()
                .position(|p| p.id == c.id)
                .map(|pi| (c, pi))
        })
        .collect();
    let keep = longest_increasing(&common.iter().map(|(_, pi)| *pi).collect::<Vec<_>>());
    for (i, (col, _)) in common.iter().enumerate() {
        if !keep.contains(&i) && in_target(col).is_some() {
            let after = current
                .columns
                .iter()
                .take_while(|c| c.id != col.id)
                .last()
                .map(|c| c.name.clone());
            out.push(Change::new(
                id.clone(),
                col.position,
                ChangeDetail::ReorderColumn {
                    column: col.name.clone(),
                    after,
                },
            ));
        }
    }
    out.sort_by_key(Change::sort_key);
    out
}

/// Indices of one longest strictly increasing subsequence (O(n²), n = columns).
fn longest_increasing(values: &[usize]) -> BTreeSet<usize> {
    let n = values.len();
    let mut len = vec![1usize; n];
    let mut prev = vec![usize::MAX; n];
    for i in 0..n {
        for j in 0..i {
            if values[j] < values[i] && len[j] + 1 > len[i] {
                len[i] = len[j] + 1;
                prev[i] = j;
            }
        }
    }
    let mut out = BTreeSet::new();
    let mut best = (0..n).max_by_key(|&i| (len[i], std::cmp::Reverse(i)));
    while let Some(i) = best {
        out.insert(i);
        best = (prev[i] != usize::MAX).then_some(prev[i]);
    }
    out
}

#[cfg(test)]
mod tests;
