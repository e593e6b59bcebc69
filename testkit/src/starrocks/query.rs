//! SELECT / INSERT translation: parses StarRocks (MySQL-flavoured) queries with sqlparser,
//! points table references at the SQLite mirror tables and rewrites casts and literals.

use std::ops::ControlFlow;

use sqlparser::ast::{
    DataType, Expr, Ident, ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableAlias,
    TableFactor, TableObject, Value, VisitMut, VisitorMut,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::catalog::Catalog;
use super::error::{Result, SrError, ER_NO_DB};

/// `(db, table)`.
pub type TableRef = (String, String);

/// A translated query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translated {
    /// SQLite SQL.
    pub sql: String,
    /// information_schema tables read (lower-case names).
    pub info_tables: Vec<String>,
    /// `(db, table)` pairs read.
    pub tables: Vec<(String, String)>,
}

/// Parses one statement with the MySQL dialect.
pub fn parse(sql: &str) -> Result<Statement> {
    let mut stmts = Parser::parse_sql(&MySqlDialect {}, sql)
        .map_err(|e| SrError::new(format!("Getting syntax error. Detail message: {e}.")))?;
    if stmts.len() != 1 {
        return Err(SrError::unsupported("multiple statements in one query"));
    }
    Ok(stmts.remove(0))
}

struct Rewriter<'a> {
    cat: &'a Catalog,
    cur_db: Option<&'a str>,
    ctes: Vec<String>,
    err: Option<SrError>,
    out: Translated,
}

fn ident_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn quoted(s: &str) -> ObjectName {
    ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote('"', s))])
}

impl Rewriter<'_> {
    fn resolve(&mut self, name: &mut ObjectName) -> Result<Option<String>> {
        let parts = ident_parts(name);
        let (db, table) = match parts.as_slice() {
            [db, t] if db.eq_ignore_ascii_case("information_schema") => {
                let t = t.to_ascii_lowercase();
                self.out.info_tables.push(t.clone());
                *name = quoted(&format!("information_schema.{t}"));
                return Ok(Some(t));
            }
            [db, t] => (db.clone(), t.clone()),
            [t] if self.ctes.iter().any(|c| c.eq_ignore_ascii_case(t)) => return Ok(None),
            [t] => match self.cur_db {
                Some(db) => (db.to_string(), t.clone()),
                None => return Err(SrError::with_code(ER_NO_DB, "No database selected")),
            },
            _ => return Err(SrError::unsupported(format!("table name {name}"))),
        };
        let d = self.cat.db(&db)?;
        if !d.tables.contains_key(&table) && !d.mvs.contains_key(&table) {
            return Err(SrError::unknown_table(&db, &table));
        }
        *name = quoted(&format!("{db}.{table}"));
        self.out.tables.push((db, table.clone()));
        Ok(Some(table))
    }
}

