//! Row storage: one SQLite database mirroring every emulated table as a table named
//! `"<db>.<table>"`, rebuilt by copy when a schema-change job finishes.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::Connection;

use super::catalog::{KeysType, Table};
use super::error::{Result, SrError};
use super::types::SrType;

/// Result rows: column names and values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Column names.
    pub cols: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Value>>,
}

/// The SQLite mirror.
pub struct Storage {
    /// The connection (in memory, or `data.sqlite` under `--data`).
    pub conn: Connection,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Storage")
    }
}

/// SQLite name of a table, quoted.
pub fn tname(db: &str, table: &str) -> String {
    format!(
        "\"{}.{}\"",
        db.replace('"', "\"\""),
        table.replace('"', "\"\"")
    )
}

/// Quotes an identifier for SQLite.
pub fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn sql_err(e: rusqlite::Error) -> SrError {
    SrError::new(format!("Getting analyzing error. Detail message: {e}."))
}

/// Scale of a `DECIMAL(p,s)` declared type.
fn decimal_scale(decl: &str) -> Option<usize> {
    let inner = decl.strip_prefix("DECIMAL(")?.strip_suffix(')')?;
    inner.split(',').nth(1)?.trim().parse().ok()
}

fn zero_value(ty: &SrType) -> &'static str {
    match ty.sqlite() {
        "INTEGER" | "REAL" => "0",
        _ if *ty == SrType::DateTime => "'1970-01-01 00:00:00'",
        _ if *ty == SrType::Date => "'1970-01-01'",
        _ => "''",
    }
}

fn conversion(expr: &str, from: &SrType, to: &SrType) -> String {
    match (from, to) {
        (SrType::DateTime, SrType::Date) => format!("substr({expr}, 1, 10)"),
        (SrType::Date, SrType::DateTime) => format!("({expr} || ' 00:00:00')"),
        (SrType::Int, SrType::Date) => format!(
            "(substr({expr}, 1, 4) || '-' || substr({expr}, 5, 2) || '-' || substr({expr}, 7, 2))"
        ),
        _ if from.sqlite() == to.sqlite() => expr.to_string(),
        _ => format!("CAST({expr} AS {})", to.sqlite()),
    }
}

impl Storage {
    /// Opens the store; `dir` None = in memory.
    pub fn open(dir: Option<&Path>) -> Result<Storage> {
        let conn = match dir {
            Some(d) => Connection::open(d.join("data.sqlite")),
            None => Connection::open_in_memory(),
        }
        .map_err(sql_err)?;
        super::functions::register(&conn).map_err(sql_err)?;
        Ok(Storage { conn })
    }

