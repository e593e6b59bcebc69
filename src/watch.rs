//! Reading where source schemas are announced: the Debezium schema-change
//! topics (and, for sources without one, data topics with inline schemas),
//! from the beginning, to rebuild each table's history — once
//! ([`read_history`], for `plan`) or following them ([`follow`], for `run`).
//!
//! Edge module (rdkafka). Records are decoded with `source` exactly as lines
//! of an events file are, so the offline and online planners see the same
//! events. A record that does not decode is reported with its topic,
//! partition and offset and skipped: it never stops the other tables.
//! "Caught up" is decided by consuming, not by the broker's high watermark
//! alone (some Kafka-protocol brokers report it late): every partition must
//! have reached the watermark it reported and then stayed quiet for `idle`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::source::{decode_value, DecodeError, Event, Located};

mod follow;
mod registry;

pub use follow::{follow, Item};
pub use registry::{RegistryError, RegistryWatcher, SubjectFilter};

/// Errors that stop reading altogether (a bad record does not).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The consumer could not be built or assigned.
    #[error("kafka: {0}")]
    Kafka(#[from] crate::kafka::Error),
    /// A Kafka call failed.
    #[error("topic {topic}: {source}")]
    Client {
        /// The topic.
        topic: String,
        /// The client's error.
        #[source]
        source: Box<rdkafka::error::KafkaError>,
    },
    /// A topic did not appear before the deadline.
    #[error("topic {0} does not exist")]
    NoSuchTopic(String),
}

/// A record that could not be decoded, with where it is.
#[derive(Debug)]
pub struct BadRecord {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Why.
    pub error: DecodeError,
}

/// What reading the topics gave.
#[derive(Debug, Default)]
pub struct History {
    /// Decoded events, per topic in offset order, topics in the order asked.
    pub events: Vec<Located<Event>>,
    /// Records that did not decode (skipped).
    pub bad: Vec<BadRecord>,
    /// Records read in all.
    pub records: usize,
}

/// Reads every partition of `topics` from the beginning until caught up (see
/// the module doc) or `deadline` passes, decoding each record.
pub async fn read_history(
    properties: &BTreeMap<String, String>,
    topics: &[String],
    idle: Duration,
    deadline: Duration,
) -> Result<History, Error> {
    let mut history = History::default();
    for topic in topics {
        read_topic(properties, topic, idle, deadline, &mut history).await?;
    }
    Ok(history)
}

async fn read_topic(
    properties: &BTreeMap<String, String>,
    topic: &str,
    idle: Duration,
    deadline: Duration,
    history: &mut History,
) -> Result<(), Error> {
    let client_err = |e| Error::Client {
        topic: topic.to_owned(),
        source: Box::new(e),
    };
    let end = Instant::now() + deadline;
    let consumer = crate::kafka::consumer(properties)?;
    let partitions: Vec<i32> = loop {
        let metadata = consumer
            .fetch_metadata(None, Duration::from_secs(5))
            .map_err(client_err)?;
        let found = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
            .map(|t| t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>());
        match found {
            Some(p) if !p.is_empty() => break p,
            _ if Instant::now() + Duration::from_millis(250) < end => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            _ => return Err(Error::NoSuchTopic(topic.to_owned())),
        }
    };
    let mut high: HashMap<i32, i64> = HashMap::new();
    {
        let mut assignment = TopicPartitionList::new();
        for &p in &partitions {
            let (_low, hw) = consumer
                .fetch_watermarks(topic, p, Duration::from_secs(5))
                .map_err(client_err)?;
            high.insert(p, hw);
            assignment
                .add_partition_offset(topic, p, Offset::Beginning)
                .map_err(client_err)?;
        }
        consumer.assign(&assignment).map_err(client_err)?;
    }
    let mut next: HashMap<i32, i64> = partitions.iter().map(|&p| (p, 0)).collect();
    let caught_up = |next: &HashMap<i32, i64>| next.iter().all(|(p, n)| *n >= high[p]);
    let mut last_record = Instant::now();
    loop {
        let now = Instant::now();
        if now >= end || (caught_up(&next) && now.duration_since(last_record) >= idle) {
            return Ok(());
        }
        let wait = idle.min(end.saturating_duration_since(now));
        match tokio::time::timeout(wait, consumer.recv()).await {
            Err(_) => {}
            Ok(Err(e)) => return Err(client_err(e)),
            Ok(Ok(m)) => {
                last_record = Instant::now();
                history.records += 1;
                next.insert(m.partition(), m.offset() + 1);
                match decode_message(&m) {
                    Ok(Some(event)) => history.events.push(event),
                    Ok(None) => {}
                    Err(bad) => {
                        tracing::warn!(
                            topic = %bad.topic,
                            partition = bad.partition,
                            offset = bad.offset,
                            error = %bad.error,
                            "Skipped a record that is not a Debezium message."
                        );
                        history.bad.push(bad);
                    }
                }
            }
        }
    }
}

/// Decodes one record of a schema-change topic as `source` decodes a line
/// of an events file (`Ok(None)`: a tombstone or an empty value).
pub(crate) fn decode_message(
    m: &rdkafka::message::BorrowedMessage<'_>,
) -> Result<Option<Located<Event>>, BadRecord> {
    let text = |b: Option<&[u8]>| {
        b.map(|b| Value::String(String::from_utf8_lossy(b).into_owned()))
            .unwrap_or(Value::Null)
    };
    let record = json!({
        "topic": m.topic(),
        "partition": m.partition(),
        "offset": m.offset(),
        "key": text(m.key()),
        "payload": text(m.payload()),
    });
    decode_value(&record, 0).map_err(|error| BadRecord {
        topic: m.topic().to_owned(),
        partition: m.partition(),
        offset: m.offset(),
        error,
    })
}
