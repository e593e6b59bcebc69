//! One Kafka record through the runtime: decode, route, schema signal, gate,
//! truncate, rows into batches — or quarantine, or skip.

use std::time::Instant;

use rdkafka::message::{BorrowedMessage, Message as _};
use serde::Serialize;
use serde_json::{Map, Value};

use super::codec::DecodeError;
use super::engine::{Engine, Slot, SlotKey};
use super::holds::{Reason, Verdict};
use super::plans::Cut;
use super::quarantine::Entry;
use super::route::{self, Targets};
use super::Error;
use crate::config::TruncateMode;
use crate::gate::Admission;
use crate::loader::batch::{AddError, Batch, Position};
use crate::loader::convert::{Decoded, Event, MirrorOp, Op, Record, TableOptions, OP_COLUMN};
use crate::metrics::{LoadTarget, QuarantineReason, SkipReason};
use crate::model::TableId;

/// How the mirror rows of one event must be loaded.
enum Mode {
    /// Every column (the schema's, projected).
    Full,
    /// Only these columns (unchanged TOASTed ones left out): partial update.
    Partial(Vec<String>),
    /// Deletes only: whatever the open batch does.
    Any,
}

impl Engine {
    /// Handles one record; `Err` only for what must stop the loader.
    pub(super) async fn on_message(&mut self, m: &BorrowedMessage<'_>) -> Result<(), Error> {
        let (topic, partition, offset) = (m.topic(), m.partition(), m.offset());
        if !self.holds.is_empty() && self.holds.check(topic, partition, offset) == Verdict::Discard
        {
            return Ok(());
        }
        self.ensure_forced(topic, partition, m.timestamp().to_millis());
        self.summary.records += 1;
        let Some(bytes) = m.payload() else {
            self.skip(topic, partition, offset, SkipReason::Tombstone);
            return Ok(());
        };
        let codec = self.codec.clone();
        let text = match codec.decode_value(bytes).await {
            Ok(t) => t,
            Err(DecodeError::Retry(error)) => {
                self.retry_later(topic, partition, offset, error);
                return Ok(());
            }
            Err(DecodeError::Bad(reason)) => return self.quarantine(m, reason).await,
        };
        let key = match codec.decode_key(m.key()).await {
            Ok(k) => k,
            Err(DecodeError::Retry(error)) => {
                self.retry_later(topic, partition, offset, error);
                return Ok(());
            }
            Err(DecodeError::Bad(reason)) => return self.quarantine(m, reason).await,
        };
        self.decode_retries = 0;
        let key = key.as_deref();
        let Some(source) = route::source_table(&text, topic) else {
            let reason = match serde_json::from_str::<serde::de::IgnoredAny>(&text) {
                Err(e) => format!("malformed value: {e}"),
                Ok(_) => "no source table: not a Debezium envelope and the topic does not name one"
                    .to_string(),
            };
            return self.quarantine(m, reason).await;
        };
        let Some(route) = self.config.route(&source) else {
            self.skip(topic, partition, offset, SkipReason::Unrouted);
            return Ok(());
        };
        let targets = Targets::of(&route);
        if targets.is_empty() {
            self.skip(topic, partition, offset, SkipReason::Unrouted);
            return Ok(());
        }
        let names: Vec<String> = [&targets.mirror, &targets.raw]
            .into_iter()
            .flatten()
            .map(ToString::to_string)
            .collect();
        if let Some(name) = names.first() {
            if !self.topic_tables.contains_key(topic) {
                self.topic_tables.insert(topic.to_string(), name.clone());
            }
        }
        // Backpressure: a table with too many sealed batches waiting holds its partitions.
        let cap = self.queue_cap();
        if let Some(full) = names
            .iter()
            .find(|n| self.tables.get(*n).is_some_and(|t| t.queue.len() >= cap))
        {
            let reason = Reason::Backpressure {
                target: full.clone(),
            };
            self.hold(topic, partition, offset, reason);
            return Ok(());
        }
        let rec = Record {
            topic,
            partition,
            offset,
            key,
            value: Some(&text),
        };
        let opts = TableOptions {
            mirror: targets.mirror.is_some(),
            raw: targets.raw.is_some(),
            ..TableOptions::default()
        };
        let mut ev = match self.decoder.decode(&rec, &opts) {
            Ok(Decoded::Event(ev)) => ev,
            Ok(Decoded::Tombstone) => {
                self.skip(topic, partition, offset, SkipReason::Tombstone);
                return Ok(());
            }
            Err(e) => return self.quarantine(m, e.to_string()).await,
        };
        let fp = ev.schema.fingerprint().to_string();
        if self.schema_seen.get(&source) != Some(&fp) {
            self.schema_signal(topic, partition, offset, key, &text);
            self.schema_seen.insert(source.clone(), fp.clone());
        }
        let schema_cols: Vec<String> = ev.schema.columns().iter().map(|c| c.name.clone()).collect();
        let mut keep: Option<std::collections::BTreeSet<String>> = None;
        if let Some(mirror) = &targets.mirror {
            let cache_key = (mirror.clone(), fp.clone());
            let admission = match self.admissions.get(&cache_key) {
                Some(a) => a.clone(),
                None => {
                    let cols: Vec<&str> = schema_cols.iter().map(String::as_str).collect();
                    let a = self.gates.admit(mirror, &cols);
                    self.admissions.insert(cache_key, a.clone());
                    a
                }
            };
            match admission {
                Admission::Load => {}
                Admission::Hold { reason } => {
                    self.seal_tables(&names);
                    self.summary.records -= 1;
                    let reason = Reason::Gate {
                        target: mirror.clone(),
                        columns: schema_cols,
                        reason,
                    };
                    self.hold(topic, partition, offset, reason);
                    return Ok(());
                }
                Admission::Project { keep: k, dropped } => {
                    let mut n = 0u64;
                    for row in &mut ev.mirror {
                        for d in &dropped {
                            if row.values.remove(d).is_some() {
                                n += 1;
                            }
                        }
                        row.unavailable.retain(|c| !dropped.contains(c));
                    }
                    if n > 0 {
                        self.metrics.record_dropped_columns(&mirror.to_string(), n);
                        self.summary.dropped_columns += n;
                    }
                    keep = Some(k);
                }
            }
        }
        if ev.op == Op::Truncate {
            match (self.lc.truncate, &targets.mirror) {
                (TruncateMode::Apply, Some(mirror)) => {
                    let mirror = mirror.clone();
                    if !self.truncate(&mirror, topic, partition, offset).await {
                        // Cancelled before it happened: not observed, read again.
                        return Ok(());
                    }
                    self.metrics.record_truncate(true);
                    self.summary.truncates_applied += 1;
                }
                _ => {
                    tracing::info!(table = %source, topic, partition, offset, "source truncate: mirror kept (truncate = skip)");
                    self.metrics.record_truncate(false);
                    self.summary.truncates_skipped += 1;
                }
            }
        }
        let pos = Position {
            topic,
            partition,
            offset,
        };
        let now = Instant::now();
        if let Some(mirror) = &targets.mirror {
            let full_cols = || -> Vec<String> {
                let mut c: Vec<String> = schema_cols
                    .iter()
                    .filter(|c| keep.as_ref().is_none_or(|k| k.contains(*c)))
                    .cloned()
                    .collect();
                c.push(OP_COLUMN.to_string());
                c
            };
            let mode = mode_of(&ev);
            let key: SlotKey = (
                mirror.to_string(),
                LoadTarget::Mirror,
                topic.to_string(),
                partition,
            );
            let (bfp, cols, partial) = match mode {
                Mode::Full => (fp.clone(), full_cols(), false),
                Mode::Partial(cols) => (format!("{fp}~p{}", short_hash(&cols)), cols, true),
                Mode::Any => match self.slots.get(&key).filter(|s| !s.batch.is_empty()) {
                    Some(s) => (
                        s.batch.fingerprint().unwrap_or(&fp).to_string(),
                        s.columns.clone().unwrap_or_else(full_cols),
                        s.partial,
                    ),
                    None => (fp.clone(), full_cols(), false),
                },
            };
            let rows: Vec<&Map<String, Value>> = ev.mirror.iter().map(|r| &r.values).collect();
            if let Err(e) = self.add(&key, mirror, &bfp, Some(cols), partial, pos, &rows, now) {
                return self.add_failed(m, e).await;
            }
        }
        if let (Some(raw), Some(row)) = (&targets.raw, &ev.raw) {
            let key: SlotKey = (
                raw.to_string(),
                LoadTarget::Raw,
                topic.to_string(),
                partition,
            );
            if let Err(e) = self.add(
                &key,
                raw,
                &fp,
                None,
                false,
                pos,
                std::slice::from_ref(row),
                now,
            ) {
                return self.add_failed(m, e).await;
            }
        }
        self.offsets.observe(topic, partition, offset);
        for n in &names {
            for kind in [LoadTarget::Mirror, LoadTarget::Raw] {
                let key: SlotKey = (n.clone(), kind, topic.to_string(), partition);
                if self.is_due(&key, now) {
                    self.seal(&key);
                }
            }
        }
        Ok(())
    }

