//! The quarantine (dead-letter) topic: a message the loader cannot load is
//! produced there unchanged (key and value) with headers naming why and
//! where it came from, delivery awaited, before its partition moves on.
//!
//! Headers: `ddlsync.reason`, `ddlsync.topic`, `ddlsync.partition`,
//! `ddlsync.offset`. A record whose rows StarRocks rejected is read back from
//! its topic ([`Quarantine::fetch_original`]) since batches keep only rows.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::loader::retry::Backoff;

/// Header names.
pub mod header {
    /// Why the message could not be loaded.
    pub const REASON: &str = "ddlsync.reason";
    /// Its topic.
    pub const TOPIC: &str = "ddlsync.topic";
    /// Its partition.
    pub const PARTITION: &str = "ddlsync.partition";
    /// Its offset.
    pub const OFFSET: &str = "ddlsync.offset";
}

/// A message to quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Source topic.
    pub topic: String,
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
    /// Original key.
    pub key: Option<Vec<u8>>,
    /// Original value.
    pub value: Option<Vec<u8>>,
    /// Why.
    pub reason: String,
}

/// The quarantine producer.
#[derive(Clone)]
pub struct Quarantine {
    producer: FutureProducer,
    topic: String,
    properties: BTreeMap<String, String>,
}

impl std::fmt::Debug for Quarantine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quarantine")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

/// Longest reason kept in a header.
const MAX_REASON: usize = 4000;

impl Quarantine {
    /// A producer with the consumer's connection properties (group settings
    /// left out), writing to `topic`.
    pub fn new(
        properties: &BTreeMap<String, String>,
        topic: &str,
    ) -> Result<Quarantine, KafkaError> {
        let mut cfg = ClientConfig::new();
        for (k, v) in properties {
            if is_connection_property(k) {
                cfg.set(k, v);
            }
        }
        cfg.set("acks", "all");
        cfg.set("message.timeout.ms", "30000");
        let producer: FutureProducer = cfg.create()?;
        Ok(Quarantine {
            producer,
            topic: topic.to_string(),
            properties: properties.clone(),
        })
    }

    /// The quarantine topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Produces `entry` and awaits its delivery, retrying until it is
    /// delivered; `false` when `cancel` fired first (not delivered: the
    /// caller must not move past the record).
    pub async fn put(&self, entry: &Entry, backoff: &Backoff, cancel: &CancellationToken) -> bool {
        let reason: String = entry.reason.chars().take(MAX_REASON).collect();
        let partition = entry.partition.to_string();
        let offset = entry.offset.to_string();
        let mut attempt = 0u32;
        loop {
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: header::REASON,
                    value: Some(reason.as_str()),
                })
                .insert(Header {
                    key: header::TOPIC,
                    value: Some(entry.topic.as_str()),
                })
                .insert(Header {
                    key: header::PARTITION,
                    value: Some(partition.as_str()),
                })
                .insert(Header {
                    key: header::OFFSET,
                    value: Some(offset.as_str()),
                });
            let mut rec: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&self.topic).headers(headers);
            if let Some(k) = &entry.key {
                rec = rec.key(k.as_slice());
            }
            if let Some(v) = &entry.value {
                rec = rec.payload(v.as_slice());
            }
            let sent = tokio::select! {
                r = self.producer.send(rec, Duration::from_secs(30)) => r,
                () = cancel.cancelled() => return false,
            };
            match sent {
                Ok(_) => return true,
                Err((e, _)) => {
                    let delay = backoff.delay(attempt, 0.5);
                    attempt = attempt.saturating_add(1);
                    tracing::warn!(topic = %entry.topic, partition = entry.partition, offset = entry.offset,
                        quarantine = %self.topic, error = %e, ?delay, "quarantine produce failed, retrying");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = cancel.cancelled() => return false,
                    }
                }
            }
        }
    }

    /// Reads the record at `offset` of `topic[partition]` back (key, value),
    /// within `timeout`.
    pub async fn fetch_original(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        timeout: Duration,
    ) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>), String> {
        let mut props: BTreeMap<String, String> = self
            .properties
            .iter()
            .filter(|(k, _)| is_connection_property(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        props.insert("group.id".into(), "ddlsync-quarantine-reader".into());
        let consumer: StreamConsumer = crate::kafka::consumer(&props).map_err(|e| e.to_string())?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(offset))
            .map_err(|e| e.to_string())?;
        consumer.assign(&tpl).map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let m = tokio::time::timeout_at(deadline, consumer.recv())
                .await
                .map_err(|_| {
                    format!("{topic}[{partition}]@{offset}: not read back within {timeout:?}")
                })?
                .map_err(|e| e.to_string())?;
            if m.topic() == topic && m.partition() == partition && m.offset() == offset {
                return Ok((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec)));
            }
            if m.offset() > offset {
                return Err(format!(
                    "{topic}[{partition}]@{offset}: no longer in the topic"
                ));
            }
        }
    }
}

/// Whether a librdkafka property is about reaching the cluster (kept for
/// the producer and the read-back consumer) rather than about the group.
fn is_connection_property(key: &str) -> bool {
    key == "bootstrap.servers"
        || key == "client.id"
        || key.starts_with("security.")
        || key.starts_with("sasl.")
        || key.starts_with("ssl.")
        || key.starts_with("broker.")
        || key.starts_with("socket.")
        || key == "api.version.request"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_properties_reach_the_producer() {
        assert!(is_connection_property("bootstrap.servers"));
        assert!(is_connection_property("sasl.password"));
        assert!(!is_connection_property("group.id"));
        assert!(!is_connection_property("enable.auto.commit"));
        assert!(!is_connection_property("session.timeout.ms"));
    }
}
