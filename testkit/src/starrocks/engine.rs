//! The statement engine: one `Engine` (catalog + SQLite store + faults) behind a mutex;
//! `execute` dispatches one SQL statement of one session.

use std::path::PathBuf;

use rusqlite::types::Value;
use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};

use super::catalog::Catalog;
use super::error::{Result, SrError};
use super::faults::Faults;
use super::storage::{q, tname, Rows, Storage};
use super::{parser, query};

/// Settings of the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// StarRocks version reported (e.g. `3.3.5`).
    pub version: String,
    /// Schema-change job duration, ms.
    pub job_ms: u64,
    /// Persistence directory.
    pub data_dir: Option<PathBuf>,
}

/// Result of one statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// OK packet.
    Ok {
        /// Affected rows.
        affected: u64,
    },
    /// A result set.
    Rows(Rows),
}

impl Output {
    /// OK with no rows affected.
    pub fn ok() -> Output {
        Output::Ok { affected: 0 }
    }

    /// A result set of text values.
    pub fn text(cols: &[&str], rows: Vec<Vec<Value>>) -> Output {
        Output::Rows(Rows {
            cols: cols.iter().map(|s| s.to_string()).collect(),
            rows,
        })
    }
}

/// Text value helper.
pub fn t(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// Optional text value helper.
pub fn opt(s: Option<impl Into<String>>) -> Value {
    s.map_or(Value::Null, |s| Value::Text(s.into()))
}

/// Per-connection state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    /// Current database.
    pub db: Option<String>,
}

/// The emulated FE + BE.
#[derive(Debug)]
pub struct Engine {
    /// Settings.
    pub cfg: EngineConfig,
    /// Catalog.
    pub cat: Catalog,
    /// Rows.
    pub store: Storage,
    /// Injected faults.
    pub faults: Faults,
    /// Stream Load error logs by file name (served at ErrorURL).
    pub error_logs: std::collections::BTreeMap<String, String>,
    /// Labels of Stream Loads in progress (`db/label`).
    pub running_labels: std::collections::BTreeSet<String>,
}

