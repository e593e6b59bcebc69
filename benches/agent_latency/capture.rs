//! An in-process `tracing` layer that records the agent's "Statement
//! submitted.", "Change decided apply." and job-end events with their fields.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use super::now_ms;

/// What the capture layer saw of the agent's log events.
#[derive(Default)]
pub struct Seen {
    pub submitted: Vec<Submitted>,
    /// (target table, statements, wall time ms) of every "Change decided apply.".
    pub decided: Vec<(String, String, i64)>,
    /// StarRocks job id → wall time (ms) of "Schema-change job ended." (FINISHED).
    pub jobs_done: HashMap<String, i64>,
    pub applied: Vec<String>,
    pub failed: Vec<String>,
    pub history_rebuilt: bool,
}

pub struct Submitted {
    pub at_ms: i64,
    pub table: String,
    /// `Some(id)` when the statement started an ALTER job.
    pub job_id: String,
    pub statement: String,
    pub event_to_submit_ms: Option<u64>,
}

#[derive(Default)]
pub struct Fields(pub BTreeMap<&'static str, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name(), value.to_string());
    }
}

pub struct Capture(pub Arc<Mutex<Seen>>);

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("ddlsync") {
            return;
        }
        let at_ms = now_ms();
        let mut f = Fields::default();
        event.record(&mut f);
        let mut get = |k: &str| f.0.remove(k).unwrap_or_default();
        let message = get("message");
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match message.as_str() {
            "Statement submitted." => {
                let submitted = Submitted {
                    at_ms,
                    table: get("table"),
                    job_id: get("job_id"),
                    statement: get("statement"),
                    event_to_submit_ms: get("event_to_submit_ms").parse().ok(),
                };
                seen.submitted.push(submitted);
            }
            "Schema-change job ended." if get("state") == "FINISHED" => {
                seen.jobs_done.insert(get("job_id"), at_ms);
            }
            "Change decided apply." => {
                let decided = (get("table"), get("statement"), at_ms);
                seen.decided.push(decided);
            }
            "Plan applied." => seen.applied.push(get("table")),
            "Plan failed." => {
                let line = format!("{}: {}", get("table"), get("error"));
                seen.failed.push(line);
            }
            "Source history rebuilt." => seen.history_rebuilt = true,
            _ => {}
        }
    }
}

/// When the ALTER behind `s` was FINISHED: its job's end, or the submission
/// itself when it started no job.
pub fn done_at(seen: &Seen, s: &Submitted) -> Option<i64> {
    match s
        .job_id
        .strip_prefix("Some(")
        .and_then(|r| r.strip_suffix(')'))
    {
        Some(id) => seen.jobs_done.get(id).copied(),
        None => Some(s.at_ms),
    }
}
