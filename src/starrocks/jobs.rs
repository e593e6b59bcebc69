//! Schema-change jobs as `SHOW ALTER TABLE COLUMN` lists them
//! (starrocks-facts §1.8): [`AlterJob`] and its [`JobState`]. Pure.

use std::fmt;

use serde::Serialize;

/// State of an asynchronous schema-change job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    /// Waiting to start.
    Pending,
    /// Waiting for earlier load transactions.
    WaitingTxn,
    /// Converting data.
    Running,
    /// Shared-data clusters: rewriting done, publishing.
    FinishedRewriting,
    /// Done: the new schema is visible.
    Finished,
    /// Failed or cancelled (`Msg` says why).
    Cancelled,
    /// A state this version of ddlsync does not know, verbatim.
    Other(String),
}

impl JobState {
    /// Reads StarRocks' state name.
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_uppercase().as_str() {
            "PENDING" => JobState::Pending,
            "WAITING_TXN" => JobState::WaitingTxn,
            "RUNNING" => JobState::Running,
            "FINISHED_REWRITING" => JobState::FinishedRewriting,
            "FINISHED" => JobState::Finished,
            "CANCELLED" => JobState::Cancelled,
            _ => JobState::Other(text.trim().to_string()),
        }
    }

    /// FINISHED or CANCELLED (the only terminal states).
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobState::Finished | JobState::Cancelled)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobState::Pending => "PENDING",
            JobState::WaitingTxn => "WAITING_TXN",
            JobState::Running => "RUNNING",
            JobState::FinishedRewriting => "FINISHED_REWRITING",
            JobState::Finished => "FINISHED",
            JobState::Cancelled => "CANCELLED",
            JobState::Other(s) => s,
        })
    }
}

/// One row of `SHOW ALTER TABLE COLUMN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlterJob {
    /// `JobId`.
    pub job_id: u64,
    /// `TableName`.
    pub table_name: String,
    /// `State`.
    pub state: JobState,
    /// `Msg` (why a job was cancelled; empty otherwise).
    pub msg: String,
    /// `CreateTime` as StarRocks prints it.
    pub create_time: String,
    /// `FinishTime` (`None` while running).
    pub finish_time: Option<String>,
}

impl AlterJob {
    /// Whether the job still runs (any non-terminal state).
    pub fn is_active(&self) -> bool {
        !self.state.is_terminal()
    }
}

/// The newest job still running among `jobs` (listed newest first or in any order).
pub fn active_job(jobs: &[AlterJob]) -> Option<&AlterJob> {
    jobs.iter()
        .filter(|j| j.is_active())
        .max_by_key(|j| j.job_id)
}

/// The newest job of `after` whose id is not in `before`: the job a statement
/// just submitted (a table has at most one running schema-change job).
pub fn new_job<'a>(before: &[AlterJob], after: &'a [AlterJob]) -> Option<&'a AlterJob> {
    after
        .iter()
        .filter(|j| !before.iter().any(|b| b.job_id == j.job_id))
        .max_by_key(|j| j.job_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64, state: &str) -> AlterJob {
        AlterJob {
            job_id: id,
            table_name: "t".into(),
            state: JobState::parse(state),
            msg: String::new(),
            create_time: "2026-01-01 00:00:00".into(),
            finish_time: None,
        }
    }

    #[test]
    fn states_parse_and_only_two_are_terminal() {
        assert_eq!(JobState::parse("WAITING_TXN"), JobState::WaitingTxn);
        assert!(JobState::parse("FINISHED").is_terminal());
        assert!(JobState::parse("cancelled").is_terminal());
        assert!(!JobState::parse("FINISHED_REWRITING").is_terminal());
        assert!(!JobState::parse("SOMETHING_NEW").is_terminal());
        assert_eq!(
            JobState::parse("SOMETHING_NEW").to_string(),
            "SOMETHING_NEW"
        );
    }

    #[test]
    fn active_and_new_jobs() {
        let before = vec![job(1, "FINISHED"), job(2, "CANCELLED")];
        assert!(active_job(&before).is_none());
        let after = vec![job(3, "RUNNING"), job(1, "FINISHED"), job(2, "CANCELLED")];
        assert_eq!(active_job(&after).map(|j| j.job_id), Some(3));
        assert_eq!(new_job(&before, &after).map(|j| j.job_id), Some(3));
        assert!(new_job(&after, &after).is_none());
    }
}
