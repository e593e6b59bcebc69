//! The first half of a record's way through the runtime, which needs none of
//! its state: the envelope JSON → source table → route → converted rows, each
//! row already serialized for its Stream Load body.
//!
//! For JSON topics this runs on the reader thread ([`super::reader`]), ahead
//! of the runtime and in parallel with it; Avro values are first decoded
//! through the registry by the runtime, then prepared the same way. The
//! second half (holds, the gate, batches, offsets) is `record`.

use std::collections::HashMap;
use std::sync::Arc;

use super::route::{self, Targets};
use crate::config::Config;
use crate::loader::convert::{Decoded, Decoder, Event, Record, TableOptions};
use crate::model::TableId;

/// What the first half made of a record.
#[derive(Debug)]
pub(super) enum Prepared {
    /// A tombstone (`null` envelope).
    Tombstone,
    /// Never decodable: quarantined with this reason.
    Bad(String),
    /// No `[[tables]]` entry loads the source table.
    Unrouted,
    /// Rows to load.
    Event(Box<Ready>),
}

/// A decoded event with its targets and its serialized rows.
#[derive(Debug)]
pub(super) struct Ready {
    /// Source table.
    pub(super) source: Arc<TableId>,
    /// Where its rows go.
    pub(super) targets: Arc<Targets>,
    /// The converted event (its mirror rows are JSON already; its raw row
    /// taken out into `raw_json`).
    pub(super) ev: Box<Event>,
    /// The raw change-log row as JSON.
    pub(super) raw_json: Option<String>,
}

/// Does the first half; keeps the decoder's schema cache and the routes of
/// the source tables seen (the configuration does not change while it runs).
pub(super) struct Preparer {
    decoder: Decoder,
    config: Arc<Config>,
    routes: HashMap<TableId, Arc<Targets>>,
    /// The last record's source table (consecutive records mostly share it).
    last_source: Option<Arc<TableId>>,
}

impl Preparer {
    /// A preparer with these conversion settings and this configuration.
    pub(super) fn new(decoder: Decoder, config: Arc<Config>) -> Preparer {
        Preparer {
            decoder,
            config,
            routes: HashMap::new(),
            last_source: None,
        }
    }

    /// Where rows of `source` go (empty: nowhere).
    fn targets(&mut self, source: &TableId) -> &Arc<Targets> {
        if !self.routes.contains_key(source) {
            let t = self
                .config
                .route(source)
                .map_or_else(Targets::default, |r| Targets::of(&r));
            self.routes.insert(source.clone(), Arc::new(t));
        }
        &self.routes[source]
    }

    /// `source`, shared with the last record's when it is the same table.
    fn shared(&mut self, source: TableId) -> Arc<TableId> {
        match &self.last_source {
            Some(last) if **last == source => Arc::clone(last),
            _ => {
                let s = Arc::new(source);
                self.last_source = Some(Arc::clone(&s));
                s
            }
        }
    }

    /// Prepares the record whose value is the envelope JSON `rec.value`.
    pub(super) fn prepare(&mut self, rec: &Record<'_>) -> Prepared {
        let Some(text) = rec.value else {
            return Prepared::Tombstone;
        };
        let parsed = match self.decoder.parse(rec, &TableOptions::default()) {
            Ok(Some(p)) => p,
            Ok(None) => return Prepared::Tombstone,
            // Not decodable: quarantined if it is one of ours, else skipped.
            Err(e) => {
                let Some(source) = route::source_table(text, rec.topic) else {
                    return Prepared::Bad(not_an_envelope(text));
                };
                return if self.targets(&source).is_empty() {
                    Prepared::Unrouted
                } else {
                    Prepared::Bad(e.to_string())
                };
            }
        };
        let Some(source) = route::source_of(parsed.source(), rec.topic) else {
            return Prepared::Bad(not_an_envelope(text));
        };
        let targets = Arc::clone(self.targets(&source));
        if targets.is_empty() {
            return Prepared::Unrouted;
        }
        let source = self.shared(source);
        let opts = TableOptions {
            mirror: targets.mirror.is_some(),
            raw: targets.raw.is_some(),
            ..TableOptions::default()
        };
        let mut ev = match self.decoder.rows(rec, &opts, parsed) {
            Ok(Decoded::Event(ev)) => ev,
            Ok(Decoded::Tombstone) => return Prepared::Tombstone,
            Err(e) => return Prepared::Bad(e.to_string()),
        };
        let raw_json = ev.raw.take().map(|r| {
            let mut out = String::with_capacity(text.len());
            r.write_json(&mut out);
            out
        });
        Prepared::Event(Box::new(Ready {
            source,
            targets,
            ev,
            raw_json,
        }))
    }
}

/// Why a value names no source table.
fn not_an_envelope(text: &str) -> String {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Err(e) => format!("malformed value: {e}"),
        Ok(_) => "no source table: not a Debezium envelope and the topic does not name one".into(),
    }
}
