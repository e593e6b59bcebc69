//! The loader runtime: consumes the Debezium data topics as a consumer-group
//! member and loads StarRocks exactly once.
//!
//! Flow of one record: the reader thread (`reader`) polls the consumer and,
//! for JSON, does the first half (`prepare`): source table from the
//! envelope and its route ([`route`]) → convert
//! ([`crate::loader::convert::Decoder`]) → rows serialized; Avro values are
//! decoded through the registry by the runtime ([`codec`]) first. The runtime
//! (modules `engine` and `record`) does the rest, in order: on a new
//! inline-schema fingerprint, the schema signal to the agent → the gate
//! ([`crate::gate::Gates::admit`]: load, project or hold) → rows into
//! per-target, per-partition batches ([`crate::loader::batch`]) → sealed
//! batches load through Stream Load with deterministic labels ([`sink`]) →
//! offsets ([`offsets`]) are committed only up to the first row that is not
//! durable in StarRocks (or quarantined, [`quarantine`]).
//!
//! A held table pauses its partitions ([`holds`]): the first record not loaded
//! is remembered, later ones are discarded, and on release the consumer seeks
//! back there and resumes. StarRocks being down only stops the affected
//! partitions from advancing: batches are retried with the same label until
//! they load. On cancel the runtime stops reading, loads what it has batched
//! (for up to [`DRAIN_GRACE`]), commits, and returns its [`Summary`].
//!
//! Batch boundaries are reproducible across crashes and rebalances
//! ([`plans`], [`planlog`]): before a batch loads, its offset range is
//! recorded in the plans topic; a partition read again cuts the batches
//! recorded past its committed offset exactly where they were, so their
//! labels match and StarRocks answers `Label Already Exists` for those an
//! earlier run loaded — the raw (DUPLICATE KEY) tables get every event once.
//! Avro values and keys decode through the Schema Registry ([`codec`]); a
//! registry that cannot be reached holds the partition and retries with
//! backoff, other decode errors quarantine the record.

pub mod codec;
pub mod consumer;
mod durable;
mod engine;
pub mod holds;
pub mod offsets;
mod pausing;
pub mod planlog;
pub mod plans;
mod prepare;
pub mod quarantine;
mod reader;
mod rebalance;
mod record;
pub mod route;
pub mod sink;
mod truncate;

use std::sync::Arc;
use std::time::Duration;

/// How long in-flight batches may take to load after cancel.
pub const DRAIN_GRACE: Duration = Duration::from_secs(60);

/// What the runtime needs.
pub struct Deps {
    /// Configuration: `loader` (required), `kafka` (required), `starrocks`
    /// (`http` = FE host:port for Stream Load; the query port for truncates).
    pub config: Arc<crate::config::Config>,
    /// Where the agent says what each target table accepts.
    pub gates: Arc<crate::gate::Gates>,
    /// Metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The schema signal: a data event with its inline schema, once per new fingerprint of a table.
    pub schemas: tokio::sync::mpsc::UnboundedSender<crate::source::Located<crate::source::Event>>,
    /// Stops the runtime (after draining).
    pub cancel: tokio_util::sync::CancellationToken,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records taken from Kafka (not counting discarded re-reads).
    pub records: u64,
    /// Rows loaded into mirror tables.
    pub mirror_rows: u64,
    /// Rows loaded into raw tables.
    pub raw_rows: u64,
    /// Batches that ended durable.
    pub batches: u64,
    /// Batches an earlier attempt had loaded (`Label Already Exists`).
    pub already_loaded: u64,
    /// Messages quarantined.
    pub quarantined: u64,
    /// Tombstones and unrouted records.
    pub skipped: u64,
    /// Source truncates applied to a mirror.
    pub truncates_applied: u64,
    /// Source truncates skipped (raw row only).
    pub truncates_skipped: u64,
    /// Times a partition was held (gate or backpressure).
    pub holds: u64,
    /// Column values dropped by projection.
    pub dropped_columns: u64,
    /// Batches given up at shutdown (not committed).
    pub abandoned: u64,
    /// Offset commits.
    pub commits: u64,
}

/// Why the runtime could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Something required is not configured.
    #[error("loader configuration: {0}")]
    Config(String),
    /// Kafka refused the consumer, the subscription or the producer.
    #[error("loader kafka {what}: {source}")]
    Kafka {
        /// What was being done.
        what: &'static str,
        /// Cause.
        #[source]
        source: Box<rdkafka::error::KafkaError>,
    },
    /// The Stream Load client could not be built.
    #[error("loader: {0}")]
    StreamLoad(#[from] crate::loader::stream_load::Error),
    /// The StarRocks client (truncates) could not be built.
    #[error("loader: {0}")]
    StarRocks(#[from] crate::starrocks::Error),
    /// A batch refused rows in a way that means a bug (offsets went backwards).
    #[error("loader internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn kafka(what: &'static str, e: rdkafka::error::KafkaError) -> Error {
        Error::Kafka {
            what,
            source: Box::new(e),
        }
    }
}

/// Runs the loader until `deps.cancel` fires, then drains and returns.
pub async fn run(deps: Deps) -> Result<Summary, Error> {
    let mut engine = engine::Engine::new(deps)?;
    engine.run().await
}
