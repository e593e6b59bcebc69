//! The agent's stand-in under `ddlsync run --loader-only`: nothing is planned
//! or applied, but the loader's gates still need the target tables' columns.
//! The tables come from the loader's schema signals (each data event's table,
//! routed); their columns are read from StarRocks every [`REFRESH`], so a
//! column a person adds by hand releases the rows that wait for it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::gate::Gates;
use crate::metrics::{FailureCause, Metrics};
use crate::model::TableId;
use crate::source::{Event, Located};
use crate::starrocks::Client;

/// How often the target tables are read again.
pub const REFRESH: Duration = Duration::from_secs(2);

/// Keeps the gates of the tables the loader meets open with their current
/// columns, until `cancel`.
pub async fn refresh_gates(
    config: Arc<Config>,
    gates: Arc<Gates>,
    metrics: Arc<Metrics>,
    mut schemas: mpsc::UnboundedReceiver<Located<Event>>,
    cancel: CancellationToken,
) -> Result<(), crate::starrocks::Error> {
    let sr = config
        .starrocks
        .as_ref()
        .ok_or_else(|| crate::starrocks::Error::Config {
            message: "`--loader-only` needs [starrocks]".into(),
        })?;
    let client = Client::new(sr)?;
    let mut targets: BTreeSet<TableId> = BTreeSet::new();
    let mut tick = tokio::time::interval(REFRESH);
    let mut dirty = false;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            event = schemas.recv() => {
                let Some(event) = event else { return Ok(()) };
                if let Event::DataChange(dc) = &event.value {
                    if let Some(route) = config.route(&dc.table) {
                        dirty |= targets.insert(route.target);
                    }
                }
                if !dirty {
                    continue;
                }
            }
            _ = tick.tick() => {}
        }
        dirty = false;
        let list: Vec<TableId> = targets.iter().cloned().collect();
        match client.introspect(&list).await {
            Ok(catalog) => {
                for t in &list {
                    let columns = catalog
                        .tables
                        .get(t)
                        .map(|x| x.columns.iter().map(|c| c.name.clone()).collect());
                    gates.set_columns(t, columns);
                    gates.release(t);
                }
            }
            Err(e) => {
                metrics.record_failure(FailureCause::StarrocksUnavailable);
                tracing::warn!(error = %e, "Cannot read the target tables for the gates; retrying.");
            }
        }
    }
}
