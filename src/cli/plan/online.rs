//! Online inputs of `ddlsync plan --config`: the source history from the
//! Kafka schema-change topics, the target catalog and version from StarRocks.
//! Reads only; writes nothing to Kafka (no offsets committed) or StarRocks.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ddlsync::capabilities::StarRocksVersion;
use ddlsync::catalog::Catalog;
use ddlsync::config::Config;
use ddlsync::model::history::Histories;
use ddlsync::model::TableId;
use ddlsync::starrocks::Client;
use ddlsync::watch;

/// How long every partition must stay quiet once it reached the end offset
/// it reported (a broker may report that end late; see `watch`).
const IDLE: Duration = Duration::from_millis(500);
/// Upper bound on reading the history.
const DEADLINE: Duration = Duration::from_secs(120);

/// Reads the history and introspects StarRocks. `version` overrides the server's.
pub(super) fn inputs(
    config: &Config,
    version: Option<StarRocksVersion>,
) -> Result<(Histories, Catalog, StarRocksVersion)> {
    let kafka = config.kafka.as_ref().context(
        "online planning needs [kafka] in the config (or give --events and --target-ddl)",
    )?;
    let starrocks = config.starrocks.as_ref().context(
        "online planning needs [starrocks] in the config (or give --events and --target-ddl)",
    )?;
    let mut topics = kafka.schema_change_topics.clone();
    topics.extend(config.tables.iter().filter_map(|t| t.topic.clone()));
    if topics.is_empty() {
        bail!("the config names no kafka.schema_change_topics and no [[tables]] topic to read");
    }
    let properties = kafka.client_properties("-plan");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let read = watch::read_history(&properties, &topics, IDLE, DEADLINE)
            .await
            .with_context(|| format!("reading {}", topics.join(", ")))?;
        for bad in &read.bad {
            eprintln!(
                "warning: {}[{}]@{}: skipped: {}",
                bad.topic, bad.partition, bad.offset, bad.error
            );
        }
        let mut histories = Histories::new();
        for event in &read.events {
            histories.apply(event);
        }
        tracing::info!(
            records = read.records,
            tables = histories.tables().count(),
            "Source history read."
        );

        let client = Client::new(starrocks).context("starrocks")?;
        let version = match version {
            Some(v) => v,
            None => client
                .version()
                .await
                .context("starrocks: reading the version")?,
        };
        let mut targets: BTreeSet<TableId> = BTreeSet::new();
        for (id, history) in histories.tables().chain(histories.dropped()) {
            for name in std::iter::once(id).chain(history.former_ids.iter()) {
                if let Some(route) = config.route(name) {
                    targets.extend(ddlsync::pipeline::route_tables(&route));
                }
            }
        }
        let catalog = client
            .introspect(&targets.into_iter().collect::<Vec<_>>())
            .await
            .context("starrocks: introspection")?;
        client.disconnect().await;
        Ok((histories, catalog, version))
    })
}
