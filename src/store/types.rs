//! Value types of the store: ids, statuses, timestamps and the records read
//! back. Plain data; no SQL here.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use crate::model::{SourcePosition, TableId};
use crate::policy::Verdict;

/// Id of a stored plan (the desk's `ID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PlanId(pub i64);

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for PlanId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().trim_start_matches('#').parse().map(PlanId)
    }
}

/// Id of a recorded step execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct StepId(pub i64);

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a plan is in its life.
///
/// ```text
/// pending ──approve──► approved ──take──► applying ──► applied | failed
///    │                    │                  │
///    ├──reject──► rejected└──verify fails────┴──► stale ──(re-planned)──► superseded
///    └──(new plan for the table)──► superseded
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Waiting for a person (a change decided `queue` or `halt`).
    Pending,
    /// Approved (by a person, or by policy when every change is `apply`);
    /// the agent verifies the target fingerprint before applying.
    Approved,
    /// Taken by the agent; steps are running.
    Applying,
    /// Every step finished.
    Applied,
    /// A step failed; the reason is recorded.
    Failed,
    /// Rejected by a person: never applied.
    Rejected,
    /// Replaced by a newer plan for the same table (which carries its changes).
    Superseded,
    /// The target changed since the plan was made: refused, to be re-planned.
    Stale,
    /// Every change was decided `ignore`: recorded, nothing to run.
    Ignored,
}

impl PlanStatus {
    /// Every status.
    pub const ALL: [PlanStatus; 9] = [
        PlanStatus::Pending,
        PlanStatus::Approved,
        PlanStatus::Applying,
        PlanStatus::Applied,
        PlanStatus::Failed,
        PlanStatus::Rejected,
        PlanStatus::Superseded,
        PlanStatus::Stale,
        PlanStatus::Ignored,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Pending => "pending",
            PlanStatus::Approved => "approved",
            PlanStatus::Applying => "applying",
            PlanStatus::Applied => "applied",
            PlanStatus::Failed => "failed",
            PlanStatus::Rejected => "rejected",
            PlanStatus::Superseded => "superseded",
            PlanStatus::Stale => "stale",
            PlanStatus::Ignored => "ignored",
        }
    }

    /// The table's loader is held while a plan in this status exists.
    pub fn holds_gate(self) -> bool {
        matches!(
            self,
            PlanStatus::Pending | PlanStatus::Approved | PlanStatus::Applying | PlanStatus::Stale
        )
    }
}

impl fmt::Display for PlanStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PlanStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlanStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown plan status {s:?}"))
    }
}

/// A point in time, in milliseconds since the Unix epoch; shown and
/// serialised as RFC 3339 UTC (`2026-11-25T12:47:30.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From a wall-clock time (the edge reads the clock, not the store).
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => Timestamp(-i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// Milliseconds since the epoch.
    pub fn as_millis(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Howard Hinnant's days → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// What an approval checks the plan's `from_fingerprint` against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetCheck<'a> {
    /// The live target's fingerprint, just read (`None`: the table is missing).
    Current(Option<&'a str>),
    /// The fingerprint the agent last recorded for the target (see
    /// [`Store::record_target`](super::Store::record_target)); deferred when
    /// none is recorded. The agent verifies again before applying.
    LastSeen,
    /// No check now: "approved, to be verified" by the agent before applying.
    Deferred,
}

/// A change of a plan with its decision (the `decisions` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeRecord {
    /// `db.table/kind[/column]`.
    pub change_id: String,
    /// Change kind (`drop_column`, ...).
    pub kind: String,
    /// The column, where one applies.
    pub column: Option<String>,
    /// The verdict.
    pub decision: Verdict,
    /// Deciding rule code.
    pub rule: String,
    /// Deciding rule name.
    pub rule_name: String,
    /// Why.
    pub reason: String,
    /// Held for approval or halting.
    pub pending: bool,
    /// The SQL that carries it out.
    pub statements: Vec<String>,
    /// Where in the source stream the change was seen.
    pub source_position: Option<SourcePosition>,
}

/// An approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// Who.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Their comment.
    pub comment: Option<String>,
    /// `verified` (checked against the live target), `to_verify` (the agent
    /// checks before applying) or `policy` (every change decided `apply`).
    pub verification: String,
}

/// A rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Who.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why.
    pub reason: String,
}

