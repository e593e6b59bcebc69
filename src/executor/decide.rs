//! Pure decisions of the executor: given the target as it is now (a fresh
//! [`Catalog`]), is a step's effect already there, and if not, which
//! statements still have to run? This is what makes a restart after a crash
//! converge without a second ALTER. No I/O.

use crate::catalog::{Catalog, TargetTable};
use crate::ddl::{AlterClause, AlterTable, ColumnDef, CreateTable, DefaultValue, Statement};
use crate::model::TableId;
use crate::plan::derived::{definition_marker, generated_fingerprint};
use crate::plan::Step;
use crate::types::SrType;

/// What to do with a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The effect is already there: nothing to run.
    Skip(String),
    /// Run these statements, in order (the step's, or what is left of them).
    Run(Vec<Statement>),
    /// Nothing to decide here: a loader-gate marker or a job wait (the loop handles them).
    NotApplicable,
}

/// The tables a step touches (their jobs are awaited and they are re-read
/// before the step), besides the run's target table.
pub fn step_tables(step: &Step) -> Vec<TableId> {
    let mut out = Vec::new();
    match step {
        Step::Rebuild { table, shadow, .. } => {
            out.push(table.clone());
            out.push(shadow.clone());
        }
        Step::WaitForAlterJob { table }
        | Step::HoldGate { table }
        | Step::ReleaseGate { table } => out.push(table.clone()),
        Step::Sql { statement, .. } => out.extend(statement_tables(statement)),
        Step::ReactivateMv { .. } | Step::RebuildMv { .. } => {}
    }
    out.sort();
    out.dedup();
    out
}

/// The databases whose views a step needs to see.
pub fn step_view_databases(step: &Step) -> Vec<String> {
    match step {
        Step::ReactivateMv { mv, .. }
        | Step::RebuildMv { mv, .. }
        | Step::Sql {
            statement:
                Statement::AlterMaterializedViewActive { mv }
                | Statement::RefreshMaterializedView { mv }
                | Statement::DropMaterializedView { mv, .. }
                | Statement::CreateMaterializedView { mv, .. },
            ..
        } => vec![mv.database.clone()],
        _ => Vec::new(),
    }
}

fn statement_tables(statement: &Statement) -> Vec<TableId> {
    match statement {
        Statement::CreateTable(c) => vec![c.table.clone()],
        Statement::CreateDatabase { table, .. } => vec![table.clone()],
        Statement::AlterTable(a) => {
            let mut v = vec![a.table.clone()];
            for c in &a.clauses {
                match c {
                    AlterClause::RenameTable { to } | AlterClause::SwapWith { with: to } => {
                        v.push(TableId::new(a.table.database.clone(), to.clone()))
                    }
                    _ => {}
                }
            }
            v
        }
        Statement::RenameTable { table, to } | Statement::SwapWith { table, with: to } => vec![
            table.clone(),
            TableId::new(table.database.clone(), to.clone()),
        ],
        Statement::DropTable { table, .. } | Statement::TruncateTable { table } => {
            vec![table.clone()]
        }
        Statement::InsertSelect(i) => vec![i.target.clone(), i.source.clone()],
        _ => Vec::new(),
    }
}

/// Whether two types are the same for StarRocks (`STRING` is `VARCHAR(65533)`).
pub fn same_type(a: &SrType, b: &SrType) -> bool {
    let norm = |t: &SrType| match t {
        SrType::String => SrType::Varchar { len: 65533 },
        other => other.clone(),
    };
    norm(a) == norm(b)
}

fn default_text(d: &Option<DefaultValue>) -> Option<String> {
    d.as_ref().map(|d| match d {
        DefaultValue::Literal(v) => v.clone(),
        DefaultValue::CurrentTimestamp => "CURRENT_TIMESTAMP".to_string(),
    })
}

fn column_matches(t: &TargetTable, def: &ColumnDef) -> bool {
    t.column(&def.name)
        .is_some_and(|c| same_type(&c.ty, &def.ty) && c.nullable == def.nullable)
}

