//! Schema-change jobs: PENDING → WAITING_TXN → RUNNING → FINISHED (or CANCELLED) over the
//! configured duration; the new schema applies at FINISHED. `SHOW ALTER TABLE COLUMN`.

use rusqlite::types::Value;

use super::catalog::{now_ms, now_text, Job, JobState};
use super::engine::{opt, t, Engine, Output, Session};
use super::error::{Result, SrError};
use super::lexer::{Cursor, Tok};

/// Columns of SHOW ALTER TABLE COLUMN.
pub const SHOW_ALTER_COLS: [&str; 13] = [
    "JobId",
    "TableName",
    "CreateTime",
    "FinishTime",
    "IndexName",
    "IndexId",
    "OriginIndexId",
    "SchemaVersion",
    "TransactionId",
    "State",
    "Msg",
    "Progress",
    "Timeout",
];

fn state_at(job: &Job, now: i64) -> JobState {
    let d = job.duration_ms.max(1);
    let e = now - job.created_ms;
    if e >= d {
        JobState::Finished
    } else if e * 10 < d {
        JobState::Pending
    } else if e * 4 < d {
        JobState::WaitingTxn
    } else {
        JobState::Running
    }
}

impl Engine {
    /// Advances every unfinished job; applies finished ones. Returns whether anything changed.
    pub fn tick(&mut self) -> bool {
        let now = now_ms();
        let mut changed = false;
        for i in 0..self.cat.jobs.len() {
            let job = &self.cat.jobs[i];
            if job.state.terminal() {
                continue;
            }
            let st = state_at(job, now);
            if st == job.state {
                continue;
            }
            changed = true;
            if st != JobState::Finished {
                self.cat.jobs[i].state = st;
                continue;
            }
            let job = self.cat.jobs[i].clone();
            if let Some(msg) = &job.fail_msg {
                let j = &mut self.cat.jobs[i];
                j.state = JobState::Cancelled;
                j.msg = msg.clone();
                j.finish_time = Some(now_text());
                tracing::info!(
                    job = job.id,
                    "schema change job cancelled by injected fault"
                );
                continue;
            }
            if let Err(e) = self.finish_job(&job) {
                tracing::error!(job = job.id, error = %e, "applying a schema change failed");
                let j = &mut self.cat.jobs[i];
                j.state = JobState::Cancelled;
                j.msg = e.message;
                j.finish_time = Some(now_text());
                continue;
            }
            let j = &mut self.cat.jobs[i];
            j.state = JobState::Finished;
            j.finish_time = Some(now_text());
            tracing::info!(job = job.id, table = %job.table_name, "schema change job finished");
        }
        if changed {
            self.persist();
        }
        changed
    }

    fn finish_job(&mut self, job: &Job) -> Result<()> {
        let Some((db, name)) = self.cat.table_by_id(job.table_id) else {
            return Err(SrError::new("table was dropped"));
        };
        let old = self.cat.table(&db, &name)?.clone();
        let mut new = job.target.clone();
        new.name = name.clone();
        new.update_time = now_text();
        self.store.rebuild(&db, &old, &new)?;
        *self.cat.table_mut(&db, &name)? = new;
        if !job.changed_cols.is_empty() {
            let reason = format!(
                "base table schema changed for columns: {}",
                job.changed_cols.join(",")
            );
            self.inactivate_mvs_reading(&db, &name, &job.changed_cols, &reason);
        }
        if !job.dropped_cols.is_empty() {
            self.pause_routine_loads_for(&db, &name, &job.dropped_cols);
        }
        Ok(())
    }

    fn job_row(&self, j: &Job) -> Vec<Value> {
        vec![
            Value::Integer(j.id as i64),
            t(j.table_name.clone()),
            t(j.create_time.clone()),
            opt(j.finish_time.clone()),
            t(j.table_name.clone()),
            Value::Integer(j.table_id as i64 + 1),
            Value::Integer(j.table_id as i64),
            t(format!("{}:0", j.target.schema_version)),
            Value::Integer(j.txn_id as i64),
            t(j.state.name()),
            t(j.msg.clone()),
            if j.state == JobState::Running {
                t("0%")
            } else {
                t("N/A")
            },
            Value::Integer(86_400),
        ]
    }

