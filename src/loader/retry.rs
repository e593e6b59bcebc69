//! The one place that decides what a Stream Load attempt's result means —
//! loaded, already loaded, retry (with the same label), filtered rows, fatal —
//! and how long to wait before the next attempt (pure; the caller supplies
//! the random draw for the jitter).
//!
//! Rules (StarRocks `STREAM_LOAD.md`, `docs/starrocks-facts.md` §5.1):
//! * `Success` → [`Outcome::Loaded`]; with filtered rows → [`Outcome::Filtered`]
//!   (`committed: true`: the rest of the batch is in).
//! * `Publish Timeout` → committed, not yet visible: **do not retry**, it is
//!   loaded ([`Outcome::Loaded`] with `publish_pending`).
//! * `Label Already Exists` + `ExistingJobStatus` FINISHED / VISIBLE /
//!   COMMITTED → [`Outcome::AlreadyLoaded`] (an earlier attempt loaded it; never
//!   load twice); RUNNING / PREPARE / PREPARED → retry later with the same
//!   label; CANCELLED / ABORTED → retry with the same label (a failed label
//!   may be reused); anything else → fatal.
//! * `Fail` with "too many filtered rows" (or an ErrorURL and filtered rows)
//!   → [`Outcome::Filtered`] (`committed: false`): a data error, retrying the
//!   same rows cannot help; other `Fail` → retry with the same label.
//! * Connection errors and HTTP 5xx → retry with backoff.
//! * HTTP 200 whose body is not a Stream Load reply → **fatal**: the load may
//!   or may not have happened, and a blind retry under a new label could load
//!   twice; the same label would be safe but a proxy or a changed API is
//!   likelier, so a person looks first.
//! * Other 4xx (auth, unknown table) → fatal.

use std::time::Duration;

use serde::Deserialize;

/// StarRocks' Stream Load reply (the fields ddlsync reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoadResponse {
    /// TxnId (-1 for a duplicate label).
    #[serde(default)]
    pub txn_id: i64,
    /// Label.
    #[serde(default)]
    pub label: String,
    /// Success / Fail / Publish Timeout / Label Already Exists.
    pub status: String,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// NumberTotalRows.
    #[serde(default)]
    pub number_total_rows: u64,
    /// NumberLoadedRows.
    #[serde(default)]
    pub number_loaded_rows: u64,
    /// NumberFilteredRows.
    #[serde(default)]
    pub number_filtered_rows: u64,
    /// ErrorURL: the rejected rows and reasons.
    #[serde(default, rename = "ErrorURL")]
    pub error_url: Option<String>,
    /// ExistingJobStatus (duplicate label only).
    #[serde(default)]
    pub existing_job_status: Option<String>,
}

/// Why an attempt is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// No connection, reset, timeout.
    Connection,
    /// HTTP 5xx.
    ServerError(u16),
    /// `Status: Fail` (not a data error).
    LoadFailed,
    /// The label's earlier attempt is still running.
    LabelRunning,
    /// The label's earlier attempt was cancelled.
    LabelAborted,
}

/// What an attempt means for the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded now (`publish_pending`: committed, visible shortly).
    Loaded {
        /// Rows loaded.
        rows: u64,
        /// `Publish Timeout`: committed but not yet visible.
        publish_pending: bool,
    },
    /// An earlier attempt with this label loaded it.
    AlreadyLoaded {
        /// The ExistingJobStatus.
        status: String,
    },
    /// Try again with the same label after a backoff.
    Retry {
        /// Why.
        reason: RetryReason,
        /// Detail for logs.
        detail: String,
    },
    /// Rows were rejected for their data.
    Filtered {
        /// Whether the other rows were loaded (`Success` under
        /// `max_filter_ratio`) or nothing was (`Fail`).
        committed: bool,
        /// Rows loaded.
        loaded: u64,
        /// Rows rejected.
        filtered: u64,
        /// Where StarRocks lists the rejected rows.
        error_url: Option<String>,
        /// StarRocks' message.
        message: String,
    },
    /// Do not retry; a person must look.
    Fatal {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// Whether the batch's rows are durable (loaded now or before).
    pub fn is_durable(&self) -> bool {
        matches!(
            self,
            Outcome::Loaded { .. }
                | Outcome::AlreadyLoaded { .. }
                | Outcome::Filtered {
                    committed: true,
                    ..
                }
        )
    }

    /// Whether another attempt with the same label is in order.
    pub fn is_retriable(&self) -> bool {
        matches!(self, Outcome::Retry { .. })
    }
}

