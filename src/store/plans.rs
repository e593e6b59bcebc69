//! Plans and their life cycle: record (with merge/supersede), list, approve
//! (with the stale check), reject, take for applying, verify, mark applied or
//! failed, and the per-table gate state.

use std::time::SystemTime;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::log::audit;
use super::read::load_plan;
use super::types::short_fingerprint;
use super::{
    Error, GateState, PlanContext, PlanId, PlanRecord, PlanStatus, Result, Store, TargetCheck,
    Timestamp,
};
use crate::model::TableId;
use crate::plan::{render_text, Plan, TablePlan};
use crate::policy::Verdict;

/// Actor name of the agent in the audit log.
pub const AGENT: &str = "agent";
/// Actor name of policy (automatic approval of plans whose changes are all `apply`).
pub const POLICY: &str = "policy";

/// The status a plan is recorded with: `pending` when a change is held
/// (`queue`/`halt`), `approved` (by policy) when it has steps to run,
/// `ignored` when every change was ignored.
pub fn initial_status(plan: &TablePlan) -> PlanStatus {
    if plan.changes.iter().any(|c| c.pending) {
        PlanStatus::Pending
    } else if plan
        .changes
        .iter()
        .all(|c| c.decision.verdict == Verdict::Ignore)
    {
        PlanStatus::Ignored
    } else {
        PlanStatus::Approved
    }
}