/// Whether one ALTER clause's effect is visible on `t`.
pub fn clause_done(clause: &AlterClause, t: &TargetTable) -> bool {
    match clause {
        AlterClause::AddColumn { column, .. } => t.column(&column.name).is_some(),
        AlterClause::DropColumn { column } => t.column(column).is_none(),
        AlterClause::ModifyColumn { column } => column_matches(t, column),
        AlterClause::ModifyColumnComment { column, comment } => t
            .column(column)
            .is_some_and(|c| c.comment.as_deref().unwrap_or("") == comment),
        AlterClause::RenameColumn { from, to } => {
            t.columns.iter().any(|c| c.name == *to)
                && !t
                    .columns
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(from) && c.name != *to)
        }
        AlterClause::Comment { comment } => t.comment.as_deref().unwrap_or("") == comment,
        AlterClause::RenameTable { .. } | AlterClause::SwapWith { .. } => false,
    }
}

/// Whether `t` already has the shape `create` describes (names and order of
/// columns, types, nullability, defaults, keys).
pub fn table_matches(t: &TargetTable, create: &CreateTable) -> bool {
    t.keys_type == create.keys_type
        && t.key_columns.len() == create.key_columns.len()
        && t.key_columns
            .iter()
            .zip(&create.key_columns)
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
        && t.columns.len() == create.columns.len()
        && t.columns.iter().zip(&create.columns).all(|(c, d)| {
            c.name == d.name
                && same_type(&c.ty, &d.ty)
                && c.nullable == d.nullable
                && c.default == default_text(&d.default)
        })
}

/// Decides one SQL statement against the catalog.
pub fn decide_statement(statement: &Statement, cat: &Catalog) -> Decision {
    let run = || Decision::Run(vec![statement.clone()]);
    let exists = |id: &TableId| cat.tables.contains_key(id);
    match statement {
        Statement::AlterTable(a) => {
            let Some(t) = cat.tables.get(&a.table) else {
                let renamed = !a.clauses.is_empty()
                    && a.clauses.iter().all(|c| {
                        matches!(c, AlterClause::RenameTable { to }
                            if exists(&TableId::new(a.table.database.clone(), to.clone())))
                    });
                return if renamed {
                    Decision::Skip(format!("{} is already renamed", a.table))
                } else {
                    run()
                };
            };
            let left: Vec<AlterClause> = a
                .clauses
                .iter()
                .filter(|c| !clause_done(c, t))
                .cloned()
                .collect();
            if left.is_empty() {
                Decision::Skip(format!("{} already has this change", a.table))
            } else if left.len() == a.clauses.len() {
                run()
            } else {
                Decision::Run(vec![Statement::AlterTable(AlterTable {
                    table: a.table.clone(),
                    clauses: left,
                })])
            }
        }
        Statement::CreateTable(c) if exists(&c.table) => {
            Decision::Skip(format!("{} already exists", c.table))
        }
        Statement::CreateDatabase { database, table } if exists(table) => {
            Decision::Skip(format!("{table} exists, so database {database} does"))
        }
        Statement::DropTable { table, .. } if !exists(table) => {
            Decision::Skip(format!("{table} is already dropped"))
        }
        Statement::RenameTable { table, to }
            if !exists(table) && exists(&TableId::new(table.database.clone(), to.clone())) =>
        {
            Decision::Skip(format!("{table} is already renamed to {to}"))
        }
        Statement::AlterMaterializedViewActive { mv }
            if cat.views.get(mv).is_some_and(|v| v.is_active) =>
        {
            Decision::Skip(format!("{mv} is already active"))
        }
        Statement::DropMaterializedView { mv, .. } if !cat.views.contains_key(mv) => {
            Decision::Skip(format!("{mv} is already dropped"))
        }
        Statement::CreateMaterializedView { mv, .. } if cat.views.contains_key(mv) => {
            Decision::Skip(format!("{mv} already exists"))
        }
        _ => run(),
    }
}

