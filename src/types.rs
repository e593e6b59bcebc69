//! StarRocks column types and the one mapping table from source types to them.
//!
//! Owns [`SrType`] (a StarRocks type, rendered as StarRocks DDL spells it),
//! [`map_column`] (source type → StarRocks type, with what the mapping loses),
//! and [`classify_conversion`] (what StarRocks can do in place when a column's
//! type changes). Pure: no I/O.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{SourceColumn, SourceDialect};

/// Largest VARCHAR length in bytes accepted by StarRocks 2.1 – 4.1.
pub const MAX_VARCHAR_BYTES: u32 = 1_048_576;
/// Largest CHAR length in bytes.
pub const MAX_CHAR_BYTES: u32 = 255;
/// Largest precision of a (non-256) StarRocks DECIMAL.
pub const MAX_DECIMAL_PRECISION: u8 = 38;

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
        /// Precision, 1..=38.
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
        }
    }
}

/// What to do with a source DECIMAL whose precision exceeds StarRocks' 38.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WideDecimal {
    /// Store the exact text in a `STRING`-like VARCHAR (default; no loss).
    #[default]
    String,
    /// Store as DOUBLE (loses precision).
    Double,
    /// Clamp to DECIMAL(38, s') (may overflow).
    Decimal38,
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
}

impl Default for MappingOptions {
    fn default() -> Self {
        Self {
            tinyint1_as_boolean: true,
            wide_decimal: WideDecimal::String,
            default_bytes_per_char: 4,
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
/// FLOAT, DOUBLE or CHAR.
pub fn map_column(
    dialect: SourceDialect,
    column: &SourceColumn,
    in_primary_key: bool,
    options: &MappingOptions,
) -> Mapped {
    // Placeholder until the mapping table lands; keeps the crate compiling.
    let _ = (dialect, in_primary_key, options);
    Mapped {
        ty: SrType::Varchar {
            len: MAX_VARCHAR_BYTES,
        },
        losses: vec![Loss {
            code: "unmapped".into(),
            detail: format!("type {} is not mapped yet", column.ty),
        }],
    }
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

/// Classifies the change of a column from `from` to `to` against StarRocks'
/// conversion matrix (starrocks-facts §1.4).
pub fn classify_conversion(from: &SrType, to: &SrType) -> Conversion {
    // Placeholder until the conversion matrix lands.
    if from == to {
        Conversion::Identity
    } else {
        Conversion::Incompatible
    }
}

/// Whether a target column of type `target` can already hold every value of a
/// column of type `desired` (same or wider): then no change is needed. A
/// hand-made `STRING` or wide `VARCHAR` column holds any string-like type.
pub fn can_hold(target: &SrType, desired: &SrType) -> bool {
    // Placeholder until the conversion matrix lands.
    target == desired
}
