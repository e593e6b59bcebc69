//! StarRocks column types and the one mapping table from source types to them.
//!
//! Owns [`SrType`] (a StarRocks type, rendered as StarRocks DDL spells it),
//! [`map_column`] (source type → StarRocks type, with what the mapping loses),
//! [`classify_conversion`] and [`can_hold`] (what StarRocks can do in place
//! when a column's type changes, and when no change is needed at all).
//! Pure: no I/O.
//!
//! * [`mapping`]: the single mapping table ([`mapping::MAPPING_TABLE`]) and the
//!   rules it applies; `map_column` and the generated `docs/type-mapping.md`
//!   both read it, so code and documentation cannot drift.
//! * [`docs`]: renders `docs/type-mapping.md` from that table.
//! * `convert` (private): the type-conversion matrix of starrocks-facts §1.4.

pub mod docs;
pub mod mapping;

mod convert;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{SourceColumn, SourceDialect};

/// Largest VARCHAR length in bytes accepted by StarRocks 2.1 – 4.1.
pub const MAX_VARCHAR_BYTES: u32 = 1_048_576;
/// Largest CHAR length in bytes.
pub const MAX_CHAR_BYTES: u32 = 255;
/// Largest precision of a (non-256) StarRocks DECIMAL.
pub const MAX_DECIMAL_PRECISION: u8 = 38;
/// Largest precision of a DECIMAL256 (StarRocks ≥ 4.0).
pub const MAX_DECIMAL256_PRECISION: u8 = 76;
/// Documented maximum length of `STRING` in bytes; StarRocks renders a
/// `STRING` column as `varchar(65533)` in `SHOW CREATE TABLE`.
pub const STRING_BYTES: u32 = 65_533;

/// A StarRocks column type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SrType {
    /// `BOOLEAN`
    Boolean,
    /// `TINYINT` (8-bit)
    TinyInt,
    /// `SMALLINT` (16-bit)
    SmallInt,
    /// `INT` (32-bit)
    Int,
    /// `BIGINT` (64-bit)
    BigInt,
    /// `LARGEINT` (128-bit)
    LargeInt,
    /// `FLOAT`
    Float,
    /// `DOUBLE`
    Double,
    /// `DECIMAL(p, s)`
    Decimal {
        /// Precision, 1..=38 (1..=76 for DECIMAL256 on StarRocks ≥ 4.0).
        precision: u8,
        /// Scale, 0..=precision.
        scale: u8,
    },
    /// `CHAR(n)`, n in bytes, 1..=255.
    Char {
        /// Length in bytes.
        len: u32,
    },
    /// `VARCHAR(n)`, n in bytes, 1..=1048576.
    Varchar {
        /// Length in bytes.
        len: u32,
    },
    /// `STRING` (documented as up to 65533 bytes).
    String,
    /// `VARBINARY(n)` / `BINARY`.
    Varbinary {
        /// Length in bytes, `None` for the default (1048576).
        len: Option<u32>,
    },
    /// `DATE`
    Date,
    /// `DATETIME`
    Datetime,
    /// `JSON`
    Json,
    /// `ARRAY<t>`
    Array {
        /// Element type.
        element: Box<SrType>,
    },
    /// Any other StarRocks type (`MAP<...>`, `STRUCT<...>`, `BITMAP`, `HLL`,
    /// `PERCENTILE`, ...), kept verbatim as the catalog showed it. Never
    /// produced by [`map_column`]; only equal to itself.
    Other {
        /// The type as StarRocks spelled it.
        text: String,
    },
}

impl fmt::Display for SrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SrType::Boolean => f.write_str("BOOLEAN"),
            SrType::TinyInt => f.write_str("TINYINT"),
            SrType::SmallInt => f.write_str("SMALLINT"),
            SrType::Int => f.write_str("INT"),
            SrType::BigInt => f.write_str("BIGINT"),
            SrType::LargeInt => f.write_str("LARGEINT"),
            SrType::Float => f.write_str("FLOAT"),
            SrType::Double => f.write_str("DOUBLE"),
            SrType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SrType::Char { len } => write!(f, "CHAR({len})"),
            SrType::Varchar { len } => write!(f, "VARCHAR({len})"),
            SrType::String => f.write_str("STRING"),
            SrType::Varbinary { len: Some(n) } => write!(f, "VARBINARY({n})"),
            SrType::Varbinary { len: None } => f.write_str("VARBINARY"),
            SrType::Date => f.write_str("DATE"),
            SrType::Datetime => f.write_str("DATETIME"),
            SrType::Json => f.write_str("JSON"),
            SrType::Array { element } => write!(f, "ARRAY<{element}>"),
            SrType::Other { text } => f.write_str(text),
        }
    }
}

impl SrType {
    /// `VARCHAR(len)`.
    pub fn varchar(len: u32) -> Self {
        SrType::Varchar { len }
    }

    /// Whether the type is one of StarRocks' string types (CHAR, VARCHAR, STRING).
    pub fn is_string(&self) -> bool {
        matches!(
            self,
            SrType::Char { .. } | SrType::Varchar { .. } | SrType::String
        )
    }

