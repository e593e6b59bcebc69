//! The schema agent behind `ddlsync run`: follows the schema-change topics
//! (and the inline schemas the loader and the registry poller pass on),
//! plans continuously through the one planning path, records every decision
//! in the store, applies what policy or a person approved, and keeps the
//! loader's gates in step.
//!
//! One loop owns the source history and the planner; runs of approved plans
//! go on tasks of their own (one per table), and report back. Planning is
//! triggered by new schema versions (every event already received is folded
//! first), by the end of a run, by an
//! approval (the API's notification, or the store polled every
//! [`Options::approval_poll`] for desk approvals) and every
//! [`Options::resync`] to notice target drift. Shutdown is the cancellation
//! token: runs in flight finish their step or leave their job running (the
//! plan stays `applying` and is resumed at the next start).

mod apply;
mod cycle;
mod observer;
mod rules;
pub mod targets;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::capabilities::StarRocksVersion;
use crate::config::Config;
use crate::executor::{Executor, Options as ExecutorOptions};
use crate::gate::Gates;
use crate::http::Readiness;
use crate::metrics::{DecodeOrigin, FailureCause, Metrics};
use crate::source::{Event, Located};
use crate::starrocks::Client;
use crate::store::Store;
use crate::watch;

pub use rules::RuleWatcher;

/// Errors that stop the agent (everything else is logged and retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration lacks a section the agent needs.
    #[error("the config needs [{0}] to run the agent")]
    MissingSection(&'static str),
    /// The StarRocks client could not be built.
    #[error("starrocks: {0}")]
    StarRocks(#[from] crate::starrocks::Error),
}

/// Knobs of the agent.
#[derive(Debug, Clone)]
pub struct Options {
    /// Plan and record, never apply (the caller gives an in-memory store).
    pub dry_run: bool,
    /// StarRocks version to plan for instead of the server's.
    pub version: Option<StarRocksVersion>,
    /// Rules directory (`None`: the built-in defaults).
    pub rules_dir: Option<PathBuf>,
    /// How often the store is polled for approvals made at the desk.
    pub approval_poll: Duration,
    /// Re-plan every table this often even without events.
    pub resync: Duration,
    /// Quiet time after the end of the schema-change topics before "caught up".
    pub caught_up_idle: Duration,
    /// Executor knobs.
    pub executor: ExecutorOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dry_run: false,
            version: None,
            rules_dir: None,
            approval_poll: Duration::from_millis(500),
            resync: Duration::from_secs(30),
            caught_up_idle: Duration::from_millis(1500),
            executor: ExecutorOptions {
                poll_interval: Duration::from_millis(200),
                ..ExecutorOptions::default()
            },
        }
    }
}

/// What the agent shares with the rest of `ddlsync run`.
pub struct Deps {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The store (in memory for a dry run).
    pub store: Arc<Store>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The loader's gates.
    pub gates: Arc<Gates>,
    /// Readiness of `/readyz`.
    pub readiness: Readiness,
    /// Notified by the HTTP API after an approval.
    pub approvals: Arc<Notify>,
    /// Source schemas seen elsewhere (data topics' inline schemas, registry).
    pub schemas: mpsc::UnboundedReceiver<Located<Event>>,
    /// Shutdown.
    pub cancel: CancellationToken,
}

