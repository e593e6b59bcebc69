//! Per-target-table batches for Stream Load (pure; the caller passes the
//! time, nothing here reads a clock).
//!
//! A [`Batch`] collects the JSON rows of consecutive events of one Kafka
//! topic-partition for one target table into a ready Stream Load body (a JSON
//! array), bounded by rows, bytes and age. It records the offset range and the
//! schema fingerprint — the inputs of the batch's label — and refuses an event
//! written with another schema, so a batch never spans a schema change: the
//! caller flushes, then adds the event to a fresh batch.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::label::{make_label, LabelParts};

/// Flush thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Rows per batch.
    pub max_rows: usize,
    /// Body bytes per batch (one oversized event still makes a batch alone).
    pub max_bytes: usize,
    /// Age of the oldest row before the batch is due.
    pub max_age: Duration,
}

impl Default for Limits {
    /// 100k rows, 64 MiB (under StarRocks' 100 MB JSON body limit), 5 s.
    fn default() -> Self {
        Limits {
            max_rows: 100_000,
            max_bytes: 64 << 20,
            max_age: Duration::from_secs(5),
        }
    }
}

/// Where an event sits in Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// Why an event was not added (the batch is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    /// The event's schema differs: flush, then add to a new batch.
    #[error("table {table}: batch has schema {batch}, event has {event}: flush first")]
    SchemaChanged {
        /// Target table.
        table: String,
        /// The batch's fingerprint.
        batch: String,
        /// The event's fingerprint.
        event: String,
    },
    /// The event comes from another topic-partition.
    #[error("table {table}: batch holds {batch}, event is from {event}")]
    OtherPartition {
        /// Target table.
        table: String,
        /// `topic[partition]` of the batch.
        batch: String,
        /// `topic[partition]` of the event.
        event: String,
    },
    /// The offset does not follow the batch's last offset.
    #[error("table {table}: offset {offset} is not after the batch's last offset {last}")]
    OffsetNotIncreasing {
        /// Target table.
        table: String,
        /// The event's offset.
        offset: i64,
        /// The batch's last offset.
        last: i64,
    },
    /// Adding would exceed the row or byte limit: flush first.
    #[error("table {table}: batch is full")]
    Full {
        /// Target table.
        table: String,
    },
    /// A row could not be serialized.
    #[error("table {table}: row not serializable: {reason}")]
    Serialize {
        /// Target table.
        table: String,
        /// Why.
        reason: String,
    },
}

/// Why a batch should be flushed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushReason {
    /// Row limit reached.
    Rows,
    /// Byte limit reached.
    Bytes,
    /// The oldest row is older than the age limit.
    Age,
}

/// A batch taken out for loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Target table.
    pub table: String,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// First offset covered.
    pub first_offset: i64,
    /// Last offset covered (commit `last_offset + 1` once durable).
    pub last_offset: i64,
    /// Schema fingerprint of every event in it.
    pub fingerprint: String,
    /// Rows in the body (may be 0 when only tombstones or truncates came).
    pub rows: usize,
    /// The Stream Load body: a JSON array (`strip_outer_array: true`).
    pub body: bytes::Bytes,
}

impl Sealed {
    /// The batch's deterministic Stream Load label.
    pub fn label(&self) -> String {
        make_label(&LabelParts {
            table: &self.table,
            topic: &self.topic,
            partition: self.partition,
            first_offset: self.first_offset,
            last_offset: self.last_offset,
            schema_version: &self.fingerprint,
        })
    }
}

#[derive(Debug, Clone)]
struct Open {
    topic: String,
    partition: i32,
    first: i64,
    last: i64,
    fingerprint: String,
    opened_at: Instant,
}

/// A batch under construction for one target table.
#[derive(Debug, Clone)]
pub struct Batch {
    table: String,
    limits: Limits,
    open: Option<Open>,
    rows: usize,
    body: Vec<u8>,
    /// The last sealed body's size: the next body reserves it at its first
    /// row (bodies grow to megabytes; doubling re-copies and faults pages in).
    size_hint: usize,
}

