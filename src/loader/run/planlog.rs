//! Where batch plans ([`super::plans`]) are kept: a Kafka topic of the
//! loader's own (`loader.plans_topic`, default `<group_id>.plans`, one
//! partition, created at start when missing), one record per recording,
//! keyed `<topic>/<partition>`, valued with the plans text.
//!
//! Offset commit metadata would be the natural place, but not every broker
//! keeps it (the local stack's does not), so the plans go to a topic: a write
//! awaits the broker's acknowledgement (`acks=all`) before the batches it
//! covers may load. After an assignment the runtime reads the latest record
//! of the partition, scanning the plans topic only from a while before the
//! timestamp of the first record it re-reads (plans are written after the
//! records they cover were read), so the scan is bounded by recent activity.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// How long a write or a read may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How far before the first re-read record's timestamp the scan starts.
const SCAN_MARGIN_MS: i64 = 10 * 60 * 1000;

/// Why plans could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum PlanLogError {
    /// Kafka refused.
    #[error("plans topic {topic}: {source}")]
    Kafka {
        /// The plans topic.
        topic: String,
        /// Cause.
        #[source]
        source: KafkaError,
    },
    /// A write was not acknowledged.
    #[error("plans topic {topic}: write not acknowledged: {reason}")]
    Delivery {
        /// The plans topic.
        topic: String,
        /// Why.
        reason: String,
    },
}

/// Hands each delivery report to the writer waiting for it.
struct Acks {
    tx: SyncSender<Result<(), String>>,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let r = match result {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(e.to_string()),
        };
        // The writer may have given up waiting: nobody to tell then.
        if self.tx.try_send(r).is_err() {
            tracing::debug!("plans topic delivery report with no writer waiting");
        }
    }
}

/// The plans topic.
pub struct PlanLog {
    topic: String,
    props: BTreeMap<String, String>,
    producer: ThreadedProducer<Acks>,
    acks: Mutex<Receiver<Result<(), String>>>,
}

impl std::fmt::Debug for PlanLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanLog")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

fn key(topic: &str, partition: i32) -> String {
    format!("{topic}/{partition}")
}

impl PlanLog {
    /// A writer and reader of `topic` (`props`: connection properties).
    pub fn new(props: &BTreeMap<String, String>, topic: &str) -> Result<PlanLog, KafkaError> {
        let mut cfg = ClientConfig::new();
        for (k, v) in props {
            cfg.set(k, v);
        }
        cfg.set("acks", "all");
        cfg.set("linger.ms", "0");
        let (tx, rx) = mpsc::sync_channel(64);
        let producer = cfg.create_with_context(Acks { tx })?;
        Ok(PlanLog {
            topic: topic.to_string(),
            props: props.clone(),
            producer,
            acks: Mutex::new(rx),
        })
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    fn err(&self, source: KafkaError) -> PlanLogError {
        PlanLogError::Kafka {
            topic: self.topic.clone(),
            source,
        }
    }

    /// Creates the topic (one partition) unless it exists.
    pub async fn ensure_topic(&self) -> Result<(), PlanLogError> {
        let mut cfg = ClientConfig::new();
        for (k, v) in &self.props {
            cfg.set(k, v);
        }
        let admin: AdminClient<DefaultClientContext> = cfg.create().map_err(|e| self.err(e))?;
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        let mut last = None;
        // The broker's default replication first; a fixed 1 for brokers without defaults.
        for replication in [TopicReplication::Fixed(-1), TopicReplication::Fixed(1)] {
            let t = NewTopic::new(&self.topic, 1, replication);
            match admin.create_topics([&t], &opts).await {
                Ok(results) => match results.into_iter().next() {
                    Some(Ok(_)) => return Ok(()),
                    Some(Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists))) => {
                        return Ok(())
                    }
                    Some(Err((_, code))) => last = Some(KafkaError::AdminOp(code)),
                    None => return Ok(()),
                },
                Err(e) => last = Some(e),
            }
        }
        Err(self.err(last.unwrap_or(KafkaError::Canceled)))
    }

    /// Writes the plans of a partition and waits for the acknowledgement.
    pub fn write(&self, topic: &str, partition: i32, text: &str) -> Result<(), PlanLogError> {
        let acks = self.acks.lock().unwrap_or_else(|p| p.into_inner());
        // Reports of earlier writes that timed out.
        while acks.try_recv().is_ok() {}
        let k = key(topic, partition);
        self.producer
            .send(
                BaseRecord::to(&self.topic)
                    .partition(0)
                    .key(&k)
                    .payload(text),
            )
            .map_err(|(e, _)| self.err(e))?;
        let delivery = |reason: String| PlanLogError::Delivery {
            topic: self.topic.clone(),
            reason,
        };
        match acks.recv_timeout(TIMEOUT) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(delivery(reason)),
            Err(e) => Err(delivery(e.to_string())),
        }
    }

    /// The latest plans written for the partition at or after `since_ms`
    /// (minus a margin); `None` when there are none.
    pub fn read(
        &self,
        topic: &str,
        partition: i32,
        since_ms: Option<i64>,
    ) -> Result<Option<String>, PlanLogError> {
        let mut cfg = ClientConfig::new();
        for (k, v) in &self.props {
            cfg.set(k, v);
        }
        cfg.set("group.id", format!("{}-reader", self.topic));
        cfg.set("enable.auto.commit", "false");
        let consumer: BaseConsumer = cfg.create().map_err(|e| self.err(e))?;
        let (low, high) = consumer
            .fetch_watermarks(&self.topic, 0, TIMEOUT)
            .map_err(|e| self.err(e))?;
        if high <= low {
            return Ok(None);
        }
        let mut start = low;
        if let Some(ts) = since_ms {
            let mut q = TopicPartitionList::new();
            q.add_partition_offset(&self.topic, 0, Offset::Offset(ts - SCAN_MARGIN_MS))
                .map_err(|e| self.err(e))?;
            let found = consumer
                .offsets_for_times(q, TIMEOUT)
                .map_err(|e| self.err(e))?;
            match found.find_partition(&self.topic, 0).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => start = o.max(low),
                Some(Offset::End) => return Ok(None),
                _ => {}
            }
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.topic, 0, Offset::Offset(start))
            .map_err(|e| self.err(e))?;
        consumer.assign(&tpl).map_err(|e| self.err(e))?;
        let want = key(topic, partition);
        let mut latest = None;
        let deadline = Instant::now() + TIMEOUT * 3;
        let mut next = start;
        while next < high {
            if Instant::now() > deadline {
                return Err(self.err(KafkaError::MessageConsumption(
                    rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
                )));
            }
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    next = m.offset() + 1;
                    if m.key() == Some(want.as_bytes()) {
                        latest = m.payload().map(|p| String::from_utf8_lossy(p).into_owned());
                    }
                }
                Some(Err(e)) => return Err(self.err(e)),
                None => {}
            }
        }
        Ok(latest)
    }
}