/// Runs the agent until `deps.cancel`; in-flight runs are awaited (bounded by
/// the caller's grace period).
pub async fn run(options: Options, mut deps: Deps) -> Result<(), Error> {
    let config = deps.config.clone();
    let kafka = config
        .kafka
        .as_ref()
        .ok_or(Error::MissingSection("kafka"))?;
    let sr = config
        .starrocks
        .as_ref()
        .ok_or(Error::MissingSection("starrocks"))?;
    let client = Client::new(sr)?;
    let executor = Executor::new(client.clone(), options.executor.clone());
    let metrics = deps.metrics.clone();
    let mut rules = RuleWatcher::new(options.rules_dir.clone(), &metrics);

    let version = loop {
        if let Some(v) = &options.version {
            break *v;
        }
        match client.version().await {
            Ok(v) => break v,
            Err(e) => {
                deps.readiness.set_starrocks_down(e.to_string());
                metrics.record_failure(FailureCause::StarrocksUnavailable);
                tracing::warn!(error = %e, "StarRocks does not answer; retrying.");
                tokio::select! {
                    _ = deps.cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        }
    };
    tracing::info!(version = %version, "StarRocks version.");

    let (watch_tx, mut watch_rx) = mpsc::channel::<watch::Item>(1024);
    let mut properties = kafka.client_properties("-schema");
    // Schema-change topics are quiet: ask for new records often rather than
    // waiting on the broker (some brokers hold a fetch for its whole wait).
    properties
        .entry("fetch.wait.max.ms".into())
        .or_insert_with(|| "50".into());
    let topics = kafka.schema_change_topics.clone();
    let follow_cancel = deps.cancel.child_token();
    let idle = options.caught_up_idle;
    let follower = tokio::spawn(async move {
        if topics.is_empty() {
            // Nothing to follow: caught up at once (inline schemas only).
            if watch_tx.send(watch::Item::CaughtUp).await.is_err() {
                return;
            }
            follow_cancel.cancelled().await;
            return;
        }
        while !follow_cancel.is_cancelled() {
            match watch::follow(
                &properties,
                &topics,
                idle,
                watch_tx.clone(),
                follow_cancel.clone(),
            )
            .await
            {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(error = %e, "Following the schema-change topics failed; restarting.");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    });

    let (registry_tx, mut registry_rx) = mpsc::unbounded_channel::<Located<Event>>();
    let poller = spawn_registry_poller(&config, registry_tx, &metrics, deps.cancel.child_token());

    let mut planner = cycle::Planner::default();
    let mut caught_up = false;
    let mut dirty = false;
    let mut retry_at: Option<Instant> = None;
    let mut approvals_due = true;
    let mut last_sync = Instant::now();
    let mut runs: JoinSet<apply::Done> = JoinSet::new();
    let mut in_flight: BTreeSet<crate::model::TableId> = BTreeSet::new();
    let mut poll = tokio::time::interval(options.approval_poll);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            _ = deps.cancel.cancelled() => break,
            item = watch_rx.recv() => match item {
                Some(watch::Item::Event { event, kafka_ts_ms }) => {
                    if planner.fold(&event, kafka_ts_ms, &metrics) {
                        dirty = true;
                    }
                }
                Some(watch::Item::Bad(bad)) => {
                    metrics.record_decode_error(DecodeOrigin::SchemaChange);
                    tracing::warn!(topic = %bad.topic, partition = bad.partition, offset = bad.offset, error = %bad.error, "Schema-change record skipped: not a Debezium message.");
                }
                Some(watch::Item::CaughtUp) => {
                    caught_up = true;
                    dirty = true;
                    planner.plan_everything();
                    deps.readiness.set_history_rebuilt();
                    tracing::info!(tables = planner.histories.tables().count(), "Source history rebuilt.");
                }
                None => {
                    if !deps.cancel.is_cancelled() {
                        tracing::error!("The schema-change follower stopped.");
                    }
                    break;
                }
            },
            Some(event) = registry_rx.recv() => {
                dirty |= planner.fold(&event, None, &metrics);
            }
            Some(event) = deps.schemas.recv() => {
                dirty |= planner.fold(&event, None, &metrics);
            }
            _ = deps.approvals.notified() => approvals_due = true,
            _ = poll.tick() => {
                approvals_due = true;
                if rules.reload(&metrics) || last_sync.elapsed() >= options.resync {
                    dirty = true;
                    planner.plan_everything();
                }
            }
            Some(done) = runs.join_next(), if !runs.is_empty() => {
                match done {
                    Ok(done) => {
                        in_flight.remove(&done.target);
                        apply::finish(&done, &deps.store, &metrics);
                        planner.target_changed(&config, &done.target);
                    }
                    Err(e) => tracing::error!(error = %e, "A run task panicked."),
                }
                dirty = true;
                approvals_due = true;
            }
        }
        // Fold everything already received before planning.
        while let Ok(item) = watch_rx.try_recv() {
            match item {
                watch::Item::Event { event, kafka_ts_ms } => {
                    dirty |= planner.fold(&event, kafka_ts_ms, &metrics);
                }
                watch::Item::Bad(bad) => {
                    metrics.record_decode_error(DecodeOrigin::SchemaChange);
                    tracing::warn!(topic = %bad.topic, partition = bad.partition, offset = bad.offset, error = %bad.error, "Schema-change record skipped: not a Debezium message.");
                }
                watch::Item::CaughtUp => {
                    caught_up = true;
                    dirty = true;
                    planner.plan_everything();
                    deps.readiness.set_history_rebuilt();
                }
            }
        }
        while let Ok(event) = deps.schemas.try_recv() {
            dirty |= planner.fold(&event, None, &metrics);
        }
        if !caught_up {
            continue;
        }
        let env = cycle::Env {
            config: &config,
            store: &deps.store,
            metrics: &metrics,
            gates: &deps.gates,
            client: &client,
            rules: rules.rules(),
            version: &version,
            in_flight: &in_flight,
            dry_run: options.dry_run,
        };
        if dirty && retry_at.is_none_or(|t| Instant::now() >= t) {
            match planner.cycle(&env).await {
                Ok(()) => {
                    deps.readiness.set_starrocks_answered();
                    dirty = false;
                    retry_at = None;
                    last_sync = Instant::now();
                    approvals_due = true;
                }
                Err(e) => {
                    deps.readiness.set_starrocks_down(e.to_string());
                    metrics.record_failure(FailureCause::StarrocksUnavailable);
                    tracing::warn!(error = %e, "Planning cycle stopped: StarRocks did not answer; retrying.");
                    retry_at = Some(Instant::now() + Duration::from_secs(1));
                }
            }
        }
        if approvals_due && !options.dry_run {
            approvals_due = false;
            let (started, replan) = apply::start_approved(
                &planner,
                &env,
                &deps.store,
                &metrics,
                &executor,
                &mut runs,
                &deps.cancel,
            )
            .await;
            for t in &replan {
                planner.target_changed(&config, t);
                dirty = true;
            }
            for t in started {
                deps.gates.hold(&t, "a plan for the table is being applied");
                in_flight.insert(t);
            }
        }
    }
    // Shutdown: runs see the token and finish their step or leave their job running.
    while let Some(done) = runs.join_next().await {
        if let Ok(done) = done {
            apply::finish(&done, &deps.store, &metrics);
        }
    }
    if let Some(p) = poller {
        if let Err(e) = p.await {
            tracing::error!(error = %e, "The registry poller panicked.");
        }
    }
    if let Err(e) = follower.await {
        tracing::error!(error = %e, "The schema-change follower panicked.");
    }
    tracing::info!("Agent stopped.");
    Ok(())
}

/// Polls the Schema Registry subjects of the loader's topics (when both are
/// configured) and passes new versions on as inline schemas. A registry that
/// is down is logged and counted; polling goes on.
fn spawn_registry_poller(
    config: &Config,
    tx: mpsc::UnboundedSender<Located<Event>>,
    metrics: &Arc<Metrics>,
    cancel: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let registry = config.registry.as_ref()?;
    let topics = config.loader.as_ref().map(|l| l.topics.clone())?;
    if topics.is_empty() {
        return None;
    }
    let filter = match watch::SubjectFilter::from_topics(&topics) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "Registry subjects filter; the registry is not polled.");
            metrics.record_failure(FailureCause::Registry);
            return None;
        }
    };
    let mut watcher = match watch::RegistryWatcher::new(registry, filter) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "Registry settings; the registry is not polled.");
            metrics.record_failure(FailureCause::Registry);
            return None;
        }
    };
    let metrics = metrics.clone();
    Some(tokio::spawn(async move {
        let mut down = false;
        loop {
            match watcher.poll().await {
                Ok(events) => {
                    if down {
                        tracing::info!("Schema Registry answers again.");
                        down = false;
                    }
                    for e in events {
                        if tx.send(e).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    metrics.record_failure(FailureCause::Registry);
                    if !down {
                        tracing::warn!(error = %e, "Schema Registry poll failed; trying again every interval.");
                    }
                    down = true;
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(watcher.interval()) => {}
            }
        }
    }))
}
