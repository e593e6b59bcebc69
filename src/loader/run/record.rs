//! One Kafka record through the runtime: the first half ([`super::prepare`],
//! done on the reader thread for JSON, here for Avro after the registry),
//! then backpressure, the schema signal, the gate, truncate, rows into
//! batches — or quarantine, or skip.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use super::codec::DecodeError;
use super::engine::{Engine, Slot, SlotKey};
use super::holds::{Reason, Verdict};
use super::plans::Cut;
use super::prepare::{Prepared, Ready};
use super::quarantine::Entry;
use super::reader::Msg;
use super::Error;
use crate::config::TruncateMode;
use crate::gate::Admission;
use crate::loader::batch::{AddError, Batch, Position};
use crate::loader::convert::{Event, MirrorOp, Op, Record, OP_COLUMN};
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
    pub(super) async fn on_message(&mut self, mut m: Msg) -> Result<(), Error> {
        let topic_arc = Arc::clone(&m.topic);
        let (topic, partition, offset) = (&*topic_arc, m.partition, m.offset);
        if !self.holds.is_empty() {
            match self.holds.check(topic, partition, offset) {
                Verdict::Take => {}
                Verdict::Discard => return Ok(()),
                Verdict::Reseek(from) => {
                    self.reseek(topic, partition, from);
                    return Ok(());
                }
            }
        }
        self.ensure_forced(topic, partition, m.timestamp);
        self.summary.records += 1;
        self.metrics.record_read();
        if m.payload.is_none() {
            self.skip(topic, partition, offset, SkipReason::Tombstone);
            return Ok(());
        }
        // Avro: the envelope JSON (and key) decoded through the registry here.
        let mut decoded: Option<(String, Option<String>)> = None;
        let prepared = match m.prepared.take() {
            Some(p) => p,
            None => {
                let codec = self.codec.clone();
                let payload = m.payload.as_deref().unwrap_or_default();
                let text = match codec.decode_value(payload).await {
                    Ok(t) => t.into_owned(),
                    Err(DecodeError::Retry(error)) => {
                        self.retry_later(topic, partition, offset, error);
                        return Ok(());
                    }
                    Err(DecodeError::Bad(reason)) => return self.quarantine(&m, reason).await,
                };
                let key = match codec.decode_key(m.key.as_deref()).await {
                    Ok(k) => k.map(std::borrow::Cow::into_owned),
                    Err(DecodeError::Retry(error)) => {
                        self.retry_later(topic, partition, offset, error);
                        return Ok(());
                    }
                    Err(DecodeError::Bad(reason)) => return self.quarantine(&m, reason).await,
                };
                let rec = Record {
                    topic,
                    partition,
                    offset,
                    key: key.as_deref(),
                    value: Some(&text),
                };
                let p = self.avro_preparer.prepare(&rec);
                decoded = Some((text, key));
                p
            }
        };
        self.decode_retries = 0;
        let ready = match prepared {
            Prepared::Event(r) => r,
            Prepared::Tombstone => {
                self.skip(topic, partition, offset, SkipReason::Tombstone);
                return Ok(());
            }
            Prepared::Unrouted => {
                self.skip(topic, partition, offset, SkipReason::Unrouted);
                return Ok(());
            }
            Prepared::Bad(reason) => return self.quarantine(&m, reason).await,
        };
        self.on_event(&m, *ready, decoded).await
    }

    /// The second half of a record: backpressure, the schema signal, the
    /// gate, truncates, rows into batches.
    async fn on_event(
        &mut self,
        m: &Msg,
        ready: Ready,
        decoded: Option<(String, Option<String>)>,
    ) -> Result<(), Error> {
        let (topic, partition, offset) = (&*m.topic, m.partition, m.offset);
        let Ready {
            source,
            targets,
            mut ev,
            raw_json,
        } = ready;
        let (mirror_name, raw_name) = (targets.mirror_name(), targets.raw_name());
        let names: Vec<&String> = [mirror_name, raw_name].into_iter().flatten().collect();
        if let Some(name) = names.first() {
            if !self.topic_tables.contains_key(topic) {
                self.topic_tables.insert(topic.to_string(), (*name).clone());
            }
        }
        // Backpressure: a table with too many sealed batches waiting holds its partitions.
        let cap = self.queue_cap();
        if let Some(full) = names.iter().find(|n| {
            self.tables
                .get(n.as_str())
                .is_some_and(|t| t.queue.len() >= cap)
        }) {
            let reason = Reason::Backpressure {
                target: (*full).clone(),
            };
            self.hold(topic, partition, offset, reason);
            return Ok(());
        }
        let schema = Arc::clone(&ev.schema);
        let fp = schema.fingerprint();
        if self.schema_seen.get(&*source).map(String::as_str) != Some(fp) {
            let (text, key) = match &decoded {
                Some((t, k)) => (Some(t.as_str()), k.as_deref()),
                None => (
                    m.payload
                        .as_deref()
                        .and_then(|b| std::str::from_utf8(b).ok()),
                    m.key.as_deref().and_then(|k| std::str::from_utf8(k).ok()),
                ),
            };
            if let Some(text) = text {
                self.schema_signal(topic, partition, offset, key, text);
            }
            self.schema_seen.insert((*source).clone(), fp.to_string());
        }
        // Columns of rows written before a source rename, under their current name.
        let mut renamed: Vec<(String, String)> = Vec::new();
        let original_cols = |ev: &Event| -> Vec<String> {
            ev.schema.columns().iter().map(|c| c.name.clone()).collect()
        };
        let mut keep: Option<std::collections::BTreeSet<String>> = None;
        // The rows as converted, unless the gate projects them.
        let mut projected: Option<Vec<Map<String, Value>>> = None;
        if let (Some(mirror), Some(name)) = (&targets.mirror, mirror_name) {
            let cached = self
                .admissions
                .get(name.as_str())
                .and_then(|a| a.get(fp))
                .cloned();
            let admission = match cached {
                Some(a) => a,
                None => {
                    let owned = original_cols(&ev);
                    let cols: Vec<&str> = owned.iter().map(String::as_str).collect();
                    // One read of the gate for the decision and for `gate_seen`.
                    let gate = self.gates.get(mirror);
                    let a = crate::gate::admit(gate.as_ref(), &cols);
                    self.gate_seen.entry(mirror.clone()).or_insert(gate);
                    self.admissions
                        .entry(name.clone())
                        .or_default()
                        .insert(fp.to_string(), a.clone());
                    a
                }
            };
            match admission {
                Admission::Load => {}
                Admission::Hold { reason } => {
                    let names: Vec<String> = names.iter().map(|n| (*n).clone()).collect();
                    self.seal_tables(&names);
                    self.summary.records -= 1;
                    let reason = Reason::Gate {
                        target: mirror.clone(),
                        columns: original_cols(&ev),
                        reason,
                    };
                    self.hold(topic, partition, offset, reason);
                    return Ok(());
                }
                Admission::Project {
                    keep: k,
                    dropped,
                    renamed: moved,
                } => {
                    let mut n = 0u64;
                    let mut rows = Vec::with_capacity(ev.mirror.len());
                    for row in &mut ev.mirror {
                        let mut values = row.values();
                        for d in &dropped {
                            if values.remove(d).is_some() {
                                n += 1;
                            }
                        }
                        row.unavailable.retain(|c| !dropped.contains(c));
                        for (from, to) in &moved {
                            if let Some(v) = values.shift_remove(from) {
                                values.insert(to.clone(), v);
                            }
                            for c in &mut row.unavailable {
                                if c == from {
                                    c.clone_from(to);
                                }
                            }
                        }
                        rows.push(values);
                    }
                    renamed = moved;
                    if n > 0 {
                        self.metrics.record_dropped_columns(name, n);
                        self.summary.dropped_columns += n;
                    }
                    projected = Some(rows);
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
        let mut due: Vec<SlotKey> = Vec::with_capacity(2);
        if let (Some(mirror), Some(name)) = (&targets.mirror, mirror_name) {
            let full_cols = || -> Vec<String> {
                let mut c: Vec<String> = original_cols(&ev)
                    .into_iter()
                    .map(|c| match renamed.iter().find(|(from, _)| *from == c) {
                        Some((_, to)) => to.clone(),
                        None => c,
                    })
                    .filter(|c| keep.as_ref().is_none_or(|k| k.contains(c)))
                    .collect();
                c.push(OP_COLUMN.to_string());
                c
            };
            let key: SlotKey = (
                name.clone(),
                LoadTarget::Mirror,
                topic.to_string(),
                partition,
            );
            let rows = match mirror_rows(&ev, projected.as_deref(), name) {
                Ok(rows) => rows,
                Err(e) => return self.add_failed(m, e).await,
            };
            let rows: Vec<&str> = rows.iter().map(AsRef::as_ref).collect();
            let added = match mode_of(&ev, projected.as_deref()) {
                Mode::Full => self.add(
                    &key,
                    mirror,
                    fp,
                    &|| Some(full_cols()),
                    false,
                    pos,
                    &rows,
                    now,
                ),
                Mode::Partial(cols) => {
                    let bfp = format!("{fp}~p{}", short_hash(&cols));
                    self.add(
                        &key,
                        mirror,
                        &bfp,
                        &|| Some(cols.clone()),
                        true,
                        pos,
                        &rows,
                        now,
                    )
                }
                Mode::Any => {
                    let open = self.slots.get(&key).filter(|s| !s.batch.is_empty());
                    let (bfp, cols, partial) = match open {
                        Some(s) => (
                            s.batch.fingerprint().unwrap_or(fp).to_string(),
                            s.columns.clone(),
                            s.partial,
                        ),
                        None => (fp.to_string(), None, false),
                    };
                    let cols = || cols.clone().or_else(|| Some(full_cols()));
                    self.add(&key, mirror, &bfp, &cols, partial, pos, &rows, now)
                }
            };
            if let Err(e) = added {
                return self.add_failed(m, e).await;
            }
            due.push(key);
        }
        if let (Some(raw), Some(name), Some(row)) = (&targets.raw, raw_name, &raw_json) {
            let key: SlotKey = (name.clone(), LoadTarget::Raw, topic.to_string(), partition);
            if let Err(e) = self.add(&key, raw, fp, &|| None, false, pos, &[row.as_str()], now) {
                return self.add_failed(m, e).await;
            }
            due.push(key);
        }
        self.offsets.observe(topic, partition, offset);
        for key in &due {
            if self.is_due(key, now) {
                self.seal(key);
            }
        }
        Ok(())
    }

    /// Adds one event's rows to the open batch of `key`, sealing it first when
    /// the event does not fit (schema change, full).
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        key: &SlotKey,
        target: &TableId,
        fingerprint: &str,
        columns: &dyn Fn() -> Option<Vec<String>>,
        partial: bool,
        pos: Position<'_>,
        rows: &[&str],
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
            match slot.batch.add_json(pos, fingerprint, rows, now) {
                Ok(()) => {
                    if was_empty {
                        slot.columns = columns();
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

    async fn add_failed(&mut self, m: &Msg, e: AddError) -> Result<(), Error> {
        match e {
            AddError::Serialize { .. } => self.quarantine(m, e.to_string()).await,
            other => Err(Error::Internal(format!(
                "{}[{}]@{}: {other}",
                m.topic, m.partition, m.offset
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
    async fn quarantine(&mut self, m: &Msg, reason: String) -> Result<(), Error> {
        let (topic, partition, offset) = (&*m.topic, m.partition, m.offset);
        tracing::warn!(topic, partition, offset, %reason, "record quarantined");
        let entry = Entry {
            topic: topic.to_string(),
            partition,
            offset,
            key: m.key.clone(),
            value: m.payload.clone(),
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
}

/// The mirror rows of an event as JSON: as converted, or as projected.
fn mirror_rows<'a>(
    ev: &'a Event,
    projected: Option<&[Map<String, Value>]>,
    table: &str,
) -> Result<Vec<Cow<'a, str>>, AddError> {
    match projected {
        None => Ok(ev
            .mirror
            .iter()
            .map(|r| Cow::Borrowed(r.json.as_str()))
            .collect()),
        Some(rows) => rows
            .iter()
            .map(|r| {
                serde_json::to_string(r)
                    .map(Cow::Owned)
                    .map_err(|e| AddError::Serialize {
                        table: table.to_string(),
                        reason: e.to_string(),
                    })
            })
            .collect(),
    }
}

/// Full rows, partial ones (the columns of the first upsert), or deletes only.
fn mode_of(ev: &Event, projected: Option<&[Map<String, Value>]>) -> Mode {
    for (i, r) in ev.mirror.iter().enumerate() {
        if r.op == MirrorOp::Upsert {
            if r.unavailable.is_empty() {
                return Mode::Full;
            }
            let keys = |m: &Map<String, Value>| m.keys().cloned().collect();
            return Mode::Partial(match projected.and_then(|p| p.get(i)) {
                Some(m) => keys(m),
                None => keys(&r.values()),
            });
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
