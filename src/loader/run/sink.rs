//! Loading one sealed batch into StarRocks until it is durable: Stream Load
//! with the batch's deterministic label, retried with backoff (same label)
//! on connection errors, 5xx and non-data failures for as long as it takes;
//! a batch StarRocks rejects for its data is loaded again record by record
//! (each with its own deterministic label) so that every good row loads and
//! each bad record goes to the quarantine topic with the error log as reason.
//!
//! Nothing here decides offsets: the job reports [`Done`] and the runtime
//! unpins the batch's first offset.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use super::quarantine::{Entry, Quarantine};
use crate::loader::batch::Sealed;
use crate::loader::label::{make_label, LabelParts};
use crate::loader::retry::{Backoff, Outcome, RetryReason};
use crate::loader::stream_load::{Client, LoadRequest};
use crate::metrics::{BatchResult, LoadTarget, Metrics, QuarantineReason, RetryCause};
use crate::model::TableId;

/// One sealed batch to load.
#[derive(Debug, Clone)]
pub struct Job {
    /// Runtime id.
    pub id: u64,
    /// The partition's assignment generation when the batch was sealed.
    pub generation: u64,
    /// Target table.
    pub target: TableId,
    /// Mirror or raw.
    pub kind: LoadTarget,
    /// The batch.
    pub sealed: Sealed,
    /// `columns` header (mirror: the row columns and `__op`).
    pub columns: Option<Vec<String>>,
    /// Partial update (rows without their unchanged TOASTed columns).
    pub partial: bool,
    /// `(offset, rows)` of every record in the batch, in order.
    pub records: Vec<(i64, u32)>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Every row is durable or its record quarantined.
    Durable {
        /// Rows loaded by this job (0 when an earlier attempt had).
        rows: u64,
        /// Records quarantined.
        quarantined: u64,
        /// How.
        result: BatchResult,
    },
    /// Given up at shutdown: not durable, not to be committed.
    Abandoned,
}

/// A finished job.
#[derive(Debug, Clone)]
pub struct Done {
    /// Runtime id.
    pub id: u64,
    /// Assignment generation.
    pub generation: u64,
    /// Target table.
    pub target: TableId,
    /// Mirror or raw.
    pub kind: LoadTarget,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// First offset (the pin to release).
    pub first_offset: i64,
    /// Last offset.
    pub last_offset: i64,
    /// The result.
    pub ended: Ended,
}

/// What loads batches.
#[derive(Debug)]
pub struct Sink {
    /// Stream Load client.
    pub client: Client,
    /// Dead-letter topic.
    pub quarantine: Quarantine,
    /// Backoff between attempts (never gives up).
    pub backoff: Backoff,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Fired when in-flight loads must stop (after the drain grace period).
    pub abort: CancellationToken,
}

enum Final {
    Durable {
        rows: u64,
        already: bool,
    },
    Rejected {
        error_url: Option<String>,
        message: String,
    },
    Aborted,
}

