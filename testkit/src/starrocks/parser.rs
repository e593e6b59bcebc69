//! Hand-written parser for the StarRocks DDL and admin statements the emulator understands.
//! SELECT and INSERT go to `query` (sqlparser) instead.

use super::catalog::{Column, Distribution, KeysType};
use super::error::{Result, SrError};
use super::lexer::{render, Cursor, Tok};
use super::types::SrType;

mod mv;

/// Where ADD/MODIFY COLUMN puts the column.
#[derive(Debug, Clone, PartialEq)]
pub enum Position {
    /// FIRST
    First,
    /// AFTER col
    After(String),
}

/// A parsed column definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ColDef {
    /// Column (nullability resolved to `nullable`; see `null_given`).
    pub col: Column,
    /// Whether NULL / NOT NULL was written.
    pub null_given: bool,
    /// Whether KEY was written.
    pub key_given: bool,
    /// AFTER / FIRST.
    pub pos: Option<Position>,
}

/// CREATE TABLE.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    /// Database.
    pub db: Option<String>,
    /// Name.
    pub name: String,
    /// IF NOT EXISTS.
    pub if_not_exists: bool,
    /// Columns.
    pub cols: Vec<ColDef>,
    /// Key model and columns.
    pub keys: Option<(KeysType, Vec<String>)>,
    /// COMMENT.
    pub comment: String,
    /// PARTITION BY tokens.
    pub partition: Option<Vec<Tok>>,
    /// DISTRIBUTED BY.
    pub distribution: Option<Distribution>,
    /// ORDER BY.
    pub order_by: Vec<String>,
    /// PROPERTIES.
    pub properties: Vec<(String, String)>,
}

/// One ALTER TABLE clause.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterClause {
    /// ADD COLUMN (one or a list).
    AddColumns(Vec<ColDef>),
    /// DROP COLUMN.
    DropColumn(String),
    /// MODIFY COLUMN with a type (full definition).
    Modify(ColDef),
    /// MODIFY COLUMN c COMMENT "..." only.
    ModifyComment(String, String),
    /// RENAME COLUMN a TO b.
    RenameColumn(String, String),
    /// RENAME new_name.
    Rename(String),
    /// COMMENT = "...".
    Comment(String),
    /// ORDER BY (...).
    OrderBy(Vec<String>),
    /// SWAP WITH t.
    SwapWith(String),
    /// SET ("k" = "v").
    SetProperties(Vec<(String, String)>),
    /// ADD/DROP/RENAME PARTITION..., kept as text.
    Partition(String),
    /// DISTRIBUTED BY ... (an OPTIMIZE job in StarRocks).
    Distribution(String),
}

/// CREATE MATERIALIZED VIEW.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateMv {
    /// Database.
    pub db: Option<String>,
    /// Name.
    pub name: String,
    /// IF NOT EXISTS.
    pub if_not_exists: bool,
    /// DISTRIBUTED BY text.
    pub distribution: Option<String>,
    /// COMMENT.
    pub comment: Option<String>,
    /// REFRESH text (`ASYNC`, `MANUAL`, `ASYNC EVERY(...)`).
    pub refresh: String,
    /// PROPERTIES.
    pub properties: Vec<(String, String)>,
    /// The defining query text.
    pub query: String,
}

/// A parsed statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// CREATE DATABASE.
    CreateDb { name: String, if_not_exists: bool },
    /// DROP DATABASE.
    DropDb { name: String, if_exists: bool },
    /// CREATE TABLE.
    CreateTable(Box<CreateTable>),
    /// DROP TABLE.
    DropTable {
        db: Option<String>,
        name: String,
        if_exists: bool,
    },
    /// TRUNCATE TABLE.
    Truncate { db: Option<String>, name: String },
    /// ALTER TABLE.
    Alter {
        db: Option<String>,
        name: String,
        clauses: Vec<AlterClause>,
    },
    /// CANCEL ALTER TABLE COLUMN FROM t.
    CancelAlter { db: Option<String>, name: String },
    /// CREATE MATERIALIZED VIEW.
    CreateMv(Box<CreateMv>),
    /// DROP MATERIALIZED VIEW.
    DropMv {
        db: Option<String>,
        name: String,
        if_exists: bool,
    },
    /// ALTER MATERIALIZED VIEW mv ACTIVE|INACTIVE.
    AlterMv {
        db: Option<String>,
        name: String,
        active: bool,
    },
    /// REFRESH MATERIALIZED VIEW.
    RefreshMv { db: Option<String>, name: String },
}