/// The raw result of one HTTP attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// No HTTP response (connect, reset, timeout).
    Transport {
        /// The client's error text.
        reason: &'a str,
    },
    /// An HTTP response after redirects.
    Http {
        /// Status code.
        status: u16,
        /// Body text.
        body: &'a str,
    },
}

fn norm(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace('_', " ")
}

/// Classifies an attempt.
pub fn classify(reply: &Reply<'_>) -> Outcome {
    match *reply {
        Reply::Transport { reason } => Outcome::Retry {
            reason: RetryReason::Connection,
            detail: reason.to_string(),
        },
        Reply::Http { status, body } if status >= 500 => Outcome::Retry {
            reason: RetryReason::ServerError(status),
            detail: body.chars().take(300).collect(),
        },
        Reply::Http { status, body } if !(200..300).contains(&status) => Outcome::Fatal {
            reason: format!("http {status}: {}", body.chars().take(300).collect::<String>()),
        },
        Reply::Http { body, .. } => match serde_json::from_str::<LoadResponse>(body) {
            Ok(r) => classify_response(&r),
            Err(e) => Outcome::Fatal {
                reason: format!(
                    "unparseable stream load reply ({e}); the load may have happened, inspect before retrying: {}",
                    body.chars().take(300).collect::<String>()
                ),
            },
        },
    }
}

/// Classifies a parsed Stream Load reply.
pub fn classify_response(r: &LoadResponse) -> Outcome {
    let retry = |reason, detail: &str| Outcome::Retry {
        reason,
        detail: detail.to_string(),
    };
    let filtered = |committed| Outcome::Filtered {
        committed,
        loaded: r.number_loaded_rows,
        filtered: r.number_filtered_rows,
        error_url: r.error_url.clone(),
        message: r.message.clone(),
    };
    match norm(&r.status).as_str() {
        "success" | "ok" if r.number_filtered_rows > 0 => filtered(true),
        "success" | "ok" => Outcome::Loaded {
            rows: r.number_loaded_rows,
            publish_pending: false,
        },
        "publish timeout" => Outcome::Loaded {
            rows: r.number_loaded_rows,
            publish_pending: true,
        },
        "label already exists" => {
            let existing = r.existing_job_status.clone().unwrap_or_default();
            match norm(&existing).as_str() {
                "finished" | "visible" | "committed" => Outcome::AlreadyLoaded { status: existing },
                "running" | "prepare" | "prepared" | "loading" => {
                    retry(RetryReason::LabelRunning, &r.message)
                }
                "cancelled" | "aborted" => retry(RetryReason::LabelAborted, &r.message),
                _ => Outcome::Fatal {
                    reason: format!(
                        "label {} already exists with unknown job status {existing:?}: {}",
                        r.label, r.message
                    ),
                },
            }
        }
        "fail" | "failed" => {
            let data_error = r
                .message
                .to_ascii_lowercase()
                .contains("too many filtered rows")
                || (r.number_filtered_rows > 0 && r.error_url.is_some());
            if data_error {
                filtered(false)
            } else {
                retry(RetryReason::LoadFailed, &r.message)
            }
        }
        other => Outcome::Fatal {
            reason: format!(
                "label {}: unknown stream load status {other:?}: {}",
                r.label, r.message
            ),
        },
    }
}

/// Exponential backoff with jitter and a cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Growth per attempt.
    pub multiplier: f64,
    /// Cap on the delay.
    pub max: Duration,
    /// Share of the delay that is random, 0..=1 (1 = "full jitter").
    pub jitter: f64,
    /// Give up after this many attempts (`None`: never; the loader's default,
    /// since Kafka holds the data and giving up would mean losing it).
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(200),
            multiplier: 2.0,
            max: Duration::from_secs(30),
            jitter: 0.5,
            max_attempts: None,
        }
    }
}

