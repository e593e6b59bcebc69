//! ddlsync's Kafka client code (rdkafka with its bundled librdkafka).
//!
//! Owns: building consumers from a map of librdkafka properties, and reading a
//! topic from its beginning until a predicate over the records read so far
//! holds or a deadline passes. Reading assigns partitions directly (no group
//! join, no offset commits), so it never disturbs a consumer group.
//!
//! It must not decide "caught up" from end-of-topic offsets: some brokers
//! (tansu, used by the local stack) report a lagging high watermark, so a
//! reader keeps consuming until its predicate holds or time is up.
//!
//! Contact points: the agent's consumers and the e2e tests (`tests/e2e`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};

/// librdkafka property names set by this module.
pub mod property {
    /// Bootstrap servers (`host:port,...`).
    pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
    /// Consumer group id (required by librdkafka even when no group is joined).
    pub const GROUP_ID: &str = "group.id";
    /// Whether the consumer commits offsets by itself.
    pub const ENABLE_AUTO_COMMIT: &str = "enable.auto.commit";
    /// Whether stored offsets are updated automatically.
    pub const ENABLE_AUTO_OFFSET_STORE: &str = "enable.auto.offset.store";
    /// Whether a metadata request may create a topic.
    pub const ALLOW_AUTO_CREATE_TOPICS: &str = "allow.auto.create.topics";
    /// Group session timeout (tansu joins a group in about half of it).
    pub const SESSION_TIMEOUT_MS: &str = "session.timeout.ms";
}

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// librdkafka refused the configuration.
    #[error("kafka consumer configuration: {0}")]
    Config(#[source] Box<KafkaError>),
    /// A metadata request or an assignment failed.
    #[error("kafka topic {topic}: {source}")]
    Topic {
        /// The topic.
        topic: String,
        /// The cause.
        #[source]
        source: Box<KafkaError>,
    },
    /// Receiving a record failed.
    #[error("kafka topic {topic}: receive: {source}")]
    Receive {
        /// The topic.
        topic: String,
        /// The cause.
        #[source]
        source: Box<KafkaError>,
    },
}

impl Error {
    /// Whether trying again later may succeed (broker trouble rather than bad configuration).
    pub fn is_retriable(&self) -> bool {
        !matches!(self, Self::Config(_))
    }
}

/// `Result` of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One record, copied out of librdkafka's buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key bytes, if any.
    pub key: Option<Vec<u8>>,
    /// Value bytes; `None` for a tombstone.
    pub value: Option<Vec<u8>>,
    /// Timestamp in milliseconds since the epoch, when the broker gave one.
    pub timestamp_ms: Option<i64>,
}

impl Record {
    /// The value parsed as JSON (`None` for a tombstone or a non-JSON value).
    pub fn value_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(self.value.as_deref()?).ok()
    }

    /// The key parsed as JSON.
    pub fn key_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(self.key.as_deref()?).ok()
    }
}

/// What [`read_until`] read.
#[derive(Debug, Clone, Default)]
pub struct Read {
    /// Every record read, in the order received.
    pub records: Vec<Record>,
    /// Whether the predicate held before the deadline.
    pub satisfied: bool,
    /// Whether the topic existed when the deadline passed (or earlier).
    pub topic_seen: bool,
}

/// Builds a stream consumer from librdkafka properties. Defaults that suit
/// reading without a group are added where the map leaves them out:
/// `group.id=ddlsync-reader`, `enable.auto.commit=false`,
/// `enable.auto.offset.store=false`, `allow.auto.create.topics=false`.
pub fn consumer(properties: &BTreeMap<String, String>) -> Result<StreamConsumer> {
    let mut config = ClientConfig::new();
    for (key, value) in [
        (property::GROUP_ID, "ddlsync-reader"),
        (property::ENABLE_AUTO_COMMIT, "false"),
        (property::ENABLE_AUTO_OFFSET_STORE, "false"),
        (property::ALLOW_AUTO_CREATE_TOPICS, "false"),
    ] {
        config.set(key, value);
    }
    for (key, value) in properties {
        config.set(key, value);
    }
    config.create().map_err(|e| Error::Config(Box::new(e)))
}

/// The partitions of `topic`, or `None` while the topic does not exist. Lists
/// all topics rather than asking for this one, so that the request cannot
/// create it on a broker that auto-creates topics.
fn partitions(
    consumer: &StreamConsumer,
    topic: &str,
    timeout: Duration,
) -> Result<Option<Vec<i32>>> {
    let metadata = consumer
        .fetch_metadata(None, timeout)
        .map_err(|e| Error::Topic {
            topic: topic.to_owned(),
            source: Box::new(e),
        })?;
    Ok(metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.partitions().iter().map(|p| p.id()).collect()))
}

/// Reads `topic` from the beginning of every partition, collecting records
/// until `done(&records)` holds or `deadline` passes. Waits for the topic to
/// appear if it does not exist yet. Never commits offsets.
pub async fn read_until<F>(
    properties: &BTreeMap<String, String>,
    topic: &str,
    deadline: Duration,
    mut done: F,
) -> Result<Read>
where
    F: FnMut(&[Record]) -> bool,
{
    let end = Instant::now() + deadline;
    let consumer = consumer(properties)?;
    let mut read = Read::default();
    let parts = loop {
        let left = end.saturating_duration_since(Instant::now());
        match partitions(&consumer, topic, left.min(Duration::from_secs(5))) {
            Ok(Some(parts)) => break parts,
            Ok(None) | Err(_) if left > Duration::from_millis(300) => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Ok(None) => return Ok(read),
            Err(e) => return Err(e),
        }
    };
    read.topic_seen = true;
    {
        // Dropped before the consumer: a live list keeps librdkafka from shutting down.
        let mut assignment = TopicPartitionList::new();
        for p in parts {
            assignment
                .add_partition_offset(topic, p, Offset::Beginning)
                .map_err(|e| Error::Topic {
                    topic: topic.to_owned(),
                    source: Box::new(e),
                })?;
        }
        consumer.assign(&assignment).map_err(|e| Error::Topic {
            topic: topic.to_owned(),
            source: Box::new(e),
        })?;
    }
    if done(&read.records) {
        read.satisfied = true;
        return Ok(read);
    }
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(read);
        }
        match tokio::time::timeout(left, consumer.recv()).await {
            Err(_elapsed) => return Ok(read),
            Ok(Err(e)) => {
                return Err(Error::Receive {
                    topic: topic.to_owned(),
                    source: Box::new(e),
                });
            }
            Ok(Ok(m)) => {
                read.records.push(Record {
                    topic: m.topic().to_owned(),
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    timestamp_ms: m.timestamp().to_millis(),
                });
                if done(&read.records) {
                    read.satisfied = true;
                    return Ok(read);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_json_accessors() {
        let r = Record {
            topic: "t".into(),
            partition: 0,
            offset: 3,
            key: Some(br#"{"id":1}"#.to_vec()),
            value: None,
            timestamp_ms: None,
        };
        assert_eq!(r.key_json().unwrap()["id"], 1);
        assert!(r.value_json().is_none());
    }

    #[test]
    fn bad_properties_are_a_config_error() {
        let props = BTreeMap::from([("no.such.property".to_owned(), "1".to_owned())]);
        let Err(err) = consumer(&props) else {
            panic!("an unknown property was accepted")
        };
        assert!(matches!(err, Error::Config(_)));
        assert!(!err.is_retriable());
    }
}
