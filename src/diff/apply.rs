//! The pure model of what a list of changes does to a target table. The
//! planner uses it for the table's state after a plan (SHOW CREATE TABLE diff,
//! fingerprints, shadow tables); the property tests use it to check that
//! applying `diff(a, b)` to `a` yields a table in sync with `b`.

use crate::catalog::{Distribution, TargetTable};

use super::{Change, ChangeDetail};

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn rename_in(list: &mut [String], from: &str, to: &str) {
    for n in list.iter_mut() {
        if same(n, from) {
            *n = to.to_string();
        }
    }
}

/// Applies `changes` to `table` (a model: no SQL). Added columns are appended
/// last, as StarRocks does; `drop_table` and `truncate_table` leave the model
/// as it is (see [`apply_changes_to`] for absence).
pub fn apply_changes(table: &TargetTable, changes: &[Change]) -> TargetTable {
    let mut t = table.clone();
    for c in changes {
        apply_one(&mut t, c);
    }
    t
}

/// Like [`apply_changes`], starting from a possibly missing table:
/// `create_table` creates it, `drop_table` removes it.
pub fn apply_changes_to(table: Option<&TargetTable>, changes: &[Change]) -> Option<TargetTable> {
    let mut t = table.cloned();
    for c in changes {
        match (&c.detail, t.as_mut()) {
            (ChangeDetail::CreateTable { table, .. }, _) => t = Some((**table).clone()),
            (ChangeDetail::DropTable, _) => t = None,
            (_, Some(existing)) => apply_one(existing, c),
            (_, None) => {}
        }
    }
    t
}

fn apply_one(t: &mut TargetTable, change: &Change) {
    match &change.detail {
        ChangeDetail::CreateTable { table, .. } => *t = (**table).clone(),
        ChangeDetail::DropTable
        | ChangeDetail::TruncateTable
        | ChangeDetail::CreateMv { .. }
        | ChangeDetail::RegenerateMv { .. } => {}
        ChangeDetail::RenameTable { to } => t.id = to.clone(),
        ChangeDetail::AddColumn { column, .. } => {
            if t.column(&column.name).is_none() {
                t.columns.push(column.clone());
            }
        }
        ChangeDetail::DropColumn { column } => {
            t.columns.retain(|c| !same(&c.name, &column.name));
            t.key_columns.retain(|c| !same(c, &column.name));
            t.order_by.retain(|c| !same(c, &column.name));
        }
        ChangeDetail::RenameColumn { from, to } => {
            for c in t.columns.iter_mut() {
                if same(&c.name, from) {
                    c.name = to.clone();
                }
            }
            rename_in(&mut t.key_columns, from, to);
            rename_in(&mut t.order_by, from, to);
            rename_in(&mut t.partition_columns, from, to);
            if let Some(Distribution::Hash { columns, .. }) = t.distribution.as_mut() {
                rename_in(columns, from, to);
            }
        }
        ChangeDetail::ModifyColumnType { column, to, .. } => {
            if let Some(c) = t.columns.iter_mut().find(|c| same(&c.name, column)) {
                c.ty = to.clone();
            }
        }
        ChangeDetail::MakeNullable { column } | ChangeDetail::MakeNotNull { column } => {
            let nullable = matches!(change.detail, ChangeDetail::MakeNullable { .. });
            if let Some(c) = t.columns.iter_mut().find(|c| same(&c.name, column)) {
                c.nullable = nullable;
            }
        }
        ChangeDetail::ChangeDefault { column, to, .. } => {
            if let Some(c) = t.columns.iter_mut().find(|c| same(&c.name, column)) {
                c.default = to.clone();
            }
        }
        ChangeDetail::ChangeComment { column, to, .. } => match column {
            Some(name) => {
                if let Some(c) = t.columns.iter_mut().find(|c| same(&c.name, name)) {
                    c.comment = to.clone();
                }
            }
            None => t.comment = to.clone(),
        },
        ChangeDetail::ChangePrimaryKey { to, .. } => {
            // Key columns first in key order, NOT NULL; bucketing follows the key.
            let mut keyed = Vec::new();
            for k in to {
                if let Some(pos) = t.columns.iter().position(|c| same(&c.name, k)) {
                    let mut c = t.columns.remove(pos);
                    c.nullable = false;
                    keyed.push(c);
                }
            }
            t.key_columns = keyed.iter().map(|c| c.name.clone()).collect();
            keyed.append(&mut t.columns);
            t.columns = keyed;
            if let Some(Distribution::Hash { columns, .. }) = t.distribution.as_mut() {
                *columns = t.key_columns.clone();
            }
        }
        ChangeDetail::ReorderColumn { column, after } => {
            if let Some(pos) = t.columns.iter().position(|c| same(&c.name, column)) {
                let c = t.columns.remove(pos);
                let at = match after {
                    Some(a) => t
                        .columns
                        .iter()
                        .position(|x| same(&x.name, a))
                        .map_or(t.columns.len(), |i| i + 1),
                    None => 0,
                };
                t.columns.insert(at, c);
            }
        }
    }
}
