//! Materialized views over a changed table: re-activation (`ALTER
//! MATERIALIZED VIEW ... ACTIVE` + `REFRESH`) after a modify or a swap, and
//! rebuild (DROP + CREATE from the stored definition) when the view reads a
//! dropped or renamed column (starrocks-facts §3.2). Views that read none of
//! the changed columns are left alone, except after a swap, which sets every
//! dependent view inactive.

use std::collections::{BTreeMap, BTreeSet};

use super::steps::{old_name, Ctx, GroupPlan};
use super::Step;
use crate::catalog::TargetTable;
use crate::ddl::Statement;
use crate::diff::{Change, ChangeDetail};

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
            for (k, col) in &breaks {
                g.note(
                    *k,
                    format!(
                        "materialized view {} reads {col}: it is dropped and re-created from its \
                         definition; review the definition before approving, re-creating it fails \
                         while it still names {col}",
                        mv.id
                    ),
                );
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
                            definition: mv.create_sql.clone(),
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
