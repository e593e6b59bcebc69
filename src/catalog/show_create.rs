//! Parser of `SHOW CREATE TABLE` / `SHOW CREATE MATERIALIZED VIEW` output
//! into a [`Catalog`], and [`render_show_create`], its inverse for tables.
//!
//! Accepted input: plain statements ending in `;`, `\G` blocks
//! (`Create Table: CREATE TABLE ...`) and tabular rows
//! (`| t | CREATE TABLE ... |`), with `USE db;` lines, `db.`-qualified names
//! and `--`/`#`/`/* */` comments. Errors name the 1-based input line.

use std::collections::{BTreeMap, BTreeSet};

use super::cursor::Cursor;
use super::input::{segments, tokenize, Tok, Token};
use super::mv::resolve_reads;
use super::{
    Catalog, CatalogError, Distribution, KeysType, MaterializedView, RefreshKind, TargetColumn,
    TargetTable,
};
use crate::model::TableId;

/// Aggregate functions of AGGREGATE KEY value columns.
const AGGREGATIONS: &[&str] = &[
    "SUM",
    "MIN",
    "MAX",
    "REPLACE",
    "REPLACE_IF_NOT_NULL",
    "HLL_UNION",
    "BITMAP_UNION",
    "PERCENTILE_UNION",
];

pub use super::render::render_show_create;

/// Parses `SHOW CREATE` output (see the module docs) into a catalog.
///
/// `default_db` names the database of unqualified names before any `USE db;`.
pub fn parse_catalog(text: &str, default_db: Option<&str>) -> Result<Catalog, CatalogError> {
    parse_catalog_with_warnings(text, default_db).map(|(c, _)| c)
}

/// As [`parse_catalog`], also returning warnings about skipped statements
/// (plain views, unknown clauses).
pub fn parse_catalog_with_warnings(
    text: &str,
    default_db: Option<&str>,
) -> Result<(Catalog, Vec<String>), CatalogError> {
    let mut p = State {
        db: default_db.map(str::to_string),
        catalog: Catalog::default(),
        warnings: Vec::new(),
        saw_statement: false,
    };
    for seg in segments(text) {
        let toks = tokenize(&seg.text).map_err(|(off, what)| CatalogError::Syntax {
            line: seg.line_of(off),
            message: format!("unterminated {what}"),
        })?;
        let mut c = Cursor {
            seg: &seg,
            toks: &toks,
            pos: 0,
        };
        p.statements(&mut c)?;
    }
    let tables = p.catalog.tables.clone();
    for mv in p.catalog.views.values_mut() {
        let (reads, warnings) = resolve_reads(&mv.query, &mv.id.database, &tables);
        mv.reads = reads;
        mv.warnings.extend(warnings);
    }
    Ok((p.catalog, p.warnings))
}

struct State {
    db: Option<String>,
    catalog: Catalog,
    warnings: Vec<String>,
    saw_statement: bool,
}

impl State {
    fn statements(&mut self, c: &mut Cursor<'_>) -> Result<(), CatalogError> {
        while let Some(t) = c.peek() {
            if t.is_sym(';') {
                c.pos += 1;
            } else if t.is_word("USE") {
                c.pos += 1;
                self.db = Some(c.ident("a database name after USE")?);
                if !c.at_end() {
                    return Err(c.err("`;` after USE db"));
                }
            } else if t.is_word("CREATE") {
                self.saw_statement = true;
                let start = c.pos;
                c.pos += 1;
                c.eat_word("EXTERNAL");
                if c.eat_word("TABLE") {
                    let table = self.table(c)?;
                    self.catalog.tables.insert(table.id.clone(), table);
                } else if c.eat_word("MATERIALIZED") {
                    c.expect_word("VIEW", "MATERIALIZED")?;
                    let mv = self.view(c, start)?;
                    self.catalog.views.insert(mv.id.clone(), mv);
                } else {
                    let what = c.peek().map_or_else(String::new, Token::describe);
                    self.warnings.push(format!(
                        "line {}: skipped CREATE {what} (only tables and materialized views are read)",
                        c.line()
                    ));
                    while !c.at_end() {
                        c.pos += 1;
                    }
                }
            } else {
                if self.saw_statement {
                    return Err(c.err("CREATE TABLE, CREATE MATERIALIZED VIEW or USE"));
                }
                let found = t.describe();
                return Err(CatalogError::Syntax {
                    line: c.line(),
                    message: format!(
                        "not a StarRocks SHOW CREATE output: expected CREATE TABLE, CREATE MATERIALIZED VIEW or USE, found {found}"
                    ),
                });
            }
        }
        Ok(())
    }

