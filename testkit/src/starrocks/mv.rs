//! Async materialized views: creation, refresh (recomputing stored rows), inactivation by
//! base-table changes with StarRocks' INACTIVE_REASON texts, ALTER ... ACTIVE/INACTIVE.

use std::collections::BTreeMap;

use super::catalog::{now_text, Column, Mv};
use super::engine::{Engine, Output, Session};
use super::error::{Result, SrError, ER_TABLE_EXISTS};
use super::parser::CreateMv;
use super::query::{self, TableRef};

/// `(db, table, column)`.
type ColRef = (String, String, String);
use super::storage::tname;
use super::types::{SrType, VARCHAR_MAX};

impl Engine {
    /// CREATE MATERIALIZED VIEW.
    pub fn create_mv(&mut self, s: &Session, c: CreateMv) -> Result<Output> {
        let db = self.qualify(s, c.db.as_ref())?;
        let d = self.cat.db(&db)?;
        if d.mvs.contains_key(&c.name) || d.tables.contains_key(&c.name) {
            if c.if_not_exists {
                return Ok(Output::ok());
            }
            return Err(SrError::with_code(
                ER_TABLE_EXISTS,
                format!("Table '{}' already exists", c.name),
            ));
        }
        let (bases, cols) = self.analyze_mv(&db, &c.query)?;
        let mut props: BTreeMap<String, String> = BTreeMap::new();
        props.insert("replication_num".into(), "1".into());
        props.insert("replicated_storage".into(), "true".into());
        props.insert("storage_medium".into(), "HDD".into());
        props.extend(c.properties.iter().cloned());
        let mv = Mv {
            id: self.cat.id(),
            name: c.name.clone(),
            columns: Vec::new(),
            query: c.query.clone(),
            distribution: c.distribution.clone(),
            comment: c.comment.clone(),
            refresh: c.refresh.clone(),
            properties: props,
            active: true,
            inactive_reason: String::new(),
            base_tables: bases,
            base_cols: cols,
            last_refresh: None,
            last_refresh_state: String::new(),
        };
        self.cat.db_mut(&db)?.mvs.insert(c.name.clone(), mv);
        if let Err(e) = self.refresh_mv(&db, &c.name) {
            self.cat.db_mut(&db)?.mvs.remove(&c.name);
            return Err(e);
        }
        Ok(Output::ok())
    }

    /// Base tables and base columns read by a query, checked against the catalog.
    fn analyze_mv(&self, db: &str, q: &str) -> Result<(Vec<TableRef>, Vec<ColRef>)> {
        let (tables, idents) = query::referenced_columns(&self.cat, db, q)?;
        let mut bases: Vec<(String, String)> = Vec::new();
        let mut cols = Vec::new();
        for (bd, bt) in tables {
            if !bases.contains(&(bd.clone(), bt.clone())) {
                bases.push((bd.clone(), bt.clone()));
            }
            let Ok(table) = self.cat.table(&bd, &bt) else {
                continue;
            };
            for c in &table.columns {
                let lc = c.name.to_ascii_lowercase();
                if idents.iter().any(|i| *i == lc || i == "*")
                    && !cols.contains(&(bd.clone(), bt.clone(), lc.clone()))
                {
                    cols.push((bd.clone(), bt.clone(), lc));
                }
            }
        }
        Ok((bases, cols))
    }

    /// Recomputes the stored rows of an MV.
    pub fn refresh_mv(&mut self, db: &str, name: &str) -> Result<()> {
        let mv = self
            .cat
            .db(db)?
            .mvs
            .get(name)
            .cloned()
            .ok_or_else(|| SrError::unknown_table(db, name))?;
        let stmt = query::parse(&mv.query)?;
        let sqlparser::ast::Statement::Query(mut q) = stmt else {
            return Err(SrError::unsupported("materialized view definition"));
        };
        let tr = query::translate_query(&self.cat, Some(db), &mut q)?;
        let target = tname(db, name);
        self.store
            .conn
            .execute_batch(&format!(
                "DROP TABLE IF EXISTS {target}; CREATE TABLE {target} AS {}",
                tr.sql
            ))
            .map_err(|e| SrError::new(format!("Refresh materialized view {name} failed: {e}")))?;
        let rows = self
            .store
            .query(&format!("SELECT * FROM {target} LIMIT 1"))?;
        let types: Vec<String> = {
            let stmt = self
                .store
                .conn
                .prepare(&format!("SELECT * FROM {target}"))
                .map_err(|e| SrError::new(e.to_string()))?;
            stmt.columns()
                .iter()
                .map(|c| c.decl_type().unwrap_or("").to_string())
                .collect()
        };
        let mut columns = Vec::new();
        for (i, cname) in rows.cols.iter().enumerate() {
            let base = mv
                .base_tables
                .iter()
                .filter_map(|(bd, bt)| self.cat.table(bd, bt).ok())
                .find_map(|t| t.col(cname).cloned());
            let ty = match base {
                Some(c) => match c.ty {
                    SrType::Varchar(_) | SrType::Char(_) => SrType::Varchar(VARCHAR_MAX),
                    other => other,
                },
                None => match types.get(i).map(String::as_str) {
                    Some("INT") | Some("INTEGER") => SrType::BigInt,
                    Some("REAL") => SrType::Double,
                    _ => SrType::Varchar(VARCHAR_MAX),
                },
            };
            columns.push(Column {
                name: cname.clone(),
                ty,
                nullable: true,
                default: None,
                default_is_expr: false,
                comment: String::new(),
                is_key: false,
                agg: None,
            });
        }
        if let Some(m) = self.cat.db_mut(db)?.mvs.get_mut(name) {
            m.columns = columns;
            m.last_refresh = Some(now_text());
            m.last_refresh_state = "SUCCESS".into();
        }
        Ok(())
    }

