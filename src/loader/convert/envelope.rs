//! The Debezium envelope (`op`, `before`, `after`, `source`) of one Kafka
//! record into mirror rows and a raw change-log row, with a cache of parsed
//! inline schemas keyed by their exact text (pure; no clock, no I/O).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

pub use super::raw::{RawRow, RAW_COLUMNS};
use super::row::{object_of, Cells, Fields, JsonText};
use super::schema::RowSchema;
use super::temporal::format_datetime;
use super::{Config, Error, Result};

/// The pseudo-column that tells StarRocks upsert (0) or delete (1).
pub const OP_COLUMN: &str = "__op";

/// Schemas kept before the cache is cleared (a schema changes rarely).
const SCHEMA_CACHE_MAX: usize = 256;

/// One Kafka record of a Debezium data topic.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Record key as text (`None` for a null key: truncates).
    pub key: Option<&'a str>,
    /// Record value as text (`None` for a tombstone).
    pub value: Option<&'a str>,
}

/// Per-table decoding options.
#[derive(Debug, Clone)]
pub struct TableOptions {
    /// Primary-key columns; when `None`, the field names of the record key.
    pub key_columns: Option<Vec<String>>,
    /// Column description for schemaless JSON (ignored when the record
    /// carries an inline schema).
    pub description: Option<Arc<RowSchema>>,
    /// Produce mirror rows.
    pub mirror: bool,
    /// Produce the raw change-log row.
    pub raw: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            key_columns: None,
            description: None,
            mirror: true,
            raw: true,
        }
    }
}

/// Debezium's `op` (the same type the schema side decodes).
pub use crate::source::Op;

/// What one record decodes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A null value (Kafka compaction marker after a delete): nothing to load.
    Tombstone,
    /// A data-change event (boxed: it is large next to a tombstone).
    Event(Box<Event>),
}

/// One data-change event, converted.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The op.
    pub op: Op,
    /// The row schema the event was written with (its fingerprint gates
    /// batches: a batch never spans two).
    pub schema: Arc<RowSchema>,
    /// Rows for the PRIMARY KEY mirror, in load order (a key change gives a
    /// delete, then an upsert; a truncate gives none).
    pub mirror: Vec<MirrorRow>,
    /// The row for the raw change-log table, when asked for.
    pub raw: Option<RawRow>,
}

/// Upsert or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorOp {
    /// `__op` 0.
    Upsert,
    /// `__op` 1.
    Delete,
}

/// One row for the mirror table.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorRow {
    /// Upsert or delete.
    pub op: MirrorOp,
    /// The JSON object to load, `__op` included.
    pub json: JsonText,
    /// Columns left out because the source did not send them (unchanged
    /// TOASTed): load this row with partial update over the present columns,
    /// or fill them from the previous value. Empty for deletes.
    pub unavailable: Vec<String>,
}

impl MirrorRow {
    /// The row's members, `__op` included (parsed from [`MirrorRow::json`]).
    pub fn values(&self) -> Map<String, Value> {
        self.json.object()
    }
}

/// The envelope (the JsonConverter's `payload`, or the value itself). At the
/// top level it also reads the JsonConverter's `schema` and `payload`; inside
/// a payload those are absent (and ignored).
#[derive(Debug, Deserialize, Default)]
struct Body<'a> {
    #[serde(borrow, default)]
    schema: Option<&'a RawValue>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
    #[serde(borrow, default)]
    before: Option<Fields<'a>>,
    #[serde(borrow, default)]
    after: Option<Fields<'a>>,
    #[serde(borrow, default)]
    source: Option<Source<'a>>,
    #[serde(borrow, default)]
    op: Option<Cow<'a, str>>,
    #[serde(default)]
    ts_ms: Option<i64>,
}