impl Batch {
    /// An empty batch for `table`.
    pub fn new(table: impl Into<String>, limits: Limits) -> Batch {
        Batch {
            table: table.into(),
            limits,
            open: None,
            rows: 0,
            body: Vec::new(),
            size_hint: 0,
        }
    }

    /// Target table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Rows so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Body bytes so far.
    pub fn bytes(&self) -> usize {
        self.body.len()
    }

    /// Whether no event was added since the last take.
    pub fn is_empty(&self) -> bool {
        self.open.is_none()
    }

    /// The schema fingerprint of the batch, once it has an event.
    pub fn fingerprint(&self) -> Option<&str> {
        self.open.as_ref().map(|o| o.fingerprint.as_str())
    }

    /// Adds one event's rows (none for a tombstone or truncate: the offset is
    /// still covered). On error the batch is unchanged.
    pub fn add<R: Serialize>(
        &mut self,
        pos: Position<'_>,
        fingerprint: &str,
        rows: &[R],
        now: Instant,
    ) -> Result<(), AddError> {
        self.add_with(pos, fingerprint, rows.len(), now, |i, body| {
            serde_json::to_writer(body, &rows[i]).map_err(|e| e.to_string())
        })
    }

    /// [`Batch::add`] for rows already written as JSON objects (the caller
    /// vouches for the text: it goes into the body as it is).
    pub fn add_json(
        &mut self,
        pos: Position<'_>,
        fingerprint: &str,
        rows: &[&str],
        now: Instant,
    ) -> Result<(), AddError> {
        self.add_with(pos, fingerprint, rows.len(), now, |i, body| {
            body.extend_from_slice(rows[i].as_bytes());
            Ok(())
        })
    }

    fn add_with(
        &mut self,
        pos: Position<'_>,
        fingerprint: &str,
        count: usize,
        now: Instant,
        mut write: impl FnMut(usize, &mut Vec<u8>) -> Result<(), String>,
    ) -> Result<(), AddError> {
        if let Some(o) = &self.open {
            if o.fingerprint != fingerprint {
                return Err(AddError::SchemaChanged {
                    table: self.table.clone(),
                    batch: o.fingerprint.clone(),
                    event: fingerprint.to_string(),
                });
            }
            if o.topic != pos.topic || o.partition != pos.partition {
                return Err(AddError::OtherPartition {
                    table: self.table.clone(),
                    batch: format!("{}[{}]", o.topic, o.partition),
                    event: format!("{}[{}]", pos.topic, pos.partition),
                });
            }
            if pos.offset <= o.last {
                return Err(AddError::OffsetNotIncreasing {
                    table: self.table.clone(),
                    offset: pos.offset,
                    last: o.last,
                });
            }
            if self.rows + count > self.limits.max_rows && count > 0 {
                return Err(AddError::Full {
                    table: self.table.clone(),
                });
            }
        }
        if self.body.is_empty() {
            self.body.reserve(self.size_hint.min(self.limits.max_bytes));
        }
        let mark = self.body.len();
        for i in 0..count {
            self.body
                .push(if self.body.is_empty() { b'[' } else { b',' });
            if let Err(reason) = write(i, &mut self.body) {
                self.body.truncate(mark);
                return Err(AddError::Serialize {
                    table: self.table.clone(),
                    reason,
                });
            }
        }
        if self.open.is_some()
            && self.body.len() + 1 > self.limits.max_bytes
            && self.body.len() > mark
        {
            self.body.truncate(mark);
            return Err(AddError::Full {
                table: self.table.clone(),
            });
        }
        self.rows += count;
        match &mut self.open {
            Some(o) => o.last = pos.offset,
            None => {
                self.open = Some(Open {
                    topic: pos.topic.to_string(),
                    partition: pos.partition,
                    first: pos.offset,
                    last: pos.offset,
                    fingerprint: fingerprint.to_string(),
                    opened_at: now,
                })
            }
        }
        Ok(())
    }

    /// Whether the batch should be flushed at `now`, and why.
    pub fn flush_reason(&self, now: Instant) -> Option<FlushReason> {
        let o = self.open.as_ref()?;
        if self.rows >= self.limits.max_rows {
            Some(FlushReason::Rows)
        } else if self.body.len() + 1 >= self.limits.max_bytes {
            Some(FlushReason::Bytes)
        } else if now.saturating_duration_since(o.opened_at) >= self.limits.max_age {
            Some(FlushReason::Age)
        } else {
            None
        }
    }

