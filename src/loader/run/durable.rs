//! Making progress durable in Kafka: offset commits (their metadata carries
//! the batch plans too, for operators), recording plans ([`super::plans`]) in
//! the plans topic ([`super::planlog`]) before their batches load, and
//! reading them back after an assignment so re-read batches are cut where
//! they were; the lag (high watermark − durable position).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::engine::{Engine, SlotKey};
use super::plans::{Cut, Forced};
use crate::metrics::{FailureCause, LoadTarget};

/// Attempts at reading a partition's committed plans before going on without.
const FORCED_ATTEMPTS: u32 = 5;

impl Engine {
    /// Commits every partition whose durable position moved, with its plans.
    pub(super) fn commit(&mut self, mode: CommitMode) {
        let ready = self.offsets.ready();
        if ready.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, pos) in &ready {
            let (meta, _) = self.plans.encode(topic, *partition, *pos);
            self.consumer
                .context()
                .set_durable((topic.clone(), *partition), *pos, meta.clone());
            add(&mut tpl, topic, *partition, *pos, meta);
        }
        match self.consumer.commit(&tpl, mode) {
            Ok(()) => {
                self.summary.commits += 1;
                for (topic, partition, pos) in ready {
                    tracing::trace!(%topic, partition, offset = pos, "committed");
                    self.offsets.committed(&topic, partition, pos);
                }
            }
            Err(e) => {
                self.metrics.record_failure(FailureCause::Kafka);
                tracing::warn!(error = %e, "offset commit failed; retried on the next tick");
            }
        }
    }

    /// Records the plans of sealed batches in the plans topic (awaiting the
    /// acknowledgement), then starts the batches that may load.
    pub(super) fn persist_plans(&mut self) {
        for (topic, partition) in self.plans.unrecorded() {
            let Some(pos) = self.offsets.position(&topic, partition) else {
                continue;
            };
            let (text, n) = self.plans.encode(&topic, partition, pos);
            let t0 = Instant::now();
            match self.planlog.write(&topic, partition, &text) {
                Ok(()) => {
                    tracing::debug!(%topic, partition, position = pos, plans = n,
                        took_ms = t0.elapsed().as_millis() as u64, "batch plans recorded");
                    self.plans.mark_recorded(&topic, partition, n);
                }
                Err(e) => {
                    self.metrics.record_failure(FailureCause::Kafka);
                    tracing::warn!(%topic, partition, error = %e,
                        "recording batch plans failed; their batches wait (retried on the next tick)");
                }
            }
        }
        let tables: Vec<String> = self
            .tables
            .iter()
            .filter(|(_, t)| !t.queue.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for t in tables {
            self.start_jobs(&t);
        }
    }

    /// Reads the partition's committed offset and latest plans once per
    /// assignment (`since_ms`: the timestamp of the first record re-read).
    pub(super) fn ensure_forced(&mut self, topic: &str, partition: i32, since_ms: Option<i64>) {
        if self
            .forced_loaded
            .get(topic)
            .is_some_and(|p| p.contains(&partition))
        {
            return;
        }
        let tp = (topic.to_string(), partition);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        for attempt in 1..=FORCED_ATTEMPTS {
            let read = self
                .consumer
                .committed_offsets(tpl.clone(), Duration::from_secs(10))
                .map_err(|e| e.to_string())
                .and_then(|got| {
                    let c = match got.find_partition(topic, partition).map(|e| e.offset()) {
                        Some(Offset::Offset(c)) => Some(c),
                        _ => None,
                    };
                    let text = match c {
                        Some(_) => self
                            .planlog
                            .read(topic, partition, since_ms)
                            .map_err(|e| e.to_string())?,
                        None => None,
                    };
                    Ok((c, text))
                });
            match read {
                Ok((c, text)) => {
                    tracing::debug!(topic, partition, committed = ?c, plans = ?text, "committed offset and batch plans read");
                    if let (Some(c), Some(text)) = (c, text) {
                        if let Some(f) = Forced::from_metadata(c, &text) {
                            if !f.is_empty() {
                                tracing::info!(topic, partition, committed = c, plans = %text,
                                    "re-reading planned batches: cutting them where they were");
                                self.forced.insert(tp.clone(), f);
                            }
                        }
                    }
                    self.forced_loaded
                        .entry(topic.to_string())
                        .or_default()
                        .insert(partition);
                    return;
                }
                Err(e) => {
                    tracing::warn!(topic, partition, attempt, error = %e, "reading committed batch plans failed");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        tracing::error!(
            topic,
            partition,
            "committed batch plans not readable: re-read batches may get new labels (raw rows twice)"
        );
        self.forced_loaded
            .entry(topic.to_string())
            .or_default()
            .insert(partition);
    }

    /// How a record at `offset` must be batched for `table`/`kind`.
    pub(super) fn cut(
        &self,
        topic: &str,
        partition: i32,
        table: &str,
        kind: LoadTarget,
        offset: i64,
    ) -> Cut {
        if self.forced.is_empty() {
            return Cut::Free;
        }
        self.forced
            .get(&(topic.to_string(), partition))
            .map_or(Cut::Free, |f| f.cut(table, kind, offset))
    }

    /// Whether the open batch of `key` may be sealed now: a batch re-cutting
    /// a planned range waits for the range's last offset to be read.
    pub(super) fn may_seal(&self, key: &SlotKey) -> bool {
        let Some(slot) = self.slots.get(key) else {
            return false;
        };
        match slot.forced_last {
            None => true,
            Some(last) => self.offsets.high(&key.2, key.3).is_some_and(|h| h > last),
        }
    }

    /// Whether the open batch of `key` is due (limits, or its planned range read).
    pub(super) fn is_due(&self, key: &SlotKey, now: Instant) -> bool {
        let Some(slot) = self.slots.get(key) else {
            return false;
        };
        if slot.batch.is_empty() {
            return false;
        }
        match slot.forced_last {
            None => slot.batch.flush_reason(now).is_some(),
            Some(_) => self.may_seal(key),
        }
    }

    /// Samples the lag (high watermark − durable position) per target table,
    /// off the runtime thread (watermarks are a broker round trip).
    pub(super) fn sample_lag(&self) {
        if self.lag_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let positions = self.offsets.positions();
        let tables = self.topic_tables.clone();
        let consumer = Arc::clone(&self.consumer);
        let metrics = Arc::clone(&self.metrics);
        let running = Arc::clone(&self.lag_running);
        tokio::task::spawn_blocking(move || {
            let mut lag: HashMap<String, u64> = HashMap::new();
            for (topic, partition, pos) in positions {
                let Some(table) = tables.get(&topic) else {
                    continue;
                };
                if let Ok((_, high)) =
                    consumer.fetch_watermarks(&topic, partition, Duration::from_secs(2))
                {
                    *lag.entry(table.clone()).or_insert(0) +=
                        u64::try_from(high.saturating_sub(pos)).unwrap_or(0);
                }
            }
            for (t, l) in lag {
                metrics.set_loader_lag(&t, l);
            }
            running.store(false, Ordering::Release);
        });
    }
}

fn add(tpl: &mut TopicPartitionList, topic: &str, partition: i32, pos: i64, meta: String) {
    if let Err(e) = tpl.add_partition_offset(topic, partition, Offset::Offset(pos)) {
        tracing::warn!(%topic, partition, error = %e, "offset not added to the commit");
        return;
    }
    if let Some(mut el) = tpl.find_partition(topic, partition) {
        el.set_metadata(meta);
    }
}