    /// REFRESH MATERIALIZED VIEW.
    pub fn refresh_mv_stmt(&mut self, db: &str, name: &str) -> Result<Output> {
        let mv =
            self.cat.db(db)?.mvs.get(name).cloned().ok_or_else(|| {
                SrError::analyze(format!("Materialized view {name} is not found"))
            })?;
        if !mv.active {
            return Err(SrError::new(format!(
                "Refresh materialized view failed because [{name}] is not active. You can try to active it with ALTER MATERIALIZED VIEW {name} ACTIVE; "
            )));
        }
        self.refresh_mv(db, name)?;
        Ok(Output::ok())
    }

    /// ALTER MATERIALIZED VIEW mv ACTIVE | INACTIVE.
    pub fn alter_mv_active(&mut self, db: &str, name: &str, active: bool) -> Result<Output> {
        let mv =
            self.cat.db(db)?.mvs.get(name).cloned().ok_or_else(|| {
                SrError::analyze(format!("Materialized view {name} is not found"))
            })?;
        if !active {
            if let Some(m) = self.cat.db_mut(db)?.mvs.get_mut(name) {
                m.active = false;
                m.inactive_reason =
                    "user use alter materialized view set status to inactive".into();
            }
            return Ok(Output::ok());
        }
        if mv.active {
            return Ok(Output::ok());
        }
        let (bases, cols) = self.analyze_mv(db, &mv.query).map_err(|e| {
            SrError::new(format!(
                "Can not active materialized view [{name}] because analyze materialized view define sql: \n\n{}\n\ncause: {}",
                mv.query, e.message
            ))
        })?;
        if let Some(m) = self.cat.db_mut(db)?.mvs.get_mut(name) {
            m.base_tables = bases;
            m.base_cols = cols;
            m.active = true;
            m.inactive_reason.clear();
        }
        if let Err(e) = self.refresh_mv(db, name) {
            if let Some(m) = self.cat.db_mut(db)?.mvs.get_mut(name) {
                m.active = false;
                m.inactive_reason = mv.inactive_reason.clone();
            }
            return Err(SrError::new(format!(
                "Can not active materialized view [{name}] because analyze materialized view define sql: \n\n{}\n\ncause: {}",
                mv.query, e.message
            )));
        }
        Ok(Output::ok())
    }

    /// SHOW CREATE MATERIALIZED VIEW text.
    pub fn show_create_mv(&self, m: &Mv) -> String {
        let cols: Vec<String> = m.columns.iter().map(|c| format!("`{}`", c.name)).collect();
        let mut s = format!(
            "CREATE MATERIALIZED VIEW `{}` ({})\n",
            m.name,
            cols.join(", ")
        );
        if let Some(c) = &m.comment {
            s.push_str(&format!("COMMENT \"{}\"\n", escape_string(c)));
        }
        if let Some(d) = &m.distribution {
            s.push_str(&format!("DISTRIBUTED BY {d}\n"));
        }
        s.push_str(&format!("REFRESH {}\n", m.refresh));
        s.push_str("PROPERTIES (\n");
        let props: Vec<String> = m
            .properties
            .iter()
            .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
            .collect();
        s.push_str(&props.join(",\n"));
        s.push_str(&format!("\n)\nAS {};", m.query));
        s
    }

    /// Marks inactive every active MV whose base tables include `db.table`.
    pub fn inactivate_mvs_on_table(&mut self, db: &str, table: &str, reason: &str) {
        for d in self.cat.dbs.values_mut() {
            for m in d.mvs.values_mut() {
                if m.active && m.base_tables.iter().any(|(bd, bt)| bd == db && bt == table) {
                    tracing::info!(mv = %m.name, reason, "materialized view inactive");
                    m.active = false;
                    m.inactive_reason = reason.to_string();
                }
            }
        }
    }

    /// Marks inactive every active MV reading one of `cols` of `db.table`.
    pub fn inactivate_mvs_reading(&mut self, db: &str, table: &str, cols: &[String], reason: &str) {
        for d in self.cat.dbs.values_mut() {
            for m in d.mvs.values_mut() {
                let hit = m.base_cols.iter().any(|(bd, bt, bc)| {
                    bd == db && bt == table && cols.iter().any(|c| c.eq_ignore_ascii_case(bc))
                });
                if m.active && hit {
                    tracing::info!(mv = %m.name, reason, "materialized view inactive");
                    m.active = false;
                    m.inactive_reason = reason.to_string();
                }
            }
        }
    }

    /// After rows change in `db.table`: refresh the active ASYNC MVs built on it.
    pub fn after_load(&mut self, db: &str, table: &str) {
        let mut todo = Vec::new();
        for (dn, d) in &self.cat.dbs {
            for m in d.mvs.values() {
                if m.active
                    && m.refresh.starts_with("ASYNC")
                    && m.base_tables.iter().any(|(bd, bt)| bd == db && bt == table)
                {
                    todo.push((dn.clone(), m.name.clone()));
                }
            }
        }
        for (dn, name) in todo {
            if let Err(e) = self.refresh_mv(&dn, &name) {
                tracing::warn!(mv = %name, error = %e, "materialized view refresh failed");
                if let Some(m) = self.cat.dbs.get_mut(&dn).and_then(|d| d.mvs.get_mut(&name)) {
                    m.last_refresh_state = "FAILED".into();
                }
            }
        }
        if let Some(t) = self
            .cat
            .dbs
            .get_mut(db)
            .and_then(|d| d.tables.get_mut(table))
        {
            t.update_time = now_text();
        }
    }
}

/// A string literal's content as SHOW CREATE prints it (backslash and double quote escaped).
fn escape_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
