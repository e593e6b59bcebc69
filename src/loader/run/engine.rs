//! The runtime's state and main loop: reading, timers, gate changes, load
//! completions, commits, holds and releases, rebalance clean-up and the drain
//! at shutdown. What happens to one record is in `record`.

use std::collections::{BTreeSet, VecDeque};

// Fast hashing: these maps are looked up several times per record.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use tokio::task::JoinSet;

use super::codec::Codec;
use super::consumer::{self, LoaderConsumer};
use super::holds::Holds;
use super::offsets::Offsets;
use super::planlog::PlanLog;
use super::plans::{Forced, Plans};
use super::prepare::Preparer;
use super::quarantine::Quarantine;
use super::reader::{self, Item, Reader};
use super::sink::{Done, Ended, Job, Sink};
use super::{Deps, Error, Summary, DRAIN_GRACE};
use crate::config::{DataFormat, LoaderConfig};
use crate::gate::{Admission, Gates, TableGate};
use crate::loader::batch::{Batch, Limits};
use crate::loader::convert::{self, Decoder};
use crate::loader::retry::Backoff;
use crate::loader::stream_load::{Client, ClientConfig};
use crate::metrics::{BatchResult, LoadTarget, Metrics};
use crate::model::TableId;

/// Sealed batches waiting per table (beyond those loading) before the
/// partitions feeding it are held.
const QUEUE_CAP_FACTOR: usize = 2;
/// Timer resolution (age flushes, commits, releases).
pub(super) const TICK: Duration = Duration::from_millis(50);
/// Lag sampling period.
const LAG_EVERY: Duration = Duration::from_secs(5);

/// `(target table, kind, topic, partition)`.
pub(super) type SlotKey = (String, LoadTarget, String, i32);

/// An open batch.
pub(super) struct Slot {
    pub(super) batch: Batch,
    pub(super) target: TableId,
    pub(super) columns: Option<Vec<String>>,
    pub(super) partial: bool,
    pub(super) records: Vec<(i64, u32)>,
    pub(super) generation: u64,
    /// The last offset of the planned range the open batch re-cuts (see `plans`).
    pub(super) forced_last: Option<i64>,
}

/// Sealed batches of one target table.
#[derive(Default)]
pub(super) struct TableState {
    pub(super) queue: VecDeque<Job>,
    /// Loading now, by `(kind, topic, partition)`.
    pub(super) loading: HashMap<(LoadTarget, String, i32), usize>,
}

impl TableState {
    fn in_flight(&self) -> usize {
        self.loading.values().sum()
    }
}

pub(super) struct Engine {
    pub(super) lc: LoaderConfig,
    pub(super) gates: Arc<Gates>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) schemas:
        tokio::sync::mpsc::UnboundedSender<crate::source::Located<crate::source::Event>>,
    pub(super) cancel: tokio_util::sync::CancellationToken,
    pub(super) consumer: Arc<LoaderConsumer>,
    /// Records from the reader thread (taken by `run`).
    rx: Option<tokio::sync::mpsc::Receiver<Item>>,
    /// The reader's side, until `run` starts it.
    tx: Option<tokio::sync::mpsc::Sender<Item>>,
    /// The first half of JSON records, for the reader (taken by `run`).
    json_preparer: Option<Preparer>,
    pub(super) codec: Codec,
    /// The first half for Avro records (after the registry).
    pub(super) avro_preparer: Preparer,
    pub(super) offsets: Offsets,
    pub(super) plans: Plans,
    pub(super) planlog: PlanLog,
    pub(super) forced: HashMap<(String, i32), Forced>,
    /// Partitions whose committed plans were read, by topic.
    pub(super) forced_loaded: HashMap<String, HashSet<i32>>,
    pub(super) holds: Holds,
    pub(super) slots: HashMap<SlotKey, Slot>,
    pub(super) tables: HashMap<String, TableState>,
    pub(super) jobs: JoinSet<Done>,
    pub(super) sink: Arc<Sink>,
    /// Gate decisions by mirror table and row-schema fingerprint (cleared on every gate change).
    pub(super) admissions: HashMap<String, HashMap<String, Admission>>,
    /// The gate each mirror table's cached decisions were made under: a gate
    /// change seals the open batches of the tables whose gate it changed.
    pub(super) gate_seen: HashMap<TableId, Option<TableGate>>,
    pub(super) schema_seen: HashMap<TableId, String>,
    /// Assignment generation by topic and partition.
    pub(super) generations: HashMap<String, HashMap<i32, u64>>,
    pub(super) topic_tables: HashMap<String, String>,
    pub(super) held_known: BTreeSet<String>,
    pub(super) starrocks: Option<crate::starrocks::Client>,
    pub(super) limits: Limits,
    pub(super) backoff: Backoff,
    pub(super) summary: Summary,
    pub(super) next_id: u64,
    /// Consecutive "registry unavailable" decodes (the backoff's attempt).
    pub(super) decode_retries: u32,
    pub(super) lag_running: Arc<AtomicBool>,
    schema_closed: bool,
}