/// Parses a column definition at the cursor.
pub fn col_def(c: &mut Cursor) -> Result<ColDef> {
    let name = c.ident()?;
    let ty = SrType::parse(c)?;
    let mut col = Column {
        name,
        ty,
        nullable: true,
        default: None,
        default_is_expr: false,
        comment: String::new(),
        is_key: false,
        agg: None,
    };
    let (mut null_given, mut key_given, mut pos) = (false, false, None);
    loop {
        if c.eat_kw("KEY") {
            key_given = true;
            col.is_key = true;
        } else if c.eat_kws(&["NOT", "NULL"]) {
            col.nullable = false;
            null_given = true;
        } else if c.eat_kw("NULL") {
            col.nullable = true;
            null_given = true;
        } else if c.eat_kw("DEFAULT") {
            match c.next() {
                Some(Tok::Str(s)) | Some(Tok::Num(s)) => col.default = Some(s),
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => col.default = None,
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("CURRENT_TIMESTAMP") => {
                    col.default = Some("CURRENT_TIMESTAMP".into());
                    col.default_is_expr = true;
                    if c.is_sym("(") {
                        c.group()?;
                    }
                }
                Some(Tok::Sym(s)) if s == "-" => col.default = Some(format!("-{}", c.number()?)),
                _ => return Err(c.syntax("unsupported DEFAULT value")),
            }
        } else if c.eat_kw("COMMENT") {
            col.comment = c.string()?;
        } else if c.eat_kw("AUTO_INCREMENT") {
            return Err(SrError::unsupported("AUTO_INCREMENT columns"));
        } else if c.eat_kw("AS") {
            return Err(SrError::unsupported("generated columns (AS expr)"));
        } else if c.eat_kw("FIRST") {
            pos = Some(Position::First);
        } else if c.eat_kw("AFTER") {
            pos = Some(Position::After(c.ident()?));
        } else if let Some(Tok::Word(w)) = c.peek() {
            let up = w.to_ascii_uppercase();
            if [
                "SUM",
                "MIN",
                "MAX",
                "REPLACE",
                "REPLACE_IF_NOT_NULL",
                "BITMAP_UNION",
                "HLL_UNION",
                "PERCENTILE_UNION",
            ]
            .contains(&up.as_str())
            {
                c.next();
                col.agg = Some(up);
            } else {
                break;
            }
        } else {
            break;
        }
    }
    Ok(ColDef {
        col,
        null_given,
        key_given,
        pos,
    })
}

fn distribution(c: &mut Cursor) -> Result<Distribution> {
    let cols = if c.eat_kw("HASH") {
        c.ident_list()?
    } else if c.eat_kw("RANDOM") {
        Vec::new()
    } else {
        return Err(c.syntax("expecting HASH or RANDOM"));
    };
    let buckets = if c.eat_kw("BUCKETS") {
        Some(c.number()?)
    } else {
        None
    };
    Ok(Distribution { cols, buckets })
}

fn is_clause_kw(c: &Cursor) -> bool {
    [
        "DISTRIBUTED",
        "ORDER",
        "PROPERTIES",
        "REFRESH",
        "AS",
        "COMMENT",
    ]
    .iter()
    .any(|k| c.is_kw(k))
}

/// Reads tokens at depth 0 until a clause keyword.
fn until_clause(c: &mut Cursor) -> Result<Vec<Tok>> {
    let mut out = Vec::new();
    while !c.at_end() && !is_clause_kw(c) {
        if c.is_sym("(") {
            out.push(Tok::Sym("(".into()));
            out.extend(c.group()?);
            out.push(Tok::Sym(")".into()));
        } else if let Some(t) = c.next() {
            out.push(t);
        }
    }
    Ok(out)
}

