//! The data path: Debezium data-change values into StarRocks through Stream Load.
//!
//! * [`convert`]: Debezium values (JSON converter, with an inline Connect
//!   schema or a column description) into StarRocks Stream Load JSON rows for
//!   the PRIMARY KEY mirror and the raw change-log table (pure).
//! * [`avro`]: Confluent-framed Avro records (Schema Registry) into the
//!   Connect JSON shape [`convert`] reads.
//! * [`batch`]: per-target-table batches bounded by rows, bytes and age, never
//!   spanning a schema change (pure; the caller passes the time).
//! * [`label`]: deterministic Stream Load labels (pure).
//! * [`retry`]: the one place that classifies a Stream Load outcome and the
//!   backoff between attempts (pure).
//! * [`stream_load`]: the HTTP client (FE redirect to BE, gzip, response parsing).
//! * [`run`]: the runtime: consumer group, gate, batches, Stream Load,
//!   quarantine and offset commits only past durable rows.

pub mod avro;
pub mod batch;
pub mod convert;
pub mod label;
pub mod retry;
pub mod run;
pub mod stream_load;