impl Engine {
    pub(super) fn new(deps: Deps) -> Result<Engine, Error> {
        let config = deps.config;
        let lc = config
            .loader
            .clone()
            .ok_or_else(|| Error::Config("no [loader] section".into()))?;
        let kafka = config
            .kafka
            .clone()
            .ok_or_else(|| Error::Config("the loader needs [kafka]".into()))?;
        let sr = config
            .starrocks
            .clone()
            .ok_or_else(|| Error::Config("the loader needs [starrocks]".into()))?;
        let http = sr.http.clone().ok_or_else(|| {
            Error::Config("the loader needs starrocks.http (FE host:port for Stream Load)".into())
        })?;
        let codec = Codec::new(lc.format, config.registry.as_ref()).map_err(Error::Config)?;
        let zone = convert::TimeZone::parse(&lc.time_zone)
            .map_err(|e| Error::Config(format!("loader.time_zone: {e}")))?;
        let convert_config = convert::Config::new(
            zone,
            convert::BytesMode::Hex,
            convert::UNAVAILABLE_PLACEHOLDER,
        );
        // JSON records are prepared on the reader thread; Avro ones need the
        // registry (async) and are prepared by the runtime after it.
        let avro_preparer =
            Preparer::new(Decoder::new(convert_config.clone()), Arc::clone(&config));
        let json_preparer = (lc.format == DataFormat::Json)
            .then(|| Preparer::new(Decoder::new(convert_config), Arc::clone(&config)));
        let fe_url = if http.starts_with("http://") || http.starts_with("https://") {
            http
        } else {
            format!("http://{http}")
        };
        let client = Client::new(ClientConfig {
            fe_url,
            user: sr.user.clone(),
            password: sr.password.expose().to_string(),
            gzip_min_bytes: lc.gzip_min_bytes,
            ..ClientConfig::default()
        })?;
        let consumer = consumer::build(&kafka).map_err(|e| Error::kafka("consumer", e))?;
        let (tx, rx) = tokio::sync::mpsc::channel(reader::CHANNEL);
        consumer.context().connect(tx.clone());
        let topics: Vec<&str> = lc.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| Error::kafka("subscribe", e))?;
        let qtopic = lc
            .quarantine_topic
            .clone()
            .unwrap_or_else(|| format!("{}.quarantine", kafka.group_id));
        let ptopic = lc
            .plans_topic
            .clone()
            .unwrap_or_else(|| format!("{}.plans", kafka.group_id));
        let planlog = PlanLog::new(&consumer::connection_properties(&kafka), &ptopic)
            .map_err(|e| Error::kafka("plans producer", e))?;
        let quarantine = Quarantine::new(&consumer::connection_properties(&kafka), &qtopic)
            .map_err(|e| Error::kafka("quarantine producer", e))?;
        // Capped at 10 s: after an outage the loader is back within seconds.
        let backoff = Backoff {
            max: Duration::from_secs(10),
            ..Backoff::default()
        };
        let sink = Arc::new(Sink {
            client,
            quarantine,
            backoff,
            metrics: deps.metrics.clone(),
            abort: tokio_util::sync::CancellationToken::new(),
        });
        let limits = Limits {
            max_rows: lc.batch_rows,
            max_bytes: lc.batch_bytes,
            max_age: lc.batch_age,
        };
        let starrocks = Some(crate::starrocks::Client::new(&sr)?);
        tracing::info!(topics = ?lc.topics, group = %kafka.group_id, quarantine = %qtopic, "loader starting");
        Ok(Engine {
            lc,
            gates: deps.gates,
            metrics: deps.metrics,
            schemas: deps.schemas,
            cancel: deps.cancel,
            consumer: Arc::new(consumer),
            rx: Some(rx),
            tx: Some(tx),
            json_preparer,
            codec,
            avro_preparer,
            offsets: Offsets::new(),
            plans: Plans::default(),
            planlog,
            forced: HashMap::default(),
            forced_loaded: HashMap::default(),
            holds: Holds::new(),
            slots: HashMap::default(),
            tables: HashMap::default(),
            jobs: JoinSet::new(),
            sink,
            admissions: HashMap::default(),
            gate_seen: HashMap::default(),
            schema_seen: HashMap::default(),
            generations: HashMap::default(),
            topic_tables: HashMap::default(),
            held_known: BTreeSet::new(),
            starrocks,
            limits,
            backoff,
            summary: Summary::default(),
            next_id: 0,
            decode_retries: 0,
            lag_running: Arc::new(AtomicBool::new(false)),
            schema_closed: false,
        })
    }

    pub(super) async fn run(&mut self) -> Result<Summary, Error> {
        let (Some(mut rx), Some(tx)) = (self.rx.take(), self.tx.take()) else {
            return Err(Error::Internal("the loader runs once".into()));
        };
        let reader = Reader::start(
            Arc::clone(&self.consumer),
            tx,
            self.json_preparer.take(),
            Arc::clone(&self.metrics),
        )
        .map_err(|e| Error::Internal(format!("reader thread: {e}")))?;
        let mut gate_rx = self.gates.subscribe();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_lag = Instant::now();
        if let Err(e) = self.planlog.ensure_topic().await {
            // Writes fail too then: batches wait (logged) rather than risk loading twice.
            tracing::error!(error = %e, "plans topic not available");
        }
        let mut result = Ok(());
        loop {
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => break,
                Some(done) = self.jobs.join_next(), if !self.jobs.is_empty() => self.on_done(done),
                changed = gate_rx.changed() => {
                    if changed.is_ok() {
                        gate_rx.borrow_and_update();
                        self.on_gate_change();
                    }
                }
                _ = tick.tick() => {
                    self.on_tick();
                    if last_lag.elapsed() >= LAG_EVERY {
                        last_lag = Instant::now();
                        self.sample_lag();
                    }
                }
                item = rx.recv() => match item {
                    Some(Item::Msgs(chunk)) => {
                        if let Err(e) = self.on_chunk(chunk).await {
                            result = Err(e);
                            break;
                        }
                    }
                    Some(Item::Revoke { partitions, done }) => {
                        self.on_revoke(partitions).await;
                        // The callback may have given up waiting: nothing to do then.
                        let _ignored = done.send(());
                    }
                    None => {
                        result = Err(Error::Internal("the reader thread stopped".into()));
                        break;
                    }
                },
            }
        }
        // Records still in the channel are not taken: they were not observed,
        // so no offset moves past them.
        rx.close();
        self.drain().await;
        while let Ok(item) = rx.try_recv() {
            if let Item::Revoke { done, .. } = item {
                let _ignored = done.send(());
            }
        }
        reader.stop().await;
        result.map(|()| self.summary.clone())
    }

    /// Handles a chunk of records in order; `Err` only for what must stop the loader.
    async fn on_chunk(&mut self, chunk: Vec<reader::Msg>) -> Result<(), Error> {
        for m in chunk {
            self.on_message(m).await?;
        }
        Ok(())
    }

    /// Stops reading, loads what is batched (up to [`DRAIN_GRACE`]), commits.
    async fn drain(&mut self) {
        let keys: Vec<SlotKey> = self.slots.keys().cloned().collect();
        for k in keys {
            if self.may_seal(&k) {
                self.seal(&k);
            }
        }
        self.persist_plans();
        let deadline = tokio::time::Instant::now() + DRAIN_GRACE;
        tracing::info!(in_flight = self.jobs.len(), "loader draining");
        while !self.jobs.is_empty() {
            tokio::select! {
                Some(done) = self.jobs.join_next() => self.on_done(done),
                () = tokio::time::sleep_until(deadline), if !self.sink.abort.is_cancelled() => {
                    tracing::warn!(in_flight = self.jobs.len(), "loader drain grace over: abandoning in-flight batches (read again next time)");
                    self.sink.abort.cancel();
                }
            }
        }
        self.commit(CommitMode::Sync);
        tracing::info!(summary = ?self.summary, "loader stopped");
    }

    pub(super) fn generation(&self, topic: &str, partition: i32) -> u64 {
        self.generations
            .get(topic)
            .and_then(|g| g.get(&partition))
            .copied()
            .unwrap_or(0)
    }

    /// Seals the open batch of `key` and queues it.
    pub(super) fn seal(&mut self, key: &SlotKey) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        slot.forced_last = None;
        let Some(sealed) = slot.batch.take() else {
            return;
        };
        self.plans.add(
            &sealed.topic,
            sealed.partition,
            &sealed.table,
            key.1,
            sealed.first_offset,
            sealed.last_offset,
        );
        self.next_id += 1;
        let job = Job {
            id: self.next_id,
            generation: slot.generation,
            target: slot.target.clone(),
            kind: key.1,
            sealed,
            columns: slot.columns.clone(),
            partial: slot.partial,
            records: std::mem::take(&mut slot.records),
        };
        self.tables
            .entry(key.0.clone())
            .or_default()
            .queue
            .push_back(job);
        self.persist_plans();
    }

    /// Seals every open batch of these target tables.
    pub(super) fn seal_tables(&mut self, targets: &[String]) {
        let keys: Vec<SlotKey> = self
            .slots
            .iter()
            .filter(|(k, s)| targets.contains(&k.0) && !s.batch.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            if self.may_seal(&k) {
                self.seal(&k);
            }
        }
    }

    /// Starts queued batches of `target` within the in-flight limit; mirror
    /// batches of one partition load one at a time, in order.
    pub(super) fn start_jobs(&mut self, target: &str) {
        let max = self.lc.max_in_flight_per_table;
        let Some(t) = self.tables.get_mut(target) else {
            return;
        };
        let mut blocked: HashSet<(LoadTarget, String, i32)> = t
            .loading
            .iter()
            .filter(|(k, n)| k.0 == LoadTarget::Mirror && **n > 0)
            .map(|(k, _)| k.clone())
            .collect();
        let mut i = 0;
        while i < t.queue.len() && t.in_flight() < max {
            let (kind, topic, partition) = {
                let j = &t.queue[i];
                (j.kind, j.sealed.topic.clone(), j.sealed.partition)
            };
            let key = (kind, topic, partition);
            let recorded = {
                let s = &t.queue[i].sealed;
                self.plans
                    .is_recorded(&s.topic, s.partition, &s.table, kind, s.first_offset)
            };
            if !recorded {
                // Its plan is not in committed metadata yet: a mirror batch
                // after it must wait too (order), a raw one need not.
                if kind == LoadTarget::Mirror {
                    blocked.insert(key);
                }
                i += 1;
                continue;
            }
            if blocked.contains(&key) {
                i += 1;
                continue;
            }
            let Some(job) = t.queue.remove(i) else { break };
            if kind == LoadTarget::Mirror {
                blocked.insert(key.clone());
            }
            *t.loading.entry(key).or_insert(0) += 1;
            self.jobs.spawn(Arc::clone(&self.sink).run(job));
        }
    }

    pub(super) fn on_done(&mut self, done: Result<Done, tokio::task::JoinError>) {
        let done = match done {
            Ok(d) => d,
            Err(e) => {
                // The batch's pin stays: its partition stops advancing (nothing lost).
                tracing::error!(error = %e, "loader: a load task failed");
                return;
            }
        };
        let target = done.target.to_string();
        if let Some(t) = self.tables.get_mut(&target) {
            let key = (done.kind, done.topic.clone(), done.partition);
            if let Some(n) = t.loading.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    t.loading.remove(&key);
                }
            }
        }
        let current = self.generation(&done.topic, done.partition) == done.generation;
        match done.ended {
            Ended::Durable {
                rows,
                quarantined,
                result,
            } => {
                self.metrics.record_batch(&target, result);
                self.metrics.record_loaded_rows(&target, done.kind, rows);
                self.summary.batches += 1;
                if result == BatchResult::AlreadyLoaded {
                    self.summary.already_loaded += 1;
                }
                match done.kind {
                    LoadTarget::Mirror => self.summary.mirror_rows += rows,
                    LoadTarget::Raw => self.summary.raw_rows += rows,
                }
                self.summary.quarantined += quarantined;
                if current {
                    self.offsets
                        .unpin(&done.topic, done.partition, done.first_offset);
                }
            }
            Ended::Abandoned => {
                self.metrics.record_batch(&target, BatchResult::Abandoned);
                self.summary.abandoned += 1;
            }
        }
        self.start_jobs(&target);
        self.release_backpressure();
        self.commit(CommitMode::Async);
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        let due: Vec<SlotKey> = self
            .slots
            .keys()
            .filter(|k| self.is_due(k, now))
            .cloned()
            .collect();
        for k in due {
            self.seal(&k);
        }
        if !self.plans.unrecorded().is_empty() {
            self.persist_plans();
        }
        self.release_backpressure();
        self.release_retries();
        self.commit(CommitMode::Async);
    }

    pub(super) fn queue_cap(&self) -> usize {
        self.lc.max_in_flight_per_table.max(1) * QUEUE_CAP_FACTOR
    }

    pub(super) fn send_schema(&mut self, ev: crate::source::Located<crate::source::Event>) {
        if self.schemas.send(ev).is_err() && !self.schema_closed {
            self.schema_closed = true;
            tracing::warn!("schema signal receiver is gone; schema signals are dropped");
        }
    }
}
