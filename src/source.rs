//! Decoding of Debezium messages into typed events.
//!
//! Owns: the [`Event`] types ([`SchemaChangeEvent`], [`DataChangeEvent`]), the
//! line and file decoders ([`decode_line`], [`decode_file`]) and their
//! [`DecodeError`]. Input is text (the CLI reads files, the agent reads Kafka);
//! this module does no I/O and never panics on any input.
//!
//! Accepted shapes of one line:
//! * a raw message value: `{"schema": .., "payload": ..}` (JSON converter with
//!   `schemas.enable=true`) or the bare payload (`schemas.enable=false`);
//! * a `kcat -J` record: `{"topic", "partition", "offset", "key", "payload"}`
//!   where `key` and `payload` are the record bytes as text (JSON inside a JSON
//!   string) or, as some tools write them, already an object.
//!
//! A payload is a schema-change value when it has `tableChanges` or `ddl` (or
//! a Flink CDC `historyRecord`), a data-change value when it has `op`.
//! Contact points: [`crate::model`] (the decoded tables), [`crate::model::history`]
//! (folds events into versions), `source::ddl` (statement analysis).

mod error;

pub mod connect;
pub mod ddl;
pub mod schema_change;

use serde_json::{Map, Value};

use crate::model::{SourceDialect, SourcePosition, SourceTable, TableId};

pub use error::DecodeError;
pub use schema_change::{IdOrder, SchemaChangeEvent, TableChange, TableChangeKind};

/// Result of this module's fallible functions.
pub type Result<T, E = DecodeError> = std::result::Result<T, E>;

/// One decoded Debezium message.
// Unboxed on purpose: events are built and matched by value across modules;
// the size difference between the variants is a few hundred bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A value of the schema-change topic (MySQL family).
    SchemaChange(SchemaChangeEvent),
    /// A value of a data topic (`op` c/u/d/r/t).
    DataChange(DataChangeEvent),
}

/// A value together with where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    /// The decoded value.
    pub value: T,
    /// Line, Kafka coordinates and source-native position.
    pub position: SourcePosition,
}

/// The operation of a data-change event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `c`: insert.
    Create,
    /// `u`: update.
    Update,
    /// `d`: delete.
    Delete,
    /// `r`: snapshot read.
    Read,
    /// `t`: truncate.
    Truncate,
}

impl Op {
    /// Parses Debezium's one-letter code.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "c" => Op::Create,
            "u" => Op::Update,
            "d" => Op::Delete,
            "r" => Op::Read,
            "t" => Op::Truncate,
            _ => return None,
        })
    }

    /// Debezium's one-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Read => "r",
            Op::Truncate => "t",
        }
    }
}

/// A data-change event (one row change, or a truncate).
#[derive(Debug, Clone, PartialEq)]
pub struct DataChangeEvent {
    /// What happened to the row.
    pub op: Op,
    /// The table (from `source.db`/`source.schema` + `source.table`, else the topic).
    pub table: TableId,
    /// Source family (from `source.connector`).
    pub dialect: SourceDialect,
    /// Row before the change (`Value::Null` when absent).
    pub before: Value,
    /// Row after the change (`Value::Null` when absent).
    pub after: Value,
    /// Record key payload, when the line carried a key.
    pub key: Option<Value>,
    /// Table schema derived from the inline Connect schema (`schemas.enable=true`),
    /// with the primary key from the key schema when there is one.
    pub schema: Option<SourceTable>,
}

/// Context of one decode: the line and the Kafka coordinates, when known.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ctx {
    pub(crate) line: usize,
    pub(crate) topic: Option<String>,
    pub(crate) partition: Option<i32>,
    pub(crate) offset: Option<i64>,
}