    /// When the batch becomes due by age (for the caller's timer).
    pub fn due_at(&self) -> Option<Instant> {
        self.open
            .as_ref()
            .map(|o| o.opened_at + self.limits.max_age)
    }

    /// Takes the batch out, leaving this one empty; `None` when empty.
    pub fn take(&mut self) -> Option<Sealed> {
        let o = self.open.take()?;
        let mut body = std::mem::take(&mut self.body);
        if body.is_empty() {
            body.push(b'[');
        }
        body.push(b']');
        self.size_hint = body.len();
        let body = bytes::Bytes::from(body);
        let rows = std::mem::replace(&mut self.rows, 0);
        Some(Sealed {
            table: self.table.clone(),
            topic: o.topic,
            partition: o.partition,
            first_offset: o.first,
            last_offset: o.last,
            fingerprint: o.fingerprint,
            rows,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn pos(offset: i64) -> Position<'static> {
        Position {
            topic: "t",
            partition: 0,
            offset,
        }
    }

    #[test]
    fn collects_rows_and_offsets_into_a_json_array() {
        let now = Instant::now();
        let mut b = Batch::new("db.t", Limits::default());
        assert!(b.take().is_none());
        b.add(pos(5), "f1", &[json!({"a": 1})], now).unwrap();
        b.add(pos(6), "f1", &[] as &[Value], now).unwrap();
        b.add(pos(7), "f1", &[json!({"a": 2}), json!({"a": 3})], now)
            .unwrap();
        let s = b.take().unwrap();
        assert_eq!((s.first_offset, s.last_offset, s.rows), (5, 7, 3));
        let v: Value = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(v, json!([{"a": 1}, {"a": 2}, {"a": 3}]));
        assert!(s.label().starts_with("ddlsync_db_t_0_5_7_"));
        assert!(b.is_empty() && b.bytes() == 0);
        b.add(pos(8), "f1", &[] as &[Value], now).unwrap();
        assert_eq!(&b.take().unwrap().body[..], b"[]");
    }

    #[test]
    fn refuses_schema_changes_other_partitions_and_overflow() {
        let now = Instant::now();
        let limits = Limits {
            max_rows: 2,
            max_bytes: 30,
            max_age: Duration::from_secs(1),
        };
        let mut b = Batch::new("t", limits);
        b.add(pos(1), "f1", &[json!({"a": 1})], now).unwrap();
        let e = b.add(pos(2), "f2", &[json!({"a": 1})], now).unwrap_err();
        assert!(matches!(e, AddError::SchemaChanged { .. }), "{e}");
        let other = Position {
            topic: "u",
            partition: 0,
            offset: 2,
        };
        assert!(matches!(
            b.add(other, "f1", &[json!(1)], now),
            Err(AddError::OtherPartition { .. })
        ));
        assert!(matches!(
            b.add(pos(1), "f1", &[json!(1)], now),
            Err(AddError::OffsetNotIncreasing { .. })
        ));
        let big = json!({"long": "x".repeat(40)});
        assert!(matches!(
            b.add(pos(2), "f1", std::slice::from_ref(&big), now),
            Err(AddError::Full { .. })
        ));
        assert_eq!(b.rows(), 1);
        assert!(matches!(
            b.add(pos(2), "f1", &[json!(1), json!(2)], now),
            Err(AddError::Full { .. })
        ));
        assert_eq!(b.flush_reason(now), None);
        assert_eq!(
            b.flush_reason(now + Duration::from_secs(1)),
            Some(FlushReason::Age)
        );
        b.add(pos(3), "f1", &[json!(2)], now).unwrap();
        assert_eq!(b.flush_reason(now), Some(FlushReason::Rows));
        b.take();
        // An oversized single event still makes a batch alone.
        b.add(pos(4), "f1", &[big], now).unwrap();
        assert_eq!(b.flush_reason(now), Some(FlushReason::Bytes));
    }
}
