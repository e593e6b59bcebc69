//! A source `TRUNCATE` applied to the mirror in stream order (loader
//! `truncate = "apply"`): what is batched before it loads first, then the
//! table is truncated, retried until StarRocks takes it.

use super::engine::Engine;
use crate::model::TableId;

impl Engine {
    /// Applies a source truncate to the mirror in stream order: everything
    /// batched before it is loaded first. `false` when cancelled first.
    pub(super) async fn truncate(
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
