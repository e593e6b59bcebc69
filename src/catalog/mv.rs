//! Which base-table columns a materialized view reads, from its `AS SELECT`
//! query parsed with sqlparser (MySQL dialect, then the generic one).
//!
//! Resolution rules (conservative: reading too much only makes the planner
//! re-activate a view it did not need to):
//! * `t.c`, `alias.c`, `db.t.c` → column `c` of that table;
//! * an unqualified `c` → every base table of the query that has `c` in the
//!   catalog; when no known table has it and some base table is not in the
//!   catalog, every such unknown table (otherwise it is an alias and ignored);
//! * `SELECT *` / `t.*` → every column of the table when the catalog knows
//!   it, else the marker [`ALL_COLUMNS`];
//! * subqueries, CTEs, joins, window `PARTITION BY`/`ORDER BY`, `GROUP BY`,
//!   `HAVING`, `WHERE` all count; CTE and derived-table names are not base tables;
//! * every base table gets an entry, even when no column of it is read;
//! * a query sqlparser cannot parse is scanned for `FROM`/`JOIN` table names
//!   and reads every column of them, with a warning.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, ObjectName, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, TableFactor,
    TableWithJoins, Visit, Visitor,
};
use sqlparser::dialect::{GenericDialect, MySqlDialect};
use sqlparser::parser::Parser;

use super::input::{tokenize, Tok};
use super::TargetTable;
use crate::model::TableId;

/// Marker in [`super::MaterializedView::reads`]: every column of a table not in the catalog.
pub const ALL_COLUMNS: &str = "*";

/// A `SELECT *` (`None`) or `q.*` (`Some(q)`), with the FROM relations of its SELECT.
type Wildcard = (Option<Vec<String>>, Vec<Vec<String>>);

#[derive(Default)]
struct Collect {
    relations: Vec<(Vec<String>, Option<String>)>,
    ctes: BTreeSet<String>,
    derived: BTreeSet<String>,
    columns: Vec<Vec<String>>,
    /// Wildcards: `None` = `*` over these relations, `Some(q)` = `q.*`.
    wildcards: Vec<Wildcard>,
}

fn parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
        .collect()
}

