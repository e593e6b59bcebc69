//! The executor: runs one table's plan steps (a [`TablePlan`]'s `steps`, or a
//! queued change's steps after approval) against StarRocks, idempotently.
//!
//! Before each step it awaits any schema-change job still running on the
//! table (instead of submitting a second ALTER), re-reads the target
//! (introspection of the table, its shadow and the views involved) and skips
//! what is already there (see [`decide`]); a partly done ALTER is reduced to
//! its missing clauses. Job-starting ALTERs are followed by polling `SHOW
//! ALTER TABLE COLUMN` until FINISHED (CANCELLED is an error carrying
//! StarRocks' `Msg`). Busy refusals and connection errors are retried with
//! exponential backoff, re-deciding the step each time. A shadow rebuild
//! checks that the shadow holds as many rows as the table before swapping.
//!
//! Loader gates (`HoldGate`/`ReleaseGate`) are markers here: the caller holds
//! the table's loader for the whole run. Progress goes to a
//! [`StepObserver`], and one log line is written per step.
//!
//! Cancellation (a `CancellationToken`) is honoured between steps and while
//! waiting for a job; a statement StarRocks accepted is never cancelled, and
//! the job being awaited is reported in [`Outcome::pending_job`].

pub mod decide;
mod error;
mod observer;
mod outcome;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::ddl::Statement;
use crate::model::TableId;
use crate::plan::{Step, TablePlan};
use crate::starrocks::{self, jobs, AlterJob, Client, JobState};

pub use decide::Decision;
pub use error::Error;
pub use observer::{NoopObserver, RecordingObserver, StepEvent, StepObserver};
pub use outcome::{Failure, Outcome, StepReport, StepResult};

/// Knobs of the executor.
#[derive(Debug, Clone)]
pub struct Options {
    /// Interval between two `SHOW ALTER TABLE COLUMN` polls.
    pub poll_interval: Duration,
    /// How long to wait for one schema-change job.
    pub job_timeout: Duration,
    /// First pause after a busy refusal or a connection error.
    pub retry_initial: Duration,
    /// Longest pause between retries.
    pub retry_max: Duration,
    /// Total time retries of one step may take.
    pub retry_budget: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            job_timeout: Duration::from_secs(6 * 3600),
            retry_initial: Duration::from_millis(200),
            retry_max: Duration::from_secs(10),
            retry_budget: Duration::from_secs(600),
        }
    }
}

/// Short name of a step kind.
pub fn step_kind(step: &Step) -> &'static str {
    match step {
        Step::HoldGate { .. } => "hold_gate",
        Step::Sql { .. } => "sql",
        Step::WaitForAlterJob { .. } => "wait_for_alter_job",
        Step::ReactivateMv { .. } => "reactivate_mv",
        Step::RebuildMv { .. } => "rebuild_mv",
        Step::Rebuild { .. } => "rebuild",
        Step::ReleaseGate { .. } => "release_gate",
    }
}

/// Runs plan steps against one StarRocks.
#[derive(Debug, Clone)]
pub struct Executor {
    client: Client,
    options: Options,
}

/// State of one run.
struct Run<'a> {
    target: &'a TableId,
    observer: &'a dyn StepObserver,
    cancel: &'a CancellationToken,
    /// Jobs submitted in this run and not yet awaited, by table.
    submitted: BTreeMap<TableId, u64>,
}

/// Internal end of a step.
enum Ended {
    Done(StepResult, Vec<String>),
    Interrupted(TableId, u64, Vec<String>),
}