impl Ctx {
    pub(crate) fn not_debezium(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError::NotDebezium {
            line: self.line,
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError::Unsupported {
            line: self.line,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(&self, field: &str, reason: impl Into<String>) -> DecodeError {
        DecodeError::InvalidField {
            line: self.line,
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    fn position(&self) -> SourcePosition {
        SourcePosition {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: self.offset,
            line: Some(self.line),
            native: None,
            ts_ms: None,
        }
    }
}

/// Decodes one line. `Ok(None)` for blank lines, comment lines and tombstones
/// (records whose value is null).
pub fn decode_line(line: &str, line_no: usize) -> Result<Option<Located<Event>>> {
    let trimmed = line.trim().trim_start_matches('\u{feff}');
    if trimmed.is_empty() || is_comment(trimmed) {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(trimmed).map_err(|e| DecodeError::json(line_no, &e))?;
    decode_value(&value, line_no)
}

/// Decodes an already parsed JSON document that started at line `line_no`.
pub fn decode_value(value: &Value, line_no: usize) -> Result<Option<Located<Event>>> {
    let mut ctx = Ctx {
        line: line_no,
        ..Ctx::default()
    };
    let Value::Object(obj) = value else {
        return Err(ctx.not_debezium(format!("expected a json object, found {}", kind_of(value))));
    };
    if is_kcat(obj) {
        return decode_kcat(obj, &mut ctx);
    }
    decode_message(value, None, &ctx)
}

/// Decodes a whole file: JSON Lines (one message per line), or — when the first
/// line is not a complete JSON value but opens one (`{`) or the first value
/// spans several lines — a sequence of pretty-printed documents (decoding stops
/// at the first JSON error there).
/// Lines starting with `#`, `//`, `/*` or `*` (license headers) are skipped.
/// Errors carry the 1-based line; decoding goes on after an error in JSON Lines.
pub fn decode_file(text: &str) -> (Vec<Located<Event>>, Vec<DecodeError>) {
    let cleaned = strip_comment_lines(text);
    let first = cleaned
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty());
    let mut events = Vec::new();
    let mut errors = Vec::new();
    let Some((first_idx, first_line)) = first else {
        return (events, errors);
    };
    // JSON Lines unless the first value spans several lines (pretty-printed
    // documents); a truncated first line stays a per-line error.
    let head = first_line.trim();
    let first_is_document = serde_json::from_str::<Value>(head).is_err()
        && ((head.len() < 80 && (head.ends_with('{') || head.ends_with('[')))
            || serde_json::Deserializer::from_str(&cleaned)
                .into_iter::<Value>()
                .next()
                .is_some_and(|r| r.is_ok()));
    if !first_is_document {
        for (i, line) in cleaned.lines().enumerate() {
            match decode_line(line, i + 1) {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        return (events, errors);
    }
    // Document mode: concatenated (pretty-printed) JSON values.
    let mut stream = serde_json::Deserializer::from_str(&cleaned).into_iter::<Value>();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(value)) => {
                let line = line_of_value(&cleaned, start).max(first_idx + 1);
                match decode_value(&value, line) {
                    Ok(Some(ev)) => events.push(ev),
                    Ok(None) => {}
                    Err(e) => errors.push(e),
                }
            }
            Some(Err(e)) => {
                errors.push(DecodeError::json(e.line(), &e));
                break;
            }
        }
    }
    (events, errors)
}

/// 1-based line of the first non-whitespace byte at or after `offset`.
fn line_of_value(text: &str, offset: usize) -> usize {
    let rest = text.get(offset..).unwrap_or("");
    let skip = rest.len() - rest.trim_start().len();
    let upto = text.get(..offset + skip).unwrap_or(text);
    upto.matches('\n').count() + 1
}

fn is_comment(trimmed: &str) -> bool {
    trimmed.starts_with('#')
        || trimmed.starts_with("//")
        || trimmed.starts_with("/*")
        || trimmed.starts_with("*/")
        || trimmed.starts_with('*')
}

/// Replaces comment lines by empty lines (keeping line numbers).
fn strip_comment_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if is_comment(line.trim()) {
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

fn is_kcat(obj: &Map<String, Value>) -> bool {
    obj.contains_key("topic")
        && !obj.contains_key("schema")
        && (obj.contains_key("partition") || obj.contains_key("offset"))
        && (obj.contains_key("payload")
            || obj.contains_key("key")
            || obj.contains_key("payload_b64"))
}

fn decode_kcat(obj: &Map<String, Value>, ctx: &mut Ctx) -> Result<Option<Located<Event>>> {
    ctx.topic = obj.get("topic").and_then(Value::as_str).map(str::to_string);
    ctx.partition = obj
        .get("partition")
        .and_then(Value::as_i64)
        .and_then(|p| i32::try_from(p).ok());
    ctx.offset = obj.get("offset").and_then(Value::as_i64);
    if obj.contains_key("payload_b64") || obj.contains_key("key_b64") {
        return Err(ctx.unsupported(
            "binary record (`payload_b64`, Confluent Avro): ddlsync decodes JSON-converter records",
        ));
    }
    let value = match obj.get("payload") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => embedded_json(s, "payload", ctx)?,
        Some(v) => v.clone(),
    };
    let key = match obj.get("key") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
        Some(v) => Some(v.clone()),
    };
    decode_message(&value, key.as_ref(), ctx)
}

fn embedded_json(text: &str, field: &str, ctx: &Ctx) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        ctx.invalid(
            field,
            format!(
                "record value is not json: {}",
                DecodeError::json(ctx.line, &e)
            ),
        )
    })
}