    /// `SHOW ALTER TABLE COLUMN [FROM db] [WHERE ...] [ORDER BY ...] [LIMIT n]`.
    pub fn show_alter(&mut self, s: &Session, c: &mut Cursor) -> Result<Output> {
        if c.eat_kw("ROLLUP") || c.eat_kw("OPTIMIZE") {
            // no rollup or optimize jobs are ever created: an empty list with StarRocks' columns
            let optimize = !matches!(c.slice(c.pos() - 1).first(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("ROLLUP"));
            let cols: &[&str] = if optimize {
                &[
                    "JobId",
                    "TableName",
                    "CreateTime",
                    "FinishTime",
                    "Operation",
                    "TransactionId",
                    "State",
                    "Msg",
                    "Progress",
                    "Timeout",
                ]
            } else {
                &[
                    "JobId",
                    "TableName",
                    "CreateTime",
                    "FinishTime",
                    "BaseIndexName",
                    "RollupIndexName",
                    "RollupId",
                    "TransactionId",
                    "State",
                    "Msg",
                    "Progress",
                    "Timeout",
                ]
            };
            return Ok(Output::text(cols, vec![]));
        }
        if !c.eat_kw("COLUMN") {
            return Err(SrError::unsupported(format!(
                "SHOW ALTER TABLE {}",
                super::lexer::render(c.rest())
            )));
        }
        self.tick();
        let db = if c.eat_kw("FROM") || c.eat_kw("IN") {
            Some(c.ident()?)
        } else {
            None
        };
        let db = self.qualify(s, db.as_ref())?;
        self.cat.db(&db)?;
        let mut filters: Vec<(String, String, bool)> = Vec::new();
        if c.eat_kw("WHERE") {
            loop {
                let col = c.ident()?;
                let neg = if c.eat_sym("=") {
                    false
                } else if c.eat_sym("!=") || c.eat_sym("<>") {
                    true
                } else {
                    return Err(c.syntax("expecting = or !="));
                };
                let val = match c.next() {
                    Some(Tok::Str(v)) | Some(Tok::Num(v)) => v,
                    _ => return Err(c.syntax("expecting a literal")),
                };
                filters.push((col, val, neg));
                if !c.eat_kw("AND") {
                    break;
                }
            }
        }
        let mut rows: Vec<Vec<Value>> = self
            .cat
            .jobs
            .iter()
            .filter(|j| j.db == db)
            .map(|j| self.job_row(j))
            .collect();
        for (col, val, neg) in &filters {
            let idx = SHOW_ALTER_COLS
                .iter()
                .position(|n| n.eq_ignore_ascii_case(col))
                .ok_or_else(|| SrError::analyze(format!("The columns of TableName/CreateTime/FinishTime/State are supported, not {col}")))?;
            rows.retain(|r| {
                let v = match &r[idx] {
                    Value::Text(s) => s.clone(),
                    Value::Integer(i) => i.to_string(),
                    _ => String::new(),
                };
                (v == *val) != *neg
            });
        }
        if c.eat_kws(&["ORDER", "BY"]) {
            let col = c.ident()?;
            let idx = SHOW_ALTER_COLS
                .iter()
                .position(|n| n.eq_ignore_ascii_case(&col))
                .unwrap_or(0);
            let desc = c.eat_kw("DESC");
            c.eat_kw("ASC");
            // JobId breaks ties: ids grow with creation time
            rows.sort_by(|a, b| {
                let key = |r: &Vec<Value>| {
                    let id = if let Value::Integer(i) = r[0] { i } else { 0 };
                    (format!("{:?}", r[idx]), id)
                };
                key(a).cmp(&key(b))
            });
            if desc {
                rows.reverse();
            }
        }
        if c.eat_kw("LIMIT") {
            let n = c.number()? as usize;
            rows.truncate(n);
        }
        c.expect_end()?;
        Ok(Output::text(&SHOW_ALTER_COLS, rows))
    }
}
