//! The records around plans: the audit log and history, applied steps with
//! their StarRocks job ids, what the agent has seen of each source table, the
//! last target fingerprint it saw, and the decisions read back.

use std::time::SystemTime;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::plans::AGENT;
use super::{
    AuditEvent, ChangeRecord, Error, PlanId, Result, Seen, StepId, StepOutcome, StepRecord, Store,
    Timestamp,
};
use crate::model::{SourcePosition, TableId};
use crate::policy::Verdict;

/// Appends one audit line.
pub(crate) fn audit(
    conn: &Connection,
    at: i64,
    actor: &str,
    action: &str,
    plan: Option<PlanId>,
    table: Option<&TableId>,
    detail: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO audit (at, actor, action, plan_id, target_db, target_table, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            at,
            actor,
            action,
            plan.map(|p| p.0),
            table.map(|t| t.database.as_str()),
            table.map(|t| t.table.as_str()),
            detail
        ],
    )?;
    Ok(())
}

/// Reads the decisions of a plan, in plan order.
pub(crate) fn load_change_records(conn: &Connection, id: PlanId) -> Result<Vec<ChangeRecord>> {
    let mut st = conn.prepare(
        "SELECT change_id, kind, column_name, verdict, rule_code, rule_name, reason, pending, \
         statements, position FROM decisions WHERE plan_id = ?1 ORDER BY ordinal",
    )?;
    let rows = st.query_map(params![id.0], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, bool>(7)?,
            r.get::<_, String>(8)?,
            r.get::<_, Option<String>>(9)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (change_id, kind, column, verdict, rule, rule_name, reason, pending, sql, pos) = row?;
        let json_err = |source| Error::Json {
            what: format!("plan {id}: change {change_id}"),
            source,
        };
        let statements: Vec<String> = serde_json::from_str(&sql).map_err(json_err)?;
        let source_position: Option<SourcePosition> = pos
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|source| Error::Json {
                what: format!("plan {id}: position of {change_id}"),
                source,
            })?;
        out.push(ChangeRecord {
            decision: Verdict::parse(&verdict).unwrap_or(Verdict::Queue),
            change_id,
            kind,
            column,
            rule,
            rule_name,
            reason,
            pending,
            statements,
            source_position,
        });
    }
    Ok(out)
}

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditEvent> {
    let db: Option<String> = r.get(5)?;
    let table: Option<String> = r.get(6)?;
    Ok(AuditEvent {
        id: r.get(0)?,
        at: Timestamp(r.get(1)?),
        actor: r.get(2)?,
        action: r.get(3)?,
        plan: r.get::<_, Option<i64>>(4)?.map(PlanId),
        table: db.zip(table).map(|(d, t)| TableId::new(d, t)),
        detail: r.get(7)?,
    })
}

fn step_row(r: &Row<'_>) -> rusqlite::Result<StepRecord> {
    Ok(StepRecord {
        id: StepId(r.get(0)?),
        plan: PlanId(r.get(1)?),
        index: r.get(2)?,
        statement: r.get(3)?,
        job_id: r.get(4)?,
        started_at: Timestamp(r.get(5)?),
        finished_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
        outcome: StepOutcome::parse(&r.get::<_, String>(7)?),
        detail: r.get(8)?,
    })
}

const STEP_COLUMNS: &str =
    "id, plan_id, step_index, statement, job_id, started_at, finished_at, outcome, detail";

impl Store {
    /// The audit trail of a table (as source or target of a plan), or of every
    /// table, oldest first.
    pub fn history(&self, table: Option<&TableId>) -> Result<Vec<AuditEvent>> {
        let conn = self.lock();
        let base = "SELECT id, at, actor, action, plan_id, target_db, target_table, detail \
                    FROM audit";
        let rows = match table {
            None => {
                let mut st = conn.prepare(&format!("{base} ORDER BY id"))?;
                let rows = st.query_map([], audit_row)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            }
            Some(t) => {
                let mut st = conn.prepare(&format!(
                    "{base} WHERE (target_db = ?1 AND target_table = ?2) OR plan_id IN \
                     (SELECT id FROM plans WHERE source_db = ?1 AND source_table = ?2) \
                     ORDER BY id"
                ))?;
                let rows = st.query_map(params![t.database, t.table], audit_row)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            }
        };
        Ok(rows)
    }

    /// Records that step `index` of a plan started (again, after a restart:
    /// the row is kept, with its job id).
    pub fn start_step(
        &self,
        plan: PlanId,
        index: u32,
        statement: &str,
        now: SystemTime,
    ) -> Result<StepId> {
        let now = Timestamp::from_system_time(now).0;
        let conn = self.lock();
        let id: i64 = conn.query_row(
            "INSERT INTO steps (plan_id, step_index, statement, started_at, outcome) \
             VALUES (?1, ?2, ?3, ?4, 'running') \
             ON CONFLICT (plan_id, step_index) DO UPDATE SET statement = excluded.statement, \
             outcome = 'running', finished_at = NULL RETURNING id",
            params![plan.0, index, statement, now],
            |r| r.get(0),
        )?;
        let table = plan_target(&conn, plan)?;
        audit(
            &conn,
            now,
            AGENT,
            "step_started",
            Some(plan),
            table.as_ref(),
            &format!("step {index}: {statement}"),
        )?;
        Ok(StepId(id))
    }