/// The envelope's `source` block: where the event comes from.
#[derive(Debug, Deserialize, Default)]
pub struct Source<'a> {
    /// `postgresql`, `mysql`, ...
    #[serde(borrow, default)]
    pub connector: Option<Cow<'a, str>>,
    /// Database.
    #[serde(borrow, default)]
    pub db: Option<Cow<'a, str>>,
    /// Schema (PostgreSQL).
    #[serde(borrow, default)]
    pub schema: Option<Cow<'a, str>>,
    /// Table.
    #[serde(borrow, default)]
    pub table: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    lsn: Option<&'a RawValue>,
    #[serde(borrow, default)]
    file: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pos: Option<&'a RawValue>,
    #[serde(borrow, default)]
    row: Option<&'a RawValue>,
    #[serde(borrow, default)]
    ts_ms: Option<&'a RawValue>,
}

/// An integer member (anything else counts as absent).
fn integer(v: Option<&RawValue>) -> Option<i64> {
    v.and_then(|v| v.get().parse().ok())
}

impl Source<'_> {
    /// PostgreSQL's log sequence number.
    pub fn lsn(&self) -> Option<i64> {
        integer(self.lsn)
    }
}

fn located(rec: &Record<'_>, e: Error) -> Error {
    Error::At {
        topic: rec.topic.to_string(),
        partition: rec.partition,
        offset: rec.offset,
        source: Box::new(e),
    }
}

fn malformed(what: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Malformed {
        what,
        reason: e.to_string(),
    }
}

/// Decodes records; keeps the inline schemas it has parsed.
#[derive(Debug, Default)]
pub struct Decoder {
    config: Config,
    schemas: HashMap<Box<str>, Arc<RowSchema>>,
    /// The schema of the last record (consecutive records mostly share it).
    last: Option<(Box<str>, Arc<RowSchema>)>,
}

/// A record's envelope, read, before it becomes rows ([`Decoder::parse`]).
#[derive(Debug)]
pub struct Parsed<'a> {
    schema: Arc<RowSchema>,
    body: Body<'a>,
}

impl<'a> Parsed<'a> {
    /// The envelope's `source` block.
    pub fn source(&self) -> Option<&Source<'a>> {
        self.body.source.as_ref()
    }

    /// The row schema.
    pub fn schema(&self) -> &Arc<RowSchema> {
        &self.schema
    }
}

impl Decoder {
    /// A decoder with these settings.
    pub fn new(config: Config) -> Decoder {
        Decoder {
            config,
            schemas: HashMap::new(),
            last: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Decodes one record; errors carry its topic, partition and offset.
    pub fn decode(&mut self, rec: &Record<'_>, opts: &TableOptions) -> Result<Decoded> {
        match self.parse(rec, opts)? {
            None => Ok(Decoded::Tombstone),
            Some(p) => self.rows(rec, opts, p),
        }
    }

    /// The first step of [`Decoder::decode`]: the envelope and its schema
    /// (`None`: a tombstone). The caller may look at the source block, then
    /// make the rows with [`Decoder::rows`].
    pub fn parse<'a>(
        &mut self,
        rec: &Record<'a>,
        opts: &TableOptions,
    ) -> Result<Option<Parsed<'a>>> {
        self.parse_inner(rec, opts).map_err(|e| located(rec, e))
    }

    /// The second step of [`Decoder::decode`]: the rows of a parsed record.
    pub fn rows(&self, rec: &Record<'_>, opts: &TableOptions, p: Parsed<'_>) -> Result<Decoded> {
        self.build(rec, opts, p.schema, p.body)
            .map_err(|e| located(rec, e))
    }

    fn row_schema(&mut self, raw: &RawValue) -> Result<Arc<RowSchema>> {
        if let Some((text, s)) = &self.last {
            if **text == *raw.get() {
                return Ok(Arc::clone(s));
            }
        }
        let rs = match self.schemas.get(raw.get()) {
            Some(s) => Arc::clone(s),
            None => {
                let v: Value =
                    serde_json::from_str(raw.get()).map_err(|e| malformed("schema", e))?;
                let rs = Arc::new(RowSchema::from_connect(&v)?);
                if self.schemas.len() >= SCHEMA_CACHE_MAX {
                    self.schemas.clear();
                }
                self.schemas.insert(raw.get().into(), Arc::clone(&rs));
                rs
            }
        };
        self.last = Some((raw.get().into(), Arc::clone(&rs)));
        Ok(rs)
    }