fn create_table(c: &mut Cursor) -> Result<CreateTable> {
    let if_not_exists = c.eat_kws(&["IF", "NOT", "EXISTS"]);
    let (db, name) = c.qualified()?;
    if c.is_kw("LIKE") || c.is_kw("AS") {
        return Err(SrError::unsupported("CREATE TABLE ... LIKE / AS SELECT"));
    }
    c.expect_sym("(")?;
    let mut cols = Vec::new();
    loop {
        if c.is_kw("INDEX") {
            // INDEX idx (c) USING BITMAP [COMMENT '']: accepted and ignored
            while !c.at_end() && !c.is_sym(",") && !c.is_sym(")") {
                if c.is_sym("(") {
                    c.group()?;
                } else {
                    c.next();
                }
            }
        } else {
            cols.push(col_def(c)?);
        }
        if !c.eat_sym(",") {
            break;
        }
    }
    c.expect_sym(")")?;
    let mut t = CreateTable {
        db,
        name,
        if_not_exists,
        cols,
        keys: None,
        comment: String::new(),
        partition: None,
        distribution: None,
        order_by: Vec::new(),
        properties: Vec::new(),
    };
    while !c.at_end() {
        if c.eat_kw("ENGINE") {
            c.expect_sym("=")?;
            let e = c.ident()?;
            if !e.eq_ignore_ascii_case("OLAP") {
                return Err(SrError::unsupported(format!("ENGINE={e}")));
            }
        } else if let Some(k) = [
            ("DUPLICATE", KeysType::Duplicate),
            ("AGGREGATE", KeysType::Aggregate),
            ("UNIQUE", KeysType::Unique),
            ("PRIMARY", KeysType::Primary),
        ]
        .iter()
        .find(|(kw, _)| c.is_kw(kw))
        {
            c.next();
            c.expect_kw("KEY")?;
            t.keys = Some((k.1, c.ident_list()?));
        } else if c.eat_kw("COMMENT") {
            c.eat_sym("=");
            t.comment = c.string()?;
        } else if c.eat_kws(&["PARTITION", "BY"]) {
            t.partition = Some(until_clause(c)?);
        } else if c.eat_kws(&["DISTRIBUTED", "BY"]) {
            t.distribution = Some(distribution(c)?);
        } else if c.eat_kws(&["ORDER", "BY"]) {
            t.order_by = c.ident_list()?;
        } else if c.eat_kw("PROPERTIES") {
            t.properties = c.properties()?;
        } else {
            return Err(SrError::unsupported(format!(
                "CREATE TABLE clause near '{}'",
                render(c.rest())
            )));
        }
    }
    Ok(t)
}

fn alter_clause(c: &mut Cursor) -> Result<AlterClause> {
    if c.eat_kw("ADD") {
        if c.is_kw("ROLLUP") || c.is_kw("INDEX") {
            return Err(SrError::unsupported(format!(
                "ALTER TABLE ... {}",
                render(c.rest())
            )));
        }
        if c.is_kw("PARTITION") || c.is_kw("TEMPORARY") {
            return Ok(AlterClause::Partition(take_clause(c)?));
        }
        c.expect_kw("COLUMN")?;
        if c.eat_sym("(") {
            let mut v = vec![col_def(c)?];
            while c.eat_sym(",") {
                v.push(col_def(c)?);
            }
            c.expect_sym(")")?;
            return Ok(AlterClause::AddColumns(v));
        }
        return Ok(AlterClause::AddColumns(vec![col_def(c)?]));
    }
    if c.eat_kw("DROP") {
        if c.is_kw("ROLLUP") || c.is_kw("INDEX") {
            return Err(SrError::unsupported(format!(
                "ALTER TABLE ... {}",
                render(c.rest())
            )));
        }
        if c.is_kw("PARTITION") || c.is_kw("TEMPORARY") {
            return Ok(AlterClause::Partition(take_clause(c)?));
        }
        c.expect_kw("COLUMN")?;
        return Ok(AlterClause::DropColumn(c.ident()?));
    }
    if c.eat_kw("MODIFY") {
        if c.is_kw("PARTITION") {
            return Ok(AlterClause::Partition(take_clause(c)?));
        }
        c.expect_kw("COLUMN")?;
        if matches!(c.peek_n(1), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("COMMENT")) {
            let name = c.ident()?;
            c.expect_kw("COMMENT")?;
            return Ok(AlterClause::ModifyComment(name, c.string()?));
        }
        return Ok(AlterClause::Modify(col_def(c)?));
    }
    if c.eat_kw("RENAME") {
        if c.eat_kw("COLUMN") {
            let from = c.ident()?;
            c.eat_kw("TO");
            return Ok(AlterClause::RenameColumn(from, c.ident()?));
        }
        if c.is_kw("ROLLUP") {
            return Err(SrError::unsupported("ALTER TABLE ... RENAME ROLLUP"));
        }
        if c.is_kw("PARTITION") {
            return Ok(AlterClause::Partition(take_clause(c)?));
        }
        return Ok(AlterClause::Rename(c.ident()?));
    }
    if c.eat_kw("COMMENT") {
        c.eat_sym("=");
        return Ok(AlterClause::Comment(c.string()?));
    }
    if c.eat_kws(&["ORDER", "BY"]) {
        return Ok(AlterClause::OrderBy(c.ident_list()?));
    }
    if c.eat_kws(&["SWAP", "WITH"]) {
        return Ok(AlterClause::SwapWith(c.ident()?));
    }
    if c.eat_kw("SET") {
        return Ok(AlterClause::SetProperties(c.properties()?));
    }
    if c.eat_kws(&["DISTRIBUTED", "BY"]) {
        return Ok(AlterClause::Distribution(take_clause(c)?));
    }
    Err(SrError::unsupported(format!(
        "ALTER TABLE clause '{}'",
        render(c.rest())
    )))
}

