//! What a run did: one [`StepReport`] per step, the [`Outcome`] of a run
//! and the [`Failure`] that stops one.

use std::time::Duration;

use crate::model::TableId;

use super::Error;

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResult {
    /// Statements were sent (`statements`), possibly starting a job.
    Applied {
        /// The job started or awaited, if any.
        job_id: Option<u64>,
    },
    /// Already done; nothing sent.
    Skipped {
        /// Why.
        reason: String,
        /// A job found running and awaited before deciding.
        awaited_job: Option<u64>,
    },
    /// A loader-gate marker (the caller holds the gate).
    Marker,
    /// Failed (the run stopped here); `statements` holds what was sent.
    Failed {
        /// The error, as text.
        error: String,
    },
    /// Cancelled while waiting for a job (which keeps running).
    Interrupted {
        /// The job.
        job_id: u64,
    },
}

/// The report of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// Index of the step.
    pub index: usize,
    /// Kind of step (`sql`, `wait_for_alter_job`, `rebuild`, ...).
    pub kind: &'static str,
    /// What happened.
    pub result: StepResult,
    /// The statements sent, as sent.
    pub statements: Vec<String>,
    /// Time the step took.
    pub elapsed: Duration,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// One report per step started, in order.
    pub reports: Vec<StepReport>,
    /// The run stopped early because of the cancellation token.
    pub cancelled: bool,
    /// A job left running when the run was cancelled.
    pub pending_job: Option<(TableId, u64)>,
}

impl Outcome {
    /// Whether no statement was sent.
    pub fn is_noop(&self) -> bool {
        self.reports.iter().all(|r| r.statements.is_empty())
    }
}

/// A failed run: what was done before, and the error of step `index`.
#[derive(Debug, thiserror::Error)]
#[error("step {index}: {error}")]
pub struct Failure {
    /// Steps done before the failure (the failed step included, with what it sent).
    pub outcome: Outcome,
    /// Index of the failed step.
    pub index: usize,
    /// The error.
    #[source]
    pub error: Error,
}
