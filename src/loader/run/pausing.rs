//! Pausing and resuming partitions: the runtime's side of [`super::holds`]
//! (pause at the first record not loaded, seek back there on release), and
//! the releases that gate changes and emptied queues allow.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};

use super::engine::Engine;
use super::holds::Reason;
use crate::gate::Admission;
use crate::metrics::LoadTarget;
use crate::model::TableId;

impl Engine {
    /// Pauses a partition from `from` on (its records are read again after the release).
    pub(super) fn hold(&mut self, topic: &str, partition: i32, from: i64, reason: Reason) {
        if !self.holds.hold(topic, partition, from, reason.clone()) {
            return;
        }
        self.summary.holds += 1;
        self.offsets.pin(topic, partition, from);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        if let Err(e) = self.consumer.pause(&tpl) {
            // Without the pause, records keep arriving and are discarded: still correct.
            tracing::warn!(%topic, partition, error = %e, "pause failed");
        }
        match &reason {
            Reason::Gate { target, reason, .. } => {
                tracing::info!(%topic, partition, offset = from, table = %target, %reason, "table held by the gate: partition paused")
            }
            Reason::Backpressure { target } => {
                tracing::info!(%topic, partition, offset = from, table = %target, "table has too many batches waiting: partition paused")
            }
            Reason::Retry { until, error } => {
                let wait_ms = until.saturating_duration_since(Instant::now()).as_millis() as u64;
                tracing::warn!(%topic, partition, offset = from, wait_ms, %error, "record not decodable for now: partition paused, read again after the backoff")
            }
        }
        self.publish_held();
    }

    pub(super) fn release(&mut self, topic: &str, partition: i32) {
        let Some(held) = self.holds.release(topic, partition) else {
            return;
        };
        if let Err(e) = self.consumer.seek(
            topic,
            partition,
            Offset::Offset(held.from),
            Duration::from_secs(10),
        ) {
            tracing::warn!(%topic, partition, offset = held.from, error = %e, "seek failed; release retried later");
            self.holds.forget(topic, partition);
            self.holds.hold(topic, partition, held.from, held.reason);
            return;
        }
        self.offsets.rewind(topic, partition, held.from);
        self.offsets.unpin(topic, partition, held.from);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        if let Err(e) = self.consumer.resume(&tpl) {
            tracing::warn!(%topic, partition, error = %e, "resume failed");
        }
        tracing::info!(%topic, partition, offset = held.from, "partition released: reading again from the held record");
        self.publish_held();
    }

    /// Seeks a released partition back to `from` again: records past it kept
    /// coming (the first seek did not take).
    pub(super) fn reseek(&mut self, topic: &str, partition: i32, from: i64) {
        tracing::warn!(%topic, partition, offset = from,
            "records past the released offset keep arriving: seeking back again");
        self.metrics
            .record_failure(crate::metrics::FailureCause::Kafka);
        if let Err(e) = self.consumer.seek(
            topic,
            partition,
            Offset::Offset(from),
            Duration::from_secs(10),
        ) {
            tracing::warn!(%topic, partition, offset = from, error = %e, "seek failed; asked again later");
        }
    }

    /// The agent changed a gate: decisions are made again, open mirror
    /// batches of a table whose gate changed are sealed (a batch loads with
    /// the columns header it was opened with, so rows admitted under the new
    /// gate start one of their own), and held partitions the gate now admits
    /// are released.
    pub(super) fn on_gate_change(&mut self) {
        self.admissions.clear();
        let open: BTreeMap<String, TableId> = self
            .slots
            .iter()
            .filter(|(k, s)| k.1 == LoadTarget::Mirror && !s.batch.is_empty())
            .map(|(k, s)| (k.0.clone(), s.target.clone()))
            .collect();
        let changed: Vec<String> = open
            .into_iter()
            .filter(|(_, target)| self.gate_seen.get(target) != Some(&self.gates.get(target)))
            .map(|(name, _)| name)
            .collect();
        self.gate_seen.clear();
        if !changed.is_empty() {
            tracing::debug!(tables = ?changed, "gate changed: open mirror batches sealed");
            self.seal_tables(&changed);
        }
        for (topic, partition, held) in self.holds.held() {
            if let Reason::Gate {
                target, columns, ..
            } = &held.reason
            {
                let cols: Vec<&str> = columns.iter().map(String::as_str).collect();
                if !matches!(self.gates.admit(target, &cols), Admission::Hold { .. }) {
                    self.release(&topic, partition);
                }
            }
        }
    }

    pub(super) fn release_backpressure(&mut self) {
        if self.holds.is_empty() {
            return;
        }
        let cap = self.queue_cap();
        for (topic, partition, held) in self.holds.held() {
            if let Reason::Backpressure { target } = &held.reason {
                let waiting = self.tables.get(target).map_or(0, |t| t.queue.len());
                if waiting < cap {
                    self.release(&topic, partition);
                }
            }
        }
    }

    pub(super) fn publish_held(&mut self) {
        let held: Vec<String> = self
            .holds
            .gated_tables()
            .iter()
            .map(ToString::to_string)
            .collect();
        self.held_known.extend(held.iter().cloned());
        let known: Vec<String> = self.held_known.iter().cloned().collect();
        self.metrics.set_loader_held(&held, &known);
    }
}
