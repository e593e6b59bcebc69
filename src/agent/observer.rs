//! The agent's [`StepObserver`]: every step of an applied plan is written to
//! the store (statement, StarRocks job id, outcome), logged with its table,
//! statement and job id, and ALTER job durations go to the metrics.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::executor::{step_kind, StepEvent, StepObserver};
use crate::metrics::{FailureCause, Metrics};
use crate::model::TableId;
use crate::store::{PlanId, StepId, StepOutcome, Store};

/// Records the steps of one plan.
pub(crate) struct StoreObserver {
    pub(crate) store: Arc<Store>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) plan: PlanId,
    /// Kafka timestamp of the newest source event behind the plan (ms).
    pub(crate) event_ts_ms: Option<i64>,
    current: Mutex<Option<(StepId, bool)>>,
    first_submit: Mutex<Option<Duration>>,
}

impl StoreObserver {
    pub(crate) fn new(
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        plan: PlanId,
        event_ts_ms: Option<i64>,
    ) -> Self {
        StoreObserver {
            store,
            metrics,
            plan,
            event_ts_ms,
            current: Mutex::new(None),
            first_submit: Mutex::new(None),
        }
    }

    /// Time from the source event in Kafka to the first statement accepted.
    pub(crate) fn event_to_submit(&self) -> Option<Duration> {
        *self.first_submit.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn step(&self) -> Option<StepId> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|(s, _)| s)
    }

    /// The current step unless it was closed as skipped.
    fn open_step(&self) -> Option<StepId> {
        match *self.current.lock().unwrap_or_else(|e| e.into_inner()) {
            Some((s, false)) => Some(s),
            _ => None,
        }
    }

    fn store_err(&self, what: &str, e: &crate::store::Error) {
        tracing::error!(plan = %self.plan, error = %e, "Cannot record {what} in the store.");
        self.metrics.record_failure(FailureCause::Store);
    }
}

fn since_epoch_ms(ts_ms: i64) -> Option<Duration> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_millis() as i64;
    (now >= ts_ms).then(|| Duration::from_millis((now - ts_ms) as u64))
}

impl StepObserver for StoreObserver {
    fn on_event(&self, table: &TableId, event: &StepEvent<'_>) {
        let now = SystemTime::now();
        match event {
            StepEvent::Started { index, step } => {
                let statement = step
                    .statements()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(";\n");
                let text = if statement.is_empty() {
                    step_kind(step).to_owned()
                } else {
                    statement
                };
                match self.store.start_step(self.plan, *index as u32, &text, now) {
                    Ok(id) => {
                        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((id, false))
                    }
                    Err(e) => self.store_err("a started step", &e),
                }
            }
            StepEvent::Submitted {
                index,
                statement,
                job_id,
                ..
            } => {
                let mut first = self.first_submit.lock().unwrap_or_else(|e| e.into_inner());
                if first.is_none() {
                    *first = self.event_ts_ms.and_then(since_epoch_ms);
                }
                tracing::info!(
                    table = %table,
                    plan = %self.plan,
                    step = index,
                    statement = %statement,
                    job_id = ?job_id,
                    event_to_submit_ms = first.map(|d| d.as_millis() as u64),
                    "Statement submitted."
                );
                if let (Some(step), Some(job)) = (self.step(), job_id) {
                    if let Err(e) = self.store.set_step_job(step, &job.to_string()) {
                        self.store_err("a job id", &e);
                    }
                }
            }
            StepEvent::JobDone {
                table: job_table,
                job,
                waited,
                ..
            } => {
                tracing::info!(table = %job_table, job_id = job.job_id, state = %job.state, waited_ms = waited.as_millis() as u64, msg = %job.msg, "Schema-change job ended.");
                self.metrics.observe_alter_job(*waited);
                if let Some(step) = self.step() {
                    if let Err(e) = self.store.set_step_job(step, &job.job_id.to_string()) {
                        self.store_err("a job id", &e);
                    }
                }
            }
            StepEvent::Skipped {
                index,
                reason,
                awaited_job,
                ..
            } => {
                tracing::info!(table = %table, plan = %self.plan, step = index, reason = %reason, awaited_job = ?awaited_job, "Step already done; skipped.");
                if let Some(step) = self.step() {
                    if let Err(e) =
                        self.store
                            .finish_step(step, StepOutcome::Skipped, Some(reason), now)
                    {
                        self.store_err("a skipped step", &e);
                    }
                    *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((step, true));
                }
            }
            StepEvent::Finished {
                index,
                elapsed,
                job_id,
                ..
            } => {
                tracing::info!(table = %table, plan = %self.plan, step = index, elapsed_ms = elapsed.as_millis() as u64, job_id = ?job_id, "Step finished.");
                if let Some(step) = self.open_step() {
                    if let Err(e) = self
                        .store
                        .finish_step(step, StepOutcome::Finished, None, now)
                    {
                        self.store_err("a finished step", &e);
                    }
                }
            }
            StepEvent::Failed {
                index, error, step, ..
            } => {
                tracing::error!(table = %table, plan = %self.plan, step = index, kind = step_kind(step), error = %error, "Step failed.");
                if let Some(step) = self.step() {
                    let detail = error.to_string();
                    if let Err(e) =
                        self.store
                            .finish_step(step, StepOutcome::Failed, Some(&detail), now)
                    {
                        self.store_err("a failed step", &e);
                    }
                }
            }
        }
    }
}