    fn name(&self, c: &mut Cursor<'_>) -> Result<TableId, CatalogError> {
        c.eat_word("IF")
            .then(|| c.eat_word("NOT") && c.eat_word("EXISTS"));
        let line = c.line();
        let first = c.ident("a table name")?;
        let (db, table) = if c.eat_sym('.') {
            (Some(first), c.ident("a table name after `.`")?)
        } else {
            (self.db.clone(), first)
        };
        match db {
            Some(db) => Ok(TableId::new(db, table)),
            None => Err(CatalogError::Syntax {
                line,
                message: format!(
                    "table `{table}` has no database: add a `USE db;` line or qualify the name"
                ),
            }),
        }
    }

    fn table(&mut self, c: &mut Cursor<'_>) -> Result<TargetTable, CatalogError> {
        let id = self.name(c)?;
        c.expect_sym('(', "after the table name")?;
        let mut columns = Vec::new();
        loop {
            if c.peek().is_some_and(|t| t.is_word("INDEX")) {
                self.warnings.push(format!(
                    "line {}: index definition of {id} not kept",
                    c.line()
                ));
                while !c.peek().is_none_or(|t| t.is_sym(',') || t.is_sym(')')) {
                    if c.peek().is_some_and(|t| t.is_sym('(')) {
                        c.skip_group()?;
                    } else {
                        c.pos += 1;
                    }
                }
            } else {
                columns.push(column(c)?);
            }
            if c.eat_sym(')') {
                break;
            }
            c.expect_sym(',', "or `)` after a column definition")?;
        }
        let mut t = TargetTable {
            id,
            columns,
            keys_type: KeysType::Duplicate,
            key_columns: Vec::new(),
            partition_clause: None,
            partition_columns: Vec::new(),
            distribution: None,
            order_by: Vec::new(),
            properties: BTreeMap::new(),
            comment: None,
        };
        while !c.at_end() {
            let Some(tok) = c.peek() else { break };
            let Tok::Word(w) = &tok.tok else {
                return Err(c.err("a table clause (ENGINE, KEY, PARTITION BY, DISTRIBUTED BY, ORDER BY, PROPERTIES)"));
            };
            match w.to_ascii_uppercase().as_str() {
                "ENGINE" => {
                    c.pos += 1;
                    c.expect_sym('=', "after ENGINE")?;
                    c.ident("an engine name")?;
                }
                kw @ ("PRIMARY" | "DUPLICATE" | "UNIQUE" | "AGGREGATE") => {
                    c.pos += 1;
                    c.expect_word("KEY", kw)?;
                    t.keys_type = match kw {
                        "PRIMARY" => KeysType::Primary,
                        "DUPLICATE" => KeysType::Duplicate,
                        "UNIQUE" => KeysType::Unique,
                        _ => KeysType::Aggregate,
                    };
                    t.key_columns = c.ident_list("key columns")?;
                }
                "COMMENT" => {
                    c.pos += 1;
                    c.eat_sym('=');
                    let s = c.string("a string after COMMENT")?;
                    t.comment = (!s.is_empty()).then_some(s);
                }
                "PARTITION" => {
                    let (text, cols) = partition_clause(c)?;
                    t.partition_clause = Some(text);
                    t.partition_columns = cols;
                }
                "DISTRIBUTED" => t.distribution = Some(distribution(c)?),
                "ORDER" => {
                    c.pos += 1;
                    c.expect_word("BY", "ORDER")?;
                    t.order_by = c.ident_list("ORDER BY columns")?;
                }
                "PROPERTIES" => t.properties = properties(c)?,
                "ROLLUP" | "BROKER" => {
                    self.warnings
                        .push(format!("line {}: {w} clause of {} not kept", c.line(), t.id));
                    c.pos += 1;
                    c.eat_word("PROPERTIES");
                    c.skip_group()?;
                }
                _ => {
                    return Err(c.err(
                        "a table clause (ENGINE, KEY, PARTITION BY, DISTRIBUTED BY, ORDER BY, PROPERTIES)",
                    ))
                }
            }
        }
        Ok(t)
    }