    /// Whether StarRocks accepts the type for a PRIMARY KEY column
    /// (starrocks-facts §1.1: integers, BOOLEAN, strings other than CHAR, DATE, DATETIME).
    pub fn allowed_in_primary_key(&self) -> bool {
        matches!(
            self,
            SrType::Boolean
                | SrType::TinyInt
                | SrType::SmallInt
                | SrType::Int
                | SrType::BigInt
                | SrType::LargeInt
                | SrType::Varchar { .. }
                | SrType::String
                | SrType::Date
                | SrType::Datetime
        )
    }
}

/// What to do with a source DECIMAL whose precision exceeds StarRocks' 38
/// (and with PostgreSQL `numeric` declared without precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WideDecimal {
    /// Store the exact text in a VARCHAR (default; no loss of digits).
    #[default]
    String,
    /// Store as DOUBLE (loses precision).
    Double,
    /// Clamp to DECIMAL(38, s') (may overflow).
    Decimal38,
    /// Exact DECIMAL(p, s) up to p = 76 (DECIMAL256, StarRocks ≥ 4.0); wider
    /// or unconstrained values fall back to [`WideDecimal::String`].
    Decimal256,
}

/// Options of the mapping that a config or policy may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingOptions {
    /// MySQL `TINYINT(1)` becomes BOOLEAN (Debezium's and Flink CDC's default reading).
    pub tinyint1_as_boolean: bool,
    /// DECIMAL with precision > 38.
    pub wide_decimal: WideDecimal,
    /// Bytes per character when a string column's charset is unknown.
    pub default_bytes_per_char: u32,
    /// Largest VARCHAR length the target accepts (see
    /// `capabilities::StarRocksVersion::max_varchar_bytes`); lengths are capped here.
    #[serde(default = "default_max_varchar_bytes")]
    pub max_varchar_bytes: u32,
}

fn default_max_varchar_bytes() -> u32 {
    MAX_VARCHAR_BYTES
}

impl Default for MappingOptions {
    fn default() -> Self {
        Self {
            tinyint1_as_boolean: true,
            wide_decimal: WideDecimal::String,
            default_bytes_per_char: 4,
            max_varchar_bytes: MAX_VARCHAR_BYTES,
        }
    }
}

/// Something a mapping cannot carry over exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loss {
    /// Short stable code, e.g. `fractional_seconds`, `time_zone`, `precision`, `enum_domain`.
    pub code: String,
    /// One sentence for humans.
    pub detail: String,
}

/// The StarRocks type chosen for a source column, and what the choice loses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapped {
    /// The StarRocks type.
    pub ty: SrType,
    /// What the mapping loses (empty when exact).
    pub losses: Vec<Loss>,
}

/// Maps a source column to its StarRocks type.
///
/// `in_primary_key` matters: StarRocks PRIMARY KEY columns cannot be DECIMAL,
/// FLOAT, DOUBLE, CHAR, JSON, ARRAY or VARBINARY; such columns become VARCHAR.
/// Never panics; an unknown type becomes `VARCHAR(max)` with an `unknown_type` loss.
pub fn map_column(
    dialect: SourceDialect,
    column: &SourceColumn,
    in_primary_key: bool,
    options: &MappingOptions,
) -> Mapped {
    mapping::map_type(dialect, &column.ty, in_primary_key, options)
}

/// How a change of a column's StarRocks type relates to what StarRocks can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conversion {
    /// Same type: nothing to do.
    Identity,
    /// Lossless, and StarRocks converts it in place (`MODIFY COLUMN`).
    Widening,
    /// Values may be lost or refused. `in_place` says whether StarRocks has an
    /// in-place `MODIFY COLUMN` for it (e.g. VARCHAR → INT) or needs a rebuild
    /// (e.g. BIGINT → INT, shorter VARCHAR).
    Narrowing {
        /// StarRocks can run it as `MODIFY COLUMN`.
        in_place: bool,
    },
    /// StarRocks has no in-place conversion: a shadow-table rebuild is needed.
    Incompatible,
}

impl Conversion {
    /// Whether StarRocks can run the change as `MODIFY COLUMN` (or needs none).
    pub fn in_place(self) -> bool {
        match self {
            Conversion::Identity | Conversion::Widening => true,
            Conversion::Narrowing { in_place } => in_place,
            Conversion::Incompatible => false,
        }
    }
}

/// Classifies the change of a column from `from` to `to` against StarRocks'
/// conversion matrix (starrocks-facts §1.4).
///
/// * `Widening`: every value survives and StarRocks converts in place.
/// * `Narrowing { in_place }`: the target is "smaller" in the same family, or a
///   parse from text (VARCHAR → INT/DATE/JSON) or a lossy conversion StarRocks
///   allows (BIGINT → DOUBLE, DATETIME → DATE, INT → DATE): values may be lost
///   or refused.
/// * `Incompatible`: StarRocks has no conversion between the two (e.g.
///   DATETIME → VARCHAR, BOOLEAN → anything, INT → DECIMAL): rebuild.
pub fn classify_conversion(from: &SrType, to: &SrType) -> Conversion {
    convert::classify(from, to)
}

/// Whether a target column of type `target` can already hold every value of a
/// column of type `desired` (same or wider): then no change is needed. A
/// hand-made `STRING` (or `VARCHAR(65533)`, which is how StarRocks shows
/// `STRING`) holds any string-like type, including JSON text.
pub fn can_hold(target: &SrType, desired: &SrType) -> bool {
    convert::can_hold(target, desired)
}