    /// Adds one event's rows to the open batch of `key`, sealing it first when
    /// the event does not fit (schema change, full).
    #[allow(clippy::too_many_arguments)]
    fn add<R: Serialize>(
        &mut self,
        key: &SlotKey,
        target: &TableId,
        fingerprint: &str,
        columns: Option<Vec<String>>,
        partial: bool,
        pos: Position<'_>,
        rows: &[R],
        now: Instant,
    ) -> Result<(), AddError> {
        let generation = self.generation(pos.topic, pos.partition);
        let cut = self.cut(pos.topic, pos.partition, &key.0, key.1, pos.offset);
        if cut == Cut::Durable {
            // Loaded by a batch that was durable before the committed offset.
            return Ok(());
        }
        let open = self.slots.get(key).filter(|s| !s.batch.is_empty());
        if let Some(slot) = open {
            let past = match (slot.forced_last, cut) {
                (Some(last), _) => pos.offset > last,
                (None, Cut::Range { .. }) => true,
                (None, _) => false,
            };
            if past {
                self.seal(key);
            }
        }
        let forced_last = match cut {
            Cut::Range { last, .. } => Some(last),
            _ => None,
        };
        for _ in 0..2 {
            let limits = self.limits;
            let slot = self.slots.entry(key.clone()).or_insert_with(|| Slot {
                batch: Batch::new(target.to_string(), limits),
                target: target.clone(),
                columns: None,
                partial: false,
                records: Vec::new(),
                generation,
                forced_last: None,
            });
            let was_empty = slot.batch.is_empty();
            match slot.batch.add(pos, fingerprint, rows, now) {
                Ok(()) => {
                    if was_empty {
                        slot.columns = columns;
                        slot.partial = partial;
                        slot.generation = generation;
                        slot.forced_last = forced_last;
                        self.offsets.pin(pos.topic, pos.partition, pos.offset);
                    }
                    slot.records
                        .push((pos.offset, u32::try_from(rows.len()).unwrap_or(u32::MAX)));
                    if forced_last.is_some_and(|last| pos.offset >= last) {
                        self.seal(key);
                    }
                    return Ok(());
                }
                Err(AddError::SchemaChanged { .. } | AddError::Full { .. }) if !was_empty => {
                    self.seal(key);
                }
                Err(e) => return Err(e),
            }
        }
        Err(AddError::Full {
            table: target.to_string(),
        })
    }