impl Store {
    /// Records a plan with its decisions. A pending or stale plan of the same
    /// target table is marked `superseded` by it (the new plan must carry its
    /// changes: the caller merges). The status is [`initial_status`].
    pub fn record_plan(
        &self,
        plan: &TablePlan,
        context: &PlanContext,
        now: SystemTime,
    ) -> Result<PlanId> {
        let now = Timestamp::from_system_time(now).0;
        let status = initial_status(plan);
        let json = serde_json::to_string(plan).map_err(|source| Error::Json {
            what: format!("plan for {}", plan.target_table),
            source,
        })?;
        let text = render_text(&Plan {
            target_version: context.target_version.clone(),
            tables: vec![plan.clone()],
        });
        let position = context
            .position
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|source| Error::Json {
                what: "source position".into(),
                source,
            })?;
        let target = &plan.target_table;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let replaced: Vec<i64> = {
            let mut st = tx.prepare(
                "SELECT id FROM plans WHERE target_db = ?1 AND target_table = ?2 \
                 AND status IN ('pending', 'stale') ORDER BY id",
            )?;
            let ids = st.query_map(params![target.database, target.table], |r| r.get(0))?;
            ids.collect::<rusqlite::Result<_>>()?
        };
        tx.execute(
            "INSERT INTO plans (source_db, source_table, target_db, target_table, \
             from_fingerprint, to_fingerprint, plan_json, plan_text, status, supersedes, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
            params![
                plan.source_table.database,
                plan.source_table.table,
                target.database,
                target.table,
                plan.from_fingerprint,
                plan.to_fingerprint,
                json,
                text,
                status.as_str(),
                replaced.last(),
                now,
            ],
        )?;
        let id = PlanId(tx.last_insert_rowid());
        for (i, c) in plan.changes.iter().enumerate() {
            let statements =
                serde_json::to_string(&c.statements()).map_err(|source| Error::Json {
                    what: format!("statements of {}", c.id),
                    source,
                })?;
            tx.execute(
                "INSERT INTO decisions (plan_id, ordinal, change_id, kind, column_name, verdict, \
                 rule_code, rule_name, reason, pending, statements, position, decided_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    id.0,
                    i as i64,
                    c.id,
                    c.change.kind().as_str(),
                    c.change.column(),
                    c.decision.verdict.to_string(),
                    c.decision.rule_code,
                    c.decision.rule_name,
                    c.decision.reason,
                    c.pending,
                    statements,
                    position,
                    now,
                ],
            )?;
        }
        for old in &replaced {
            tx.execute(
                "UPDATE plans SET status = 'superseded', superseded_by = ?1, updated_at = ?2, \
                 status_reason = ?3 WHERE id = ?4",
                params![
                    id.0,
                    now,
                    format!("replaced by plan {id}, which carries its changes"),
                    old
                ],
            )?;
            audit(
                &tx,
                now,
                AGENT,
                "superseded",
                Some(PlanId(*old)),
                Some(target),
                &format!("replaced by plan {id}"),
            )?;
        }
        let summary: Vec<String> = plan
            .changes
            .iter()
            .map(|c| format!("{} {}", c.id, c.decision.verdict))
            .collect();
        audit(
            &tx,
            now,
            AGENT,
            "planned",
            Some(id),
            Some(target),
            &format!("{status}: {}", summary.join(", ")),
        )?;
        if status == PlanStatus::Approved {
            tx.execute(
                "INSERT INTO approvals (plan_id, approved_by, approved_at, comment, verification) \
                 VALUES (?1, ?2, ?3, NULL, 'policy')",
                params![id.0, POLICY, now],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// One plan.
    pub fn get(&self, id: PlanId) -> Result<PlanRecord> {
        load_plan(&self.lock(), id)?.ok_or(Error::NotFound(id))
    }

    /// Plans waiting for a person, oldest first.
    pub fn pending(&self) -> Result<Vec<PlanRecord>> {
        self.plans_where("status = 'pending'", &[])
    }

    /// Plans in `status`, oldest first.
    pub fn with_status(&self, status: PlanStatus) -> Result<Vec<PlanRecord>> {
        self.plans_where("status = ?1", &[status.as_str()])
    }

    /// Every plan of a table (source or target), or of every table, oldest first.
    pub fn plans(&self, table: Option<&TableId>) -> Result<Vec<PlanRecord>> {
        match table {
            None => self.plans_where("1 = 1", &[]),
            Some(t) => self.plans_where(
                "(target_db = ?1 AND target_table = ?2) OR (source_db = ?1 AND source_table = ?2)",
                &[t.database.as_str(), t.table.as_str()],
            ),
        }
    }

    fn plans_where(&self, filter: &str, args: &[&str]) -> Result<Vec<PlanRecord>> {
        let conn = self.lock();
        let ids: Vec<i64> = {
            let mut st =
                conn.prepare(&format!("SELECT id FROM plans WHERE {filter} ORDER BY id"))?;
            let rows = st.query_map(rusqlite::params_from_iter(args), |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        ids.into_iter()
            .filter_map(|id| load_plan(&conn, PlanId(id)).transpose())
            .collect()
    }

    /// The plan an `ID` given by a person means: a plan id, or a change id
    /// (`db.table/kind[/column]`) of an open plan (the newest holding it).
    pub fn resolve(&self, id: &str) -> Result<PlanId> {
        if let Ok(p) = id.parse::<PlanId>() {
            return Ok(p);
        }
        let found: Option<i64> = self
            .lock()
            .query_row(
                "SELECT p.id FROM plans p JOIN decisions d ON d.plan_id = p.id \
                 WHERE d.change_id = ?1 AND p.status IN ('pending', 'approved', 'applying', 'stale') \
                 ORDER BY p.id DESC LIMIT 1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        found
            .map(PlanId)
            .ok_or_else(|| Error::UnknownChange(id.to_owned()))
    }

    /// Approves a pending plan. Refused ([`Error::Stale`], and the plan marked
    /// `stale`) when `check` knows a target fingerprint other than the one the
    /// plan was made for; refused ([`Error::WrongStatus`]) when not pending.
    pub fn approve(
        &self,
        id: PlanId,
        by: &str,
        comment: Option<&str>,
        check: TargetCheck<'_>,
        now: SystemTime,
    ) -> Result<PlanRecord> {
        let now = Timestamp::from_system_time(now).0;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let plan = load_plan(&tx, id)?.ok_or(Error::NotFound(id))?;
        if plan.status != PlanStatus::Pending {
            return Err(wrong_status(&plan, "pending"));
        }
        let current: Option<Option<String>> = match check {
            TargetCheck::Current(fp) => Some(fp.map(str::to_owned)),
            TargetCheck::LastSeen => tx
                .query_row(
                    "SELECT fingerprint FROM target_seen WHERE target_db = ?1 AND target_table = ?2",
                    params![plan.target_table.database, plan.target_table.table],
                    |r| r.get::<_, Option<String>>(0),
                )
                .optional()?,
            TargetCheck::Deferred => None,
        };
        if let Some(current) = current {
            if current != plan.from_fingerprint {
                let err = stale_error(&plan, current.as_deref());
                mark_stale(&tx, &plan, &err.to_string(), now)?;
                audit(
                    &tx,
                    now,
                    by,
                    "approval_refused",
                    Some(id),
                    Some(&plan.target_table),
                    &err.to_string(),
                )?;
                tx.commit()?;
                return Err(err);
            }
        }
        let verification = if matches!(check, TargetCheck::Current(_)) {
            "verified"
        } else {
            "to_verify"
        };
        tx.execute(
            "INSERT INTO approvals (plan_id, approved_by, approved_at, comment, verification) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id.0, by, now, comment, verification],
        )?;
        set_status(&tx, id, PlanStatus::Approved, None, now)?;
        audit(
            &tx,
            now,
            by,
            "approved",
            Some(id),
            Some(&plan.target_table),
            &format!("{verification}; comment: {}", comment.unwrap_or("-")),
        )?;
        tx.commit()?;
        load_plan(&conn, id)?.ok_or(Error::NotFound(id))
    }

    /// Rejects a pending (or stale) plan: it is never applied.
    pub fn reject(
        &self,
        id: PlanId,
        by: &str,
        reason: &str,
        now: SystemTime,
    ) -> Result<PlanRecord> {
        let now = Timestamp::from_system_time(now).0;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let plan = load_plan(&tx, id)?.ok_or(Error::NotFound(id))?;
        if !matches!(plan.status, PlanStatus::Pending | PlanStatus::Stale) {
            return Err(wrong_status(&plan, "pending"));
        }
        tx.execute(
            "INSERT INTO rejections (plan_id, rejected_by, rejected_at, reason) \
             VALUES (?1, ?2, ?3, ?4)",
            params![id.0, by, now, reason],
        )?;
        set_status(&tx, id, PlanStatus::Rejected, Some(reason), now)?;
        audit(
            &tx,
            now,
            by,
            "rejected",
            Some(id),
            Some(&plan.target_table),
            reason,
        )?;
        tx.commit()?;
        load_plan(&conn, id)?.ok_or(Error::NotFound(id))
    }

    /// Takes every approved plan for applying (status `applying`), oldest
    /// first. The agent calls it at least once a second, then
    /// [`verify_target`](Self::verify_target) before the first step.
    pub fn take_approved(&self, now: SystemTime) -> Result<Vec<PlanRecord>> {
        let now = Timestamp::from_system_time(now).0;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<i64> = {
            let mut st =
                tx.prepare("SELECT id FROM plans WHERE status = 'approved' ORDER BY id")?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut taken = Vec::with_capacity(ids.len());
        for id in ids.into_iter().map(PlanId) {
            set_status(&tx, id, PlanStatus::Applying, None, now)?;
            if let Some(p) = load_plan(&tx, id)? {
                audit(
                    &tx,
                    now,
                    AGENT,
                    "taken",
                    Some(id),
                    Some(&p.target_table),
                    "applying",
                )?;
                taken.push(p);
            }
        }
        tx.commit()?;
        Ok(taken)
    }

    /// The agent's check before applying: when `current` (the live target's
    /// fingerprint) differs from the plan's `from_fingerprint`, the plan is
    /// marked `stale` and [`Error::Stale`] says why; nothing must be applied.
    pub fn verify_target(&self, id: PlanId, current: Option<&str>, now: SystemTime) -> Result<()> {
        let now = Timestamp::from_system_time(now).0;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let plan = load_plan(&tx, id)?.ok_or(Error::NotFound(id))?;
        if plan.from_fingerprint.as_deref() == current {
            return Ok(());
        }
        if !matches!(plan.status, PlanStatus::Approved | PlanStatus::Applying) {
            return Err(wrong_status(&plan, "approved"));
        }
        let err = stale_error(&plan, current);
        mark_stale(&tx, &plan, &err.to_string(), now)?;
        audit(
            &tx,
            now,
            AGENT,
            "stale",
            Some(id),
            Some(&plan.target_table),
            &err.to_string(),
        )?;
        tx.commit()?;
        Err(err)
    }

    /// Every step of an applying (or approved) plan finished.
    pub fn mark_applied(&self, id: PlanId, now: SystemTime) -> Result<()> {
        self.finish_plan(id, PlanStatus::Applied, None, now)
    }

    /// A step of an applying plan failed.
    pub fn mark_failed(&self, id: PlanId, reason: &str, now: SystemTime) -> Result<()> {
        self.finish_plan(id, PlanStatus::Failed, Some(reason), now)
    }

    fn finish_plan(
        &self,
        id: PlanId,
        status: PlanStatus,
        reason: Option<&str>,
        now: SystemTime,
    ) -> Result<()> {
        let now = Timestamp::from_system_time(now).0;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let plan = load_plan(&tx, id)?.ok_or(Error::NotFound(id))?;
        if !matches!(plan.status, PlanStatus::Approved | PlanStatus::Applying) {
            return Err(wrong_status(&plan, "applying"));
        }
        set_status(&tx, id, status, reason, now)?;
        audit(
            &tx,
            now,
            AGENT,
            status.as_str(),
            Some(id),
            Some(&plan.target_table),
            reason.unwrap_or("every step finished"),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the table's loader may run: held while a plan for the target
    /// table is pending, approved, applying or stale.
    pub fn gate_state(&self, target: &TableId) -> Result<GateState> {
        let row: Option<(i64, String)> = self
            .lock()
            .query_row(
                "SELECT id, status FROM plans WHERE target_db = ?1 AND target_table = ?2 \
                 AND status IN ('pending', 'approved', 'applying', 'stale') ORDER BY id LIMIT 1",
                params![target.database, target.table],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            None => GateState::Open,
            Some((id, status)) => GateState::Held {
                plan: PlanId(id),
                status: status.parse().unwrap_or(PlanStatus::Pending),
            },
        })
    }

    /// `(pending changes, held target tables)` over every open plan, for the gauges.
    pub fn counts(&self) -> Result<(u64, u64)> {
        let conn = self.lock();
        let pending: i64 = conn.query_row(
            "SELECT COUNT(*) FROM decisions d JOIN plans p ON p.id = d.plan_id \
             WHERE p.status = 'pending' AND d.pending = 1",
            [],
            |r| r.get(0),
        )?;
        let held: i64 = conn.query_row(
            "SELECT COUNT(*) FROM (SELECT DISTINCT target_db, target_table FROM plans \
             WHERE status IN ('pending', 'approved', 'applying', 'stale'))",
            [],
            |r| r.get(0),
        )?;
        Ok((pending.max(0) as u64, held.max(0) as u64))
    }
}

fn stale_error(plan: &PlanRecord, current: Option<&str>) -> Error {
    Error::Stale {
        id: plan.id,
        planned: short_fingerprint(plan.from_fingerprint.as_deref()),
        current: short_fingerprint(current),
    }
}

fn wrong_status(plan: &PlanRecord, expected: &'static str) -> Error {
    let detail = match (plan.status, &plan.status_reason) {
        (PlanStatus::Superseded, _) => match plan.superseded_by {
            Some(n) => format!("it was replaced by plan {n}, which carries its changes"),
            None => "it was replaced by a newer plan".to_owned(),
        },
        (PlanStatus::Approved | PlanStatus::Applying, _) => match &plan.approval {
            Some(a) => format!("already approved by {} at {}", a.by, a.at),
            None => "already approved".to_owned(),
        },
        (PlanStatus::Rejected, _) => match &plan.rejection {
            Some(r) => format!("rejected by {} at {}: {}", r.by, r.at, r.reason),
            None => "rejected".to_owned(),
        },
        (_, Some(reason)) => reason.clone(),
        (st, None) => format!("a {st} plan cannot be changed"),
    };
    Error::WrongStatus {
        id: plan.id,
        status: plan.status,
        expected,
        detail,
    }
}

fn mark_stale(conn: &Connection, plan: &PlanRecord, reason: &str, now: i64) -> Result<()> {
    set_status(conn, plan.id, PlanStatus::Stale, Some(reason), now)
}

fn set_status(
    conn: &Connection,
    id: PlanId,
    status: PlanStatus,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE plans SET status = ?1, status_reason = ?2, updated_at = ?3 WHERE id = ?4",
        params![status.as_str(), reason, now, id.0],
    )?;
    Ok(())
}
