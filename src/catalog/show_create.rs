//! Parser of `SHOW CREATE TABLE` / `SHOW CREATE MATERIALIZED VIEW` output
//! into a [`Catalog`], and [`render_show_create`], its inverse for tables.
//!
//! Accepted input: plain statements ending in `;`, `\G` blocks
//! (`Create Table: CREATE TABLE ...`) and tabular rows
//! (`| t | CREATE TABLE ... |`), with `USE db;` lines, `db.`-qualified names
//! and `--`/`#`/`/* */` comments. Errors name the 1-based input line.

use std::collections::{BTreeMap, BTreeSet};

use super::input::{segments, tokenize, Segment, Tok, Token};
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

pub(crate) struct Cursor<'a> {
    pub seg: &'a Segment,
    pub toks: &'a [Token],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }

    pub fn peek_at(&self, n: usize) -> Option<&'a Token> {
        self.toks.get(self.pos + n)
    }

    pub fn next(&mut self) -> Option<&'a Token> {
        let t = self.toks.get(self.pos);
        self.pos += 1;
        t
    }

    fn line(&self) -> usize {
        match self.peek() {
            Some(t) => self.seg.line_of(t.start),
            None => self.seg.end_line(),
        }
    }

    pub fn err(&self, expected: &str) -> CatalogError {
        let found = self
            .peek()
            .map_or_else(|| "end of input".to_string(), Token::describe);
        CatalogError::Syntax {
            line: self.line(),
            message: format!("expected {expected}, found {found}"),
        }
    }

    fn eat_word(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_word(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_sym(&mut self, c: char) -> bool {
        if self.peek().is_some_and(|t| t.is_sym(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, kw: &str, after: &str) -> Result<(), CatalogError> {
        if self.eat_word(kw) {
            Ok(())
        } else {
            Err(self.err(&format!("{kw} after {after}")))
        }
    }

    fn expect_sym(&mut self, c: char, what: &str) -> Result<(), CatalogError> {
        if self.eat_sym(c) {
            Ok(())
        } else {
            Err(self.err(&format!("`{c}` {what}")))
        }
    }

    fn ident(&mut self, what: &str) -> Result<String, CatalogError> {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::Quoted(s) | Tok::Word(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.err(what)),
        }
    }

    fn string(&mut self, what: &str) -> Result<String, CatalogError> {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.err(what)),
        }
    }

    fn number(&mut self, what: &str) -> Result<u64, CatalogError> {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::Num(n)) => {
                let v = n.parse().map_err(|_| self.err(what))?;
                self.pos += 1;
                Ok(v)
            }
            _ => Err(self.err(what)),
        }
    }

    /// `(` ident {, ident} `)`
    fn ident_list(&mut self, what: &str) -> Result<Vec<String>, CatalogError> {
        self.expect_sym('(', &format!("before {what}"))?;
        let mut out = Vec::new();
        if self.eat_sym(')') {
            return Ok(out);
        }
        loop {
            out.push(self.ident(what)?);
            if self.eat_sym(')') {
                return Ok(out);
            }
            self.expect_sym(',', &format!("or `)` in {what}"))?;
        }
    }

    /// Skips a balanced `(...)` (or `<...>`) group starting at the cursor.
    pub fn skip_group(&mut self) -> Result<(), CatalogError> {
        let (open, close) = match self.peek().map(|t| &t.tok) {
            Some(Tok::Sym('<')) => ('<', '>'),
            _ => ('(', ')'),
        };
        let mut depth = 0usize;
        while let Some(t) = self.next() {
            if t.is_sym(open) {
                depth += 1;
            } else if t.is_sym(close) {
                depth = depth.saturating_sub(1);
            }
            if depth == 0 {
                return Ok(());
            }
        }
        Err(self.err(&format!("`{close}`")))
    }

    /// Whether the cursor is at the end of a statement.
    pub fn at_end(&self) -> bool {
        self.peek().is_none_or(|t| t.is_sym(';'))
    }

    /// Text of the segment between two token indexes (inclusive start, exclusive end).
    pub fn text(&self, from: usize, to: usize) -> &'a str {
        let (Some(a), Some(b)) = (
            self.toks.get(from),
            to.checked_sub(1).and_then(|i| self.toks.get(i)),
        ) else {
            return "";
        };
        self.seg.text.get(a.start..b.end).unwrap_or("")
    }
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

/// Quotes an identifier with backticks as StarRocks prints it.
fn q(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A double-quoted string literal as StarRocks prints it.
fn s(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn list(cols: &[String]) -> String {
    cols.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
}

/// Renders a table exactly as StarRocks' `SHOW CREATE TABLE` prints it
/// (including the trailing spaces after `ENGINE=OLAP` and `BUCKETS n`).
pub fn render_show_create(table: &TargetTable) -> String {
    let mut out = format!("CREATE TABLE {} (\n", q(&table.id.table));
    let cols: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let mut line = format!("  {} {}", q(&c.name), super::types_text::render_type(&c.ty));
            if let Some(a) = &c.aggregation {
                line.push(' ');
                line.push_str(a);
            }
            line.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
            if let Some(d) = &c.default {
                let raw = d.eq_ignore_ascii_case("CURRENT_TIMESTAMP") || d.starts_with('(');
                line.push_str(" DEFAULT ");
                line.push_str(&if raw { d.clone() } else { s(d) });
            }
            line.push_str(" COMMENT ");
            line.push_str(&s(c.comment.as_deref().unwrap_or("")));
            line
        })
        .collect();
    out.push_str(&cols.join(",\n"));
    out.push_str("\n) ENGINE=OLAP \n");
    let kw = match table.keys_type {
        KeysType::Primary => "PRIMARY",
        KeysType::Duplicate => "DUPLICATE",
        KeysType::Unique => "UNIQUE",
        KeysType::Aggregate => "AGGREGATE",
    };
    out.push_str(&format!("{kw} KEY({})\n", list(&table.key_columns)));
    if let Some(cm) = &table.comment {
        out.push_str(&format!("COMMENT {}\n", s(cm)));
    }
    if let Some(p) = &table.partition_clause {
        out.push_str(p);
        out.push('\n');
    }
    match &table.distribution {
        Some(Distribution::Hash { columns, buckets }) => {
            out.push_str(&format!("DISTRIBUTED BY HASH({})", list(columns)));
            if let Some(b) = buckets {
                out.push_str(&format!(" BUCKETS {b} "));
            }
            out.push('\n');
        }
        Some(Distribution::Random { buckets }) => {
            out.push_str("DISTRIBUTED BY RANDOM");
            if let Some(b) = buckets {
                out.push_str(&format!(" BUCKETS {b} "));
            }
            out.push('\n');
        }
        None => {}
    }
    if !table.order_by.is_empty() {
        out.push_str(&format!("ORDER BY({})\n", list(&table.order_by)));
    }
    if table.properties.is_empty() {
        let end = out.trim_end_matches('\n').len();
        out.truncate(end);
        out.push(';');
    } else {
        let props: Vec<String> = table
            .properties
            .iter()
            .map(|(k, v)| format!("{} = {}", s(k), s(v)))
            .collect();
        out.push_str(&format!("PROPERTIES (\n{}\n);", props.join(",\n")));
    }
    out
}