    async fn add_failed(&mut self, m: &BorrowedMessage<'_>, e: AddError) -> Result<(), Error> {
        match e {
            AddError::Serialize { .. } => self.quarantine(m, e.to_string()).await,
            other => Err(Error::Internal(format!(
                "{}[{}]@{}: {other}",
                m.topic(),
                m.partition(),
                m.offset()
            ))),
        }
    }

    /// Holds the partition at a record that could not be decoded for now
    /// (schema registry unavailable); it is read again after a backoff.
    fn retry_later(&mut self, topic: &str, partition: i32, offset: i64, error: String) {
        self.summary.records -= 1;
        self.metrics
            .record_failure(crate::metrics::FailureCause::Registry);
        let delay = self.backoff.delay(self.decode_retries, 0.5);
        self.decode_retries = self.decode_retries.saturating_add(1);
        let until = Instant::now() + delay;
        self.hold(topic, partition, offset, Reason::Retry { until, error });
    }

    /// Releases the partitions whose decode retry is due.
    pub(super) fn release_retries(&mut self) {
        if self.holds.is_empty() {
            return;
        }
        let now = Instant::now();
        for (topic, partition, held) in self.holds.held() {
            if matches!(held.reason, Reason::Retry { until, .. } if until <= now) {
                self.release(&topic, partition);
            }
        }
    }