impl Executor {
    /// An executor over `client`.
    pub fn new(client: Client, options: Options) -> Self {
        Self { client, options }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs the steps that run now of a table plan.
    pub async fn run_plan(
        &self,
        plan: &TablePlan,
        observer: &dyn StepObserver,
        cancel: &CancellationToken,
    ) -> Result<Outcome, Failure> {
        self.run(&plan.target_table, &plan.steps, observer, cancel)
            .await
    }

    /// Runs `steps` for `target` in order (see the module docs).
    pub async fn run(
        &self,
        target: &TableId,
        steps: &[Step],
        observer: &dyn StepObserver,
        cancel: &CancellationToken,
    ) -> Result<Outcome, Failure> {
        let mut run = Run {
            target,
            observer,
            cancel,
            submitted: BTreeMap::new(),
        };
        let mut outcome = Outcome::default();
        for (index, step) in steps.iter().enumerate() {
            if cancel.is_cancelled() {
                tracing::info!(table = %target, step = index, "Run cancelled between steps.");
                outcome.cancelled = true;
                return Ok(outcome);
            }
            observer.on_event(target, &StepEvent::Started { index, step });
            let started = Instant::now();
            let mut sent = Vec::new();
            let result = self.step(&mut run, index, step, &mut sent).await;
            let elapsed = started.elapsed();
            let kind = step_kind(step);
            match result {
                Ok(Ended::Done(result, statements)) => {
                    let job_id = match &result {
                        StepResult::Applied { job_id } => *job_id,
                        StepResult::Skipped { awaited_job, .. } => *awaited_job,
                        _ => None,
                    };
                    match &result {
                        StepResult::Skipped {
                            reason,
                            awaited_job,
                        } => {
                            tracing::info!(table = %target, step = index, kind, reason = %reason, job_id = ?awaited_job, "Step skipped: already done.");
                            observer.on_event(
                                target,
                                &StepEvent::Skipped {
                                    index,
                                    step,
                                    reason,
                                    awaited_job: *awaited_job,
                                },
                            );
                        }
                        StepResult::Applied { .. } => {
                            tracing::info!(table = %target, step = index, kind, statement = %statements.join("; "), job_id = ?job_id, elapsed_ms = elapsed.as_millis() as u64, "Step applied.");
                        }
                        _ => {}
                    }
                    observer.on_event(
                        target,
                        &StepEvent::Finished {
                            index,
                            step,
                            elapsed,
                            job_id,
                        },
                    );
                    outcome.reports.push(StepReport {
                        index,
                        kind,
                        result,
                        statements,
                        elapsed,
                    });
                }
                Ok(Ended::Interrupted(table, job_id, statements)) => {
                    tracing::info!(table = %target, step = index, kind, job_id, "Run cancelled while a schema-change job runs; the job is left running.");
                    outcome.reports.push(StepReport {
                        index,
                        kind,
                        result: StepResult::Interrupted { job_id },
                        statements,
                        elapsed,
                    });
                    outcome.cancelled = true;
                    outcome.pending_job = Some((table, job_id));
                    return Ok(outcome);
                }
                Err(error) => {
                    tracing::warn!(table = %target, step = index, kind, statement = %sent.join("; "), error = %error, "Step failed.");
                    observer.on_event(
                        target,
                        &StepEvent::Failed {
                            index,
                            step,
                            elapsed,
                            error: &error,
                        },
                    );
                    outcome.reports.push(StepReport {
                        index,
                        kind,
                        result: StepResult::Failed {
                            error: error.to_string(),
                        },
                        statements: sent,
                        elapsed,
                    });
                    return Err(Failure {
                        outcome,
                        index,
                        error,
                    });
                }
            }
        }
        Ok(outcome)
    }

    async fn step(
        &self,
        run: &mut Run<'_>,
        index: usize,
        step: &Step,
        sent: &mut Vec<String>,
    ) -> Result<Ended, Error> {
        match step {
            Step::HoldGate { .. } | Step::ReleaseGate { .. } => {
                Ok(Ended::Done(StepResult::Marker, Vec::new()))
            }
            Step::WaitForAlterJob { table } => {
                let job_id = match run.submitted.remove(table) {
                    Some(id) => Some(id),
                    None => {
                        let jobs = self.retrying(|| self.client.alter_jobs(table)).await?;
                        jobs::active_job(&jobs).map(|j| j.job_id)
                    }
                };
                let Some(job_id) = job_id else {
                    return Ok(Ended::Done(
                        StepResult::Skipped {
                            reason: format!("no schema-change job of {table} to wait for"),
                            awaited_job: None,
                        },
                        Vec::new(),
                    ));
                };
                let Some(job) = self.await_job(run, index, table, job_id).await? else {
                    return Ok(Ended::Interrupted(table.clone(), job_id, Vec::new()));
                };
                if job.state == JobState::Cancelled {
                    return Err(Error::JobCancelled {
                        table: table.clone(),
                        job_id,
                        msg: job.msg,
                    });
                }
                Ok(Ended::Done(
                    StepResult::Applied {
                        job_id: Some(job_id),
                    },
                    Vec::new(),
                ))
            }
            _ => self.statement_step(run, index, step, sent).await,
        }
    }

    /// Awaits, re-reads, decides and submits, retrying retriable errors.
    async fn statement_step(
        &self,
        run: &mut Run<'_>,
        index: usize,
        step: &Step,
        sent: &mut Vec<String>,
    ) -> Result<Ended, Error> {
        let mut tables = decide::step_tables(step);
        if !tables.contains(run.target) {
            tables.push(run.target.clone());
        }
        let view_dbs = decide::step_view_databases(step);
        let started = Instant::now();
        let mut pause = self.options.retry_initial;
        let mut awaited = None;
        loop {
            let attempt = self
                .attempt(run, index, step, &tables, &view_dbs, &mut awaited, sent)
                .await;
            match attempt {
                Err(Error::StarRocks(e))
                    if e.is_retriable() && started.elapsed() < self.options.retry_budget =>
                {
                    tracing::info!(table = %run.target, step = index, error = %e, pause_ms = pause.as_millis() as u64, "StarRocks is busy or unreachable; retrying the step.");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(self.options.retry_max);
                }
                other => return other,
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        run: &mut Run<'_>,
        index: usize,
        step: &Step,
        tables: &[TableId],
        view_dbs: &[String],
        awaited: &mut Option<u64>,
        sent: &mut Vec<String>,
    ) -> Result<Ended, Error> {
        // 1. A job still running on a table of the step is awaited, never doubled.
        for table in tables {
            let jobs = self.client.alter_jobs(table).await?;
            if let Some(job) = jobs::active_job(&jobs) {
                let job_id = job.job_id;
                tracing::info!(table = %table, step = index, job_id, state = %job.state, "Awaiting a schema-change job already running.");
                let Some(done) = self.await_job(run, index, table, job_id).await? else {
                    return Ok(Ended::Interrupted(table.clone(), job_id, Vec::new()));
                };
                if run.submitted.get(table) == Some(&job_id) {
                    run.submitted.remove(table);
                    if done.state == JobState::Cancelled {
                        return Err(Error::JobCancelled {
                            table: table.clone(),
                            job_id,
                            msg: done.msg,
                        });
                    }
                } else if done.state == JobState::Cancelled {
                    tracing::warn!(table = %table, job_id, msg = %done.msg, "A schema-change job found running ended CANCELLED.");
                }
                *awaited = Some(job_id);
            }
        }
        // 2. Re-read the target and decide.
        let catalog = self.client.introspect_with_views(tables, view_dbs).await?;
        let statements = match decide::decide(step, &catalog) {
            Decision::Skip(reason) => {
                return Ok(Ended::Done(
                    StepResult::Skipped {
                        reason,
                        awaited_job: *awaited,
                    },
                    Vec::new(),
                ))
            }
            Decision::NotApplicable => Vec::new(),
            Decision::Run(statements) => statements,
        };
        // 3. Submit, on one connection (USE + CREATE MATERIALIZED VIEW share it).
        let mut session = self.client.session().await?;
        let mut job_id = None;
        let mut texts = Vec::new();
        for statement in &statements {
            let text = statement.to_string();
            let before = if statement.starts_job() {
                Some(session.alter_jobs(&job_table(statement)).await?)
            } else {
                None
            };
            if let Statement::SwapWith { table, with } = statement {
                self.check_rows(&mut session, table, with).await?;
            }
            session.execute(&text).await?;
            sent.push(text.clone());
            texts.push(text.clone());
            let mut this_job = None;
            if let Some(before) = before {
                let table = job_table(statement);
                let after = session.alter_jobs(&table).await?;
                if let Some(j) = jobs::new_job(&before, &after) {
                    this_job = Some(j.job_id);
                    job_id = Some(j.job_id);
                    run.submitted.insert(table, j.job_id);
                }
            }
            run.observer.on_event(
                run.target,
                &StepEvent::Submitted {
                    index,
                    step,
                    statement: &text,
                    job_id: this_job,
                },
            );
            // A job-starting statement not followed by a wait step is awaited here.
            let waits = matches!(
                step,
                Step::Sql {
                    waits_for_job: true,
                    ..
                }
            );
            if let (Some(id), false) = (this_job, waits) {
                let table = job_table(statement);
                run.submitted.remove(&table);
                let Some(done) = self.await_job(run, index, &table, id).await? else {
                    return Ok(Ended::Interrupted(table, id, texts));
                };
                if done.state == JobState::Cancelled {
                    return Err(Error::JobCancelled {
                        table,
                        job_id: id,
                        msg: done.msg,
                    });
                }
            }
        }
        Ok(Ended::Done(StepResult::Applied { job_id }, texts))
    }

    /// Before a swap: the shadow must hold as many rows as the table.
    async fn check_rows(
        &self,
        session: &mut starrocks::Session,
        table: &TableId,
        with: &str,
    ) -> Result<(), Error> {
        let shadow = TableId::new(table.database.clone(), with);
        let table_rows = session.count_rows(table).await?;
        let shadow_rows = session.count_rows(&shadow).await?;
        if table_rows != shadow_rows {
            return Err(Error::RowCountMismatch {
                table: table.clone(),
                shadow,
                table_rows,
                shadow_rows,
            });
        }
        Ok(())
    }

    /// Polls until the job is FINISHED or CANCELLED; `None` when cancelled first.
    async fn await_job(
        &self,
        run: &Run<'_>,
        index: usize,
        table: &TableId,
        job_id: u64,
    ) -> Result<Option<AlterJob>, Error> {
        let started = Instant::now();
        loop {
            let jobs = self.retrying(|| self.client.alter_jobs(table)).await?;
            let job = jobs
                .into_iter()
                .find(|j| j.job_id == job_id)
                .ok_or_else(|| Error::JobMissing {
                    table: table.clone(),
                    job_id,
                })?;
            if job.state.is_terminal() {
                let waited = started.elapsed();
                tracing::info!(table = %table, job_id, state = %job.state, waited_ms = waited.as_millis() as u64, "Schema-change job done.");
                run.observer.on_event(
                    run.target,
                    &StepEvent::JobDone {
                        index,
                        table,
                        job: &job,
                        waited,
                    },
                );
                return Ok(Some(job));
            }
            if started.elapsed() >= self.options.job_timeout {
                return Err(Error::JobTimeout {
                    table: table.clone(),
                    job_id,
                    state: job.state,
                    waited: started.elapsed(),
                });
            }
            tokio::select! {
                () = run.cancel.cancelled() => return Ok(None),
                () = tokio::time::sleep(self.options.poll_interval) => {}
            }
        }
    }

    /// Retries a read-only call on retriable errors within the retry budget.
    async fn retrying<T, F, Fut>(&self, mut call: F) -> Result<T, starrocks::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, starrocks::Error>>,
    {
        let started = Instant::now();
        let mut pause = self.options.retry_initial;
        loop {
            match call().await {
                Err(e) if e.is_retriable() && started.elapsed() < self.options.retry_budget => {
                    tracing::debug!(error = %e, "Retrying a StarRocks read.");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(self.options.retry_max);
                }
                other => return other,
            }
        }
    }
}

/// The table whose job a job-starting statement creates.
fn job_table(statement: &Statement) -> TableId {
    match statement {
        Statement::AlterTable(a) => a.table.clone(),
        _ => TableId::new("", ""),
    }
}