fn from_relations(from: &[TableWithJoins], out: &mut Vec<Vec<String>>) {
    fn factor(f: &TableFactor, out: &mut Vec<Vec<String>>) {
        match f {
            TableFactor::Table { name, alias, .. } => {
                out.push(match alias {
                    Some(a) => vec![a.name.value.clone()],
                    None => parts(name),
                });
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => from_relations(std::slice::from_ref(table_with_joins), out),
            _ => {}
        }
    }
    for twj in from {
        factor(&twj.relation, out);
        for j in &twj.joins {
            factor(&j.relation, out);
        }
    }
}

impl Visitor for Collect {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_ascii_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        let mut rels = Vec::new();
        from_relations(&select.from, &mut rels);
        for item in &select.projection {
            match item {
                SelectItem::Wildcard(_) => self.wildcards.push((None, rels.clone())),
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => self.wildcards.push((Some(parts(n)), rels.clone())),
                _ => {}
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, f: &TableFactor) -> ControlFlow<()> {
        match f {
            TableFactor::Table { name, alias, .. } => self
                .relations
                .push((parts(name), alias.as_ref().map(|a| a.name.value.clone()))),
            TableFactor::Derived { alias: Some(a), .. } => {
                self.derived.insert(a.name.value.to_ascii_lowercase());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Identifier(i) => self.columns.push(vec![i.value.clone()]),
            Expr::CompoundIdentifier(ids) => self
                .columns
                .push(ids.iter().map(|i| i.value.clone()).collect()),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn table_id(parts: &[String], db: &str) -> Option<TableId> {
    match parts {
        [t] => Some(TableId::new(db, t.as_str())),
        [.., d, t] => Some(TableId::new(d.as_str(), t.as_str())),
        [] => None,
    }
}

fn find<'a>(tables: &'a BTreeMap<TableId, TargetTable>, id: &TableId) -> Option<&'a TargetTable> {
    tables.get(id).or_else(|| {
        tables.values().find(|t| {
            t.id.database.eq_ignore_ascii_case(&id.database)
                && t.id.table.eq_ignore_ascii_case(&id.table)
        })
    })
}

/// Resolves the base columns `query` reads (see the module docs). `db` is the
/// view's database (for unqualified table names).
pub fn resolve_reads(
    query: &str,
    db: &str,
    tables: &BTreeMap<TableId, TargetTable>,
) -> (BTreeMap<TableId, BTreeSet<String>>, Vec<String>) {
    let sql = query.trim().trim_end_matches(';').trim();
    let parsed = Parser::parse_sql(&MySqlDialect {}, sql)
        .or_else(|_| Parser::parse_sql(&GenericDialect {}, sql));
    let statements = match parsed {
        Ok(s) => s,
        Err(e) => return fallback(sql, db, tables, &e.to_string()),
    };
    let mut c = Collect::default();
    let (ControlFlow::Continue(()) | ControlFlow::Break(())) = statements.visit(&mut c);

    // Base tables and the qualifiers that name them.
    let mut reads: BTreeMap<TableId, BTreeSet<String>> = BTreeMap::new();
    let mut by_qualifier: HashMap<String, TableId> = HashMap::new();
    let relations = std::mem::take(&mut c.relations);
    for (name, alias) in &relations {
        if name.len() == 1 && c.ctes.contains(&name[0].to_ascii_lowercase()) {
            if let Some(a) = alias {
                c.derived.insert(a.to_ascii_lowercase());
            }
            continue;
        }
        let Some(mut id) = table_id(name, db) else {
            continue;
        };
        if let Some(t) = find(tables, &id) {
            id = t.id.clone();
        }
        reads.entry(id.clone()).or_default();
        if let Some(a) = alias {
            by_qualifier.insert(a.to_ascii_lowercase(), id.clone());
        }
        by_qualifier.insert(id.table.to_ascii_lowercase(), id.clone());
        by_qualifier.insert(
            format!("{}.{}", id.database, id.table).to_ascii_lowercase(),
            id.clone(),
        );
    }
    let columns_of = |id: &TableId| -> Option<Vec<String>> {
        find(tables, id).map(|t| {
            t.columns
                .iter()
                .map(|c| c.name.to_ascii_lowercase())
                .collect()
        })
    };
    let base: Vec<TableId> = reads.keys().cloned().collect();
    let unknown: Vec<TableId> = base
        .iter()
        .filter(|t| columns_of(t).is_none())
        .cloned()
        .collect();

    let add_all = |reads: &mut BTreeMap<TableId, BTreeSet<String>>, id: &TableId| {
        let cols = columns_of(id).unwrap_or_else(|| vec![ALL_COLUMNS.to_string()]);
        reads.entry(id.clone()).or_default().extend(cols);
    };
    for (qualifier, rels) in &c.wildcards {
        let targets: Vec<&Vec<String>> = match qualifier {
            None => rels.iter().collect(),
            Some(q) => vec![q],
        };
        for q in targets {
            if let Some(id) = by_qualifier.get(&q.join(".").to_ascii_lowercase()).cloned() {
                add_all(&mut reads, &id);
            }
        }
    }
    for parts in &c.columns {
        let Some(col) = parts.last() else { continue };
        let col = col.to_ascii_lowercase();
        if parts.len() > 1 {
            let q = parts[..parts.len() - 1].join(".").to_ascii_lowercase();
            let last_q = parts[parts.len() - 2].to_ascii_lowercase();
            if let Some(id) = by_qualifier.get(&q).or_else(|| by_qualifier.get(&last_q)) {
                reads.entry(id.clone()).or_default().insert(col);
                continue;
            }
            if c.derived.contains(&last_q) || c.ctes.contains(&last_q) {
                continue;
            }
        }
        // Unqualified (or `struct_col.field`): attribute by the catalog.
        let name = parts[0].to_ascii_lowercase();
        let owners: Vec<&TableId> = base
            .iter()
            .filter(|t| columns_of(t).is_some_and(|cols| cols.contains(&name)))
            .collect();
        if !owners.is_empty() {
            for id in owners {
                reads.entry(id.clone()).or_default().insert(name.clone());
            }
        } else {
            for id in &unknown {
                reads.entry(id.clone()).or_default().insert(name.clone());
            }
        }
    }
    (reads, Vec::new())
}

/// Reads every column of the tables named after FROM/JOIN in a query that did not parse.
fn fallback(
    sql: &str,
    db: &str,
    tables: &BTreeMap<TableId, TargetTable>,
    error: &str,
) -> (BTreeMap<TableId, BTreeSet<String>>, Vec<String>) {
    let mut reads: BTreeMap<TableId, BTreeSet<String>> = BTreeMap::new();
    let toks = tokenize(sql).unwrap_or_default();
    let name_of = |t: &Tok| match t {
        Tok::Word(w) | Tok::Quoted(w) => Some(w.clone()),
        _ => None,
    };
    let mut i = 0;
    while i < toks.len() {
        if toks[i].is_word("FROM") || toks[i].is_word("JOIN") {
            if let Some(first) = toks.get(i + 1).and_then(|t| name_of(&t.tok)) {
                let mut parts = vec![first];
                let mut j = i + 2;
                while toks.get(j).is_some_and(|t| t.is_sym('.')) {
                    if let Some(n) = toks.get(j + 1).and_then(|t| name_of(&t.tok)) {
                        parts.push(n);
                    }
                    j += 2;
                }
                if let Some(mut id) = table_id(&parts, db) {
                    let cols = match find(tables, &id) {
                        Some(t) => {
                            id = t.id.clone();
                            t.columns
                                .iter()
                                .map(|c| c.name.to_ascii_lowercase())
                                .collect()
                        }
                        None => vec![ALL_COLUMNS.to_string()],
                    };
                    if !parts[0].eq_ignore_ascii_case("SELECT") {
                        reads.entry(id).or_default().extend(cols);
                    }
                }
            }
        }
        i += 1;
    }
    let warning = format!(
        "query not parsed ({error}); assuming it reads every column of {}",
        if reads.is_empty() {
            "no table found".to_string()
        } else {
            reads
                .keys()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    (reads, vec![warning])
}