impl Backoff {
    /// The wait before retry number `attempt` (0-based), with `unit` a random
    /// draw in `[0, 1)`: `d = min(max, initial·multiplier^attempt)`, minus up
    /// to `jitter·d`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self.multiplier.max(1.0).powi(attempt.min(64) as i32);
        let base = (self.initial.as_secs_f64() * exp).min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        let secs = base * (1.0 - jitter);
        if secs.is_finite() && secs >= 0.0 {
            Duration::from_secs_f64(secs)
        } else {
            self.max
        }
    }

    /// Whether attempt number `attempt` (0-based) may still be made.
    pub fn allows(&self, attempt: u32) -> bool {
        self.max_attempts.is_none_or(|m| attempt < m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(body: &str) -> Outcome {
        classify(&Reply::Http { status: 200, body })
    }

    #[test]
    fn statuses() {
        assert_eq!(
            http(r#"{"Status":"Success","NumberLoadedRows":3}"#),
            Outcome::Loaded {
                rows: 3,
                publish_pending: false
            }
        );
        assert!(matches!(
            http(r#"{"Status":"Publish Timeout"}"#),
            Outcome::Loaded {
                publish_pending: true,
                ..
            }
        ));
        let dup = |s: &str| {
            http(&format!(
                r#"{{"TxnId":-1,"Status":"Label Already Exists","ExistingJobStatus":"{s}"}}"#
            ))
        };
        assert!(matches!(dup("FINISHED"), Outcome::AlreadyLoaded { .. }));
        assert!(matches!(dup("VISIBLE"), Outcome::AlreadyLoaded { .. }));
        assert!(matches!(
            dup("RUNNING"),
            Outcome::Retry {
                reason: RetryReason::LabelRunning,
                ..
            }
        ));
        assert!(matches!(
            dup("CANCELLED"),
            Outcome::Retry {
                reason: RetryReason::LabelAborted,
                ..
            }
        ));
        assert!(matches!(dup("WHAT"), Outcome::Fatal { .. }));
        assert!(matches!(
            http(r#"{"Status":"Fail","Message":"x"}"#),
            Outcome::Retry {
                reason: RetryReason::LoadFailed,
                ..
            }
        ));
        let f = http(
            r#"{"Status":"Fail","Message":"too many filtered rows","NumberFilteredRows":2,"ErrorURL":"http://be/e"}"#,
        );
        assert!(matches!(
            f,
            Outcome::Filtered {
                committed: false,
                filtered: 2,
                ..
            }
        ));
        let f = http(r#"{"Status":"Success","NumberLoadedRows":8,"NumberFilteredRows":2}"#);
        assert!(
            f.is_durable()
                && matches!(
                    f,
                    Outcome::Filtered {
                        committed: true,
                        loaded: 8,
                        ..
                    }
                )
        );
        assert!(matches!(http("<html>proxy</html>"), Outcome::Fatal { .. }));
        assert!(matches!(
            http(r#"{"Status":"Weird"}"#),
            Outcome::Fatal { .. }
        ));
        assert!(classify(&Reply::Http {
            status: 503,
            body: ""
        })
        .is_retriable());
        assert!(matches!(
            classify(&Reply::Http {
                status: 401,
                body: ""
            }),
            Outcome::Fatal { .. }
        ));
        assert!(classify(&Reply::Transport { reason: "refused" }).is_retriable());
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let b = Backoff {
            jitter: 0.0,
            ..Backoff::default()
        };
        assert_eq!(b.delay(0, 0.9), Duration::from_millis(200));
        assert_eq!(b.delay(3, 0.9), Duration::from_millis(1600));
        assert_eq!(b.delay(100, 0.9), Duration::from_secs(30));
        let j = Backoff {
            jitter: 1.0,
            ..Backoff::default()
        };
        assert!(j.delay(2, 0.5) <= Duration::from_millis(800));
        assert_eq!(j.delay(2, 0.0), Duration::from_millis(800));
        assert!(Backoff::default().allows(1_000_000));
        assert!(!Backoff {
            max_attempts: Some(2),
            ..Backoff::default()
        }
        .allows(2));
    }
}
