//! Debezium data-change values into StarRocks Stream Load rows (pure, no I/O).
//!
//! Input: a Kafka record of a Debezium data topic written by Kafka Connect's
//! JsonConverter, either with an inline schema (`{"schema": ..., "payload":
//! ...}`) or without one (the envelope itself, with a [`RowSchema`] the caller
//! builds from a column → [`Semantic`] description).
//!
//! Output ([`Decoded`]): per event, the rows for the two targets:
//! * **mirror** rows ([`MirrorRow`]) for the PRIMARY KEY table: an upsert
//!   `{col: value, ..., "__op": 0}` from `after`, a delete `{key cols...,
//!   "__op": 1}` from the key of `before`; an update whose key changed gives a
//!   delete and an upsert. Unchanged TOASTed columns are left out and listed
//!   in [`MirrorRow::unavailable`] so the caller can load with partial update;
//! * one **raw change-log** row ([`RawRow`]): op, before, after, source
//!   position, event time, topic, partition, offset.
//!
//! Tombstones (null values) give [`Decoded::Tombstone`]; truncates (`op: t`)
//! give an event without mirror rows: the caller applies its policy.
//!
//! Value renderings (StarRocks-side types in brackets):
//! * `Date` → `YYYY-MM-DD` \[DATE\]; `Time`/`MicroTime`/`NanoTime` →
//!   `[-]HH:MM:SS[.ffffff]` \[VARCHAR; MySQL TIME can be negative or > 24 h\];
//!   `Timestamp`/`MicroTimestamp`/`NanoTimestamp` → `YYYY-MM-DD
//!   HH:MM:SS[.ffffff]`, the wall clock as the source had it \[DATETIME\];
//!   `ZonedTimestamp` → the same text in the configured [`TimeZone`].
//!   Nanoseconds are truncated to microseconds (DATETIME's precision).
//! * `Decimal` bytes → exact decimal text with the schema's scale (trailing
//!   zeros kept); a JSON number (double handling mode) or a string schema
//!   (string handling mode) is kept. `VariableScaleDecimal` → decimal text.
//! * `Json` → the parsed JSON value \[JSON\]. `Enum`, `EnumSet`, `Uuid`, plain
//!   text → text. `Year`, `MicroDuration`, integers, floats, booleans → kept.
//! * `Bits` → an unsigned integer up to 64 bits, else a `0`/`1` string.
//! * geometry `{wkb, srid}` → lowercase hex of the WKB (SRID dropped).
//! * bytes → lowercase **hex** by default ([`BytesMode::Hex`]): StarRocks
//!   Stream Load takes VARBINARY only from CSV, so binary lands in VARCHAR
//!   where hex is unambiguous and `unhex()` restores it; base64 on request.
//! * PostgreSQL arrays → JSON arrays of converted items \[ARRAY\].
//! * `__debezium_unavailable_value` (and its base64 form in bytes columns, or
//!   as the one element of an array) → [`Cell::Unavailable`], never a value.

mod bytes;
mod envelope;
mod raw;
mod row;
mod schema;
mod temporal;
mod value;

pub use envelope::{
    Decoded, Decoder, Event, MirrorOp, MirrorRow, Op, Parsed, RawRow, Record, Source, TableOptions,
    OP_COLUMN, RAW_COLUMNS,
};
pub use row::JsonText;
pub use schema::{Column, RowSchema, Semantic, TimeUnit};
pub use temporal::TimeZone;
pub use value::{convert_value, Cell};

/// The placeholder Debezium's PostgreSQL connector sends for an unchanged
/// TOASTed value (`unavailable.value.placeholder`).
pub const UNAVAILABLE_PLACEHOLDER: &str = "__debezium_unavailable_value";

/// How Connect `bytes` values are written to StarRocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BytesMode {
    /// Lowercase hex (default).
    #[default]
    Hex,
    /// Kept as the base64 text Debezium sent.
    Base64,
}

/// Conversion settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Zone that `ZonedTimestamp` values are rendered in.
    pub time_zone: TimeZone,
    /// Rendering of bytes columns.
    pub bytes: BytesMode,
    /// The connector's `unavailable.value.placeholder`.
    unavailable: String,
    /// Its base64 form (how a bytes column carries it).
    unavailable_b64: String,
}

impl Default for Config {
    fn default() -> Self {
        Config::new(TimeZone::UTC, BytesMode::Hex, UNAVAILABLE_PLACEHOLDER)
    }
}

impl Config {
    /// Settings with a custom unavailable-value placeholder.
    pub fn new(time_zone: TimeZone, bytes: BytesMode, unavailable_placeholder: &str) -> Config {
        Config {
            time_zone,
            bytes,
            unavailable: unavailable_placeholder.to_string(),
            unavailable_b64: bytes::encode_base64(unavailable_placeholder.as_bytes()),
        }
    }

    /// The unavailable-value placeholder in use.
    pub fn unavailable_placeholder(&self) -> &str {
        &self.unavailable
    }

    fn is_unavailable(&self, s: &str) -> bool {
        s == self.unavailable || s == self.unavailable_b64
    }
}

/// Conversion errors: each names the field (or topic/offset) and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The record is not JSON or not a Debezium envelope.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which part (value, key, payload, ...).
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The inline Connect schema cannot be read.
    #[error("schema: {reason}")]
    Schema {
        /// Why.
        reason: String,
    },
    /// A value of the wrong JSON type for its schema.
    #[error("field {field}: expected {expected}, found {found}")]
    TypeMismatch {
        /// Column (or `column.sub` path).
        field: String,
        /// What the schema wants.
        expected: &'static str,
        /// What came.
        found: &'static str,
    },
    /// A value that StarRocks' type cannot hold.
    #[error("field {field}: value out of range for {target}")]
    OutOfRange {
        /// Column.
        field: String,
        /// Target type.
        target: &'static str,
    },
    /// A value that cannot be decoded (bad base64, bad JSON text, ...).
    #[error("field {field}: {reason}")]
    InvalidValue {
        /// Column.
        field: String,
        /// Why.
        reason: String,
    },
    /// A time zone other than UTC or a fixed offset.
    #[error("time zone {zone}: {reason}")]
    TimeZone {
        /// As given.
        zone: String,
        /// Why.
        reason: String,
    },
    /// Schemaless JSON without a column description.
    #[error("topic {topic}: no inline schema and no column description")]
    NoSchema {
        /// Topic.
        topic: String,
    },
    /// An envelope without the row its op needs, or an unknown op.
    #[error("op {op:?}: {reason}")]
    Envelope {
        /// The op field as sent.
        op: String,
        /// Why.
        reason: String,
    },
    /// Any of the above, located.
    #[error("{topic}[{partition}]@{offset}: {source}")]
    At {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
        /// The error.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Error {
        Error::InvalidValue {
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn out_of_range(field: &str, target: &'static str) -> Error {
        Error::OutOfRange {
            field: field.to_string(),
            target,
        }
    }

    pub(crate) fn schema(reason: impl Into<String>) -> Error {
        Error::Schema {
            reason: reason.into(),
        }
    }

    /// The error without its location.
    pub fn root(&self) -> &Error {
        match self {
            Error::At { source, .. } => source.root(),
            e => e,
        }
    }
}

/// Result of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