/// Splits a Connect envelope `{"schema", "payload"}` (or takes a bare payload)
/// and dispatches on the payload's shape.
fn decode_message(value: &Value, key: Option<&Value>, ctx: &Ctx) -> Result<Option<Located<Event>>> {
    let Value::Object(obj) = value else {
        return Err(ctx.not_debezium(format!(
            "record value is {}, not a json object",
            kind_of(value)
        )));
    };
    let (schema, payload) = if obj.contains_key("payload") && obj.contains_key("schema") {
        (obj.get("schema").filter(|s| !s.is_null()), &obj["payload"])
    } else if obj.len() == 1 && obj.contains_key("payload") {
        (None, &obj["payload"])
    } else {
        (None, value)
    };
    let payload = match payload {
        Value::Null => return Ok(None),
        Value::Object(p) => p,
        other => {
            return Err(ctx.not_debezium(format!(
                "`payload` is {}, not a json object",
                kind_of(other)
            )))
        }
    };
    let mut position = ctx.position();
    let event = if let Some(history) = payload.get("historyRecord") {
        let inner = match history {
            Value::String(s) => embedded_json(s, "payload.historyRecord", ctx)?,
            other => other.clone(),
        };
        let Value::Object(inner) = inner else {
            return Err(ctx.invalid("payload.historyRecord", "not a json object"));
        };
        let outer_source = payload.get("source");
        Event::SchemaChange(schema_change::decode(
            &inner,
            outer_source,
            ctx,
            &mut position,
        )?)
    } else if payload.contains_key("tableChanges") || payload.contains_key("ddl") {
        Event::SchemaChange(schema_change::decode(payload, None, ctx, &mut position)?)
    } else if payload.contains_key("op") {
        Event::DataChange(decode_data_change(
            payload,
            schema,
            key,
            ctx,
            &mut position,
        )?)
    } else if let Some(status) = payload.get("status").and_then(Value::as_str) {
        return Err(ctx.unsupported(format!(
            "transaction metadata event (status {status}), not a change event"
        )));
    } else if payload.contains_key("before")
        || payload.contains_key("after")
        || payload.contains_key("source")
    {
        return Err(ctx.not_debezium("missing field `payload.op`"));
    } else if schema
        .and_then(|s| s.get("name"))
        .and_then(Value::as_str)
        .is_some_and(|n| n.ends_with(".Key") || n.ends_with("SchemaChangeKey"))
    {
        return Err(
            ctx.not_debezium("missing field `payload.op` (this is a record key, not a value)")
        );
    } else {
        return Err(ctx.not_debezium(
            "missing field `payload.op` (neither a data-change nor a schema-change value)",
        ));
    };
    Ok(Some(Located {
        value: event,
        position,
    }))
}

