//! The loader's Kafka consumer: a consumer-group member with auto-commit off
//! and a rebalance context.
//!
//! Before partitions are revoked, [`Ctx::pre_rebalance`] commits (synchronously)
//! the last durable position the runtime published for each of them, then
//! hands the list to the runtime, which forgets their open batches, holds and
//! offsets (in-flight loads of them finish but no longer move any offset), so
//! the new owner reads again from the committed position.

use std::collections::HashMap;
use std::sync::Mutex;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::config::KafkaConfig;
use crate::kafka::property;

/// `(topic, partition)`.
pub type Tp = (String, i32);

/// Rebalance hooks shared with the runtime.
#[derive(Debug, Default)]
pub struct Ctx {
    revoked: Mutex<Vec<Tp>>,
    durable: Mutex<HashMap<Tp, (i64, String)>>,
}

impl Ctx {
    /// Publishes the durable (committable) position of a partition and the
    /// commit metadata (batch plans) that goes with it.
    pub fn set_durable(&self, tp: Tp, position: i64, metadata: String) {
        let mut d = self.durable.lock().unwrap_or_else(|e| e.into_inner());
        d.insert(tp, (position, metadata));
    }

    /// Partitions revoked since the last call.
    pub fn take_revoked(&self) -> Vec<Tp> {
        std::mem::take(&mut *self.revoked.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl ClientContext for Ctx {}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let mut commit = TopicPartitionList::new();
        let mut list = Vec::new();
        {
            let mut durable = self.durable.lock().unwrap_or_else(|e| e.into_inner());
            for e in tpl.elements() {
                let tp = (e.topic().to_string(), e.partition());
                if let Some((pos, meta)) = durable.remove(&tp) {
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
                list.push(tp);
            }
        }
        if commit.count() > 0 {
            if let Err(e) = consumer.commit(&commit, CommitMode::Sync) {
                tracing::warn!(error = %e, "revoke: committing durable offsets failed; the new owner re-reads more");
            }
        }
        tracing::info!(partitions = ?list, "partitions revoked");
        self.revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(list);
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
pub type LoaderConsumer = StreamConsumer<Ctx>;

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