fn sqlite_type(dt: &DataType) -> DataType {
    let s = dt.to_string().to_ascii_lowercase();
    let base = s.split(['(', ' ']).next().unwrap_or("");
    match base {
        "tinyint" | "smallint" | "int" | "integer" | "bigint" | "largeint" | "boolean" | "bool"
        | "signed" | "unsigned" => DataType::Integer(None),
        "float" | "double" | "decimal" | "numeric" | "real" => DataType::Real,
        _ => DataType::Text,
    }
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        if let Some(w) = &q.with {
            for cte in &w.cte_tables {
                self.ctes.push(cte.alias.name.value.clone());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, alias, .. } = tf {
            match self.resolve(name) {
                Ok(Some(short)) => {
                    if alias.is_none() {
                        *alias = Some(TableAlias {
                            explicit: true,
                            name: Ident::with_quote('`', short),
                            columns: vec![],
                            at: None,
                        });
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    self.err = Some(e);
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        match e {
            Expr::Cast { data_type, .. } => *data_type = sqlite_type(data_type),
            Expr::CompoundIdentifier(parts) if parts.len() == 3 => {
                parts.remove(0);
            }
            Expr::Value(v) => {
                if let Value::DoubleQuotedString(s) = &v.value {
                    v.value = Value::SingleQuotedString(s.clone());
                }
            }
            Expr::Function(f) => {
                let n = f.name.to_string().to_ascii_lowercase();
                let renamed = match n.as_str() {
                    "if" => Some("iif"),
                    "json_extract" => Some("json_query"),
                    "get_json_str" => Some("get_json_string"),
                    "current_timestamp" | "localtimestamp" => Some("now"),
                    _ => None,
                };
                if let Some(r) = renamed {
                    f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(r))]);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Rewrites a query in place for SQLite.
pub fn translate_query(cat: &Catalog, cur_db: Option<&str>, q: &mut Query) -> Result<Translated> {
    let mut rw = Rewriter {
        cat,
        cur_db,
        ctes: Vec::new(),
        err: None,
        out: Translated::default(),
    };
    if q.visit(&mut rw).is_break() && rw.err.is_none() {
        return Err(SrError::new("query rewriting stopped"));
    }
    if let Some(e) = rw.err {
        return Err(e);
    }
    let mut out = rw.out;
    out.sql = q.to_string();
    Ok(out)
}

/// A translated INSERT.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertPlan {
    /// Target database.
    pub db: String,
    /// Target table.
    pub table: String,
    /// Target columns as named (empty = all, in order).
    pub columns: Vec<String>,
    /// The source query, translated.
    pub source: Translated,
    /// INSERT OVERWRITE.
    pub overwrite: bool,
}

/// Translates `INSERT INTO t [(cols)] VALUES ... | SELECT ...`.
pub fn translate_insert(
    cat: &Catalog,
    cur_db: Option<&str>,
    stmt: Statement,
) -> Result<InsertPlan> {
    let Statement::Insert(ins) = stmt else {
        return Err(SrError::unsupported("statement"));
    };
    let TableObject::TableName(name) = &ins.table else {
        return Err(SrError::unsupported("INSERT INTO TABLE FUNCTION"));
    };
    let parts = ident_parts(name);
    let (db, table) = match parts.as_slice() {
        [d, t] => (d.clone(), t.clone()),
        [t] => (
            cur_db
                .ok_or_else(|| SrError::with_code(ER_NO_DB, "No database selected"))?
                .to_string(),
            t.clone(),
        ),
        _ => return Err(SrError::unsupported(format!("table name {name}"))),
    };
    cat.table(&db, &table)?;
    let columns = ins
        .columns
        .iter()
        .map(|c| ident_parts(c).last().cloned().unwrap_or_default())
        .collect();
    let mut src = ins
        .source
        .ok_or_else(|| SrError::unsupported("INSERT without VALUES or SELECT"))?;
    if let SetExpr::Values(_) = src.body.as_ref() {
        // VALUES rows need no table rewriting, but literals and casts do
    }
    let source = translate_query(cat, cur_db, &mut src)?;
    Ok(InsertPlan {
        db,
        table,
        columns,
        source,
        overwrite: ins.overwrite,
    })
}

struct WildcardFinder(bool);

impl sqlparser::ast::Visitor for WildcardFinder {
    type Break = ();

    fn pre_visit_select(&mut self, s: &sqlparser::ast::Select) -> ControlFlow<()> {
        use sqlparser::ast::SelectItem;
        if s.projection.iter().any(|i| {
            matches!(
                i,
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
            )
        }) {
            self.0 = true;
        }
        ControlFlow::Continue(())
    }
}

/// Base columns a query reads, for materialized views: `(db, table, column)` lower-case,
/// `*` when the query selects all columns.
pub fn referenced_columns(
    cat: &Catalog,
    cur_db: &str,
    query: &str,
) -> Result<(Vec<TableRef>, Vec<String>)> {
    let stmt = parse(query)?;
    let Statement::Query(mut q) = stmt else {
        return Err(SrError::unsupported(
            "materialized view definition that is not a SELECT",
        ));
    };
    let t = translate_query(cat, Some(cur_db), &mut q)?;
    let mut idents = Vec::new();
    let flow = sqlparser::ast::visit_expressions(&q, |e: &Expr| {
        match e {
            Expr::Identifier(i) => idents.push(i.value.to_ascii_lowercase()),
            Expr::CompoundIdentifier(p) => {
                if let Some(l) = p.last() {
                    idents.push(l.value.to_ascii_lowercase());
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    debug_assert!(flow.is_continue());
    let mut wild = WildcardFinder(false);
    let flow = sqlparser::ast::Visit::visit(&*q, &mut wild);
    debug_assert!(flow.is_continue());
    if wild.0 {
        idents.push("*".into());
    }
    Ok((t.tables, idents))
}