/// A stored plan, as the desk and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanRecord {
    /// Its id.
    pub id: PlanId,
    /// The source table.
    pub source_table: TableId,
    /// The target table.
    pub target_table: TableId,
    /// Fingerprint of the target the plan was made for (`None`: table missing).
    pub from_fingerprint: Option<String>,
    /// Fingerprint of the target after the plan.
    pub to_fingerprint: Option<String>,
    /// Where it is.
    pub status: PlanStatus,
    /// Why it is there (stale, failed, superseded, ...).
    pub status_reason: Option<String>,
    /// The plan it replaced.
    pub supersedes: Option<PlanId>,
    /// The plan that replaced it.
    pub superseded_by: Option<PlanId>,
    /// When it was recorded.
    pub created_at: Timestamp,
    /// When its status last changed.
    pub updated_at: Timestamp,
    /// The changes with their decisions, in plan order.
    pub changes: Vec<ChangeRecord>,
    /// The approval, if any.
    pub approval: Option<Approval>,
    /// The rejection, if any.
    pub rejection: Option<Rejection>,
    /// The human plan (`ddlsync plan` text).
    pub text: String,
    /// The plan as JSON (the serialised `TablePlan`).
    pub plan: serde_json::Value,
}

impl PlanRecord {
    /// Changes held for approval or halting.
    pub fn pending_changes(&self) -> impl Iterator<Item = &ChangeRecord> {
        self.changes.iter().filter(|c| c.pending)
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// Started, not finished (after a crash: await its job, do not resubmit).
    Running,
    /// Done.
    Finished,
    /// Already done on the target: skipped.
    Skipped,
    /// Failed (see the detail).
    Failed,
}

impl StepOutcome {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::Running => "running",
            StepOutcome::Finished => "finished",
            StepOutcome::Skipped => "skipped",
            StepOutcome::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "finished" => StepOutcome::Finished,
            "skipped" => StepOutcome::Skipped,
            "failed" => StepOutcome::Failed,
            _ => StepOutcome::Running,
        }
    }
}

/// One executed step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    /// Its id.
    pub id: StepId,
    /// The plan.
    pub plan: PlanId,
    /// Index of the step in the plan.
    pub index: u32,
    /// The statement run.
    pub statement: String,
    /// StarRocks job id of the async ALTER, when one was submitted.
    pub job_id: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// How it ended.
    pub outcome: StepOutcome,
    /// Error or note.
    pub detail: Option<String>,
}

/// What the agent last saw of a source table (so a restart does not replay decisions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    /// The source table.
    pub table: TableId,
    /// Fingerprint of the last version seen.
    pub fingerprint: String,
    /// Where it was seen.
    pub position: SourcePosition,
    /// When it was recorded.
    pub updated_at: Timestamp,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// Who: a person, `agent` or `policy`.
    pub actor: String,
    /// What: `planned`, `superseded`, `approved`, `rejected`, `approval_refused`,
    /// `taken`, `stale`, `step_started`, `step_finished`, `applied`, `failed`.
    pub action: String,
    /// The plan.
    pub plan: Option<PlanId>,
    /// The target table.
    pub table: Option<TableId>,
    /// Details.
    pub detail: String,
}

/// Whether a table's loader may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "gate", rename_all = "snake_case")]
pub enum GateState {
    /// No open plan: load.
    Open,
    /// Held by an open plan (pending, approved, applying or stale).
    Held {
        /// The plan.
        plan: PlanId,
        /// Its status.
        status: PlanStatus,
    },
}

/// What is recorded with a plan besides the plan itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanContext {
    /// StarRocks version planned for (shown in the plan text).
    pub target_version: String,
    /// Where in the source stream the newest change was seen.
    pub position: Option<SourcePosition>,
}

/// Shortens a fingerprint for messages: `sha256:0123456789ab…`, or `(no table)`.
pub fn short_fingerprint(fp: Option<&str>) -> String {
    match fp {
        None => "(no table)".to_owned(),
        Some(f) if f.len() > 19 => format!("{}…", &f[..19]),
        Some(f) => f.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_as_rfc3339() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(1_795_999_650_123).to_string(),
            "2026-11-30T00:47:30.123Z"
        );
        assert_eq!(
            Timestamp(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn statuses_round_trip() {
        for st in PlanStatus::ALL {
            assert_eq!(st.as_str().parse::<PlanStatus>().unwrap(), st);
        }
    }
}
