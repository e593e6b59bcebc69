//! Reading a stored plan back: the plan row with its decisions, approval and
//! rejection.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::log::load_change_records;
use super::types::{Approval, Rejection};
use super::{Error, PlanId, PlanRecord, PlanStatus, Result, Timestamp};
use crate::model::TableId;

const PLAN_COLUMNS: &str = "id, source_db, source_table, target_db, target_table, \
     from_fingerprint, to_fingerprint, status, status_reason, supersedes, superseded_by, \
     created_at, updated_at, plan_text, plan_json";

fn table_at(r: &Row<'_>, db: usize) -> rusqlite::Result<TableId> {
    Ok(TableId::new(
        r.get::<_, String>(db)?,
        r.get::<_, String>(db + 1)?,
    ))
}

/// Reads one plan with its decisions, approval and rejection.
pub(crate) fn load_plan(conn: &Connection, id: PlanId) -> Result<Option<PlanRecord>> {
    let row = conn
        .query_row(
            &format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = ?1"),
            params![id.0],
            |r| {
                let status: String = r.get(7)?;
                Ok((
                    PlanRecord {
                        id: PlanId(r.get(0)?),
                        source_table: table_at(r, 1)?,
                        target_table: table_at(r, 3)?,
                        from_fingerprint: r.get(5)?,
                        to_fingerprint: r.get(6)?,
                        status: status.parse().unwrap_or(PlanStatus::Pending),
                        status_reason: r.get(8)?,
                        supersedes: r.get::<_, Option<i64>>(9)?.map(PlanId),
                        superseded_by: r.get::<_, Option<i64>>(10)?.map(PlanId),
                        created_at: Timestamp(r.get(11)?),
                        updated_at: Timestamp(r.get(12)?),
                        changes: Vec::new(),
                        approval: None,
                        rejection: None,
                        text: r.get(13)?,
                        plan: serde_json::Value::Null,
                    },
                    r.get::<_, String>(14)?,
                ))
            },
        )
        .optional()?;
    let Some((mut plan, json)) = row else {
        return Ok(None);
    };
    plan.plan = serde_json::from_str(&json).map_err(|source| Error::Json {
        what: format!("plan {id}"),
        source,
    })?;
    plan.changes = load_change_records(conn, id)?;
    plan.approval = conn
        .query_row(
            "SELECT approved_by, approved_at, comment, verification FROM approvals \
             WHERE plan_id = ?1",
            params![id.0],
            |r| {
                Ok(Approval {
                    by: r.get(0)?,
                    at: Timestamp(r.get(1)?),
                    comment: r.get(2)?,
                    verification: r.get(3)?,
                })
            },
        )
        .optional()?;
    plan.rejection = conn
        .query_row(
            "SELECT rejected_by, rejected_at, reason FROM rejections WHERE plan_id = ?1",
            params![id.0],
            |r| {
                Ok(Rejection {
                    by: r.get(0)?,
                    at: Timestamp(r.get(1)?),
                    reason: r.get(2)?,
                })
            },
        )
        .optional()?;
    Ok(Some(plan))
}
