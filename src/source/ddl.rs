//! Analysis of the `ddl` statements carried by schema-change events, with
//! sqlparser's `MySqlDialect`: what kind of statements they are, which tables
//! they touch, and — the point — which columns and tables they rename.
//!
//! Owns [`analyze`], [`DdlAnalysis`] and [`split_statements`]. When sqlparser
//! cannot parse a statement, the parse error is kept and a small token-level
//! fallback (`ddl::fallback`) looks for the rename forms only
//! (`RENAME COLUMN a TO b`, `CHANGE [COLUMN] a b ...`, `RENAME TABLE a TO b`,
//! `ALTER TABLE a RENAME [TO|AS] b`); it never reports a rename it did not
//! read literally. Pure: no I/O.

mod fallback;

use sqlparser::ast::{AlterTableOperation, ObjectName, ObjectType, RenameTableNameKind, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::model::TableId;

/// A table name as written in a statement: optionally qualified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    /// Database qualifier, when the statement gave one.
    pub database: Option<String>,
    /// Table name.
    pub name: String,
}

impl QualifiedName {
    /// The table id, resolving an unqualified name in `default_db`.
    pub fn to_table_id(&self, default_db: &str) -> TableId {
        TableId::new(
            self.database.as_deref().unwrap_or(default_db),
            self.name.as_str(),
        )
    }

    /// Whether this name designates `id` (ASCII case-insensitive; an
    /// unqualified name is resolved in `default_db`).
    pub fn matches(&self, id: &TableId, default_db: &str) -> bool {
        let db = self.database.as_deref().unwrap_or(default_db);
        self.name.eq_ignore_ascii_case(&id.table) && db.eq_ignore_ascii_case(&id.database)
    }

    fn from_object_name(name: &ObjectName) -> Self {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| match p.as_ident() {
                Some(i) => i.value.clone(),
                None => p.to_string(),
            })
            .collect();
        Self::from_parts(parts)
    }

    fn from_parts(mut parts: Vec<String>) -> Self {
        let name = parts.pop().unwrap_or_default();
        Self {
            database: parts.pop(),
            name,
        }
    }
}

/// What a statement does, as far as schema history cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementKind {
    /// `CREATE TABLE`.
    CreateTable,
    /// `ALTER TABLE`.
    AlterTable,
    /// `DROP TABLE`.
    DropTable,
    /// `RENAME TABLE`.
    RenameTable,
    /// `TRUNCATE [TABLE]`.
    Truncate,
    /// Anything else (`CREATE DATABASE`, `SET`, `CREATE INDEX`, DML, ...).
    Other,
}

/// One parsed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementInfo {
    /// Its kind.
    pub kind: StatementKind,
    /// Tables it names (for RENAME TABLE: the old names).
    pub tables: Vec<QualifiedName>,
}

/// A column rename read from a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnRename {
    /// The altered table.
    pub table: QualifiedName,
    /// Old column name.
    pub from: String,
    /// New column name.
    pub to: String,
}

/// A table rename read from a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableRename {
    /// Old name.
    pub from: QualifiedName,
    /// New name.
    pub to: QualifiedName,
}

/// What [`analyze`] found in a ddl string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DdlAnalysis {
    /// Statements sqlparser parsed, in order.
    pub statements: Vec<StatementInfo>,
    /// Column renames, in statement and clause order.
    pub column_renames: Vec<ColumnRename>,
    /// Table renames, in statement order.
    pub table_renames: Vec<TableRename>,
    /// The parse error(s), when sqlparser could not parse (part of) the text.
    pub error: Option<String>,
    /// True when some renames come from the fallback reader (the statement
    /// did not parse).
    pub from_fallback: bool,
}

impl DdlAnalysis {
    /// True when sqlparser parsed the whole text.
    pub fn parsed(&self) -> bool {
        self.error.is_none()
    }
}