impl Engine {
    /// Opens (or restores from `--data`) an engine.
    pub fn open(cfg: EngineConfig) -> std::io::Result<Engine> {
        let cat = match &cfg.data_dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                Catalog::load(d)?
            }
            None => Catalog::default(),
        };
        let store = Storage::open(cfg.data_dir.as_deref()).map_err(std::io::Error::other)?;
        Ok(Engine {
            cfg,
            cat,
            store,
            faults: Faults::default(),
            error_logs: Default::default(),
            running_labels: Default::default(),
        })
    }

    /// Persists the catalog when `--data` is set.
    pub fn persist(&self) {
        if let Some(d) = &self.cfg.data_dir {
            if let Err(e) = self.cat.save(d) {
                tracing::error!(error = %e, "persisting the catalog failed");
            }
        }
    }

    /// `3.3.5-7e57c1d` as `current_version()` answers.
    pub fn current_version(&self) -> String {
        format!("{}-7e57c1d", self.cfg.version)
    }

    /// Resolves `[db.]name` against the session.
    pub fn qualify(&self, s: &Session, db: Option<&String>) -> Result<String> {
        match db.or(s.db.as_ref()) {
            Some(d) => Ok(d.clone()),
            None => Err(SrError::with_code(
                super::error::ER_NO_DB,
                "No database selected",
            )),
        }
    }

    /// Executes one statement.
    pub fn execute(&mut self, s: &mut Session, sql: &str) -> Result<Output> {
        let sql = sql.trim().trim_end_matches(';').trim();
        if sql.is_empty() {
            return Ok(Output::ok());
        }
        let lower = sql.to_ascii_lowercase();
        let first = lower
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or("");
        let out = match first {
            "set" | "begin" | "commit" | "rollback" | "start" | "kill" | "analyze" => {
                Ok(Output::ok())
            }
            "use" => {
                let db = sql[3..].trim().trim_matches('`').to_string();
                self.cat.db(&db)?;
                s.db = Some(db);
                Ok(Output::ok())
            }
            "select" | "with" | "" => self.select(s, sql),
            "insert" => self.insert(s, sql),
            "show" | "desc" | "describe" => self.show(s, sql),
            "pause" | "resume" | "stop" => self.routine_load_action(s, sql),
            _ if lower.starts_with("create routine load")
                || lower.starts_with("alter routine load") =>
            {
                self.routine_load_ddl(s, sql)
            }
            _ => match parser::parse_ddl(sql)? {
                Some(stmt) => self.ddl(s, stmt),
                None => Err(SrError::unsupported(format!(
                    "statement starting with '{}'",
                    sql.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
                ))),
            },
        };
        if out.is_ok()
            && !matches!(
                first,
                "select" | "show" | "desc" | "describe" | "set" | "use"
            )
        {
            self.persist();
        }
        out
    }

    fn session_value(&self, s: &Session, e: &Expr) -> Option<Value> {
        let text = e.to_string().to_ascii_lowercase();
        let v = match text.as_str() {
            "current_version()" => t(self.current_version()),
            "version()" => t("8.0.33"),
            "database()" | "schema()" => opt(s.db.clone()),
            "connection_id()" => Value::Integer(1),
            "user()" | "current_user()" | "current_user" => t("'root'@'%'"),
            _ => {
                let var = text.strip_prefix("@@")?;
                let var = var
                    .trim_start_matches("session.")
                    .trim_start_matches("global.");
                match var {
                    "version_comment" => t(format!("StarRocks version {}", self.current_version())),
                    "version" => t("8.0.33"),
                    "max_allowed_packet" => Value::Integer(33_554_432),
                    "wait_timeout" | "interactive_timeout" => Value::Integer(28_800),
                    "net_write_timeout" | "net_read_timeout" => Value::Integer(60),
                    "autocommit" => Value::Integer(1),
                    "auto_increment_increment" => Value::Integer(1),
                    "lower_case_table_names" => Value::Integer(0),
                    "query_timeout" => Value::Integer(300),
                    "sql_mode" => t("ONLY_FULL_GROUP_BY"),
                    "time_zone" | "system_time_zone" => t("Asia/Shanghai"),
                    "tx_isolation" | "transaction_isolation" => t("REPEATABLE-READ"),
                    "tx_read_only" | "transaction_read_only" => Value::Integer(0),
                    v if v.starts_with("character_set") => t("utf8"),
                    v if v.starts_with("collation") => t("utf8_general_ci"),
                    "license" => t("Apache License 2.0"),
                    _ => Value::Null,
                }
            }
        };
        Some(v)
    }

    fn select(&mut self, s: &mut Session, sql: &str) -> Result<Output> {
        let stmt = query::parse(sql)?;
        let Statement::Query(mut q) = stmt else {
            return Err(SrError::unsupported("statement"));
        };
        if let SetExpr::Select(sel) = q.body.as_ref() {
            if sel.from.is_empty() {
                let mut cols = Vec::new();
                let mut row = Vec::new();
                for item in &sel.projection {
                    let (e, name) = match item {
                        SelectItem::UnnamedExpr(e) => (e, e.to_string()),
                        SelectItem::ExprWithAlias { expr, alias } => (expr, alias.value.clone()),
                        _ => return Err(SrError::unsupported("SELECT * without FROM")),
                    };
                    let v = match self.session_value(s, e) {
                        Some(v) => v,
                        None => {
                            let mut one = query::parse(&format!("SELECT {e}"))?;
                            let Statement::Query(ref mut oq) = one else {
                                unreachable!()
                            };
                            let tr = query::translate_query(&self.cat, s.db.as_deref(), oq)?;
                            let r = self.store.query(&tr.sql)?;
                            r.rows
                                .into_iter()
                                .next()
                                .and_then(|r| r.into_iter().next())
                                .unwrap_or(Value::Null)
                        }
                    };
                    cols.push(name);
                    row.push(v);
                }
                return Ok(Output::Rows(Rows {
                    cols,
                    rows: vec![row],
                }));
            }
        }
        let tr = query::translate_query(&self.cat, s.db.as_deref(), &mut q)?;
        for info in &tr.info_tables {
            self.fill_information_schema(info)?;
        }
        self.store.query(&tr.sql).map(Output::Rows).map_err(|e| {
            // SQLite's "no such column: x" becomes StarRocks' analyzer message
            let Some(rest) = e.message.split("no such column: ").nth(1) else {
                return e;
            };
            let col = rest
                .split([' ', '.'])
                .next()
                .unwrap_or("")
                .trim_end_matches('.');
            let col = col.rsplit('.').next().unwrap_or(col);
            match tr.tables.first() {
                Some((_, t)) => SrError::analyze(format!("Unknown column '{col}' in '{t}'")),
                None => SrError::analyze(format!("Column '{col}' cannot be resolved")),
            }
        })
    }

    fn insert(&mut self, s: &mut Session, sql: &str) -> Result<Output> {
        let stmt = query::parse(&strip_label(sql))?;
        let plan = query::translate_insert(&self.cat, s.db.as_deref(), stmt)?;
        let table = self.cat.table(&plan.db, &plan.table)?;
        let cols: Vec<String> = if plan.columns.is_empty() {
            table.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            let mut v = Vec::new();
            for c in &plan.columns {
                let col = table.col(c).ok_or_else(|| {
                    SrError::analyze(format!("Unknown column '{c}' in '{}'", plan.table))
                })?;
                v.push(col.name.clone());
            }
            v
        };
        let keyed = table.keys != super::catalog::KeysType::Duplicate;
        let target = tname(&plan.db, &plan.table);
        if plan.overwrite {
            self.store.truncate(&plan.db, &plan.table)?;
        }
        let quoted: Vec<String> = cols.iter().map(|c| q(c)).collect();
        let sql = format!(
            "INSERT {}INTO {target} ({}) SELECT * FROM ({})",
            if keyed { "OR REPLACE " } else { "" },
            quoted.join(", "),
            plan.source.sql
        );
        let n = self.store.execute(&sql).map_err(|e| {
            if e.message.contains("NOT NULL constraint") {
                SrError::new(format!(
                    "Insert has filtered data in strict mode. {}",
                    e.message
                ))
            } else {
                e
            }
        })?;
        self.after_load(&plan.db, &plan.table);
        Ok(Output::Ok { affected: n })
    }
}

/// Drops StarRocks' `WITH LABEL <label>` from an INSERT (sqlparser does not know it).
fn strip_label(sql: &str) -> String {
    let lower = sql.to_ascii_lowercase();
    let Some(i) = lower.find(" with label ") else {
        return sql.to_string();
    };
    let rest = &sql[i + " with label ".len()..];
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '(')
        .unwrap_or(rest.len());
    format!("{} {}", &sql[..i], &rest[end..])
}