    /// Records the StarRocks job id of a step's async ALTER (awaited, not
    /// resubmitted, after a restart).
    pub fn set_step_job(&self, step: StepId, job_id: &str) -> Result<()> {
        let n = self.lock().execute(
            "UPDATE steps SET job_id = ?1 WHERE id = ?2",
            params![job_id, step.0],
        )?;
        if n == 0 {
            return Err(Error::StepNotFound(step));
        }
        Ok(())
    }

    /// Records how a step ended.
    pub fn finish_step(
        &self,
        step: StepId,
        outcome: StepOutcome,
        detail: Option<&str>,
        now: SystemTime,
    ) -> Result<()> {
        let now = Timestamp::from_system_time(now).0;
        let conn = self.lock();
        let row: Option<(i64, u32, Option<String>)> = conn
            .query_row(
                "UPDATE steps SET outcome = ?1, detail = ?2, finished_at = ?3 WHERE id = ?4 \
                 RETURNING plan_id, step_index, job_id",
                params![outcome.as_str(), detail, now, step.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (plan, index, job) = row.ok_or(Error::StepNotFound(step))?;
        let table = plan_target(&conn, PlanId(plan))?;
        audit(
            &conn,
            now,
            AGENT,
            "step_finished",
            Some(PlanId(plan)),
            table.as_ref(),
            &format!(
                "step {index}: {}{}{}",
                outcome.as_str(),
                job.map(|j| format!(", job {j}")).unwrap_or_default(),
                detail.map(|d| format!(": {d}")).unwrap_or_default()
            ),
        )?;
        Ok(())
    }

    /// The recorded steps of a plan, by index.
    pub fn steps(&self, plan: PlanId) -> Result<Vec<StepRecord>> {
        let conn = self.lock();
        let mut st = conn.prepare(&format!(
            "SELECT {STEP_COLUMNS} FROM steps WHERE plan_id = ?1 ORDER BY step_index"
        ))?;
        let rows = st.query_map(params![plan.0], step_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records the last source version seen of a table, so a restart does not
    /// replay decisions.
    pub fn record_seen(
        &self,
        table: &TableId,
        fingerprint: &str,
        position: &SourcePosition,
        now: SystemTime,
    ) -> Result<()> {
        let now = Timestamp::from_system_time(now).0;
        let position = serde_json::to_string(position).map_err(|source| Error::Json {
            what: format!("position of {table}"),
            source,
        })?;
        self.lock().execute(
            "INSERT INTO source_seen (source_db, source_table, fingerprint, position, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (source_db, source_table) DO UPDATE SET \
             fingerprint = excluded.fingerprint, position = excluded.position, \
             updated_at = excluded.updated_at",
            params![table.database, table.table, fingerprint, position, now],
        )?;
        Ok(())
    }

    /// The last source version seen of a table.
    pub fn seen(&self, table: &TableId) -> Result<Option<Seen>> {
        Ok(self.all_seen()?.into_iter().find(|s| &s.table == table))
    }

    /// The last source version seen of every table, by table.
    pub fn all_seen(&self) -> Result<Vec<Seen>> {
        let conn = self.lock();
        let mut st = conn.prepare(
            "SELECT source_db, source_table, fingerprint, position, updated_at FROM source_seen \
             ORDER BY source_db, source_table",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                TableId::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (table, fingerprint, position, at) = row?;
            let position = serde_json::from_str(&position).map_err(|source| Error::Json {
                what: format!("position of {table}"),
                source,
            })?;
            out.push(Seen {
                table,
                fingerprint,
                position,
                updated_at: Timestamp(at),
            });
        }
        Ok(out)
    }

    /// Records the target fingerprint the agent last read (`None`: the table
    /// is missing); approvals with [`TargetCheck::LastSeen`](super::TargetCheck::LastSeen)
    /// are checked against it.
    pub fn record_target(
        &self,
        table: &TableId,
        fingerprint: Option<&str>,
        now: SystemTime,
    ) -> Result<()> {
        let now = Timestamp::from_system_time(now).0;
        self.lock().execute(
            "INSERT INTO target_seen (target_db, target_table, fingerprint, updated_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (target_db, target_table) DO UPDATE SET \
             fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
            params![table.database, table.table, fingerprint, now],
        )?;
        Ok(())
    }
}

fn plan_target(conn: &Connection, plan: PlanId) -> Result<Option<TableId>> {
    Ok(conn
        .query_row(
            "SELECT target_db, target_table FROM plans WHERE id = ?1",
            params![plan.0],
            |r| Ok(TableId::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?)
}
