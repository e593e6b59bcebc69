//! Shadow-table rebuild for what no ALTER can do: CREATE `<t>__ddlsync_new`
//! as the table should be, INSERT SELECT from the old table with CASTs and
//! renamed columns, SWAP WITH, DROP the shadow (which then holds the old
//! data), then re-activate or rebuild every view over the table (a swap sets
//! them all inactive).

use std::collections::BTreeMap;

use super::mv::mv_steps;
use super::steps::{Ctx, GroupPlan};
use super::{create_statement, Step, SHADOW_SUFFIX};
use crate::catalog::TargetTable;
use crate::ddl::{InsertSelect, SelectExpr, Statement};
use crate::diff::{apply_changes, Change, ChangeDetail};
use crate::model::TableId;

/// Plans the rebuild of `before` with every change of the group; returns the table after it.
pub(super) fn plan_rebuild(
    ctx: &Ctx<'_>,
    before: &TargetTable,
    changes: &[(usize, &Change)],
    renames: &BTreeMap<String, String>,
    g: &mut GroupPlan,
) -> TargetTable {
    let all: Vec<Change> = changes.iter().map(|(_, c)| (*c).clone()).collect();
    let after = apply_changes(before, &all);
    let shadow = TableId::new(
        before.id.database.clone(),
        format!("{}{SHADOW_SUFFIX}", before.id.table),
    );
    let mut columns = Vec::new();
    let mut select_exprs = Vec::new();
    for col in &after.columns {
        let old = renames
            .get(&col.name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| col.name.clone());
        if let Some(have) = before.column(&old) {
            columns.push(col.name.clone());
            select_exprs.push(if have.ty == col.ty {
                SelectExpr::Column {
                    column: have.name.clone(),
                }
            } else {
                SelectExpr::Cast {
                    column: have.name.clone(),
                    ty: col.ty.clone(),
                }
            });
        }
    }
    let statements = vec![
        create_statement(&after, shadow.clone()),
        Statement::InsertSelect(InsertSelect {
            target: shadow.clone(),
            columns,
            select_exprs,
            source: before.id.clone(),
        }),
        Statement::SwapWith {
            table: before.id.clone(),
            with: shadow.table.clone(),
        },
        Statement::DropTable {
            table: shadow.clone(),
            if_exists: false,
        },
    ];
    let serves: Vec<usize> = changes.iter().map(|(k, _)| *k).collect();
    for (k, c) in changes {
        match &c.detail {
            ChangeDetail::MakeNotNull { column } => g.note(
                *k,
                format!("rows where {column} is NULL make the INSERT fail: backfill them first"),
            ),
            ChangeDetail::ModifyColumnType { column, class, .. }
                if *class != crate::diff::TypeChangeClass::Widening =>
            {
                g.note(
                    *k,
                    format!("values of {column} that do not fit the new type become NULL or fail the INSERT"),
                )
            }
            _ => {}
        }
    }
    g.push(
        Step::Rebuild {
            table: before.id.clone(),
            shadow,
            statements,
        },
        serves,
    );
    mv_steps(ctx, before, changes, renames, true, g);
    after
}
