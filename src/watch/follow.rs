//! Following the schema-change topics: read every partition from the
//! beginning (the history is rebuilt at each start), say when caught up, then
//! keep delivering new records until cancelled.
//!
//! Topics that do not exist yet (Debezium creates the schema-change topic when
//! its connector first starts) are reported and looked up again every few
//! seconds; "caught up" covers the topics that exist. A record that does not
//! decode is delivered as [`Item::Bad`] and the stream moves on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{BadRecord, Error};
use crate::source::{Event, Located};

/// How often missing topics are looked up again.
const TOPIC_RECHECK: Duration = Duration::from_secs(3);

/// What following delivers.
#[derive(Debug)]
pub enum Item {
    /// A decoded event, with the broker's timestamp of its record.
    Event {
        /// The event.
        event: Box<Located<Event>>,
        /// Kafka record timestamp (ms since the epoch), when the broker gave one.
        kafka_ts_ms: Option<i64>,
    },
    /// A record that did not decode (skipped).
    Bad(BadRecord),
    /// Every existing partition was read to its end and stayed quiet for `idle`.
    CaughtUp,
}

/// Follows `topics` until `cancel`, sending [`Item`]s on `tx` (which applies
/// back-pressure). Returns when cancelled or when the receiver is gone.
pub async fn follow(
    properties: &BTreeMap<String, String>,
    topics: &[String],
    idle: Duration,
    tx: mpsc::Sender<Item>,
    cancel: CancellationToken,
) -> Result<(), Error> {
    let consumer = crate::kafka::consumer(properties)?;
    let mut assigned: BTreeSet<String> = BTreeSet::new();
    let mut next: HashMap<(String, i32), i64> = HashMap::new();
    let mut high: HashMap<(String, i32), i64> = HashMap::new();
    let mut caught_up_sent = false;
    let mut last_record = Instant::now();
    let mut last_check = Instant::now() - TOPIC_RECHECK;
    let mut warned: BTreeSet<String> = BTreeSet::new();
    loop {
        if cancel.is_cancelled() {
            return Ok(());
        }
        if assigned.len() < topics.len() && last_check.elapsed() >= TOPIC_RECHECK {
            last_check = Instant::now();
            let added = assign_new(&consumer, topics, &mut assigned, &mut next, &mut high)?;
            for t in topics.iter().filter(|t| !assigned.contains(*t)) {
                if warned.insert(t.clone()) {
                    tracing::warn!(topic = %t, "Schema-change topic does not exist yet; looking again every few seconds.");
                }
            }
            if added {
                last_record = Instant::now();
            }
        }
        let quiet = last_record.elapsed() >= idle;
        if !caught_up_sent && quiet && next.iter().all(|(k, n)| *n >= high[k]) {
            caught_up_sent = true;
            tracing::info!(
                topics = assigned.len(),
                partitions = next.len(),
                "Schema-change topics read to their end."
            );
            if tx.send(Item::CaughtUp).await.is_err() {
                return Ok(());
            }
        }
        let wait = if caught_up_sent {
            Duration::from_millis(500)
        } else {
            idle.min(Duration::from_millis(200))
        };
        let received = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            r = tokio::time::timeout(wait, consumer.recv()) => r,
        };
        let message = match received {
            Err(_) => continue,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Kafka receive failed on the schema-change topics; retrying.");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Ok(Ok(m)) => m,
        };
        last_record = Instant::now();
        next.insert(
            (message.topic().to_owned(), message.partition()),
            message.offset() + 1,
        );
        // Tombstones and records without a value carry nothing to fold.
        let Some(item) = decode(&message) else {
            continue;
        };
        if tx.send(item).await.is_err() {
            return Ok(());
        }
    }
}

/// Assigns the topics of `topics` that exist now and are not assigned yet,
/// keeping the positions of those already assigned. Returns whether any was added.
fn assign_new(
    consumer: &StreamConsumer,
    topics: &[String],
    assigned: &mut BTreeSet<String>,
    next: &mut HashMap<(String, i32), i64>,
    high: &mut HashMap<(String, i32), i64>,
) -> Result<bool, Error> {
    let client_err = |topic: &str, e| Error::Client {
        topic: topic.to_owned(),
        source: Box::new(e),
    };
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(5))
        .map_err(|e| client_err("(metadata)", e))?;
    let mut added = false;
    let missing: Vec<&String> = topics.iter().filter(|t| !assigned.contains(*t)).collect();
    for topic in missing {
        let Some(t) = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
        else {
            continue;
        };
        for p in t.partitions() {
            let (_low, hw) = consumer
                .fetch_watermarks(topic, p.id(), Duration::from_secs(5))
                .map_err(|e| client_err(topic, e))?;
            high.insert((topic.clone(), p.id()), hw);
            next.insert((topic.clone(), p.id()), 0);
        }
        assigned.insert(topic.clone());
        added = true;
    }
    if added {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), n) in next.iter() {
            let offset = if *n == 0 {
                Offset::Beginning
            } else {
                Offset::Offset(*n)
            };
            list.add_partition_offset(topic, *partition, offset)
                .map_err(|e| client_err(topic, e))?;
        }
        consumer
            .assign(&list)
            .map_err(|e| client_err("(assign)", e))?;
    }
    Ok(added)
}

fn decode(m: &BorrowedMessage<'_>) -> Option<Item> {
    match super::decode_message(m) {
        Ok(Some(event)) => Some(Item::Event {
            event: Box::new(event),
            kafka_ts_ms: m.timestamp().to_millis(),
        }),
        Ok(None) => None,
        Err(bad) => Some(Item::Bad(bad)),
    }
}