    fn parse_inner<'a>(
        &mut self,
        rec: &Record<'a>,
        opts: &TableOptions,
    ) -> Result<Option<Parsed<'a>>> {
        let text = match rec.value {
            None => return Ok(None),
            Some(t) if t.trim() == "null" || t.trim().is_empty() => return Ok(None),
            Some(t) => t,
        };
        if let Some((schema, body)) = self.with_last_schema(text) {
            return Ok(body.map(|body| Parsed { schema, body }));
        }
        let top: Body<'a> = serde_json::from_str(text).map_err(|e| malformed("value", e))?;
        let (schema, body) = match (top.schema, top.payload) {
            (schema, Some(p)) if schema.is_some() || top.op.is_none() => {
                let body: Option<Body<'a>> =
                    serde_json::from_str(p.get()).map_err(|e| malformed("payload", e))?;
                let Some(body) = body else {
                    return Ok(None);
                };
                let schema = match schema {
                    Some(s) if s.get() != "null" => self.row_schema(s)?,
                    _ => self.described(rec, opts)?,
                };
                (schema, body)
            }
            _ => (self.described(rec, opts)?, top),
        };
        Ok(Some(Parsed { schema, body }))
    }

    /// The fast path for a record written with the last record's schema, as
    /// the JsonConverter writes it (`{"schema":<same text>,"payload":...}`,
    /// no spaces): the schema is recognised by comparing bytes, not parsed
    /// again, and the payload is read once. `None`: take the full path (which
    /// also reports what is wrong).
    fn with_last_schema<'a>(&self, text: &'a str) -> Option<(Arc<RowSchema>, Option<Body<'a>>)> {
        let (known, schema) = self.last.as_ref()?;
        let rest = text
            .strip_prefix("{\"schema\":")?
            .strip_prefix(&**known)?
            .strip_prefix(",\"payload\":")?;
        // The schema text is a whole JSON value, so the same bytes here are
        // the same schema; the payload must be followed by the closing brace.
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Option<Body<'a>>>();
        let body = values.next()?.ok()?;
        (rest[values.byte_offset()..].trim() == "}").then(|| (Arc::clone(schema), body))
    }

    fn described(&self, rec: &Record<'_>, opts: &TableOptions) -> Result<Arc<RowSchema>> {
        opts.description.clone().ok_or_else(|| Error::NoSchema {
            topic: rec.topic.to_string(),
        })
    }

    fn build(
        &self,
        rec: &Record<'_>,
        opts: &TableOptions,
        schema: Arc<RowSchema>,
        p: Body<'_>,
    ) -> Result<Decoded> {
        let code = p.op.unwrap_or_default();
        let op = Op::from_code(&code).ok_or_else(|| Error::Envelope {
            op: code.to_string(),
            reason: "not one of c, u, d, r, t".into(),
        })?;
        // The key's field names matter to updates (key change) and deletes only.
        let keys = match (op, &opts.key_columns) {
            (Op::Update | Op::Delete, Some(k)) => Some(k.clone()),
            (Op::Update | Op::Delete, None) => rec.key.map(key_columns).transpose()?.flatten(),
            _ => None,
        };
        let keys = keys.as_deref();
        let need = |side: &'static str| Error::Envelope {
            op: code.to_string(),
            reason: format!("{side} is missing"),
        };
        let cfg = &self.config;
        let before = p
            .before
            .map(|m| Cells::convert(&schema, m, cfg))
            .transpose()?;
        let after = p
            .after
            .map(|m| Cells::convert(&schema, m, cfg))
            .transpose()?;
        let placeholder = cfg.unavailable_placeholder();
        let raw = opts.raw.then(|| RawRow {
            op,
            before: before.as_ref().map(|r| r.image(placeholder)),
            after: after.as_ref().map(|r| r.image(placeholder)),
            source_position: p.source.as_ref().map(source_position).unwrap_or_default(),
            event_time: event_time(p.source.as_ref(), p.ts_ms),
            topic: rec.topic.to_string(),
            partition: rec.partition,
            offset: rec.offset,
        });
        let mut mirror = Vec::new();
        if opts.mirror {
            match op {
                Op::Create | Op::Read => {
                    mirror.push(upsert(after.as_ref().ok_or_else(|| need("after"))?))
                }
                Op::Update => {
                    let after = after.as_ref().ok_or_else(|| need("after"))?;
                    if let (Some(b), Some(k)) = (&before, keys) {
                        if key_changed(b, after, k) {
                            mirror.push(delete(b, Some(k), &code)?);
                        }
                    }
                    mirror.push(upsert(after));
                }
                Op::Delete => mirror.push(delete(
                    before.as_ref().ok_or_else(|| need("before"))?,
                    keys,
                    &code,
                )?),
                Op::Truncate => {}
            }
        }
        Ok(Decoded::Event(Box::new(Event {
            op,
            schema,
            mirror,
            raw,
        })))
    }
}

