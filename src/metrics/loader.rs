//! The loader's metric families (`ddlsync_loader_*`): label enums, the
//! families, their registration, and the typed recording methods of
//! [`Metrics`] for `ddlsync::loader::run`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use super::Metrics;

/// Which loaded table of a source table (the `target` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadTarget {
    /// The PRIMARY KEY mirror.
    Mirror,
    /// The raw change-log table.
    Raw,
}

impl LoadTarget {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadTarget::Mirror => "mirror",
            LoadTarget::Raw => "raw",
        }
    }
}

/// How a batch ended (the `result` label of `ddlsync_loader_batches_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchResult {
    /// Loaded now.
    Loaded,
    /// An earlier attempt with the same label had loaded it.
    AlreadyLoaded,
    /// Rows were rejected: the batch was loaded record by record.
    Split,
    /// Given up at shutdown (not committed: read again).
    Abandoned,
}

impl BatchResult {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchResult::Loaded => "loaded",
            BatchResult::AlreadyLoaded => "already_loaded",
            BatchResult::Split => "split",
            BatchResult::Abandoned => "abandoned",
        }
    }
}

/// Why a message went to the quarantine topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuarantineReason {
    /// It could not be decoded (not JSON, not an envelope, wrong schema).
    Decode,
    /// StarRocks rejected its rows.
    Filtered,
}

impl QuarantineReason {
    /// Every reason.
    pub const ALL: [QuarantineReason; 2] = [QuarantineReason::Decode, QuarantineReason::Filtered];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineReason::Decode => "decode",
            QuarantineReason::Filtered => "filtered",
        }
    }
}

/// Why a Stream Load attempt is retried (the `reason` label of `ddlsync_loader_retries_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryCause {
    /// No connection, reset, timeout.
    Connection,
    /// HTTP 5xx.
    ServerError,
    /// `Status: Fail` that is not a data error, or a label still running/aborted.
    LoadFailed,
    /// A reply that needs a person (4xx, unknown status): retried slowly.
    Fatal,
}

impl RetryCause {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryCause::Connection => "connection",
            RetryCause::ServerError => "server_error",
            RetryCause::LoadFailed => "load_failed",
            RetryCause::Fatal => "fatal",
        }
    }
}

/// Why a record was not loaded nor quarantined (`ddlsync_loader_skipped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// A null value.
    Tombstone,
    /// Its source table is not routed.
    Unrouted,
}

impl SkipReason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Tombstone => "tombstone",
            SkipReason::Unrouted => "unrouted",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableTargetLabels {
    table: String,
    target: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BatchLabels {
    table: String,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabels {
    mode: &'static str,
}

/// The loader's metric families.
#[derive(Debug, Default)]
pub(super) struct LoaderMetrics {
    records: Counter,
    rows: Family<TableTargetLabels, Counter>,
    batches: Family<BatchLabels, Counter>,
    stream_load: Option<Histogram>,
    quarantined: Family<ReasonLabels, Counter>,
    dropped_columns: Family<TableLabels, Counter>,
    held_tables: Gauge,
    table_held: Family<TableLabels, Gauge>,
    lag: Family<TableLabels, Gauge>,
    retries: Family<ReasonLabels, Counter>,
    skipped: Family<ReasonLabels, Counter>,
    truncates: Family<ModeLabels, Counter>,
}

impl LoaderMetrics {
    pub(super) fn register(registry: &mut Registry) -> LoaderMetrics {
        // 5 ms … ~82 s.
        let stream_load = Histogram::new(exponential_buckets(0.005, 2.0, 15));
        let m = LoaderMetrics {
            stream_load: Some(stream_load.clone()),
            ..LoaderMetrics::default()
        };
        let sub = registry.sub_registry_with_prefix("loader");
        sub.register(
            "records",
            "Records taken from the data topics (re-reads after a hold included)",
            m.records.clone(),
        );
        sub.register(
            "rows",
            "Rows loaded, by target table and kind (mirror, raw)",
            m.rows.clone(),
        );
        sub.register(
            "batches",
            "Stream Load batches, by target table and result",
            m.batches.clone(),
        );
        sub.register_with_unit(
            "stream_load",
            "Duration of one Stream Load attempt",
            Unit::Seconds,
            stream_load,
        );
        sub.register(
            "quarantined",
            "Messages produced to the quarantine topic, by reason",
            m.quarantined.clone(),
        );
        sub.register(
            "dropped_columns",
            "Column values dropped by projection to the target's columns, by target table",
            m.dropped_columns.clone(),
        );
        sub.register(
            "held_tables",
            "Target tables whose data topics the loader has paused for the gate",
            m.held_tables.clone(),
        );
        sub.register(
            "table_held",
            "1 while the loader holds the target table for the gate",
            m.table_held.clone(),
        );
        sub.register(
            "lag_records",
            "Records between the committed offset and the high watermark, by target table",
            m.lag.clone(),
        );
        sub.register(
            "retries",
            "Stream Load attempts retried, by reason",
            m.retries.clone(),
        );
        sub.register(
            "skipped",
            "Records neither loaded nor quarantined, by reason",
            m.skipped.clone(),
        );
        sub.register(
            "truncates",
            "Source truncates seen, by mode (skip, apply)",
            m.truncates.clone(),
        );
        for reason in QuarantineReason::ALL {
            drop(m.quarantined.get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            }));
        }
        m
    }
}

