//! How each change can be carried out on StarRocks ([`classify`]) and the
//! steps of a group of changes planned together ([`plan_group`]): one merged
//! ALTER for ADD/DROP/MODIFY COLUMN, separate synchronous statements for
//! renames and comments, MV re-activation or rebuild, loader gates.

use std::collections::BTreeMap;

use super::{create_statement, rebuild, with_create_props, Action, PlanOptions, Step};
use crate::capabilities::StarRocksVersion;
use crate::catalog::{Catalog, Distribution, KeysType, TargetTable};
use crate::ddl::{AlterClause, AlterTable, ColumnDef, DefaultValue, Statement};
use crate::diff::{apply_changes, Change, ChangeDetail};
use crate::types::SrType;

/// What the planner needs besides the changes.
pub(super) struct Ctx<'a> {
    pub(super) catalog: &'a Catalog,
    pub(super) version: &'a StarRocksVersion,
    pub(super) options: &'a PlanOptions,
}

/// The steps of a group of changes, with which change each step serves.
#[derive(Debug)]
pub(super) struct GroupPlan {
    pub(super) steps: Vec<Step>,
    serves: Vec<Vec<usize>>,
    notes: Vec<Vec<String>>,
    /// The table after the group (`None`: missing or dropped).
    pub(super) after: Option<TargetTable>,
}

impl GroupPlan {
    fn new(n: usize, after: Option<TargetTable>) -> Self {
        Self {
            steps: Vec::new(),
            serves: Vec::new(),
            notes: vec![Vec::new(); n],
            after,
        }
    }

    pub(super) fn push(&mut self, step: Step, serves: Vec<usize>) {
        self.steps.push(step);
        self.serves.push(serves);
    }

    pub(super) fn note(&mut self, k: usize, note: String) {
        if let Some(n) = self.notes.get_mut(k) {
            if !n.contains(&note) {
                n.push(note);
            }
        }
    }

    fn all(&self) -> Vec<usize> {
        (0..self.notes.len()).collect()
    }

    /// The steps serving change `k` of the group (gates serve every change).
    pub(super) fn steps_of(&self, k: usize) -> Vec<Step> {
        let only_gates = self
            .serves
            .iter()
            .zip(&self.steps)
            .filter(|(s, _)| s.contains(&k))
            .all(|(_, st)| matches!(st, Step::HoldGate { .. } | Step::ReleaseGate { .. }));
        if only_gates {
            return Vec::new();
        }
        self.steps
            .iter()
            .zip(&self.serves)
            .filter(|(_, s)| s.contains(&k))
            .map(|(st, _)| st.clone())
            .collect()
    }

    pub(super) fn notes_of(&self, k: usize) -> Vec<String> {
        self.notes.get(k).cloned().unwrap_or_default()
    }
}

fn has(list: &[String], name: &str) -> bool {
    list.iter().any(|c| c.eq_ignore_ascii_case(name))
}

fn is_distribution(t: &TargetTable, name: &str) -> bool {
    matches!(&t.distribution, Some(Distribution::Hash { columns, .. }) if has(columns, name))
}

/// New name → old name of the renames among `changes` (lower-cased keys).
pub(super) fn renames(changes: &[&Change]) -> BTreeMap<String, String> {
    changes
        .iter()
        .filter_map(|c| match &c.detail {
            ChangeDetail::RenameColumn { from, to } => {
                Some((to.to_ascii_lowercase(), from.clone()))
            }
            _ => None,
        })
        .collect()
}