    fn ddl(t: &Table, name: &str) -> String {
        let mut parts: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let mut s = format!("{} {}", q(&c.name), c.ty.sqlite_decl());
                if !c.nullable {
                    s.push_str(" NOT NULL");
                }
                if let Some(d) = &c.default {
                    if c.default_is_expr {
                        s.push_str(" DEFAULT CURRENT_TIMESTAMP");
                    } else {
                        s.push_str(&format!(" DEFAULT '{}'", d.replace('\'', "''")));
                    }
                }
                s
            })
            .collect();
        if t.keys != KeysType::Duplicate && !t.key_cols.is_empty() {
            let keys: Vec<String> = t.key_cols.iter().map(|k| q(k)).collect();
            parts.push(format!("PRIMARY KEY ({})", keys.join(", ")));
        }
        format!("CREATE TABLE {name} ({})", parts.join(", "))
    }

    /// Creates the mirror of a new table.
    pub fn create(&self, db: &str, t: &Table) -> Result<()> {
        self.conn
            .execute_batch(&format!("DROP TABLE IF EXISTS {}", tname(db, &t.name)))
            .map_err(sql_err)?;
        self.conn
            .execute_batch(&Self::ddl(t, &tname(db, &t.name)))
            .map_err(sql_err)
    }

    /// Drops a mirror table.
    pub fn drop(&self, db: &str, table: &str) -> Result<()> {
        self.conn
            .execute_batch(&format!("DROP TABLE IF EXISTS {}", tname(db, table)))
            .map_err(sql_err)
    }

    /// Deletes every row.
    pub fn truncate(&self, db: &str, table: &str) -> Result<()> {
        self.conn
            .execute_batch(&format!("DELETE FROM {}", tname(db, table)))
            .map_err(sql_err)
    }

    /// Renames a mirror table.
    pub fn rename(&self, db: &str, from: &str, to: &str) -> Result<()> {
        self.conn
            .execute_batch(&format!(
                "ALTER TABLE {} RENAME TO {}",
                tname(db, from),
                tname(db, to)
            ))
            .map_err(sql_err)
    }

    /// Renames a column of a mirror table.
    pub fn rename_column(&self, db: &str, table: &str, from: &str, to: &str) -> Result<()> {
        self.conn
            .execute_batch(&format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                tname(db, table),
                q(from),
                q(to)
            ))
            .map_err(sql_err)
    }

    /// Rebuilds a mirror with the schema of `new`, converting the values of kept columns.
    pub fn rebuild(&self, db: &str, old: &Table, new: &Table) -> Result<()> {
        let tmp = tname(db, &format!("{}__rebuild", new.name));
        let mut sql = format!("DROP TABLE IF EXISTS {tmp}; {};", Self::ddl(new, &tmp));
        let mut names = Vec::new();
        let mut exprs = Vec::new();
        for c in &new.columns {
            let src = match old.col(&c.name) {
                Some(o) => conversion(&q(&o.name), &o.ty, &c.ty),
                None => match &c.default {
                    Some(_) if c.default_is_expr => "CURRENT_TIMESTAMP".to_string(),
                    Some(d) => format!("'{}'", d.replace('\'', "''")),
                    None => "NULL".to_string(),
                },
            };
            let src = if c.nullable {
                src
            } else {
                format!("COALESCE({src}, {})", zero_value(&c.ty))
            };
            names.push(q(&c.name));
            exprs.push(src);
        }
        sql.push_str(&format!(
            "INSERT OR REPLACE INTO {tmp} ({}) SELECT {} FROM {}; DROP TABLE {}; ALTER TABLE {tmp} RENAME TO {};",
            names.join(", "),
            exprs.join(", "),
            tname(db, &old.name),
            tname(db, &old.name),
            tname(db, &new.name)
        ));
        self.conn
            .execute_batch(&format!("BEGIN; {sql} COMMIT;"))
            .map_err(|e| {
                if let Err(r) = self.conn.execute_batch("ROLLBACK") {
                    tracing::warn!(error = %r, "rollback failed");
                }
                sql_err(e)
            })
    }

    /// Runs a query and collects all rows.
    pub fn query(&self, sql: &str) -> Result<Rows> {
        let mut stmt = self.conn.prepare(sql).map_err(sql_err)?;
        let scales: Vec<Option<usize>> = stmt
            .columns()
            .iter()
            .map(|c| decimal_scale(c.decl_type().unwrap_or("")))
            .collect();
        let cols: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
        let n = cols.len();
        let mut out = Rows {
            cols,
            rows: Vec::new(),
        };
        let mut rows = stmt.query([]).map_err(sql_err)?;
        while let Some(r) = rows.next().map_err(sql_err)? {
            let mut row = Vec::with_capacity(n);
            for (i, scale) in scales.iter().enumerate().take(n) {
                let v = r.get::<_, Value>(i).map_err(sql_err)?;
                row.push(match (*scale, v) {
                    (Some(s), Value::Real(f)) => Value::Text(format!("{f:.s$}")),
                    (Some(s), Value::Integer(n)) => Value::Text(format!("{:.s$}", n as f64)),
                    (_, v) => v,
                });
            }
            out.rows.push(row);
        }
        Ok(out)
    }

    /// Executes statements; returns the rows changed by the last one.
    pub fn execute(&self, sql: &str) -> Result<u64> {
        let n = self.conn.execute(sql, []).map_err(sql_err)?;
        Ok(n as u64)
    }

    /// Number of rows in a mirror table.
    pub fn count(&self, db: &str, table: &str) -> i64 {
        self.conn
            .query_row(
                &format!("SELECT COUNT(*) FROM {}", tname(db, table)),
                [],
                |r| r.get(0),
            )
            .unwrap_or(0)
    }
}
