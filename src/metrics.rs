//! The agent's Prometheus metric set (`prometheus-client`), recorded only
//! through the typed methods of [`Metrics`], so callers never touch metric
//! names or label keys.
//!
//! Owns the names ([`NAMES`]), help texts, buckets and label values, and the
//! text exposition served at `/metrics`. Must not: log, read the clock (the
//! caller measures durations), or take unbounded label values (labels are
//! change kinds, verdicts, failure causes and decode origins — closed sets).

use std::fmt;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::diff::ChangeKind;
use crate::policy::Verdict;

mod loader;

use loader::LoaderMetrics;
pub use loader::{BatchResult, LoadTarget, QuarantineReason, RetryCause, SkipReason};

/// `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Every exposed metric family name.
pub const NAMES: [&str; 7] = [
    "ddlsync_ddl_propagation_seconds",
    "ddlsync_pending_changes",
    "ddlsync_held_tables",
    "ddlsync_decisions_total",
    "ddlsync_alter_job_seconds",
    "ddlsync_failures_total",
    "ddlsync_decode_errors_total",
];

/// Every metric family of the loader (`ddlsync::loader::run`).
pub const LOADER_NAMES: [&str; 11] = [
    "ddlsync_loader_rows_total",
    "ddlsync_loader_batches_total",
    "ddlsync_loader_stream_load_seconds",
    "ddlsync_loader_quarantined_total",
    "ddlsync_loader_dropped_columns_total",
    "ddlsync_loader_held_tables",
    "ddlsync_loader_table_held",
    "ddlsync_loader_lag_records",
    "ddlsync_loader_retries_total",
    "ddlsync_loader_skipped_total",
    "ddlsync_loader_truncates_total",
];

/// Why something failed (the `cause` label of `ddlsync_failures_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureCause {
    /// A `ddl` statement that does not parse.
    UnparseableDdl,
    /// A schema-change event for a table that is not configured or not known.
    UnknownTable,
    /// The Schema Registry is down or answered an error.
    Registry,
    /// StarRocks refused a statement.
    StarrocksRefused,
    /// An ALTER job ended CANCELLED.
    AlterCancelled,
    /// StarRocks could not be reached.
    StarrocksUnavailable,
    /// Kafka failed.
    Kafka,
    /// A rule file has an error.
    RuleFile,
    /// The store failed.
    Store,
}

impl FailureCause {
    /// Every cause.
    pub const ALL: [FailureCause; 9] = [
        FailureCause::UnparseableDdl,
        FailureCause::UnknownTable,
        FailureCause::Registry,
        FailureCause::StarrocksRefused,
        FailureCause::AlterCancelled,
        FailureCause::StarrocksUnavailable,
        FailureCause::Kafka,
        FailureCause::RuleFile,
        FailureCause::Store,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCause::UnparseableDdl => "unparseable_ddl",
            FailureCause::UnknownTable => "unknown_table",
            FailureCause::Registry => "registry",
            FailureCause::StarrocksRefused => "starrocks_refused",
            FailureCause::AlterCancelled => "alter_cancelled",
            FailureCause::StarrocksUnavailable => "starrocks_unavailable",
            FailureCause::Kafka => "kafka",
            FailureCause::RuleFile => "rule_file",
            FailureCause::Store => "store",
        }
    }
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an undecodable message came from (the `origin` label of
/// `ddlsync_decode_errors_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeOrigin {
    /// The Debezium schema-change topic.
    SchemaChange,
    /// A data topic (inline schema).
    DataEvent,
    /// A Schema Registry subject.
    Registry,
}