    fn skip(&mut self, topic: &str, partition: i32, offset: i64, reason: SkipReason) {
        self.metrics.record_skipped(reason);
        self.summary.skipped += 1;
        self.offsets.observe(topic, partition, offset);
    }

    /// Produces the record to the quarantine topic (awaiting delivery) and
    /// moves past it; on cancel it is left unobserved (read again).
    async fn quarantine(&mut self, m: &BorrowedMessage<'_>, reason: String) -> Result<(), Error> {
        let (topic, partition, offset) = (m.topic(), m.partition(), m.offset());
        tracing::warn!(topic, partition, offset, %reason, "record quarantined");
        let entry = Entry {
            topic: topic.to_string(),
            partition,
            offset,
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            reason,
        };
        if self
            .sink
            .quarantine
            .put(&entry, &self.backoff, &self.cancel)
            .await
        {
            self.metrics.record_quarantined(QuarantineReason::Decode);
            self.summary.quarantined += 1;
            self.offsets.observe(topic, partition, offset);
        }
        Ok(())
    }

    /// The schema signal: the record decoded by `source` (with its inline
    /// schema and the key's primary key) for the agent.
    fn schema_signal(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        key: Option<&str>,
        text: &str,
    ) {
        let doc = serde_json::json!({
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "key": key,
            "payload": text,
        });
        match crate::source::decode_value(&doc, 0) {
            Ok(Some(ev)) => self.send_schema(ev),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(topic, partition, offset, error = %e, "schema signal: record not decodable by source");
            }
        }
    }

    /// Applies a source truncate to the mirror in stream order: everything
    /// batched before it is loaded first. `false` when cancelled first.
    async fn truncate(
        &mut self,
        mirror: &TableId,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> bool {
        let name = mirror.to_string();
        self.seal_tables(std::slice::from_ref(&name));
        loop {
            let idle = self
                .tables
                .get(&name)
                .is_none_or(|t| t.queue.is_empty() && t.loading.is_empty());
            if idle {
                break;
            }
            tokio::select! {
                Some(done) = self.jobs.join_next() => self.on_done(done),
                () = self.cancel.cancelled() => return false,
            }
        }
        let Some(client) = self.starrocks.clone() else {
            return false;
        };
        let sql = crate::ddl::Statement::TruncateTable {
            table: mirror.clone(),
        }
        .to_string();
        let mut attempt = 0u32;
        loop {
            match client.execute(&sql).await {
                Ok(()) => {
                    tracing::info!(table = %mirror, topic, partition, offset, "source truncate applied to the mirror");
                    return true;
                }
                Err(e) => {
                    let delay = if e.is_retriable() {
                        self.backoff.delay(attempt, 0.5)
                    } else {
                        self.metrics
                            .record_failure(crate::metrics::FailureCause::StarrocksRefused);
                        self.backoff.max
                    };
                    attempt = attempt.saturating_add(1);
                    tracing::warn!(table = %mirror, topic, partition, offset, error = %e, ?delay, "truncate failed, retrying");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = self.cancel.cancelled() => return false,
                    }
                }
            }
        }
    }
}

fn mode_of(ev: &Event) -> Mode {
    for r in &ev.mirror {
        if r.op == MirrorOp::Upsert {
            if r.unavailable.is_empty() {
                return Mode::Full;
            }
            return Mode::Partial(r.values.keys().cloned().collect());
        }
    }
    Mode::Any
}

/// A stable short hash of a column list (part of batch labels: must not
/// change between runs or builds).
fn short_hash(cols: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for c in cols {
        h.update((c.len() as u64).to_be_bytes());
        h.update(c.as_bytes());
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