fn take_clause(c: &mut Cursor) -> Result<String> {
    let start = c.pos();
    while !c.at_end() && !c.is_sym(",") {
        if c.is_sym("(") {
            c.group()?;
        } else {
            c.next();
        }
    }
    Ok(render(c.slice(start)))
}

/// Parses a DDL statement; `Ok(None)` when the statement is not DDL handled here.
pub fn parse_ddl(sql: &str) -> Result<Option<Stmt>> {
    let mut c = Cursor::new(sql)?;
    let stmt = if c.eat_kw("CREATE") {
        if c.eat_kw("DATABASE") || c.eat_kw("SCHEMA") {
            let if_not_exists = c.eat_kws(&["IF", "NOT", "EXISTS"]);
            Stmt::CreateDb {
                name: c.ident()?,
                if_not_exists,
            }
        } else if c.eat_kw("TABLE") {
            Stmt::CreateTable(Box::new(create_table(&mut c)?))
        } else if c.eat_kws(&["MATERIALIZED", "VIEW"]) {
            return Ok(Some(Stmt::CreateMv(Box::new(mv::create_mv(&mut c, sql)?))));
        } else {
            return Ok(None);
        }
    } else if c.eat_kw("DROP") {
        if c.eat_kw("DATABASE") || c.eat_kw("SCHEMA") {
            let if_exists = c.eat_kws(&["IF", "EXISTS"]);
            let name = c.ident()?;
            c.eat_kw("FORCE");
            Stmt::DropDb { name, if_exists }
        } else if c.eat_kw("TABLE") {
            let if_exists = c.eat_kws(&["IF", "EXISTS"]);
            let (db, name) = c.qualified()?;
            c.eat_kw("FORCE");
            Stmt::DropTable {
                db,
                name,
                if_exists,
            }
        } else if c.eat_kws(&["MATERIALIZED", "VIEW"]) {
            let if_exists = c.eat_kws(&["IF", "EXISTS"]);
            let (db, name) = c.qualified()?;
            Stmt::DropMv {
                db,
                name,
                if_exists,
            }
        } else {
            return Ok(None);
        }
    } else if c.eat_kws(&["TRUNCATE", "TABLE"]) {
        let (db, name) = c.qualified()?;
        Stmt::Truncate { db, name }
    } else if c.eat_kws(&["ALTER", "TABLE"]) {
        let (db, name) = c.qualified()?;
        let mut clauses = vec![alter_clause(&mut c)?];
        while c.eat_sym(",") {
            clauses.push(alter_clause(&mut c)?);
        }
        Stmt::Alter { db, name, clauses }
    } else if c.eat_kws(&["ALTER", "MATERIALIZED", "VIEW"]) {
        let (db, name) = c.qualified()?;
        let active = if c.eat_kw("ACTIVE") {
            true
        } else if c.eat_kw("INACTIVE") {
            false
        } else {
            return Err(SrError::unsupported(format!(
                "ALTER MATERIALIZED VIEW {}",
                render(c.rest())
            )));
        };
        Stmt::AlterMv { db, name, active }
    } else if c.eat_kws(&["REFRESH", "MATERIALIZED", "VIEW"]) {
        let (db, name) = c.qualified()?;
        while !c.at_end() {
            c.next();
        }
        Stmt::RefreshMv { db, name }
    } else if c.eat_kws(&["CANCEL", "ALTER", "TABLE"]) {
        if !c.eat_kw("COLUMN") {
            return Err(SrError::unsupported(format!(
                "CANCEL ALTER TABLE {}",
                render(c.rest())
            )));
        }
        c.expect_kw("FROM")?;
        let (db, name) = c.qualified()?;
        Stmt::CancelAlter { db, name }
    } else {
        return Ok(None);
    };
    c.expect_end()?;
    Ok(Some(stmt))
}