/// Field names of a record key (`{"schema":..., "payload": {...}}` or a bare
/// object); `None` for a null key.
fn key_columns(key: &str) -> Result<Option<Vec<String>>> {
    let v: Value = serde_json::from_str(key).map_err(|e| malformed("key", e))?;
    let obj = match &v {
        Value::Object(o) if o.contains_key("payload") && o.contains_key("schema") => {
            o.get("payload")
        }
        Value::Null => None,
        other => Some(other),
    };
    match obj {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o.keys().cloned().collect())),
        Some(_) => Err(malformed("key", "not an object")),
    }
}

fn key_changed(before: &Cells<'_>, after: &Cells<'_>, keys: &[String]) -> bool {
    keys.iter().any(|k| {
        // A key absent from before (replica identity without it) says nothing.
        let Some(Some(b)) = before.get(k).filter(|b| *b != Some("null")) else {
            return false;
        };
        match after.get(k).flatten() {
            Some(a) if a == b => false,
            // The same value may be written two ways (escapes): compare values.
            Some(a) => {
                serde_json::from_str::<Value>(a).ok() != serde_json::from_str::<Value>(b).ok()
            }
            None => true,
        }
    })
}

fn upsert(row: &Cells<'_>) -> MirrorRow {
    MirrorRow {
        op: MirrorOp::Upsert,
        json: row.upsert(OP_COLUMN, 0),
        unavailable: row.unavailable(),
    }
}

/// The delete row: the key columns of `before` (all of `before` when the key
/// is unknown: StarRocks reads only the primary key of a delete).
fn delete(before: &Cells<'_>, keys: Option<&[String]>, code: &str) -> Result<MirrorRow> {
    let json = match keys {
        Some(keys) => {
            let mut members = Vec::with_capacity(keys.len());
            for k in keys {
                let v = before
                    .get(k)
                    .flatten()
                    .filter(|v| *v != "null")
                    .ok_or_else(|| Error::Envelope {
                        op: code.to_string(),
                        reason: format!("key column {k} missing from before"),
                    })?;
                members.push((k.as_str(), v));
            }
            object_of(members, OP_COLUMN, 1)
        }
        None => before.upsert(OP_COLUMN, 1),
    };
    Ok(MirrorRow {
        op: MirrorOp::Delete,
        json,
        unavailable: Vec::new(),
    })
}

fn source_position(src: &Source<'_>) -> String {
    if let Some(lsn) = src.lsn() {
        return format!("pg:{lsn:020}");
    }
    match (src.file.as_deref(), integer(src.pos)) {
        (Some(file), Some(pos)) => {
            let row = integer(src.row).unwrap_or(0);
            format!("mysql:{file}:{pos:020}:{row:010}")
        }
        _ => String::new(),
    }
}

fn event_time(src: Option<&Source<'_>>, ts_ms: Option<i64>) -> Option<String> {
    let ms = src.and_then(|s| integer(s.ts_ms)).or(ts_ms)?;
    format_datetime(ms.checked_mul(1000)?, "ts_ms").ok()
}