/// Decides a step against the catalog as it is now.
pub fn decide(step: &Step, cat: &Catalog) -> Decision {
    match step {
        Step::HoldGate { .. } | Step::ReleaseGate { .. } | Step::WaitForAlterJob { .. } => {
            Decision::NotApplicable
        }
        Step::Sql { statement, .. } => decide_statement(statement, cat),
        Step::ReactivateMv { mv, statements } => match cat.views.get(mv) {
            None => Decision::Skip(format!("{mv} does not exist: nothing to re-activate")),
            Some(v) if v.is_active => Decision::Skip(format!("{mv} is already active")),
            Some(_) => Decision::Run(statements.clone()),
        },
        Step::RebuildMv { mv, statements } if generated_fingerprint(statements).is_some() => {
            decide_regenerate(mv, statements, cat)
        }
        Step::RebuildMv { mv, statements } => match cat.views.get(mv) {
            Some(v) if v.is_active => Decision::Skip(format!("{mv} is already active")),
            Some(_) => Decision::Run(statements.clone()),
            None => Decision::Run(
                statements
                    .iter()
                    .filter(|s| !matches!(s, Statement::DropMaterializedView { .. }))
                    .cloned()
                    .collect(),
            ),
        },
        Step::Rebuild {
            table,
            shadow,
            statements,
        } => decide_rebuild(table, shadow, statements, cat),
    }
}

/// A ddlsync-generated view re-created (`regenerate_mv`): done when the view
/// exists with the definition fingerprint the step creates (StarRocks keeps
/// the comment that carries it); the DROP is left out when the view is gone.
fn decide_regenerate(mv: &TableId, statements: &[Statement], cat: &Catalog) -> Decision {
    let want = generated_fingerprint(statements);
    match cat.views.get(mv) {
        Some(v) if definition_marker(&v.create_sql) == want => {
            Decision::Skip(format!("{mv} is already regenerated"))
        }
        Some(_) => Decision::Run(statements.to_vec()),
        None => Decision::Run(
            statements
                .iter()
                .filter(|s| !matches!(s, Statement::DropMaterializedView { .. }))
                .cloned()
                .collect(),
        ),
    }
}

