//! Progress reporting of the executor: [`StepEvent`]s delivered to a
//! [`StepObserver`], so that the store can record applied steps with their
//! StarRocks job ids and the metrics can observe ALTER job durations.

use std::sync::Mutex;
use std::time::Duration;

use crate::model::TableId;
use crate::plan::Step;
use crate::starrocks::AlterJob;

use super::Error;

/// Something that happened to one step of a run.
#[derive(Debug)]
pub enum StepEvent<'a> {
    /// The step starts (after the previous one finished).
    Started {
        /// Index of the step in the run's list.
        index: usize,
        /// The step.
        step: &'a Step,
    },
    /// The step's effect was already there; nothing was sent.
    Skipped {
        /// Index of the step.
        index: usize,
        /// The step.
        step: &'a Step,
        /// Why it was skipped.
        reason: &'a str,
        /// A job found running on the table and awaited before deciding.
        awaited_job: Option<u64>,
    },
    /// A statement was accepted by StarRocks.
    Submitted {
        /// Index of the step.
        index: usize,
        /// The step.
        step: &'a Step,
        /// The statement as sent.
        statement: &'a str,
        /// The schema-change job it started, if any.
        job_id: Option<u64>,
    },
    /// A schema-change job reached a terminal state while the executor waited.
    JobDone {
        /// Index of the step.
        index: usize,
        /// The table of the job.
        table: &'a TableId,
        /// The job as `SHOW ALTER TABLE COLUMN` listed it last.
        job: &'a AlterJob,
        /// How long the executor waited for it.
        waited: Duration,
    },
    /// The step is done.
    Finished {
        /// Index of the step.
        index: usize,
        /// The step.
        step: &'a Step,
        /// Time from start to end of the step.
        elapsed: Duration,
        /// The schema-change job it started or awaited, if any.
        job_id: Option<u64>,
    },
    /// The step failed; the run stops.
    Failed {
        /// Index of the step.
        index: usize,
        /// The step.
        step: &'a Step,
        /// Time from start to failure.
        elapsed: Duration,
        /// What went wrong.
        error: &'a Error,
    },
}

impl StepEvent<'_> {
    /// Short name of the event (`started`, `skipped`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            StepEvent::Started { .. } => "started",
            StepEvent::Skipped { .. } => "skipped",
            StepEvent::Submitted { .. } => "submitted",
            StepEvent::JobDone { .. } => "job_done",
            StepEvent::Finished { .. } => "finished",
            StepEvent::Failed { .. } => "failed",
        }
    }
}

/// Receives the events of a run (called inline: keep it quick).
pub trait StepObserver: Send + Sync {
    /// One event of the run on `table` (the run's target table).
    fn on_event(&self, table: &TableId, event: &StepEvent<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl StepObserver for NoopObserver {
    fn on_event(&self, _table: &TableId, _event: &StepEvent<'_>) {}
}

/// An observer that keeps one line per event (`index name detail`), for
/// tests and diagnostics.
#[derive(Debug, Default)]
pub struct RecordingObserver {
    lines: Mutex<Vec<String>>,
}

impl RecordingObserver {
    /// The lines recorded so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl StepObserver for RecordingObserver {
    fn on_event(&self, _table: &TableId, event: &StepEvent<'_>) {
        let line = match event {
            StepEvent::Started { index, step } => {
                format!("{index} started {}", super::step_kind(step))
            }
            StepEvent::Skipped {
                index,
                reason,
                awaited_job,
                ..
            } => format!("{index} skipped {reason} (awaited job {awaited_job:?})"),
            StepEvent::Submitted {
                index,
                statement,
                job_id,
                ..
            } => format!("{index} submitted {statement} (job {job_id:?})"),
            StepEvent::JobDone { index, job, .. } => {
                format!("{index} job_done {} {}", job.job_id, job.state)
            }
            StepEvent::Finished { index, job_id, .. } => {
                format!("{index} finished (job {job_id:?})")
            }
            StepEvent::Failed { index, error, .. } => format!("{index} failed {error}"),
        };
        if let Ok(mut l) = self.lines.lock() {
            l.push(line);
        }
    }
}
