//! The reader thread: polls the group consumer, prepares JSON records ahead
//! of the runtime ([`super::prepare`]) and hands them over, in order, through
//! a bounded channel; it also carries revocations to the runtime, which
//! loads the revoked partitions' sealed batches before the consumer gives
//! them up (see [`super::consumer::Ctx`]).
//!
//! Decoding and converting, the costly part of a record, thus runs on its own
//! thread while the runtime batches and loads. The channel is bounded, so a
//! runtime that stops taking records (a held table, backpressure) stops the
//! reader too: memory stays flat and Kafka stays the buffer. Records the
//! runtime has paused or seeked away from may still be in the channel; its
//! holds discard them (see [`super::holds`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer as _;
use rdkafka::message::{BorrowedMessage, Message as _};
use tokio::sync::mpsc;

use super::consumer::{LoaderConsumer, Tp};
use super::prepare::{Prepared, Preparer};
use crate::loader::convert::Record;
use crate::metrics::{FailureCause, Metrics};

/// Chunks of records (and revocations) between the reader and the runtime.
pub(super) const CHANNEL: usize = 32;
/// Records handed over at once (one wake-up of the runtime per chunk).
pub(super) const CHUNK: usize = 64;
/// How long one poll waits for a record (the stop flag's latency).
const POLL: Duration = Duration::from_millis(100);

/// What the reader hands the runtime.
pub(super) enum Item {
    /// Records, in the order they were read.
    Msgs(Vec<Msg>),
    /// These partitions are about to be revoked. The runtime drains their
    /// sealed batches, publishes their durable positions for the revoke
    /// commit, forgets them, and then answers on `done`.
    Revoke {
        /// The partitions.
        partitions: Vec<Tp>,
        /// Answered when the runtime is done with them.
        done: std::sync::mpsc::SyncSender<()>,
    },
}

/// One record, owned.
pub(super) struct Msg {
    pub(super) topic: Arc<str>,
    pub(super) partition: i32,
    pub(super) offset: i64,
    /// Kafka timestamp, ms.
    pub(super) timestamp: Option<i64>,
    pub(super) key: Option<Vec<u8>>,
    pub(super) payload: Option<Vec<u8>>,
    /// The first half already done (JSON topics); `None`: the runtime decodes.
    pub(super) prepared: Option<Prepared>,
}

fn prepare(p: &mut Preparer, m: &Msg) -> Prepared {
    let Some(bytes) = m.payload.as_deref() else {
        return Prepared::Tombstone;
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return Prepared::Bad(format!("value is not UTF-8 JSON: {e}")),
    };
    // As the JSON codec reads keys: text, or absent when not UTF-8.
    let key = m.key.as_deref().and_then(|k| std::str::from_utf8(k).ok());
    p.prepare(&Record {
        topic: &m.topic,
        partition: m.partition,
        offset: m.offset,
        key,
        value: Some(text),
    })
}

/// A running reader; stopping it (or dropping the receiver) ends the thread.
pub(super) struct Reader {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reader {
    /// Starts the thread.
    pub(super) fn start(
        consumer: Arc<LoaderConsumer>,
        tx: mpsc::Sender<Item>,
        mut preparer: Option<Preparer>,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Reader> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("ddlsync-reader".into())
            .spawn(move || {
                let mut topics: HashMap<String, Arc<str>> = HashMap::new();
                let ctx = consumer.context();
                'read: while !flag.load(Ordering::Acquire) && !tx.is_closed() {
                    // The first record waits; the rest of a chunk is what is there already.
                    let mut wait = POLL;
                    while ctx.pending() < CHUNK {
                        let m = match consumer.poll(wait) {
                            None => break,
                            Some(Ok(m)) => owned(&m, &mut topics),
                            Some(Err(e)) => {
                                metrics.record_failure(FailureCause::Kafka);
                                tracing::warn!(error = %e, "loader: kafka receive error");
                                if !ctx.flush() {
                                    break 'read;
                                }
                                std::thread::sleep(Duration::from_millis(200));
                                continue;
                            }
                        };
                        wait = Duration::ZERO;
                        let mut m = m;
                        if let Some(p) = preparer.as_mut() {
                            m.prepared = Some(prepare(p, &m));
                        }
                        ctx.push(m);
                    }
                    if !ctx.flush() {
                        break;
                    }
                }
                tracing::debug!("loader reader stopped");
            })?;
        Ok(Reader {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it (off the async runtime's threads).
    pub(super) async fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let joined = tokio::task::spawn_blocking(move || t.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("loader reader thread ended abnormally");
            }
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

fn owned(m: &BorrowedMessage<'_>, topics: &mut HashMap<String, Arc<str>>) -> Msg {
    let topic = match topics.get(m.topic()) {
        Some(t) => Arc::clone(t),
        None => {
            let t: Arc<str> = Arc::from(m.topic());
            topics.insert(m.topic().to_string(), Arc::clone(&t));
            t
        }
    };
    Msg {
        topic,
        partition: m.partition(),
        offset: m.offset(),
        timestamp: m.timestamp().to_millis(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec),
        prepared: None,
    }
}
