//! Faults on demand, set through `POST /_testkit/faults` on the FE HTTP port.

use serde::{Deserialize, Serialize};

/// Makes the next schema-change jobs of a table fail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailAlter {
    /// `db.table`.
    pub table: String,
    /// How many jobs fail.
    pub count: u32,
    /// The Msg of the CANCELLED job.
    #[serde(default = "default_alter_msg")]
    pub msg: String,
}

fn default_alter_msg() -> String {
    "testkit injected fault: schema change failed".into()
}

/// A fault request (every field optional; absent fields leave the current setting alone).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    /// Refuse (accept and close) MySQL and HTTP connections for this many ms from now.
    pub refuse_connections_ms: Option<u64>,
    /// The next N Stream Loads answer `Status: Fail`.
    pub fail_stream_loads: Option<u32>,
    /// The next N Stream Loads load the data and answer `Status: Publish Timeout`.
    pub publish_timeout_stream_loads: Option<u32>,
    /// Every Stream Load waits this long before answering.
    pub delay_stream_load_ms: Option<u64>,
    /// The next schema-change jobs of a table end CANCELLED.
    pub fail_next_alter_jobs: Option<FailAlter>,
    /// Every ALTER TABLE statement fails with this errno-1064 message while set ("" clears).
    pub fail_alter_statements: Option<String>,
    /// Duration of new schema-change jobs, ms.
    pub job_ms: Option<u64>,
    /// Clear every fault first.
    #[serde(default)]
    pub reset: bool,
}

/// Current fault settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Unix ms until which connections are refused.
    pub refuse_until_ms: i64,
    /// Stream Loads left to fail.
    pub fail_stream_loads: u32,
    /// Stream Loads left to answer Publish Timeout.
    pub publish_timeout_stream_loads: u32,
    /// Delay of each Stream Load, ms.
    pub delay_stream_load_ms: u64,
    /// Pending alter-job failures.
    pub fail_alter: Vec<FailAlter>,
    /// ALTER statements fail with this message when non-empty.
    pub fail_alter_statements: String,
}

impl Faults {
    /// Applies a request; `job_ms` is returned for the caller to store.
    pub fn apply(&mut self, r: &FaultRequest) -> Option<u64> {
        if r.reset {
            *self = Faults::default();
        }
        if let Some(ms) = r.refuse_connections_ms {
            self.refuse_until_ms = super::catalog::now_ms() + ms as i64;
        }
        if let Some(n) = r.fail_stream_loads {
            self.fail_stream_loads = n;
        }
        if let Some(n) = r.publish_timeout_stream_loads {
            self.publish_timeout_stream_loads = n;
        }
        if let Some(ms) = r.delay_stream_load_ms {
            self.delay_stream_load_ms = ms;
        }
        if let Some(f) = &r.fail_next_alter_jobs {
            self.fail_alter.retain(|x| x.table != f.table);
            if f.count > 0 {
                self.fail_alter.push(f.clone());
            }
        }
        if let Some(m) = &r.fail_alter_statements {
            self.fail_alter_statements = m.clone();
        }
        r.job_ms
    }

    /// Whether connections are refused now.
    pub fn refusing(&self) -> bool {
        super::catalog::now_ms() < self.refuse_until_ms
    }

    /// Takes one pending alter failure for `db.table`.
    pub fn take_alter_failure(&mut self, db: &str, table: &str) -> Option<String> {
        let key = format!("{db}.{table}");
        let f = self
            .fail_alter
            .iter_mut()
            .find(|f| f.table == key || f.table == table)?;
        f.count -= 1;
        let msg = f.msg.clone();
        self.fail_alter.retain(|f| f.count > 0);
        Some(msg)
    }
}
