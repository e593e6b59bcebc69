//! CREATE/DROP DATABASE, CREATE/DROP/TRUNCATE TABLE, ALTER TABLE and CANCEL ALTER.

use std::collections::BTreeMap;

use super::alter;
use super::catalog::{now_ms, now_text, Database, Distribution, Job, JobState, KeysType, Table};
use super::engine::{Engine, Output, Session};
use super::error::{
    Result, SrError, ER_DB_CREATE_EXISTS, ER_DB_DROP_EXISTS, ER_DUP_FIELDNAME, ER_TABLE_EXISTS,
};
use super::lexer::Tok;
use super::parser::{CreateTable, Stmt};

impl Engine {
    /// Executes a parsed DDL statement.
    pub fn ddl(&mut self, s: &mut Session, stmt: Stmt) -> Result<Output> {
        match stmt {
            Stmt::CreateDb {
                name,
                if_not_exists,
            } => {
                if self.cat.dbs.contains_key(&name) {
                    if if_not_exists {
                        return Ok(Output::ok());
                    }
                    return Err(SrError::with_code(
                        ER_DB_CREATE_EXISTS,
                        format!("Can't create database '{name}'; database exists"),
                    ));
                }
                let id = self.cat.id();
                self.cat.dbs.insert(
                    name,
                    Database {
                        id,
                        ..Default::default()
                    },
                );
                Ok(Output::ok())
            }
            Stmt::DropDb { name, if_exists } => {
                let Some(db) = self.cat.dbs.remove(&name) else {
                    if if_exists {
                        return Ok(Output::ok());
                    }
                    return Err(SrError::with_code(
                        ER_DB_DROP_EXISTS,
                        format!("Can't drop database '{name}'; database doesn't exist"),
                    ));
                };
                for t in db.tables.keys().chain(db.mvs.keys()) {
                    self.store.drop(&name, t)?;
                    self.inactivate_mvs_on_table(&name, t, &format!("base-table dropped: {t}"));
                }
                if s.db.as_deref() == Some(name.as_str()) {
                    s.db = None;
                }
                Ok(Output::ok())
            }
            Stmt::CreateTable(ct) => self.create_table(s, *ct),
            Stmt::DropTable {
                db,
                name,
                if_exists,
            } => {
                let db = self.qualify(s, db.as_ref())?;
                let d = self.cat.db_mut(&db)?;
                if d.tables.remove(&name).is_none() {
                    if d.mvs.remove(&name).is_some() {
                        self.store.drop(&db, &name)?;
                        return Ok(Output::ok());
                    }
                    if if_exists {
                        return Ok(Output::ok());
                    }
                    return Err(SrError::analyze(format!("Unknown table '{db}.{name}'")));
                }
                self.store.drop(&db, &name)?;
                self.inactivate_mvs_on_table(&db, &name, &format!("base-table dropped: {name}"));
                Ok(Output::ok())
            }
            Stmt::Truncate { db, name } => {
                let db = self.qualify(s, db.as_ref())?;
                self.cat.table(&db, &name)?;
                self.store.truncate(&db, &name)?;
                self.after_load(&db, &name);
                Ok(Output::ok())
            }
            Stmt::Alter { db, name, clauses } => {
                let db = self.qualify(s, db.as_ref())?;
                self.alter_table(&db, &name, &clauses)
            }
            Stmt::CancelAlter { db, name } => {
                let db = self.qualify(s, db.as_ref())?;
                let id = self.cat.table(&db, &name)?.id;
                let Some(job) = self
                    .cat
                    .jobs
                    .iter_mut()
                    .find(|j| j.table_id == id && !j.state.terminal())
                else {
                    return Err(SrError::new(format!(
                        "Table[{name}] is not under SCHEMA_CHANGE"
                    )));
                };
                job.state = JobState::Cancelled;
                job.msg = "user cancelled".into();
                job.finish_time = Some(now_text());
                Ok(Output::ok())
            }
            Stmt::CreateMv(mv) => self.create_mv(s, *mv),
            Stmt::DropMv {
                db,
                name,
                if_exists,
            } => {
                let db = self.qualify(s, db.as_ref())?;
                if self.cat.db_mut(&db)?.mvs.remove(&name).is_none() {
                    if if_exists {
                        return Ok(Output::ok());
                    }
                    return Err(SrError::analyze(format!(
                        "Materialized view {name} is not found"
                    )));
                }
                self.store.drop(&db, &name)?;
                Ok(Output::ok())
            }
            Stmt::AlterMv { db, name, active } => {
                let db = self.qualify(s, db.as_ref())?;
                self.alter_mv_active(&db, &name, active)
            }
            Stmt::RefreshMv { db, name } => {
                let db = self.qualify(s, db.as_ref())?;
                self.refresh_mv_stmt(&db, &name)
            }
        }
    }

