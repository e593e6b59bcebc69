//! The raw change-log table's row: op, the converted `before` and `after`
//! images, source position, event time and the Kafka coordinates, written as
//! the JSON object Stream Load takes (pure).

use serde_json::Value;

use super::row::{push_quoted, JsonText};
use crate::source::Op;

/// Column names of the raw change-log table, in [`RawRow::to_json`] order.
pub const RAW_COLUMNS: [&str; 8] = [
    "op",
    "before",
    "after",
    "source_position",
    "event_time",
    "topic",
    "partition",
    "offset",
];

/// One row for the raw change-log table.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// The op.
    pub op: Op,
    /// Converted `before` (unavailable values as the placeholder text).
    pub before: Option<JsonText>,
    /// Converted `after` (unavailable values as the placeholder text).
    pub after: Option<JsonText>,
    /// Position in the source log, sortable within one source:
    /// `pg:<lsn, 20 digits>` or `mysql:<binlog file>:<pos, 20 digits>:<row, 10 digits>`
    /// (empty when the source struct has neither).
    pub source_position: String,
    /// `source.ts_ms` (else the envelope's `ts_ms`) as UTC
    /// `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    pub event_time: Option<String>,
    /// Kafka topic.
    pub topic: String,
    /// Kafka partition.
    pub partition: i32,
    /// Kafka offset.
    pub offset: i64,
}

impl RawRow {
    /// The JSON object to load, keyed by [`RAW_COLUMNS`].
    pub fn to_json(&self) -> Value {
        let mut out = String::new();
        self.write_json(&mut out);
        serde_json::from_str(&out).unwrap_or(Value::Null)
    }

    /// Appends the JSON object to load, keyed by [`RAW_COLUMNS`], to `out`.
    pub fn write_json(&self, out: &mut String) {
        let [op, before, after, pos, time, topic, partition, offset] = RAW_COLUMNS;
        fn image(t: &Option<JsonText>) -> &str {
            t.as_ref().map_or("null", JsonText::as_str)
        }
        out.push('{');
        push_quoted(out, op);
        out.push(':');
        push_quoted(out, self.op.code());
        for (name, value) in [(before, image(&self.before)), (after, image(&self.after))] {
            out.push(',');
            push_quoted(out, name);
            out.push(':');
            out.push_str(value);
        }
        for (name, value) in [
            (pos, Some(self.source_position.as_str())),
            (time, self.event_time.as_deref()),
            (topic, Some(self.topic.as_str())),
        ] {
            out.push(',');
            push_quoted(out, name);
            out.push(':');
            match value {
                Some(v) => push_quoted(out, v),
                None => out.push_str("null"),
            }
        }
        let mut digits = itoa::Buffer::new();
        out.push(',');
        push_quoted(out, partition);
        out.push(':');
        out.push_str(digits.format(self.partition));
        out.push(',');
        push_quoted(out, offset);
        out.push(':');
        out.push_str(digits.format(self.offset));
        out.push('}');
    }
}