impl DecodeOrigin {
    /// Every origin.
    pub const ALL: [DecodeOrigin; 3] = [
        DecodeOrigin::SchemaChange,
        DecodeOrigin::DataEvent,
        DecodeOrigin::Registry,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DecodeOrigin::SchemaChange => "schema_change",
            DecodeOrigin::DataEvent => "data_event",
            DecodeOrigin::Registry => "registry",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    kind: &'static str,
    decision: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OriginLabels {
    origin: &'static str,
}

/// The metric set; share it in an `Arc`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    propagation: Histogram,
    pending_changes: Gauge,
    held_tables: Gauge,
    decisions: Family<DecisionLabels, Counter>,
    alter_job: Histogram,
    failures: Family<CauseLabels, Counter>,
    decode_errors: Family<OriginLabels, Counter>,
    loader: LoaderMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh, registered metric set.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ddlsync");
        // 10 ms … ~82 s.
        let propagation = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        // 100 ms … ~14 min.
        let alter_job = Histogram::new(exponential_buckets(0.1, 2.0, 14));
        let pending_changes = Gauge::default();
        let held_tables = Gauge::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        let failures = Family::<CauseLabels, Counter>::default();
        let decode_errors = Family::<OriginLabels, Counter>::default();
        registry.register_with_unit(
            "ddl_propagation",
            "Time from the source event to the StarRocks ALTER job FINISHED",
            Unit::Seconds,
            propagation.clone(),
        );
        registry.register(
            "pending_changes",
            "Changes waiting for approval",
            pending_changes.clone(),
        );
        registry.register(
            "held_tables",
            "Tables whose loader is held by an open plan",
            held_tables.clone(),
        );
        registry.register(
            "decisions",
            "Policy decisions by change kind and decision",
            decisions.clone(),
        );
        registry.register_with_unit(
            "alter_job",
            "Duration of StarRocks ALTER jobs, submit to FINISHED",
            Unit::Seconds,
            alter_job.clone(),
        );
        registry.register("failures", "Failures by cause", failures.clone());
        registry.register(
            "decode_errors",
            "Messages that could not be decoded, by origin",
            decode_errors.clone(),
        );
        // Every series exists from the start (at 0), so dashboards and alerts
        // see the families before the first event.
        for kind in ChangeKind::ALL {
            for verdict in Verdict::ALL {
                drop(decisions.get_or_create(&DecisionLabels {
                    kind: kind.as_str(),
                    decision: verdict.as_str(),
                }));
            }
        }
        for cause in FailureCause::ALL {
            drop(failures.get_or_create(&CauseLabels {
                cause: cause.as_str(),
            }));
        }
        for origin in DecodeOrigin::ALL {
            drop(decode_errors.get_or_create(&OriginLabels {
                origin: origin.as_str(),
            }));
        }
        let loader = LoaderMetrics::register(&mut registry);
        Self {
            registry,
            loader,
            propagation,
            pending_changes,
            held_tables,
            decisions,
            alter_job,
            failures,
            decode_errors,
        }
    }

    /// A change went from its source event to ALTER FINISHED in `latency`.
    pub fn observe_propagation(&self, latency: Duration) {
        self.propagation.observe(latency.as_secs_f64());
    }

    /// The number of changes waiting for approval.
    pub fn set_pending_changes(&self, n: u64) {
        self.pending_changes
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// The number of tables held by an open plan.
    pub fn set_held_tables(&self, n: u64) {
        self.held_tables.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Policy decided `verdict` for a change of `kind`.
    pub fn record_decision(&self, kind: ChangeKind, verdict: Verdict) {
        self.decisions
            .get_or_create(&DecisionLabels {
                kind: kind.as_str(),
                decision: verdict.as_str(),
            })
            .inc();
    }

    /// A StarRocks ALTER job ran for `duration`.
    pub fn observe_alter_job(&self, duration: Duration) {
        self.alter_job.observe(duration.as_secs_f64());
    }

    /// Something failed.
    pub fn record_failure(&self, cause: FailureCause) {
        self.failures
            .get_or_create(&CauseLabels {
                cause: cause.as_str(),
            })
            .inc();
    }

    /// A message could not be decoded.
    pub fn record_decode_error(&self, origin: DecodeOrigin) {
        self.decode_errors
            .get_or_create(&OriginLabels {
                origin: origin.as_str(),
            })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            .map_or_else(|_| String::new(), |()| out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_exposed_with_its_labels() {
        let m = Metrics::new();
        m.record_decision(ChangeKind::DropColumn, Verdict::Queue);
        m.record_failure(FailureCause::StarrocksRefused);
        m.record_decode_error(DecodeOrigin::SchemaChange);
        m.observe_propagation(Duration::from_millis(120));
        m.observe_alter_job(Duration::from_secs(3));
        m.set_pending_changes(2);
        m.set_held_tables(1);
        let text = m.encode();
        for name in NAMES {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing:\n{text}"
            );
        }
        assert!(
            text.contains(r#"ddlsync_decisions_total{kind="drop_column",decision="queue"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"ddlsync_failures_total{cause="starrocks_refused"} 1"#),
            "{text}"
        );
        assert!(text.contains("ddlsync_pending_changes 2"), "{text}");
        assert!(
            text.contains("ddlsync_ddl_propagation_seconds_count 1"),
            "{text}"
        );
    }
}