pub(super) fn old_name(renames: &BTreeMap<String, String>, name: &str) -> String {
    renames
        .get(&name.to_ascii_lowercase())
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

fn varchar_widening(from: &SrType, to: &SrType) -> bool {
    matches!((from, to), (SrType::Varchar { len: a }, SrType::Varchar { len: b }) if b >= a)
}

/// How StarRocks can carry out `change` on `table` (`renames`: new → old
/// names of renames planned with it).
pub(super) fn classify(
    change: &Change,
    table: Option<&TargetTable>,
    renames: &BTreeMap<String, String>,
    version: &StarRocksVersion,
) -> Action {
    let Some(t) = table else {
        return match change.detail {
            ChangeDetail::CreateTable { .. } => Action::InPlace,
            _ => Action::Impossible("the target table does not exist".into()),
        };
    };
    let pk = t.keys_type == KeysType::Primary;
    match &change.detail {
        ChangeDetail::CreateTable { .. } => {
            Action::Impossible("the target table already exists".into())
        }
        ChangeDetail::DropTable | ChangeDetail::TruncateTable | ChangeDetail::AddColumn { .. } => {
            Action::InPlace
        }
        ChangeDetail::RenameTable { to } => {
            if to.database == t.id.database {
                Action::InPlace
            } else {
                Action::Impossible("StarRocks renames a table only within its database".into())
            }
        }
        ChangeDetail::DropColumn { column } => {
            let n = &column.name;
            if has(&t.partition_columns, n) {
                Action::Impossible(format!("partition column {n} cannot be dropped"))
            } else if has(&t.key_columns, n) && t.keys_type != KeysType::Duplicate {
                Action::Rebuild(format!("key column {n} cannot be dropped in place"))
            } else if is_distribution(t, n) {
                Action::Rebuild(format!(
                    "distribution column {n} cannot be dropped in place"
                ))
            } else {
                Action::InPlace
            }
        }
        ChangeDetail::RenameColumn { .. } => {
            if version.supports_rename_column() {
                Action::InPlace
            } else {
                Action::Rebuild(format!(
                    "StarRocks {version} has no RENAME COLUMN (needs 3.3.2 or later)"
                ))
            }
        }
        ChangeDetail::ModifyColumnType {
            column,
            from,
            to,
            in_place,
            ..
        } => {
            let n = old_name(renames, column);
            let widen = varchar_widening(from, to);
            if has(&t.partition_columns, &n) && !widen {
                Action::Impossible(format!("the type of partition column {n} cannot change"))
            } else if pk && (has(&t.key_columns, &n) || has(&t.order_by, &n)) && !widen {
                Action::Rebuild(format!(
                    "PRIMARY KEY key and sort columns allow only VARCHAR widening in place \
                     ({n}: {from} → {to})"
                ))
            } else if is_distribution(t, &n) && !widen {
                Action::Rebuild(format!(
                    "the type of distribution column {n} cannot change in place"
                ))
            } else if widen || (*in_place && version.can_modify_in_place(from, to)) {
                Action::InPlace
            } else {
                Action::Rebuild(format!("StarRocks cannot convert {from} to {to} in place"))
            }
        }
        ChangeDetail::MakeNullable { column } => {
            if pk && has(&t.key_columns, &old_name(renames, column)) {
                Action::Impossible(format!("PRIMARY KEY column {column} is always NOT NULL"))
            } else {
                Action::InPlace
            }
        }
        ChangeDetail::MakeNotNull { .. } => {
            Action::Rebuild("StarRocks refuses NULL → NOT NULL in place".into())
        }
        ChangeDetail::ChangeDefault { .. } => {
            Action::Rebuild("StarRocks cannot change a column default in place".into())
        }
        ChangeDetail::ChangeComment {
            column: Some(_), ..
        } => Action::InPlace,
        ChangeDetail::ChangeComment { column: None, .. } => {
            if version.supports_table_comment_alter() {
                Action::InPlace
            } else {
                Action::Impossible(format!("StarRocks {version} cannot change a table comment"))
            }
        }
        ChangeDetail::ChangePrimaryKey { .. } => {
            if pk {
                Action::Rebuild("the primary key of a table cannot be altered".into())
            } else {
                Action::Impossible("the target is not a PRIMARY KEY table".into())
            }
        }
        ChangeDetail::ReorderColumn { .. } => {
            Action::Rebuild("StarRocks cannot reorder columns in place".into())
        }
        // Views are planned by `plan::derived`, never against a table.
        ChangeDetail::CreateMv { .. } | ChangeDetail::RegenerateMv { .. } => Action::InPlace,
    }
}

/// Plans `changes` (all runnable) together, starting from `before`.
pub(super) fn plan_group(
    ctx: &Ctx<'_>,
    before: Option<&TargetTable>,
    changes: &[&Change],
) -> GroupPlan {
    let mut g = GroupPlan::new(changes.len(), before.cloned());
    if changes.is_empty() {
        return g;
    }
    let all = g.all();
    if let Some((k, ChangeDetail::CreateTable { table, .. })) =
        changes.iter().enumerate().find_map(|(k, c)| {
            matches!(c.detail, ChangeDetail::CreateTable { .. }).then_some((k, &c.detail))
        })
    {
        let t = with_create_props((**table).clone(), ctx.options);
        g.push(
            Step::HoldGate {
                table: t.id.clone(),
            },
            all.clone(),
        );
        g.push(
            Step::Sql {
                statement: Statement::CreateDatabase {
                    database: t.id.database.clone(),
                    table: t.id.clone(),
                },
                waits_for_job: false,
            },
            vec![k],
        );
        g.push(
            Step::Sql {
                statement: create_statement(&t, t.id.clone()),
                waits_for_job: false,
            },
            vec![k],
        );
        g.push(
            Step::ReleaseGate {
                table: t.id.clone(),
            },
            all,
        );
        g.after = Some(t);
        return g;
    }
    let Some(before) = before else {
        return g;
    };
    let id = before.id.clone();
    let mvs_of_table: Vec<_> = ctx.catalog.views_reading(&id, &[]).collect();
    g.push(Step::HoldGate { table: id.clone() }, all.clone());
    if let Some(k) = changes
        .iter()
        .position(|c| matches!(c.detail, ChangeDetail::DropTable))
    {
        g.push(
            Step::Sql {
                statement: Statement::DropTable {
                    table: id.clone(),
                    if_exists: false,
                },
                waits_for_job: false,
            },
            vec![k],
        );
        for mv in &mvs_of_table {
            g.note(
                k,
                format!(
                    "materialized view {} reads this table and becomes inactive",
                    mv.id
                ),
            );
        }
        g.push(Step::ReleaseGate { table: id }, all);
        g.after = None;
        return g;
    }
    if let Some(k) = changes
        .iter()
        .position(|c| matches!(c.detail, ChangeDetail::TruncateTable))
    {
        g.push(
            Step::Sql {
                statement: Statement::TruncateTable { table: id.clone() },
                waits_for_job: false,
            },
            vec![k],
        );
    }
    let renames = renames(changes);
    let column_changes: Vec<(usize, &Change)> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            !matches!(
                c.detail,
                ChangeDetail::TruncateTable | ChangeDetail::RenameTable { .. }
            )
        })
        .map(|(k, c)| (k, *c))
        .collect();
    let needs_rebuild: Vec<usize> = column_changes
        .iter()
        .filter_map(
            |(k, c)| match classify(c, Some(before), &renames, ctx.version) {
                Action::Rebuild(_) => Some(*k),
                _ => None,
            },
        )
        .collect();
    let after = if needs_rebuild.is_empty() {
        in_place(ctx, before, &column_changes, &renames, &mut g)
    } else {
        rebuild::plan_rebuild(ctx, before, &column_changes, &renames, &mut g)
    };
    let mut after = after;
    if let Some((k, ChangeDetail::RenameTable { to })) =
        changes.iter().enumerate().find_map(|(k, c)| {
            matches!(c.detail, ChangeDetail::RenameTable { .. }).then_some((k, &c.detail))
        })
    {
        g.push(
            Step::Sql {
                statement: Statement::RenameTable {
                    table: id.clone(),
                    to: to.table.clone(),
                },
                waits_for_job: false,
            },
            vec![k],
        );
        for mv in &mvs_of_table {
            g.note(
                k,
                format!(
                    "materialized view {} reads this table: it becomes inactive and its \
                     definition must be rewritten for the new name",
                    mv.id
                ),
            );
        }
        after.id = to.clone();
    }
    g.push(Step::ReleaseGate { table: id }, all);
    g.after = Some(after);
    g
}