    fn view(&mut self, c: &mut Cursor<'_>, start: usize) -> Result<MaterializedView, CatalogError> {
        let id = self.name(c)?;
        if c.peek().is_some_and(|t| t.is_sym('(')) {
            c.skip_group()?;
        }
        let mut refresh = RefreshKind::Async;
        loop {
            let Some(tok) = c.peek() else {
                return Err(c.err("AS SELECT ... in the materialized view"));
            };
            if tok.is_word("AS") {
                c.pos += 1;
                break;
            }
            let Tok::Word(w) = &tok.tok else {
                return Err(c.err("a materialized view clause or AS"));
            };
            match w.to_ascii_uppercase().as_str() {
                "COMMENT" => {
                    c.pos += 1;
                    c.string("a string after COMMENT")?;
                }
                "PROPERTIES" => {
                    properties(c)?;
                }
                "REFRESH" => {
                    let from = c.pos + 1;
                    c.pos += 1;
                    while let Some(t) = c.peek() {
                        if t.is_word("AS") || t.is_word("PROPERTIES") || t.is_sym(';') {
                            break;
                        }
                        if t.is_sym('(') {
                            c.skip_group()?;
                        } else {
                            c.pos += 1;
                        }
                    }
                    let text = c.text(from, c.pos).to_string();
                    let upper = text.to_ascii_uppercase();
                    refresh = if upper.contains("MANUAL") {
                        RefreshKind::Manual
                    } else if upper.contains("ASYNC") {
                        RefreshKind::Async
                    } else {
                        RefreshKind::Other(text)
                    };
                }
                "PARTITION" | "DISTRIBUTED" | "ORDER" => {
                    c.pos += 1;
                    while let Some(t) = c.peek() {
                        let clause = [
                            "AS",
                            "REFRESH",
                            "PROPERTIES",
                            "DISTRIBUTED",
                            "ORDER",
                            "COMMENT",
                        ]
                        .iter()
                        .any(|k| t.is_word(k));
                        if (clause && c.pos > 0) || t.is_sym(';') {
                            break;
                        }
                        if t.is_sym('(') {
                            c.skip_group()?;
                        } else {
                            c.pos += 1;
                        }
                    }
                }
                _ => return Err(c.err("a materialized view clause or AS")),
            }
        }
        let query_start = c.pos;
        let mut depth = 0usize;
        while let Some(t) = c.peek() {
            if t.is_sym('(') {
                depth += 1;
            } else if t.is_sym(')') {
                depth = depth.saturating_sub(1);
            } else if t.is_sym(';') && depth == 0 {
                break;
            }
            c.pos += 1;
        }
        let query = c.text(query_start, c.pos).trim().to_string();
        if query.is_empty() {
            return Err(c.err("a query after AS"));
        }
        Ok(MaterializedView {
            id,
            create_sql: c.text(start, c.pos).trim().to_string(),
            query,
            refresh,
            reads: BTreeMap::new(),
            is_active: true,
            inactive_reason: None,
            warnings: Vec::new(),
        })
    }
}

fn column(c: &mut Cursor<'_>) -> Result<TargetColumn, CatalogError> {
    let name = c.ident("a column name")?;
    let ty = super::types_text::parse_type(c)?;
    let mut col = TargetColumn {
        name,
        ty,
        nullable: true,
        default: None,
        comment: None,
        aggregation: None,
    };
    while let Some(t) = c.peek() {
        let Tok::Word(w) = &t.tok else { break };
        let upper = w.to_ascii_uppercase();
        if AGGREGATIONS.contains(&upper.as_str()) {
            col.aggregation = Some(upper);
            c.pos += 1;
            continue;
        }
        match upper.as_str() {
            "NULL" => {
                c.pos += 1;
                col.nullable = true;
            }
            "NOT" => {
                c.pos += 1;
                c.expect_word("NULL", "NOT")?;
                col.nullable = false;
            }
            "DEFAULT" => {
                c.pos += 1;
                col.default = Some(default_value(c)?);
            }
            "COMMENT" => {
                c.pos += 1;
                let s = c.string("a string after COMMENT")?;
                col.comment = (!s.is_empty()).then_some(s);
            }
            "AUTO_INCREMENT" | "KEY" => c.pos += 1,
            "AS" => {
                c.pos += 1;
                if c.peek().is_some_and(|t| t.is_sym('(')) {
                    c.skip_group()?;
                } else {
                    c.pos += 1;
                }
            }
            _ => break,
        }
    }
    Ok(col)
}