fn decide_rebuild(
    table: &TableId,
    shadow: &TableId,
    statements: &[Statement],
    cat: &Catalog,
) -> Decision {
    let create = statements.iter().find_map(|s| match s {
        Statement::CreateTable(c) if c.table == *shadow => Some(c),
        _ => None,
    });
    let Some(create) = create else {
        return Decision::Run(statements.to_vec());
    };
    let rebuilt = cat
        .tables
        .get(table)
        .is_some_and(|t| table_matches(t, create));
    let shadow_exists = cat.tables.contains_key(shadow);
    let drop_shadow = Statement::DropTable {
        table: shadow.clone(),
        if_exists: true,
    };
    match (rebuilt, shadow_exists) {
        (true, false) => Decision::Skip(format!("{table} is already rebuilt")),
        // Swapped, but the shadow (now holding the old data) is still there.
        (true, true) => Decision::Run(vec![drop_shadow]),
        // A shadow from an interrupted attempt: start again from a clean slate.
        (false, true) => {
            let mut v = vec![drop_shadow];
            v.extend(statements.iter().cloned());
            Decision::Run(v)
        }
        (false, false) => Decision::Run(statements.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::{KeysType, MaterializedView, RefreshKind, TargetColumn};

    fn col(name: &str, ty: SrType) -> TargetColumn {
        TargetColumn {
            name: name.into(),
            ty,
            nullable: true,
            default: None,
            comment: None,
            aggregation: None,
        }
    }

    fn table(id: &TableId, cols: Vec<TargetColumn>) -> TargetTable {
        TargetTable {
            id: id.clone(),
            key_columns: vec![cols[0].name.clone()],
            columns: cols,
            keys_type: KeysType::Duplicate,
            partition_clause: None,
            partition_columns: Vec::new(),
            distribution: None,
            order_by: Vec::new(),
            properties: BTreeMap::new(),
            comment: None,
        }
    }

    fn catalog(tables: Vec<TargetTable>) -> Catalog {
        Catalog {
            tables: tables.into_iter().map(|t| (t.id.clone(), t)).collect(),
            views: BTreeMap::new(),
        }
    }

    fn alter(id: &TableId, clauses: Vec<AlterClause>) -> Statement {
        Statement::AlterTable(AlterTable {
            table: id.clone(),
            clauses,
        })
    }

    #[test]
    fn add_drop_modify_rename_are_recognised_once_done() {
        let id = TableId::new("d", "t");
        let cat = catalog(vec![table(
            &id,
            vec![
                col("id", SrType::Int),
                col("b", SrType::BigInt),
                col("c2", SrType::Int),
            ],
        )]);
        let add = AlterClause::AddColumn {
            column: ColumnDef::new("b", SrType::BigInt, true),
            after: None,
        };
        let drop = AlterClause::DropColumn {
            column: "gone".into(),
        };
        let modify = AlterClause::ModifyColumn {
            column: ColumnDef::new("b", SrType::BigInt, true),
        };
        let rename = AlterClause::RenameColumn {
            from: "c".into(),
            to: "c2".into(),
        };
        for c in [&add, &drop, &modify, &rename] {
            assert!(clause_done(c, &cat.tables[&id]), "{c}");
        }
        let s = alter(&id, vec![add.clone(), drop, modify]);
        assert!(matches!(decide_statement(&s, &cat), Decision::Skip(_)));
        let pending = AlterClause::AddColumn {
            column: ColumnDef::new("new", SrType::Int, true),
            after: None,
        };
        let s = alter(&id, vec![add, pending.clone()]);
        assert_eq!(
            decide_statement(&s, &cat),
            Decision::Run(vec![alter(&id, vec![pending])])
        );
        let widen = AlterClause::ModifyColumn {
            column: ColumnDef::new("c2", SrType::BigInt, true),
        };
        assert!(!clause_done(&widen, &cat.tables[&id]));
    }

    #[test]
    fn string_is_varchar_65533() {
        assert!(same_type(&SrType::String, &SrType::Varchar { len: 65533 }));
        assert!(!same_type(&SrType::String, &SrType::Varchar { len: 10 }));
    }

    #[test]
    fn views_are_skipped_when_active() {
        let id = TableId::new("d", "t");
        let mv_id = TableId::new("d", "mv");
        let mut cat = catalog(vec![table(&id, vec![col("id", SrType::Int)])]);
        let mv = MaterializedView {
            id: mv_id.clone(),
            create_sql: "CREATE MATERIALIZED VIEW mv REFRESH MANUAL AS SELECT id FROM t".into(),
            query: "SELECT id FROM t".into(),
            refresh: RefreshKind::Manual,
            reads: BTreeMap::new(),
            is_active: false,
            inactive_reason: Some("base-table swapped: t".into()),
            warnings: Vec::new(),
        };
        cat.views.insert(mv_id.clone(), mv);
        let step = Step::ReactivateMv {
            mv: mv_id.clone(),
            statements: vec![Statement::AlterMaterializedViewActive { mv: mv_id.clone() }],
        };
        assert!(matches!(decide(&step, &cat), Decision::Run(_)));
        let rebuild = Step::RebuildMv {
            mv: mv_id.clone(),
            statements: vec![
                Statement::DropMaterializedView {
                    mv: mv_id.clone(),
                    if_exists: false,
                },
                Statement::CreateMaterializedView {
                    mv: mv_id.clone(),
                    definition: "x".into(),
                },
            ],
        };
        assert!(matches!(&decide(&rebuild, &cat), Decision::Run(v) if v.len() == 2));
        if let Some(v) = cat.views.get_mut(&mv_id) {
            v.is_active = true;
        }
        assert!(matches!(decide(&step, &cat), Decision::Skip(_)));
        assert!(matches!(decide(&rebuild, &cat), Decision::Skip(_)));
        cat.views.clear();
        assert!(matches!(&decide(&rebuild, &cat), Decision::Run(v) if v.len() == 1));
    }

    #[test]
    fn rebuild_resumes_from_where_it_stopped() {
        let id = TableId::new("d", "t");
        let shadow = TableId::new("d", "t__ddlsync_new");
        let new = table(&id, vec![col("id", SrType::Int), col("v", SrType::Date)]);
        let old = table(
            &id,
            vec![
                col("id", SrType::Int),
                col("v", SrType::Varchar { len: 10 }),
            ],
        );
        let create =
            Statement::CreateTable(Box::new(CreateTable::from_target_as(&new, shadow.clone())));
        let statements = vec![
            create,
            Statement::SwapWith {
                table: id.clone(),
                with: shadow.table.clone(),
            },
            Statement::DropTable {
                table: shadow.clone(),
                if_exists: false,
            },
        ];
        let step = Step::Rebuild {
            table: id.clone(),
            shadow: shadow.clone(),
            statements,
        };
        let mut shadow_t = new.clone();
        shadow_t.id = shadow.clone();
        assert!(
            matches!(&decide(&step, &catalog(vec![old.clone()])), Decision::Run(v) if v.len() == 3)
        );
        assert!(
            matches!(&decide(&step, &catalog(vec![old.clone(), shadow_t.clone()])), Decision::Run(v) if v.len() == 4)
        );
        let mut old_as_shadow = old;
        old_as_shadow.id = shadow;
        assert!(
            matches!(&decide(&step, &catalog(vec![new.clone(), old_as_shadow])), Decision::Run(v) if v.len() == 1)
        );
        assert!(matches!(
            decide(&step, &catalog(vec![new])),
            Decision::Skip(_)
        ));
    }

    fn view(id: &TableId, create_sql: &str) -> MaterializedView {
        MaterializedView {
            id: id.clone(),
            create_sql: create_sql.into(),
            query: "SELECT 1".into(),
            refresh: RefreshKind::Async,
            reads: BTreeMap::new(),
            is_active: true,
            inactive_reason: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_generated_view_is_regenerated_until_it_carries_the_new_fingerprint() {
        let id = TableId::new("d", "t_current");
        let marker = |c: char| {
            format!(
                "COMMENT \"ddlsync-definition sha256:{}\"",
                c.to_string().repeat(64)
            )
        };
        let step = Step::RebuildMv {
            mv: id.clone(),
            statements: vec![
                Statement::DropMaterializedView {
                    mv: id.clone(),
                    if_exists: true,
                },
                Statement::CreateMaterializedView {
                    mv: id.clone(),
                    definition: format!(
                        "CREATE MATERIALIZED VIEW `d`.`t_current`\n{}\nAS SELECT 1",
                        marker('b')
                    ),
                },
            ],
        };
        let with = |sql: Option<String>| Catalog {
            tables: BTreeMap::new(),
            views: sql
                .map(|s| (id.clone(), view(&id, &s)))
                .into_iter()
                .collect(),
        };
        // Old fingerprint (active, so a plain rebuild would be skipped): drop + create.
        let old = with(Some(format!(
            "CREATE MATERIALIZED VIEW `t_current`\n{}\nAS SELECT 1",
            marker('a')
        )));
        assert!(matches!(decide(&step, &old), Decision::Run(s) if s.len() == 2));
        // Dropped already: only the create.
        assert!(matches!(
            decide(&step, &with(None)),
            Decision::Run(s) if matches!(s[..], [Statement::CreateMaterializedView { .. }])
        ));
        // Re-created with the new fingerprint: done.
        let new = with(Some(format!(
            "CREATE MATERIALIZED VIEW `t_current`\n{}\nAS SELECT 1",
            marker('b')
        )));
        assert!(matches!(decide(&step, &new), Decision::Skip(_)));
    }
}
