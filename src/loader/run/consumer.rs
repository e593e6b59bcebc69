//! The loader's Kafka consumer: a consumer-group member with auto-commit off
//! and a rebalance context.
//!
//! The consumer is polled by the reader thread (`reader`), so the
//! rebalance callbacks run there. Before partitions are revoked,
//! [`Ctx::pre_rebalance`] hands them to the runtime (through the reader's
//! channel, behind the records read before) and waits, up to
//! [`REVOKE_WAIT`], while the runtime loads their sealed batches and
//! publishes their durable positions; it then commits those positions
//! (synchronously) with their batch plans, so the new owner reads again from
//! the first record that is not durable and cuts the planned batches where
//! they were.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::mpsc;

use super::reader::{Item, Msg};
use crate::config::KafkaConfig;
use crate::kafka::property;

/// `(topic, partition)`.
pub type Tp = (String, i32);

/// How long the runtime may take to load revoked partitions' sealed batches
/// (a StarRocks that does not answer must not stall the group).
pub const REVOKE_DRAIN: Duration = Duration::from_secs(30);
/// How long the rebalance callback waits for the runtime.
pub const REVOKE_WAIT: Duration = Duration::from_secs(35);

/// Rebalance hooks shared with the runtime.
#[derive(Default)]
pub struct Ctx {
    runtime: Mutex<Option<mpsc::Sender<Item>>>,
    /// Records the reader has read and not handed over yet (they go before a revocation).
    pending: Mutex<Vec<Msg>>,
    durable: Mutex<HashMap<Tp, (i64, String)>>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").finish_non_exhaustive()
    }
}

impl Ctx {
    /// Publishes the durable (committable) position of a partition and the
    /// commit metadata (batch plans) that goes with it.
    pub fn set_durable(&self, tp: Tp, position: i64, metadata: String) {
        let mut d = self.durable.lock().unwrap_or_else(|e| e.into_inner());
        d.insert(tp, (position, metadata));
    }

    /// Where records and revocations go (the runtime, through the reader's channel).
    pub(super) fn connect(&self, tx: mpsc::Sender<Item>) {
        *self.runtime.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }

    fn sender(&self) -> Option<mpsc::Sender<Item>> {
        self.runtime
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records read and not handed over yet.
    pub(super) fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Adds a record to the next hand-over.
    pub(super) fn push(&self, m: Msg) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(m);
    }

    /// Hands the pending records to the runtime (blocking while its channel
    /// is full); `false` when the runtime is gone. The reader thread only.
    pub(super) fn flush(&self) -> bool {
        let chunk = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if chunk.is_empty() {
            return true;
        }
        match self.sender() {
            Some(tx) => tx.blocking_send(Item::Msgs(chunk)).is_ok(),
            None => false,
        }
    }

    /// Hands `list` to the runtime and waits until it has drained them. Not
    /// from inside the async runtime (a consumer closed there): no wait then.
    fn drain(&self, list: &[Tp]) {
        if tokio::runtime::Handle::try_current().is_ok() {
            return;
        }
        // What was read before the revocation goes first.
        if !self.flush() {
            return;
        }
        let Some(tx) = self.sender() else { return };
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        let item = Item::Revoke {
            partitions: list.to_vec(),
            done,
        };
        let t0 = std::time::Instant::now();
        if tx.blocking_send(item).is_err() {
            return;
        }
        match wait.recv_timeout(REVOKE_WAIT) {
            Ok(()) => {
                tracing::info!(partitions = ?list, took_ms = t0.elapsed().as_millis() as u64,
                    "revoked partitions drained")
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                tracing::warn!(partitions = ?list, "revoke: the runtime did not drain in time; committing what is durable")
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {}
        }
    }
}

impl ClientContext for Ctx {}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let list: Vec<Tp> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        self.drain(&list);
        let mut commit = TopicPartitionList::new();
        {
            let mut durable = self.durable.lock().unwrap_or_else(|e| e.into_inner());
            for tp in &list {
                if let Some((pos, meta)) = durable.remove(tp) {
                    match commit.add_partition_offset(&tp.0, tp.1, Offset::Offset(pos)) {
                        Ok(()) => {
                            if let Some(mut el) = commit.find_partition(&tp.0, tp.1) {
                                el.set_metadata(meta);
                            }
                        }
                        Err(err) => {
                            tracing::warn!(topic = %tp.0, partition = tp.1, error = %err, "revoke: offset not added");
                        }
                    }
                }
            }
        }
        if commit.count() > 0 {
            if let Err(e) = consumer.commit(&commit, CommitMode::Sync) {
                tracing::warn!(error = %e, "revoke: committing durable offsets failed; the new owner re-reads more");
            }
        }
        tracing::info!(partitions = ?list, "partitions revoked");
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let parts: Vec<Tp> = tpl
                .elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition()))
                .collect();
            tracing::info!(partitions = ?parts, "partitions assigned");
        }
    }
}

/// The loader's consumer type.
pub type LoaderConsumer = BaseConsumer<Ctx>;

/// Builds the group consumer: `group.id` from the config,
/// `auto.offset.reset=earliest` unless the properties say otherwise, the
/// configured librdkafka properties, and always `enable.auto.commit=false`.
pub fn build(kafka: &KafkaConfig) -> Result<LoaderConsumer, KafkaError> {
    let mut cfg = ClientConfig::new();
    cfg.set(property::BOOTSTRAP_SERVERS, &kafka.bootstrap_servers);
    cfg.set("auto.offset.reset", "earliest");
    // New data topics (a new source table) are found within seconds, not 5 minutes.
    cfg.set("topic.metadata.refresh.interval.ms", "2000");
    for (k, v) in &kafka.properties {
        cfg.set(k, v.expose());
    }
    cfg.set(property::GROUP_ID, &kafka.group_id);
    cfg.set(property::ENABLE_AUTO_COMMIT, "false");
    cfg.set(property::ENABLE_AUTO_OFFSET_STORE, "false");
    cfg.create_with_context(Ctx::default())
}

/// The plain properties (secrets exposed) for the quarantine producer.
pub fn connection_properties(kafka: &KafkaConfig) -> std::collections::BTreeMap<String, String> {
    let mut props: std::collections::BTreeMap<String, String> = kafka
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect();
    props.insert(
        property::BOOTSTRAP_SERVERS.to_string(),
        kafka.bootstrap_servers.clone(),
    );
    props
}