impl Metrics {
    /// One record was taken from a data topic.
    pub fn record_read(&self) {
        self.loader.records.inc();
    }

    /// `rows` rows were loaded into `table` (mirror or raw).
    pub fn record_loaded_rows(&self, table: &str, target: LoadTarget, rows: u64) {
        self.loader
            .rows
            .get_or_create(&TableTargetLabels {
                table: table.to_owned(),
                target: target.as_str(),
            })
            .inc_by(rows);
    }

    /// A batch of `table` ended with `result`.
    pub fn record_batch(&self, table: &str, result: BatchResult) {
        self.loader
            .batches
            .get_or_create(&BatchLabels {
                table: table.to_owned(),
                result: result.as_str(),
            })
            .inc();
    }

    /// One Stream Load attempt took `duration`.
    pub fn observe_stream_load(&self, duration: Duration) {
        if let Some(h) = &self.loader.stream_load {
            h.observe(duration.as_secs_f64());
        }
    }

    /// A message went to the quarantine topic.
    pub fn record_quarantined(&self, reason: QuarantineReason) {
        self.loader
            .quarantined
            .get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            })
            .inc();
    }

    /// `n` column values were dropped by projection for `table`.
    pub fn record_dropped_columns(&self, table: &str, n: u64) {
        self.loader
            .dropped_columns
            .get_or_create(&TableLabels {
                table: table.to_owned(),
            })
            .inc_by(n);
    }

    /// The tables the loader holds now (every table seen held before and not
    /// in `held` is set to 0).
    pub fn set_loader_held(&self, held: &[String], known: &[String]) {
        self.loader
            .held_tables
            .set(i64::try_from(held.len()).unwrap_or(i64::MAX));
        for t in known {
            self.loader
                .table_held
                .get_or_create(&TableLabels { table: t.clone() })
                .set(i64::from(held.contains(t)));
        }
    }

    /// Records between the committed offset and the high watermark for `table`.
    pub fn set_loader_lag(&self, table: &str, records: u64) {
        self.loader
            .lag
            .get_or_create(&TableLabels {
                table: table.to_owned(),
            })
            .set(i64::try_from(records).unwrap_or(i64::MAX));
    }

    /// A Stream Load attempt is retried.
    pub fn record_load_retry(&self, cause: RetryCause) {
        self.loader
            .retries
            .get_or_create(&ReasonLabels {
                reason: cause.as_str(),
            })
            .inc();
    }

    /// A record was skipped.
    pub fn record_skipped(&self, reason: SkipReason) {
        self.loader
            .skipped
            .get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            })
            .inc();
    }

    /// A source truncate was seen and applied (`true`) or skipped.
    pub fn record_truncate(&self, applied: bool) {
        self.loader
            .truncates
            .get_or_create(&ModeLabels {
                mode: if applied { "apply" } else { "skip" },
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::super::LOADER_NAMES;
    use super::*;

    #[test]
    fn loader_families_are_exposed() {
        let m = Metrics::new();
        m.record_loaded_rows("d.t", LoadTarget::Mirror, 3);
        m.record_batch("d.t", BatchResult::Loaded);
        m.observe_stream_load(Duration::from_millis(7));
        m.record_quarantined(QuarantineReason::Decode);
        m.record_dropped_columns("d.t", 2);
        m.set_loader_held(&["d.t".into()], &["d.t".into(), "d.u".into()]);
        m.set_loader_lag("d.t", 5);
        m.record_load_retry(RetryCause::Connection);
        m.record_skipped(SkipReason::Tombstone);
        m.record_truncate(true);
        let text = m.encode();
        for name in LOADER_NAMES {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing:\n{text}"
            );
        }
        for line in [
            r#"ddlsync_loader_rows_total{table="d.t",target="mirror"} 3"#,
            r#"ddlsync_loader_quarantined_total{reason="decode"} 1"#,
            r#"ddlsync_loader_quarantined_total{reason="filtered"} 0"#,
            r#"ddlsync_loader_table_held{table="d.t"} 1"#,
            r#"ddlsync_loader_table_held{table="d.u"} 0"#,
            "ddlsync_loader_held_tables 1",
            r#"ddlsync_loader_dropped_columns_total{table="d.t"} 2"#,
            "ddlsync_loader_stream_load_seconds_count 1",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
    }
}