/// Parses `ddl` (one or more statements) with sqlparser's MySQL dialect.
///
/// ```
/// let a = ddlsync::source::ddl::analyze("ALTER TABLE t RENAME COLUMN a TO b");
/// assert_eq!(a.column_renames[0].to, "b");
/// ```
pub fn analyze(ddl: &str) -> DdlAnalysis {
    let mut out = DdlAnalysis::default();
    if ddl.trim().is_empty() {
        return out;
    }
    match Parser::parse_sql(&MySqlDialect {}, ddl) {
        Ok(stmts) => stmts.iter().for_each(|s| record(s, &mut out)),
        Err(_) => {
            let parts = split_statements(ddl);
            let many = parts.len() > 1;
            let mut errors = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                match Parser::parse_sql(&MySqlDialect {}, part) {
                    Ok(stmts) => stmts.iter().for_each(|s| record(s, &mut out)),
                    Err(e) => {
                        errors.push(if many {
                            format!("statement {}: {e}", i + 1)
                        } else {
                            e.to_string()
                        });
                        let found = fallback::renames(part);
                        out.from_fallback |= !found.columns.is_empty() || !found.tables.is_empty();
                        out.column_renames.extend(found.columns);
                        out.table_renames.extend(found.tables);
                    }
                }
            }
            if !errors.is_empty() {
                out.error = Some(errors.join("; "));
            }
        }
    }
    out
}

