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
    let reads_old = |q: &str| {
        let (reads, _) = resolve_reads(q, &mv.id.database, &ctx.catalog.tables);
        reads.get(table).is_some_and(|cols| {
            renamed.iter().any(|(old, _)| {
                cols.contains(&old.to_ascii_lowercase()) || cols.contains(ALL_COLUMNS)
            })
        })
    };
    if !reads_old(&query) && query != mv.query {
        return Some(format!("{head}{query}"));
    }
    // Not normalized (a definition as written, with bare column names): when
    // the view reads this table alone, its bare and qualified references to
    // the old names are rewritten in the parsed query.
    let (reads, _) = resolve_reads(&mv.query, &mv.id.database, &ctx.catalog.tables);
    if reads.len() != 1 || !reads.contains_key(table) {
        return None;
    }
    let rewritten = rewrite_bare_references(&mv.query, &table.table, renamed)?;
    (!reads_old(&rewritten)).then(|| format!("{head}{rewritten}"))
}

/// `query` parsed (MySQL dialect) with every column reference named like an
/// old column — bare, or qualified by `table` — renamed; `None` when it does
/// not parse.
fn rewrite_bare_references(
    query: &str,
    table: &str,
    renamed: &[(String, String)],
) -> Option<String> {
    use sqlparser::ast::{visit_expressions_mut, Expr, Ident};
    use std::ops::ControlFlow;
    let sql = query.trim().trim_end_matches(';');
    let mut statements =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::MySqlDialect {}, sql).ok()?;
    let new_name = |ident: &Ident| {
        renamed
            .iter()
            .find(|(old, _)| old.eq_ignore_ascii_case(&ident.value))
            .map(|(_, new)| Ident::with_quote('`', new.clone()))
    };
    let flow: ControlFlow<()> = visit_expressions_mut(&mut statements, |expr| {
        match expr {
            Expr::Identifier(ident) => {
                if let Some(n) = new_name(ident) {
                    *ident = n;
                }
            }
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let qualified_by_table = parts[parts.len() - 2].value.eq_ignore_ascii_case(table);
                if let (true, Some(last)) = (qualified_by_table, parts.last_mut()) {
                    if let Some(n) = new_name(last) {
                        *last = n;
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    });
    if flow.is_break() {
        return None;
    }
    let [statement] = statements.as_slice() else {
        return None;
    };
    Some(statement.to_string())
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

#[cfg(test)]
mod tests {
    use super::rewrite_bare_references;

    #[test]
    fn bare_and_table_qualified_references_are_renamed() {
        let q = "SELECT last_name, count(*) AS n FROM inventory.members \
                 WHERE members.last_name <> '' GROUP BY last_name";
        let out =
            rewrite_bare_references(q, "members", &[("last_name".into(), "family_name".into())])
                .unwrap();
        assert_eq!(
            out,
            "SELECT `family_name`, count(*) AS n FROM inventory.members \
             WHERE members.`family_name` <> '' GROUP BY `family_name`"
        );
        // Another table's column of that name is left alone; unparseable text gives None.
        let other = rewrite_bare_references(
            "SELECT o.last_name FROM x.members JOIN x.o ON o.id = members.id",
            "members",
            &[("last_name".into(), "family_name".into())],
        )
        .unwrap();
        assert!(other.contains("o.last_name"), "{other}");
        assert!(rewrite_bare_references("SELECT FROM WHERE", "t", &[]).is_none());
    }
}