fn jitter(attempt: u32) -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl Sink {
    async fn until_final(&self, req: &LoadRequest<'_>, topic: &str, partition: i32) -> Final {
        let mut attempt = 0u32;
        loop {
            if self.abort.is_cancelled() {
                return Final::Aborted;
            }
            let t0 = Instant::now();
            let a = tokio::select! {
                a = self.client.load(req) => a,
                () = self.abort.cancelled() => return Final::Aborted,
            };
            self.metrics.observe_stream_load(t0.elapsed());
            let (cause, detail) = match a {
                Ok(a) => match a.outcome {
                    Outcome::Loaded { rows, .. } => {
                        return Final::Durable {
                            rows,
                            already: false,
                        }
                    }
                    Outcome::AlreadyLoaded { status } => {
                        tracing::info!(table = req.table, label = req.label, topic, partition, %status,
                            "batch was loaded by an earlier attempt");
                        return Final::Durable {
                            rows: 0,
                            already: true,
                        };
                    }
                    Outcome::Filtered {
                        committed: true,
                        loaded,
                        filtered,
                        message,
                        ..
                    } => {
                        // Only possible with a max_filter_ratio, which the loader never sets.
                        tracing::error!(table = req.table, label = req.label, topic, partition, loaded, filtered,
                            %message, "rows were filtered although no filter ratio was allowed");
                        return Final::Durable {
                            rows: loaded,
                            already: false,
                        };
                    }
                    Outcome::Filtered {
                        committed: false,
                        error_url,
                        message,
                        ..
                    } => return Final::Rejected { error_url, message },
                    Outcome::Retry { reason, detail } => (
                        match reason {
                            RetryReason::Connection => RetryCause::Connection,
                            RetryReason::ServerError(_) => RetryCause::ServerError,
                            _ => RetryCause::LoadFailed,
                        },
                        detail,
                    ),
                    Outcome::Fatal { reason } => (RetryCause::Fatal, reason),
                },
                Err(e) => (RetryCause::Fatal, e.to_string()),
            };
            self.metrics.record_load_retry(cause);
            let delay = if cause == RetryCause::Fatal {
                tracing::error!(table = req.table, label = req.label, topic, partition, attempt, %detail,
                    "stream load refused; retrying slowly until someone fixes it");
                self.backoff.max
            } else {
                tracing::warn!(table = req.table, label = req.label, topic, partition, attempt, cause = cause.as_str(),
                    %detail, "stream load failed, retrying with the same label");
                self.backoff.delay(attempt, jitter(attempt))
            };
            attempt = attempt.saturating_add(1);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.abort.cancelled() => return Final::Aborted,
            }
        }
    }

    /// Loads `job` until its rows are durable (or quarantined), or abort.
    pub async fn run(self: Arc<Self>, job: Job) -> Done {
        let ended = self.load(&job).await;
        let s = &job.sealed;
        Done {
            id: job.id,
            generation: job.generation,
            target: job.target,
            kind: job.kind,
            topic: s.topic.clone(),
            partition: s.partition,
            first_offset: s.first_offset,
            last_offset: s.last_offset,
            ended,
        }
    }

    async fn load(&self, job: &Job) -> Ended {
        let s = &job.sealed;
        if s.rows == 0 {
            return Ended::Durable {
                rows: 0,
                quarantined: 0,
                result: BatchResult::Loaded,
            };
        }
        let label = s.label();
        let req = LoadRequest {
            db: &job.target.database,
            table: &job.target.table,
            label: &label,
            columns: job.columns.as_deref(),
            partial_update: job.partial,
            max_filter_ratio: None,
            body: s.body.clone(),
        };
        let t = job.target.to_string();
        match self.until_final(&req, &s.topic, s.partition).await {
            Final::Aborted => Ended::Abandoned,
            Final::Durable { rows, already } => {
                tracing::debug!(table = %t, label = %label, topic = %s.topic, partition = s.partition,
                    first = s.first_offset, last = s.last_offset, rows, already, "batch durable");
                Ended::Durable {
                    rows,
                    quarantined: 0,
                    result: if already {
                        BatchResult::AlreadyLoaded
                    } else {
                        BatchResult::Loaded
                    },
                }
            }
            Final::Rejected { error_url, message } => {
                tracing::warn!(table = %t, label = %label, topic = %s.topic, partition = s.partition,
                    first = s.first_offset, last = s.last_offset, %message, error_url = ?error_url,
                    "batch rejected for its data; loading it record by record");
                self.split(job).await
            }
        }
    }

    /// Loads each record's rows alone; quarantines the records StarRocks rejects.
    async fn split(&self, job: &Job) -> Ended {
        let s = &job.sealed;
        let rows: Vec<Box<RawValue>> = match serde_json::from_slice(&s.body) {
            Ok(r) => r,
            Err(e) => {
                // The body was built by Batch from serialized rows: cannot happen.
                tracing::error!(table = %job.target, error = %e, "batch body is not a JSON array");
                return Ended::Abandoned;
            }
        };
        let split_version = format!("{}#record", s.fingerprint);
        let (mut loaded, mut quarantined, mut idx) = (0u64, 0u64, 0usize);
        for &(offset, n) in &job.records {
            let n = n as usize;
            let Some(slice) = rows.get(idx..idx + n) else {
                tracing::error!(table = %job.target, offset, "batch rows and records disagree");
                return Ended::Abandoned;
            };
            idx += n;
            if n == 0 {
                continue;
            }
            let mut body =
                Vec::with_capacity(slice.iter().map(|r| r.get().len() + 1).sum::<usize>() + 2);
            body.push(b'[');
            for (i, r) in slice.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(r.get().as_bytes());
            }
            body.push(b']');
            let label = make_label(&LabelParts {
                table: &s.table,
                topic: &s.topic,
                partition: s.partition,
                first_offset: offset,
                last_offset: offset,
                schema_version: &split_version,
            });
            let req = LoadRequest {
                db: &job.target.database,
                table: &job.target.table,
                label: &label,
                columns: job.columns.as_deref(),
                partial_update: job.partial,
                max_filter_ratio: None,
                body: body.into(),
            };
            match self.until_final(&req, &s.topic, s.partition).await {
                Final::Aborted => return Ended::Abandoned,
                Final::Durable { rows, .. } => loaded += rows,
                Final::Rejected { error_url, message } => {
                    let mut reason = format!(
                        "stream load into {} rejected the rows: {message}",
                        job.target
                    );
                    if let Some(url) = &error_url {
                        match self.client.fetch_error_log(url).await {
                            Ok(log) => {
                                reason.push_str(": ");
                                reason.push_str(log.trim());
                            }
                            Err(e) => reason.push_str(&format!(" (error log: {e})")),
                        }
                    }
                    let (key, value) = match self
                        .quarantine
                        .fetch_original(&s.topic, s.partition, offset, Duration::from_secs(30))
                        .await
                    {
                        Ok(kv) => kv,
                        Err(e) => {
                            reason.push_str(&format!(" (original message not read back: {e})"));
                            (None, None)
                        }
                    };
                    tracing::warn!(table = %job.target, topic = %s.topic, partition = s.partition, offset,
                        %reason, "record quarantined");
                    let entry = Entry {
                        topic: s.topic.clone(),
                        partition: s.partition,
                        offset,
                        key,
                        value,
                        reason,
                    };
                    if !self
                        .quarantine
                        .put(&entry, &self.backoff, &self.abort)
                        .await
                    {
                        return Ended::Abandoned;
                    }
                    self.metrics.record_quarantined(QuarantineReason::Filtered);
                    quarantined += 1;
                }
            }
        }
        Ended::Durable {
            rows: loaded,
            quarantined,
            result: BatchResult::Split,
        }
    }
}