    fn create_table(&mut self, s: &Session, ct: CreateTable) -> Result<Output> {
        let db = self.qualify(s, ct.db.as_ref())?;
        let d = self.cat.db(&db)?;
        if d.tables.contains_key(&ct.name) || d.mvs.contains_key(&ct.name) {
            if ct.if_not_exists {
                return Ok(Output::ok());
            }
            return Err(SrError::with_code(
                ER_TABLE_EXISTS,
                format!("Table '{}' already exists", ct.name),
            ));
        }
        let mut cols: Vec<_> = Vec::new();
        for d in &ct.cols {
            if cols
                .iter()
                .any(|c: &super::catalog::Column| c.name.eq_ignore_ascii_case(&d.col.name))
            {
                return Err(SrError::with_code(
                    ER_DUP_FIELDNAME,
                    format!("Duplicate column name '{}'", d.col.name),
                ));
            }
            cols.push(d.col.clone());
        }
        if cols.is_empty() {
            return Err(SrError::analyze("Table should have at least one column"));
        }
        let (keys, key_cols) = ct
            .keys
            .clone()
            .unwrap_or((KeysType::Duplicate, vec![cols[0].name.clone()]));
        for (i, k) in key_cols.iter().enumerate() {
            let Some(c) = cols.get_mut(i).filter(|c| c.name.eq_ignore_ascii_case(k)) else {
                return Err(SrError::analyze(
                    "Key columns should be a ordered prefix of the schema",
                ));
            };
            c.is_key = true;
            if !c.ty.can_be_key()
                || (keys == KeysType::Primary && matches!(c.ty, super::types::SrType::Decimal(..)))
            {
                return Err(SrError::analyze(format!(
                    "Invalid data type of key column '{}': '{}'",
                    c.name,
                    c.ty.upper()
                )));
            }
            if keys == KeysType::Primary {
                if ct.cols[i].null_given && c.nullable {
                    return Err(SrError::analyze(format!(
                        "primary key column[{}] cannot be nullable",
                        c.name
                    )));
                }
                c.nullable = false;
            }
        }
        let key_cols: Vec<String> = key_cols
            .iter()
            .enumerate()
            .map(|(i, _)| cols[i].name.clone())
            .collect();
        let norm = |n: &String| -> Result<String> {
            cols.iter()
                .find(|c| c.name.eq_ignore_ascii_case(n))
                .map(|c| c.name.clone())
                .ok_or_else(|| SrError::analyze(format!("Unknown column '{n}' in '{}'", ct.name)))
        };
        let distribution = match &ct.distribution {
            Some(dist) => {
                let mut out = Vec::new();
                for c in &dist.cols {
                    let n = norm(c)?;
                    if keys != KeysType::Duplicate && !key_cols.contains(&n) {
                        return Err(SrError::analyze(format!(
                            "Distribution column[{n}] is not key column"
                        )));
                    }
                    out.push(n);
                }
                Some(Distribution {
                    cols: out,
                    buckets: dist.buckets,
                })
            }
            None if keys == KeysType::Duplicate => Some(Distribution {
                cols: vec![],
                buckets: None,
            }),
            None => Some(Distribution {
                cols: key_cols.clone(),
                buckets: None,
            }),
        };
        let partition_cols = match &ct.partition {
            None => Vec::new(),
            Some(toks) => {
                let scope: Vec<Tok> = match toks.first() {
                    Some(Tok::Word(w))
                        if w.eq_ignore_ascii_case("RANGE") || w.eq_ignore_ascii_case("LIST") =>
                    {
                        let end = toks
                            .iter()
                            .position(|t| matches!(t, Tok::Sym(s) if s == ")"))
                            .unwrap_or(toks.len());
                        toks[..end].to_vec()
                    }
                    _ => toks.clone(),
                };
                let mut pc = Vec::new();
                for id in super::types::idents_in(&scope) {
                    if let Some(c) = cols.iter().find(|c| c.name.eq_ignore_ascii_case(&id)) {
                        if !pc.contains(&c.name) {
                            pc.push(c.name.clone());
                        }
                    }
                }
                pc
            }
        };
        let mut order_by = Vec::new();
        for c in &ct.order_by {
            order_by.push(norm(c)?);
        }
        let mut properties: BTreeMap<String, String> = BTreeMap::new();
        properties.insert("compression".into(), "LZ4".into());
        if super::alter::version_tuple(&self.cfg.version) >= (3, 2, 0) {
            properties.insert("fast_schema_evolution".into(), "true".into());
        }
        properties.insert("replicated_storage".into(), "true".into());
        properties.insert("replication_num".into(), "1".into());
        if keys == KeysType::Primary {
            properties.insert("enable_persistent_index".into(), "true".into());
        }
        for (k, v) in &ct.properties {
            properties.insert(k.clone(), v.clone());
        }
        let table = Table {
            id: self.cat.id(),
            name: ct.name.clone(),
            columns: cols,
            keys,
            key_cols,
            partition: ct.partition.clone(),
            partition_cols,
            distribution,
            order_by,
            properties,
            comment: ct.comment.clone(),
            renamed_away: Vec::new(),
            schema_version: 0,
            create_time: now_text(),
            update_time: now_text(),
        };
        self.store.create(&db, &table)?;
        self.cat.db_mut(&db)?.tables.insert(ct.name, table);
        Ok(Output::ok())
    }