fn record(stmt: &Statement, out: &mut DdlAnalysis) {
    let info = match stmt {
        Statement::CreateTable(ct) => StatementInfo {
            kind: StatementKind::CreateTable,
            tables: vec![QualifiedName::from_object_name(&ct.name)],
        },
        Statement::AlterTable(at) => {
            let table = QualifiedName::from_object_name(&at.name);
            for op in &at.operations {
                match op {
                    AlterTableOperation::RenameColumn {
                        old_column_name,
                        new_column_name,
                    } => out.column_renames.push(ColumnRename {
                        table: table.clone(),
                        from: old_column_name.value.clone(),
                        to: new_column_name.value.clone(),
                    }),
                    AlterTableOperation::ChangeColumn {
                        old_name, new_name, ..
                    } if !old_name.value.eq_ignore_ascii_case(&new_name.value) => {
                        out.column_renames.push(ColumnRename {
                            table: table.clone(),
                            from: old_name.value.clone(),
                            to: new_name.value.clone(),
                        })
                    }
                    AlterTableOperation::RenameTable { table_name } => {
                        let (RenameTableNameKind::As(n) | RenameTableNameKind::To(n)) = table_name;
                        out.table_renames.push(TableRename {
                            from: table.clone(),
                            to: QualifiedName::from_object_name(n),
                        })
                    }
                    _ => {}
                }
            }
            StatementInfo {
                kind: StatementKind::AlterTable,
                tables: vec![table],
            }
        }
        Statement::RenameTable(renames) => {
            let mut tables = Vec::new();
            for r in renames {
                let from = QualifiedName::from_object_name(&r.old_name);
                tables.push(from.clone());
                out.table_renames.push(TableRename {
                    from,
                    to: QualifiedName::from_object_name(&r.new_name),
                });
            }
            StatementInfo {
                kind: StatementKind::RenameTable,
                tables,
            }
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => StatementInfo {
            kind: StatementKind::DropTable,
            tables: names.iter().map(QualifiedName::from_object_name).collect(),
        },
        Statement::Truncate(t) => StatementInfo {
            kind: StatementKind::Truncate,
            tables: t
                .table_names
                .iter()
                .map(|n| QualifiedName::from_object_name(&n.name))
                .collect(),
        },
        _ => StatementInfo {
            kind: StatementKind::Other,
            tables: Vec::new(),
        },
    };
    out.statements.push(info);
}

/// Splits SQL text into statements on `;`, respecting quotes (`'`, `"`, `` ` ``),
/// comments (`-- `, `#`, `/* */`) and `DELIMITER` lines. Statements made only
/// of whitespace and comments are dropped.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut delimiter = ";".to_string();
    let mut cur = String::new();
    let mut has_code = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // DELIMITER lines change the statement terminator.
        if !has_code && (c == 'D' || c == 'd') {
            let rest: String = chars[i..].iter().take_while(|c| **c != '\n').collect();
            let mut words = rest.split_whitespace();
            if words
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("DELIMITER"))
            {
                if let Some(d) = words.next() {
                    delimiter = d.to_string();
                    cur.clear();
                    has_code = false;
                    i += rest.chars().count();
                    continue;
                }
            }
        }
        let starts = |s: &str, at: usize| {
            s.chars()
                .enumerate()
                .all(|(k, sc)| chars.get(at + k) == Some(&sc))
        };
        if c == '\'' || c == '"' || c == '`' {
            has_code = true;
            cur.push(c);
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                cur.push(d);
                i += 1;
                if d == '\\' && c != '`' {
                    if let Some(&n) = chars.get(i) {
                        cur.push(n);
                        i += 1;
                    }
                } else if d == c {
                    if chars.get(i) == Some(&c) {
                        cur.push(c);
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            continue;
        }
        let line_comment =
            c == '#' || (starts("--", i) && chars.get(i + 2).is_none_or(|n| n.is_whitespace()));
        if line_comment {
            while i < chars.len() && chars[i] != '\n' {
                cur.push(chars[i]);
                i += 1;
            }
            continue;
        }
        if starts("/*", i) {
            let conditional = chars.get(i + 2) == Some(&'!');
            has_code |= conditional;
            cur.push_str("/*");
            i += 2;
            while i < chars.len() && !starts("*/", i) {
                cur.push(chars[i]);
                i += 1;
            }
            if i < chars.len() {
                cur.push_str("*/");
                i += 2;
            }
            continue;
        }
        if starts(&delimiter, i) {
            if has_code {
                out.push(cur.trim().to_string());
            }
            cur.clear();
            has_code = false;
            i += delimiter.chars().count();
            continue;
        }
        if !c.is_whitespace() {
            has_code = true;
        }
        cur.push(c);
        i += 1;
    }
    if has_code {
        out.push(cur.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renames(ddl: &str) -> Vec<(String, String)> {
        analyze(ddl)
            .column_renames
            .into_iter()
            .map(|r| (r.from, r.to))
            .collect()
    }

    #[test]
    fn column_renames() {
        assert_eq!(
            renames("ALTER TABLE t RENAME COLUMN a TO b"),
            [("a".into(), "b".into())]
        );
        assert_eq!(
            renames("ALTER TABLE customers CHANGE COLUMN last_name surname VARCHAR(255) NOT NULL"),
            [("last_name".into(), "surname".into())]
        );
        assert_eq!(
            renames("ALTER TABLE t CHANGE a b INT, RENAME COLUMN c TO d, ADD COLUMN e INT"),
            [("a".into(), "b".into()), ("c".into(), "d".into())]
        );
        assert!(renames("ALTER TABLE t CHANGE a a BIGINT").is_empty());
        assert!(renames("ALTER TABLE t MODIFY a BIGINT").is_empty());
    }

    #[test]
    fn table_renames() {
        let a = analyze("RENAME TABLE a TO b, db.c TO db.d");
        assert_eq!(a.statements[0].kind, StatementKind::RenameTable);
        assert_eq!(a.table_renames.len(), 2);
        assert_eq!(a.table_renames[1].to.database.as_deref(), Some("db"));
        let a = analyze("ALTER TABLE `x` RENAME TO `y`");
        assert_eq!(a.table_renames[0].to.name, "y");
        let a = analyze("ALTER TABLE x RENAME AS y");
        assert_eq!(a.table_renames[0].from.name, "x");
    }

    #[test]
    fn kinds_and_errors() {
        let a = analyze("DROP TABLE `inventory`.`orders`");
        assert_eq!(a.statements[0].kind, StatementKind::DropTable);
        assert_eq!(
            a.statements[0].tables[0].database.as_deref(),
            Some("inventory")
        );
        assert_eq!(
            analyze("TRUNCATE TABLE t").statements[0].kind,
            StatementKind::Truncate
        );
        assert_eq!(
            analyze("CREATE DATABASE d").statements[0].kind,
            StatementKind::Other
        );
        let a = analyze("ALTER TABLE t FROBNICATE");
        assert!(!a.parsed());
        assert!(a.column_renames.is_empty());
        assert!(analyze("").parsed());
    }

    #[test]
    fn fallback_reads_renames_of_unparsed_statements() {
        let a =
            analyze("ALTER TABLE t CHANGE COLUMN a b INT, ALGORITHM=INPLACE, LOCK=NONE WITH FROBS");
        assert!(!a.parsed());
        assert_eq!(a.column_renames.len(), 1);
        assert!(a.from_fallback);
    }

    #[test]
    fn splits_statements() {
        let s = split_statements(
            "CREATE TABLE a (x INT); -- c;\n INSERT INTO a VALUES (';'); /* ; */\n# x;\nDELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\nSELECT `;`",
        );
        assert_eq!(s.len(), 4, "{s:?}");
        assert!(s[2].starts_with("CREATE PROCEDURE"));
    }
}
