//! Materialized views over a changed table: re-activation (`ALTER
//! MATERIALIZED VIEW ... ACTIVE` + `REFRESH`) after a modify or a swap, and
//! rebuild (DROP + CREATE from the stored definition) when the view reads a
//! dropped or renamed column (starrocks-facts §3.2). Views that read none of
//! the changed columns are left alone, except after a swap, which sets every
//! dependent view inactive.

use std::collections::{BTreeMap, BTreeSet};

use super::steps::{old_name, Ctx, GroupPlan};
use super::Step;
use crate::catalog::mv::{resolve_reads, ALL_COLUMNS};
use crate::catalog::{MaterializedView, TargetTable};
use crate::ddl::quote_ident;
use crate::ddl::Statement;
use crate::diff::{Change, ChangeDetail};
use crate::model::TableId;

/// Re-activation or rebuild of the views over `before` that the changes touch.
/// After a swap (`swapped`), every view reading the table is touched.
pub(super) fn mv_steps(
    ctx: &Ctx<'_>,
    before: &TargetTable,
    changes: &[(usize, &Change)],
    renames: &BTreeMap<String, String>,
    swapped: bool,
    g: &mut GroupPlan,
) {
    // Old (target) names, lower-cased, per change.
    let mut broken: Vec<(usize, String)> = Vec::new();
    let mut modified: Vec<(usize, String)> = Vec::new();
    for (k, c) in changes {
        match &c.detail {
            ChangeDetail::DropColumn { column } => {
                broken.push((*k, column.name.to_ascii_lowercase()))
            }
            ChangeDetail::RenameColumn { from, .. } => broken.push((*k, from.to_ascii_lowercase())),
            ChangeDetail::ModifyColumnType { column, .. }
            | ChangeDetail::MakeNullable { column }
            | ChangeDetail::MakeNotNull { column }
            | ChangeDetail::ChangeDefault { column, .. } => {
                modified.push((*k, old_name(renames, column).to_ascii_lowercase()))
            }
            _ => {}
        }
    }
    let every: Vec<usize> = changes.iter().map(|(k, _)| *k).collect();
    let mut done = BTreeSet::new();
    for mv in ctx.catalog.views_reading(&before.id, &[]) {
        let Some(reads) = mv.reads.get(&before.id) else {
            continue;
        };
        let breaks: Vec<&(usize, String)> =
            broken.iter().filter(|(_, c)| reads.contains(c)).collect();
        let touches: Vec<usize> = modified
            .iter()
            .filter(|(_, c)| reads.contains(c))
            .map(|(k, _)| *k)
            .collect();
        if !breaks.is_empty() {
            let serves: Vec<usize> = breaks.iter().map(|(k, _)| *k).collect();
            // Renamed columns (old → new) the view reads; a dropped one cannot be rewritten.
            let renamed: Vec<(String, String)> = breaks
                .iter()
                .filter_map(|(_, col)| {
                    renames
                        .iter()
                        .find(|(_, old)| old.eq_ignore_ascii_case(col))
                        .map(|(new, old)| (old.clone(), new.clone()))
                })
                .collect();
            let rewritten = (renamed.len() == breaks.len())
                .then(|| rewrite_renamed_columns(mv, &before.id, &renamed, ctx))
                .flatten();
            for (k, col) in &breaks {
                let note = match &rewritten {
                    Some(_) => format!(
                        "materialized view {} reads {col}: it is dropped and re-created with its \
                         definition rewritten to the new column name",
                        mv.id
                    ),
                    None => format!(
                        "materialized view {} reads {col}: it is dropped and re-created from its \
                         definition; review the definition before approving, re-creating it fails \
                         while it still names {col}",
                        mv.id
                    ),
                };
                g.note(*k, note);
            }
            g.push(
                Step::RebuildMv {
                    mv: mv.id.clone(),
                    statements: vec![
                        Statement::DropMaterializedView {
                            mv: mv.id.clone(),
                            if_exists: false,
                        },
                        Statement::UseDatabase {
                            database: mv.id.database.clone(),
                        },
                        Statement::CreateMaterializedView {
                            mv: mv.id.clone(),
                            definition: rewritten.clone().unwrap_or_else(|| mv.create_sql.clone()),
                        },
                    ],
                },
                if swapped { every.clone() } else { serves },
            );
            done.insert(mv.id.clone());
        } else if swapped || !touches.is_empty() {
            g.push(
                Step::ReactivateMv {
                    mv: mv.id.clone(),
                    statements: vec![
                        Statement::AlterMaterializedViewActive { mv: mv.id.clone() },
                        Statement::RefreshMaterializedView { mv: mv.id.clone() },
                    ],
                },
                if swapped { every.clone() } else { touches },
            );
            done.insert(mv.id.clone());
        }
    }
}

/// The view's `CREATE MATERIALIZED VIEW` with its query's references to the
/// renamed columns of `table` rewritten (`old` → `new`), or `None` when the
/// rewritten query would still read an old name. StarRocks stores view
/// definitions normalized, with every column reference qualified and
/// backquoted (`` `t`.`c` ``): those are the references rewritten. The view's
/// own column list is kept, so readers of the view see the same columns.
fn rewrite_renamed_columns(
    mv: &MaterializedView,
    table: &TableId,
    renamed: &[(String, String)],
    ctx: &Ctx<'_>,
) -> Option<String> {
    let at = mv.create_sql.rfind(mv.query.trim())?;
    let (head, query) = mv.create_sql.split_at(at);
    let mut query = query.to_owned();
    let qualifier = format!("{}.", quote_ident(&table.table));
    for (old, new) in renamed {
        let from = format!("{qualifier}{}", quote_ident(old));
        let to = format!("{qualifier}{}", quote_ident(new));
        query = replace_ignore_case(&query, &from, &to);
    }
    let (reads, _) = resolve_reads(&query, &mv.id.database, &ctx.catalog.tables);
    let still = reads.get(table).is_some_and(|cols| {
        renamed
            .iter()
            .any(|(old, _)| cols.contains(&old.to_ascii_lowercase()) || cols.contains(ALL_COLUMNS))
    });
    (!still && query != mv.query).then(|| format!("{head}{query}"))
}

/// `text` with every ASCII-case-insensitive occurrence of `from` replaced.
fn replace_ignore_case(text: &str, from: &str, to: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let needle = from.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in lower.match_indices(&needle) {
        out.push_str(&text[last..i]);
        out.push_str(to);
        last = i + from.len();
    }
    out.push_str(&text[last..]);
    out
}