    fn alter_table(
        &mut self,
        db: &str,
        name: &str,
        clauses: &[super::parser::AlterClause],
    ) -> Result<Output> {
        if self.cat.db(db)?.mvs.contains_key(name) {
            return Err(SrError::unsupported("ALTER TABLE on a materialized view"));
        }
        let table = self.cat.table(db, name)?.clone();
        if !self.faults.fail_alter_statements.is_empty() {
            return Err(SrError::new(self.faults.fail_alter_statements.clone()));
        }
        if self.cat.running_job(table.id).is_some() {
            return Err(alter::busy_error(name));
        }
        let plan = alter::plan(&table, clauses, &self.cfg.version)?;
        if let Some(new) = &plan.rename_to {
            if self.cat.db(db)?.tables.contains_key(new) {
                return Err(SrError::with_code(
                    ER_TABLE_EXISTS,
                    format!("Table '{new}' already exists"),
                ));
            }
        }
        if let Some(other) = &plan.swap_with {
            self.cat.table(db, other)?;
        }
        // synchronous parts first
        for (old, new) in &plan.renamed_cols {
            self.store.rename_column(db, name, old, new)?;
            let reason = format!("base table schema changed for columns: {old}");
            self.inactivate_mvs_reading(db, name, std::slice::from_ref(old), &reason);
        }
        if plan.needs_job {
            let mut sync_part = table.clone();
            sync_part.comment = plan.target.comment.clone();
            for (old, new) in &plan.renamed_cols {
                if let Some(c) = sync_part
                    .columns
                    .iter_mut()
                    .find(|c| c.name.eq_ignore_ascii_case(old))
                {
                    c.name = new.clone();
                }
            }
            *self.cat.table_mut(db, name)? = sync_part;
            let fail_msg = self.faults.take_alter_failure(db, name);
            let duration = if plan.light {
                (self.cfg.job_ms / 3).max(1)
            } else {
                self.cfg.job_ms
            };
            let job = Job {
                id: self.cat.id(),
                db: db.to_string(),
                table_id: table.id,
                table_name: name.to_string(),
                created_ms: now_ms(),
                create_time: now_text(),
                finish_time: None,
                duration_ms: duration as i64,
                state: JobState::Pending,
                msg: String::new(),
                txn_id: self.cat.id(),
                target: plan.target.clone(),
                changed_cols: plan.changed.clone(),
                dropped_cols: plan.dropped.clone(),
                fail_msg,
            };
            tracing::info!(job = job.id, table = name, "schema change job submitted");
            self.cat.jobs.push(job);
        } else {
            let mut t = plan.target.clone();
            t.update_time = now_text();
            *self.cat.table_mut(db, name)? = t;
        }
        if let Some(new) = &plan.rename_to {
            let d = self.cat.db_mut(db)?;
            if let Some(mut t) = d.tables.remove(name) {
                t.name = new.clone();
                d.tables.insert(new.clone(), t);
            }
            self.store.rename(db, name, new)?;
            self.inactivate_mvs_on_table(db, name, &format!("base-table renamed: {name}"));
        }
        if let Some(other) = &plan.swap_with {
            let d = self.cat.db_mut(db)?;
            let (Some(mut a), Some(mut b)) = (d.tables.remove(name), d.tables.remove(other)) else {
                return Err(SrError::unknown_table(db, other));
            };
            std::mem::swap(&mut a.name, &mut b.name);
            d.tables.insert(a.name.clone(), a);
            d.tables.insert(b.name.clone(), b);
            let tmp = format!("{name}__swap");
            self.store.rename(db, name, &tmp)?;
            self.store.rename(db, other, name)?;
            self.store.rename(db, &tmp, other)?;
            self.inactivate_mvs_on_table(db, name, &format!("base-table swapped: {name}"));
            self.inactivate_mvs_on_table(db, other, &format!("base-table swapped: {other}"));
        }
        Ok(Output::ok())
    }
}
