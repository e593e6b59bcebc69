//! Giving partitions up in a rebalance: the runtime's side of a revocation
//! (the reader's rebalance callback waits for it, see [`super::consumer`]).

use std::time::Instant;

use rdkafka::consumer::Consumer as _;

use super::consumer::{Tp, REVOKE_DRAIN};
use super::engine::{Engine, TICK};

impl Engine {
    /// Partitions about to be revoked: their open batches are given up (the
    /// next owner reads them again), their sealed ones load (up to
    /// [`REVOKE_DRAIN`]), then their durable positions are published for the
    /// revoke commit and they are forgotten.
    pub(super) async fn on_revoke(&mut self, partitions: Vec<Tp>) {
        let t0 = Instant::now();
        let revoked = |topic: &str, partition: i32| {
            partitions
                .iter()
                .any(|(t, p)| t == topic && *p == partition)
        };
        // Their pins stay until `forget`: the positions do not pass them.
        self.slots.retain(|k, _| !revoked(&k.2, k.3));
        let pending = |e: &Engine| -> usize {
            e.tables
                .values()
                .map(|t| {
                    t.loading
                        .iter()
                        .filter(|(k, _)| revoked(&k.1, k.2))
                        .map(|(_, n)| *n)
                        .sum::<usize>()
                        + t.queue
                            .iter()
                            .filter(|j| revoked(&j.sealed.topic, j.sealed.partition))
                            .count()
                })
                .sum()
        };
        let waited = pending(self);
        // Records the sealed batches' plans and starts what may load.
        self.persist_plans();
        let deadline = tokio::time::Instant::now() + REVOKE_DRAIN;
        while pending(self) > 0 {
            tokio::select! {
                Some(done) = self.jobs.join_next(), if !self.jobs.is_empty() => self.on_done(done),
                () = tokio::time::sleep(TICK) => self.persist_plans(),
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(partitions = ?partitions, pending = pending(self),
                        "revoke: batches still loading after the drain limit; the next owner loads them with the same labels");
                    break;
                }
                () = self.cancel.cancelled() => break,
            }
        }
        for (topic, partition) in &partitions {
            if let Some(pos) = self.offsets.position(topic, *partition) {
                let (meta, _) = self.plans.encode(topic, *partition, pos);
                self.consumer
                    .context()
                    .set_durable((topic.clone(), *partition), pos, meta);
            }
            self.forget(topic, *partition);
        }
        tracing::info!(partitions = ?partitions, drained = waited,
            took_ms = t0.elapsed().as_millis() as u64, "partitions handed back");
    }

    pub(super) fn forget(&mut self, topic: &str, partition: i32) {
        *self
            .generations
            .entry(topic.to_string())
            .or_default()
            .entry(partition)
            .or_insert(0) += 1;
        self.slots
            .retain(|k, _| !(k.2 == topic && k.3 == partition));
        for t in self.tables.values_mut() {
            t.queue
                .retain(|j| !(j.sealed.topic == topic && j.sealed.partition == partition));
        }
        self.offsets.forget(topic, partition);
        self.plans.forget(topic, partition);
        self.forced.remove(&(topic.to_string(), partition));
        if let Some(p) = self.forced_loaded.get_mut(topic) {
            p.remove(&partition);
        }
        self.holds.forget(topic, partition);
    }
}