/// A DEFAULT value: the unquoted string, or the expression text (`CURRENT_TIMESTAMP`).
fn default_value(c: &mut Cursor<'_>) -> Result<String, CatalogError> {
    let from = c.pos;
    match c.peek().map(|t| &t.tok) {
        Some(Tok::Str(s)) => {
            let s = s.clone();
            c.pos += 1;
            Ok(s)
        }
        Some(Tok::Sym('(')) => {
            c.skip_group()?;
            Ok(c.text(from, c.pos).to_string())
        }
        Some(Tok::Word(_) | Tok::Num(_)) => {
            c.pos += 1;
            if c.peek().is_some_and(|t| t.is_sym('(')) {
                c.skip_group()?;
            }
            Ok(c.text(from, c.pos).to_string())
        }
        _ => Err(c.err("a value after DEFAULT")),
    }
}

fn partition_clause(c: &mut Cursor<'_>) -> Result<(String, Vec<String>), CatalogError> {
    let from = c.pos;
    c.pos += 1;
    c.expect_word("BY", "PARTITION")?;
    let mut cols: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut in_head = true;
    while let Some(t) = c.peek() {
        if depth == 0
            && (t.is_sym(';')
                || [
                    "DISTRIBUTED",
                    "ORDER",
                    "PROPERTIES",
                    "ROLLUP",
                    "BROKER",
                    "COMMENT",
                ]
                .iter()
                .any(|k| t.is_word(k)))
        {
            break;
        }
        if t.is_sym('(') || t.is_sym('[') {
            let next = c.peek_at(1);
            if next.is_some_and(|n| n.is_word("PARTITION") || n.is_word("START")) {
                in_head = false;
            }
            depth += 1;
        } else if t.is_sym(')') || t.is_sym(']') {
            depth = depth.saturating_sub(1);
        } else if in_head {
            let followed_by_paren = c.peek_at(1).is_some_and(|n| n.is_sym('('));
            match &t.tok {
                Tok::Quoted(q) => cols.push(q.clone()),
                Tok::Word(w) if !followed_by_paren && !is_partition_keyword(w) => {
                    cols.push(w.clone())
                }
                _ => {}
            }
        }
        c.pos += 1;
    }
    let mut seen = BTreeSet::new();
    cols.retain(|x| seen.insert(x.to_ascii_lowercase()));
    Ok((c.text(from, c.pos).to_string(), cols))
}

fn is_partition_keyword(w: &str) -> bool {
    const KW: &[&str] = &[
        "BY", "RANGE", "LIST", "AS", "INTERVAL", "BIGINT", "INT", "DATE", "DATETIME", "VARCHAR",
        "CHAR", "STRING", "SMALLINT", "TINYINT", "LARGEINT", "DAY", "MONTH", "YEAR", "HOUR",
        "WEEK", "MINUTE", "SECOND", "QUARTER", "AND", "OR", "NOT", "NULL", "IS", "IN",
    ];
    KW.iter().any(|k| k.eq_ignore_ascii_case(w))
}

fn distribution(c: &mut Cursor<'_>) -> Result<Distribution, CatalogError> {
    c.pos += 1;
    c.expect_word("BY", "DISTRIBUTED")?;
    let hash = if c.eat_word("HASH") {
        Some(c.ident_list("distribution columns")?)
    } else if c.eat_word("RANDOM") {
        None
    } else {
        return Err(c.err("HASH or RANDOM after DISTRIBUTED BY"));
    };
    let buckets = if c.eat_word("BUCKETS") {
        if c.eat_word("AUTO") {
            None
        } else {
            let n = c.number("a bucket count after BUCKETS")?;
            Some(u32::try_from(n).map_err(|_| c.err("a bucket count that fits in 32 bits"))?)
        }
    } else {
        None
    };
    Ok(match hash {
        Some(columns) => Distribution::Hash { columns, buckets },
        None => Distribution::Random { buckets },
    })
}

fn properties(c: &mut Cursor<'_>) -> Result<BTreeMap<String, String>, CatalogError> {
    c.pos += 1;
    c.expect_sym('(', "after PROPERTIES")?;
    let mut out = BTreeMap::new();
    if c.eat_sym(')') {
        return Ok(out);
    }
    loop {
        let k = c.string("a quoted property name")?;
        c.expect_sym('=', "after a property name")?;
        let v = c.string("a quoted property value")?;
        out.insert(k, v);
        if c.eat_sym(')') {
            return Ok(out);
        }
        c.expect_sym(',', "or `)` in PROPERTIES")?;
    }
}