/// The full definition of a column of `t` for MODIFY COLUMN.
fn full_definition(t: &TargetTable, name: &str) -> Option<ColumnDef> {
    let c = t.column(name)?;
    Some(ColumnDef {
        name: c.name.clone(),
        ty: c.ty.clone(),
        key: has(&t.key_columns, &c.name),
        aggregation: c.aggregation.clone(),
        nullable: c.nullable,
        default: c.default.as_deref().map(DefaultValue::from_catalog),
        comment: c.comment.clone(),
    })
}

fn sql(statement: Statement) -> Step {
    let waits_for_job = statement.starts_job();
    Step::Sql {
        statement,
        waits_for_job,
    }
}

/// In-place steps; returns the table after them.
fn in_place(
    ctx: &Ctx<'_>,
    before: &TargetTable,
    changes: &[(usize, &Change)],
    renames: &BTreeMap<String, String>,
    g: &mut GroupPlan,
) -> TargetTable {
    let id = before.id.clone();
    let all: Vec<Change> = changes.iter().map(|(_, c)| (*c).clone()).collect();
    let after = apply_changes(before, &all);
    let alter = |clauses| {
        Statement::AlterTable(AlterTable {
            table: id.clone(),
            clauses,
        })
    };
    // 1. Renames: synchronous, one statement each, before anything that uses the new names.
    for (k, c) in changes {
        if let ChangeDetail::RenameColumn { from, to } = &c.detail {
            let clause = AlterClause::RenameColumn {
                from: from.clone(),
                to: to.clone(),
            };
            g.push(sql(alter(vec![clause])), vec![*k]);
        }
    }
    // 2. One merged ALTER for drops, modifies and adds: one schema-change job.
    let mut clauses = Vec::new();
    let mut job_serves = Vec::new();
    for (k, c) in changes {
        if let ChangeDetail::DropColumn { column } = &c.detail {
            clauses.push(AlterClause::DropColumn {
                column: column.name.clone(),
            });
            job_serves.push(*k);
        }
    }
    let mut modified: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (k, c) in changes {
        if let ChangeDetail::ModifyColumnType { column, .. }
        | ChangeDetail::MakeNullable { column } = &c.detail
        {
            modified
                .entry(column.to_ascii_lowercase())
                .or_default()
                .push(*k);
        }
    }
    let mut comment_only = Vec::new();
    for (k, c) in changes {
        if let ChangeDetail::ChangeComment {
            column: Some(column),
            to,
            ..
        } = &c.detail
        {
            match modified.get_mut(&column.to_ascii_lowercase()) {
                Some(ks) => ks.push(*k),
                None => comment_only.push((*k, column.clone(), to.clone().unwrap_or_default())),
            }
        }
    }
    // MODIFY clauses in column order of the table after the change.
    for col in &after.columns {
        if let Some(ks) = modified.get(&col.name.to_ascii_lowercase()) {
            if let Some(def) = full_definition(&after, &col.name) {
                clauses.push(AlterClause::ModifyColumn { column: def });
                job_serves.extend(ks);
            }
        }
    }
    for (k, c) in changes {
        if let ChangeDetail::AddColumn { column, .. } = &c.detail {
            let aggregate = before.keys_type == KeysType::Aggregate;
            if aggregate {
                g.note(
                    *k,
                    format!(
                        "{} is added to an AGGREGATE KEY table with REPLACE",
                        column.name
                    ),
                );
            }
            if !column.nullable && column.default.is_none() {
                g.note(
                    *k,
                    format!(
                        "{} is NOT NULL without a default: existing rows get the type's zero value",
                        column.name
                    ),
                );
            }
            clauses.push(AlterClause::AddColumn {
                column: ColumnDef {
                    name: column.name.clone(),
                    ty: column.ty.clone(),
                    key: false,
                    aggregation: aggregate.then(|| "REPLACE".to_string()),
                    nullable: column.nullable,
                    default: column.default.clone().map(DefaultValue::Literal),
                    comment: column.comment.clone(),
                },
                after: None,
            });
            job_serves.push(*k);
        }
    }
    if !clauses.is_empty() {
        job_serves.sort_unstable();
        job_serves.dedup();
        g.push(sql(alter(clauses)), job_serves.clone());
        g.push(Step::WaitForAlterJob { table: id.clone() }, job_serves);
    }
    // 3. Comments: metadata only, synchronous.
    for (k, column, comment) in comment_only {
        g.push(
            sql(alter(vec![AlterClause::ModifyColumnComment {
                column,
                comment,
            }])),
            vec![k],
        );
    }
    for (k, c) in changes {
        if let ChangeDetail::ChangeComment {
            column: None, to, ..
        } = &c.detail
        {
            let clause = AlterClause::Comment {
                comment: to.clone().unwrap_or_default(),
            };
            g.push(sql(alter(vec![clause])), vec![*k]);
        }
    }
    // 4. Materialized views.
    super::mv::mv_steps(ctx, before, changes, renames, false, g);
    after
}