fn decode_data_change(
    payload: &Map<String, Value>,
    schema: Option<&Value>,
    key: Option<&Value>,
    ctx: &Ctx,
    position: &mut SourcePosition,
) -> Result<DataChangeEvent> {
    let code = match payload.get("op") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(ctx.invalid(
                "payload.op",
                format!("expected a string, found {}", kind_of(other)),
            ))
        }
        None => return Err(ctx.not_debezium("missing field `payload.op`")),
    };
    let op = match Op::from_code(code) {
        Some(op) => op,
        None if code == "m" => {
            return Err(ctx.unsupported("logical decoding message (op `m`), not a row change"))
        }
        None => return Err(ctx.invalid("payload.op", format!("unknown operation `{code}`"))),
    };
    let source = payload.get("source").and_then(Value::as_object);
    let dialect = dialect_of(source, ctx)?;
    fill_native_position(source, position);
    position.ts_ms = source
        .and_then(|s| s.get("ts_ms"))
        .and_then(Value::as_i64)
        .or_else(|| payload.get("ts_ms").and_then(Value::as_i64));
    let value_schema = schema.and_then(Value::as_object);
    let table = table_of(source, dialect, value_schema, ctx)?;
    let key_payload = key.map(|k| match k.get("payload") {
        Some(p) if k.get("schema").is_some() => p.clone(),
        _ => k.clone(),
    });
    let derived = value_schema
        .map(|s| connect::table_from_envelope(s, key, &table, dialect, ctx))
        .transpose()?
        .flatten();
    Ok(DataChangeEvent {
        op,
        table,
        dialect,
        before: payload.get("before").cloned().unwrap_or(Value::Null),
        after: payload.get("after").cloned().unwrap_or(Value::Null),
        key: key_payload,
        schema: derived,
    })
}

/// Source family from `source.connector`; other connectors are refused.
pub(crate) fn dialect_of(source: Option<&Map<String, Value>>, ctx: &Ctx) -> Result<SourceDialect> {
    let connector = source
        .and_then(|s| s.get("connector"))
        .and_then(Value::as_str);
    match connector {
        Some("mysql" | "mariadb") => Ok(SourceDialect::Mysql),
        Some("postgresql" | "postgres") => Ok(SourceDialect::Postgres),
        Some(other) => Err(ctx.unsupported(format!(
            "connector `{other}` (source.connector): ddlsync reads MySQL-family and PostgreSQL sources"
        ))),
        None if source.is_some_and(|s| s.contains_key("lsn")) => Ok(SourceDialect::Postgres),
        None => Ok(SourceDialect::Mysql),
    }
}

/// `native` position: binlog `file:pos`, else `gtid:..`, else `lsn:..`.
pub(crate) fn fill_native_position(
    source: Option<&Map<String, Value>>,
    position: &mut SourcePosition,
) {
    let Some(s) = source else { return };
    let file = s
        .get("file")
        .and_then(Value::as_str)
        .filter(|f| !f.is_empty());
    let pos = s.get("pos").and_then(Value::as_i64);
    position.native = if let (Some(f), Some(p)) = (file, pos) {
        Some(format!("{f}:{p}"))
    } else if let Some(g) = s.get("gtid").and_then(Value::as_str) {
        Some(format!("gtid:{g}"))
    } else {
        s.get("lsn")
            .and_then(Value::as_i64)
            .map(|l| format!("lsn:{l}"))
    };
}

/// The table of a data event: `source` first, then the topic, then the schema name.
fn table_of(
    source: Option<&Map<String, Value>>,
    dialect: SourceDialect,
    schema: Option<&Map<String, Value>>,
    ctx: &Ctx,
) -> Result<TableId> {
    let get = |k: &str| {
        source
            .and_then(|s| s.get(k))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let db = match dialect {
        SourceDialect::Postgres => get("schema").or_else(|| get("db")),
        SourceDialect::Mysql => get("db"),
    };
    if let (Some(db), Some(t)) = (db, get("table")) {
        return Ok(TableId::new(db, t));
    }
    let from_name = |name: &str| {
        let parts: Vec<&str> = name.split('.').collect();
        (parts.len() >= 3).then(|| TableId::new(parts[parts.len() - 2], parts[parts.len() - 1]))
    };
    if let Some(id) = ctx.topic.as_deref().and_then(from_name) {
        return Ok(id);
    }
    let envelope = schema.and_then(|s| s.get("name")).and_then(Value::as_str);
    if let Some(id) = envelope
        .and_then(|n| n.strip_suffix(".Envelope"))
        .and_then(from_name)
    {
        return Ok(id);
    }
    Err(ctx.not_debezium("missing field `payload.source.table` (and no topic to name the table)"))
}

/// Short name of a JSON value's kind, for error messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
