//! The rules a mapping row applies, and the losses they report.

use super::super::{
    Loss, Mapped, MappingOptions, SrType, WideDecimal, MAX_CHAR_BYTES, MAX_DECIMAL256_PRECISION,
    MAX_DECIMAL_PRECISION,
};
use crate::model::{SourceDialect, SourceType};

/// Loss codes and their one-sentence explanations.
pub mod loss {
    /// A loss code with its explanation.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct LossDef {
        /// Stable code.
        pub code: &'static str,
        /// One sentence for humans.
        pub detail: &'static str,
    }

    macro_rules! losses {
        ($($name:ident = $code:literal : $detail:literal;)*) => {
            $(
                #[doc = $detail]
                pub const $name: LossDef = LossDef { code: $code, detail: $detail };
            )*
            /// Every loss code, for the docs.
            pub const ALL: &[LossDef] = &[$($name),*];
        };
    }

    losses! {
        LENGTH_CAPPED = "length_capped": "the source length in bytes exceeds StarRocks' VARCHAR maximum; longer values are refused at load";
        CHARSET_BYTES = "charset_bytes": "single-byte charset sized at 1 byte per character, but non-ASCII characters take 2-3 bytes in UTF-8; such values may not fit";
        TINYINT1_BOOLEAN = "tinyint1_boolean": "TINYINT(1) read as BOOLEAN: values other than 0 and 1 are not kept";
        PRECISION = "precision": "decimal stored as DOUBLE: digits beyond 15-17 significant figures are rounded";
        OVERFLOW = "overflow": "decimal clamped to DECIMAL(38, s): values with more integer digits overflow";
        NUMERIC_AS_TEXT = "numeric_as_text": "decimal wider than StarRocks' DECIMAL stored as exact text: numeric ordering and arithmetic need a CAST";
        ENUM_DOMAIN = "enum_domain": "the allowed values are not enforced by StarRocks";
        SET_DOMAIN = "set_domain": "SET stored as comma-separated text; the allowed values are not enforced";
        NO_TIME_TYPE = "no_time_type": "StarRocks has no TIME or INTERVAL type: stored as text, so time arithmetic and ordering are lost";
        FRACTIONAL_SECONDS = "fractional_seconds": "StarRocks DATETIME documents no fractional-second precision: sub-second digits may be dropped";
        TIME_ZONE = "time_zone": "the time zone is not kept: values are stored as UTC wall-clock DATETIME";
        BINARY_AS_TEXT = "binary_as_text": "binary stored as base64 text (Stream Load JSON cannot load VARBINARY); decode with from_base64()";
        SPATIAL_AS_TEXT = "spatial_as_text": "StarRocks has no spatial type: the geometry is stored as text (Debezium's WKB, base64, with its SRID)";
        BITS_AS_TEXT = "bits_as_text": "bit string longer than 64 bits stored as text of 0s and 1s";
        KEY_AS_TEXT = "key_as_text": "StarRocks PRIMARY KEY columns cannot have this type: stored as text, so ordering and arithmetic are textual";
        UNKNOWN_TYPE = "unknown_type": "the source type is not in the mapping table: stored as text";
    }
}

use loss::LossDef;

/// How a row computes the StarRocks type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `BOOLEAN`.
    Boolean,
    /// MySQL TINYINT: `TINYINT(1)` → BOOLEAN (option), UNSIGNED → SMALLINT.
    TinyInt,
    /// An integer of `bits` (16, 24, 32, 64); UNSIGNED takes the next wider type.
    Integer(u8),
    /// MySQL `SERIAL` (BIGINT UNSIGNED) → LARGEINT.
    LargeInt,
    /// BIT(1) → BOOLEAN, BIT(n ≤ 63) → BIGINT, BIT(64) → LARGEINT, longer → VARCHAR(n).
    Bit,
    /// `FLOAT`.
    Float,
    /// `DOUBLE`.
    Double,
    /// DECIMAL(p, s); no precision → `default_precision` (MySQL: 10) or, when
    /// `None`, the variable-precision rule.
    Decimal {
        /// Precision assumed when the source gives none.
        default_precision: Option<u8>,
    },
    /// Decimal without declared precision (PostgreSQL `numeric`): per `wide_decimal`.
    VariableDecimal,
    /// PostgreSQL `money`: DECIMAL(19, 2).
    Money,
    /// VARCHAR(n): characters × bytes per character, capped; no length → maximum.
    Varchar,
    /// CHAR(n): CHAR(n × bytes) when ≤ 255, else VARCHAR; `unbounded` when the
    /// type without length has no limit (PostgreSQL `bpchar`).
    Char {
        /// No length means unbounded (else 1).
        unbounded: bool,
    },
    /// A text type with a fixed maximum in bytes (MySQL TEXT family).
    TextBytes(u64),
    /// BINARY(n) / VARBINARY(n): text of the base64 or hex encoding.
    Binary,
    /// A binary type with a fixed maximum in bytes (MySQL BLOB family), as text.
    BlobBytes(u64),
    /// VARCHAR of a fixed length, with an optional loss.
    FixedVarchar(u32, Option<LossDef>),
    /// VARCHAR of the maximum length, with an optional loss.
    MaxVarchar(Option<LossDef>),
    /// `JSON`.
    Json,
    /// ENUM → VARCHAR sized to the longest value.
    Enum,
    /// SET → VARCHAR sized to all values joined by commas.
    Set,
    /// `DATE`.
    Date,
    /// DATETIME (fractional-second loss when the source keeps sub-seconds).
    Datetime,
    /// DATETIME from a zoned timestamp (time-zone loss).
    ZonedDatetime,
    /// Time of day or duration as text (`VARCHAR(n)`).
    TimeText(u32),
    /// Spatial types as text.
    Spatial,
    /// `ARRAY<element>` where the element comes from a PostgreSQL array name.
    Array,
    /// `ARRAY<FLOAT>` (vectors of float32).
    FloatArray,
    /// `ARRAY<DOUBLE>` (vectors of float64).
    DoubleArray,
    /// Kafka Connect `array` of an unknown element: `ARRAY<VARCHAR(max)>`.
    UnknownArray,
}

/// Everything a rule needs to know about the column.
pub(crate) struct Ctx<'a> {
    pub dialect: SourceDialect,
    pub ty: &'a SourceType,
    pub base: &'a str,
    pub unsigned: bool,
    pub length: Option<u64>,
    pub scale: Option<u32>,
    pub options: &'a MappingOptions,
    pub depth: u8,
}

impl Ctx<'_> {
    /// Fractional-second precision as declared, or the dialect's default.
    fn fsp(&self) -> Option<u64> {
        if let Some(p) = self.scale.map(u64::from).or(self.length) {
            return Some(p);
        }
        if !self.base.is_empty() {
            // Declared without precision: MySQL defaults to 0, PostgreSQL to 6.
            return Some(match self.dialect {
                SourceDialect::Mysql => 0,
                SourceDialect::Postgres => 6,
            });
        }
        match self.ty.semantic.as_deref() {
            Some(s) if s.ends_with("MicroTimestamp") || s.ends_with("NanoTimestamp") => Some(6),
            _ => None,
        }
    }
}

/// Bytes per character of a charset in UTF-8 terms (`utf8mb4` 4, `utf8`/`utf8mb3` 3,
/// `latin1`/`ascii` 1, ...); `None` when unknown. Collation names are accepted.
pub fn bytes_per_char(charset: &str) -> Option<u32> {
    let cs = charset.trim().to_ascii_lowercase();
    let cs = cs.split('_').next().unwrap_or("");
    Some(match cs {
        "utf8mb4" | "utf16" | "utf16le" | "utf32" | "gb18030" => 4,
        "utf8" | "utf8mb3" | "ujis" | "eucjpms" => 3,
        "ucs2" | "gbk" | "gb2312" | "big5" | "sjis" | "cp932" | "euckr" => 2,
        "latin1" | "latin2" | "latin5" | "latin7" | "ascii" | "binary" | "cp1250" | "cp1251"
        | "cp1256" | "cp1257" | "cp850" | "cp852" | "cp866" | "koi8r" | "koi8u" | "greek"
        | "hebrew" | "armscii8" | "swe7" | "tis620" | "dec8" | "hp8" | "keybcs2" | "macce"
        | "macroman" | "geostd8" => 1,
        _ => return None,
    })
}

/// The VARCHAR cap in effect.
pub(crate) fn cap(options: &MappingOptions) -> u32 {
    options.max_varchar_bytes.max(1)
}

fn push(losses: &mut Vec<Loss>, l: LossDef) {
    if !losses.iter().any(|x| x.code == l.code) {
        losses.push(Loss {
            code: l.code.to_string(),
            detail: l.detail.to_string(),
        });
    }
}

fn one(ty: SrType, l: LossDef) -> Mapped {
    let mut losses = Vec::new();
    push(&mut losses, l);
    Mapped { ty, losses }
}

fn exact(ty: SrType) -> Mapped {
    Mapped {
        ty,
        losses: Vec::new(),
    }
}

/// Bytes per character for the column (charset, else the option).
fn factor(ctx: &Ctx<'_>, losses: &mut Vec<Loss>) -> u64 {
    let f = ctx
        .ty
        .charset
        .as_deref()
        .and_then(bytes_per_char)
        .unwrap_or(ctx.options.default_bytes_per_char)
        .max(1);
    if f == 1
        && ctx
            .ty
            .charset
            .as_deref()
            .is_some_and(|c| !c.to_ascii_lowercase().starts_with("ascii") && c != "binary")
    {
        push(losses, loss::CHARSET_BYTES);
    }
    u64::from(f)
}

/// VARCHAR of `bytes`, at least 1, capped (with a loss when capped).
fn varchar_bytes(bytes: u64, options: &MappingOptions, losses: &mut Vec<Loss>) -> SrType {
    let cap = cap(options);
    if bytes > u64::from(cap) {
        push(losses, loss::LENGTH_CAPPED);
        SrType::varchar(cap)
    } else {
        SrType::varchar(u32::try_from(bytes.max(1)).unwrap_or(cap))
    }
}

fn with_losses(ty: SrType, losses: Vec<Loss>) -> Mapped {
    Mapped { ty, losses }
}

/// Text length needed for the base64 or hex encoding of `n` bytes, whichever is longer.
fn encoded_len(n: u64) -> u64 {
    (n.saturating_mul(2)).max(n.div_ceil(3).saturating_mul(4))
}

fn wide_decimal(ctx: &Ctx<'_>, precision: Option<u64>, scale: u32) -> Mapped {
    let cap = cap(ctx.options);
    let as_text = |p: Option<u64>| {
        let ty = match p {
            Some(p) => SrType::varchar(u32::try_from(p + 2).unwrap_or(cap).min(cap)),
            None => SrType::varchar(cap),
        };
        one(ty, loss::NUMERIC_AS_TEXT)
    };
    match ctx.options.wide_decimal {
        WideDecimal::String => as_text(precision),
        WideDecimal::Double => one(SrType::Double, loss::PRECISION),
        WideDecimal::Decimal38 => {
            let s = u8::try_from(scale)
                .unwrap_or(MAX_DECIMAL_PRECISION)
                .min(MAX_DECIMAL_PRECISION);
            let s = if precision.is_none() { 9 } else { s };
            one(
                SrType::Decimal {
                    precision: MAX_DECIMAL_PRECISION,
                    scale: s,
                },
                loss::OVERFLOW,
            )
        }
        WideDecimal::Decimal256 => match precision {
            Some(p) if p <= u64::from(MAX_DECIMAL256_PRECISION) => {
                let p = u8::try_from(p).unwrap_or(MAX_DECIMAL256_PRECISION);
                let s = u8::try_from(scale).unwrap_or(p).min(p);
                exact(SrType::Decimal {
                    precision: p,
                    scale: s,
                })
            }
            _ => as_text(precision),
        },
    }
}

/// Applies a rule.
pub(crate) fn apply(rule: Rule, ctx: &Ctx<'_>) -> Mapped {
    let opts = ctx.options;
    let mut losses = Vec::new();
    match rule {
        Rule::Boolean => exact(SrType::Boolean),
        Rule::TinyInt => {
            if ctx.unsigned {
                exact(SrType::SmallInt)
            } else if ctx.length == Some(1) && opts.tinyint1_as_boolean {
                one(SrType::Boolean, loss::TINYINT1_BOOLEAN)
            } else {
                exact(SrType::TinyInt)
            }
        }
        Rule::Integer(bits) => exact(match (bits, ctx.unsigned) {
            (16, false) => SrType::SmallInt,
            (16, true) | (24, _) | (32, false) => SrType::Int,
            (32, true) | (64, false) => SrType::BigInt,
            _ => SrType::LargeInt,
        }),
        Rule::LargeInt => exact(SrType::LargeInt),
        Rule::Bit => match ctx.length.unwrap_or(1) {
            0 | 1 => exact(SrType::Boolean),
            n if n <= 63 => exact(SrType::BigInt),
            64 => exact(SrType::LargeInt),
            n => with_losses(varchar_bytes(n, opts, &mut losses), {
                push(&mut losses, loss::BITS_AS_TEXT);
                losses
            }),
        },
        Rule::Float => exact(SrType::Float),
        Rule::Double => exact(SrType::Double),
        Rule::Decimal { default_precision } => {
            let precision = ctx.length.or(default_precision.map(u64::from));
            let scale = ctx.scale.unwrap_or(0);
            match precision {
                None => wide_decimal(ctx, None, scale),
                Some(p) if p > u64::from(MAX_DECIMAL_PRECISION) => {
                    wide_decimal(ctx, Some(p), scale)
                }
                Some(p) => {
                    let p = u8::try_from(p.max(1)).unwrap_or(MAX_DECIMAL_PRECISION);
                    let s = u8::try_from(scale).unwrap_or(p).min(p);
                    exact(SrType::Decimal {
                        precision: p,
                        scale: s,
                    })
                }
            }
        }
        Rule::VariableDecimal => wide_decimal(ctx, None, ctx.scale.unwrap_or(0)),
        Rule::Money => exact(SrType::Decimal {
            precision: 19,
            scale: 2,
        }),
        Rule::Varchar => {
            let f = factor(ctx, &mut losses);
            let ty = match ctx.length {
                Some(n) => varchar_bytes(n.saturating_mul(f), opts, &mut losses),
                None => SrType::varchar(cap(opts)),
            };
            with_losses(ty, losses)
        }
        Rule::Char { unbounded } => {
            let f = factor(ctx, &mut losses);
            let ty = match ctx.length {
                None if unbounded => SrType::varchar(cap(opts)),
                n => {
                    let bytes = n.unwrap_or(1).max(1).saturating_mul(f);
                    if bytes <= u64::from(MAX_CHAR_BYTES) {
                        SrType::Char {
                            len: u32::try_from(bytes).unwrap_or(MAX_CHAR_BYTES),
                        }
                    } else {
                        varchar_bytes(bytes, opts, &mut losses)
                    }
                }
            };
            with_losses(ty, losses)
        }
        Rule::TextBytes(max) => with_losses(varchar_bytes(max, opts, &mut losses), losses),
        Rule::Binary => {
            push(&mut losses, loss::BINARY_AS_TEXT);
            let ty = varchar_bytes(
                encoded_len(ctx.length.unwrap_or(1).max(1)),
                opts,
                &mut losses,
            );
            with_losses(ty, losses)
        }
        Rule::BlobBytes(max) => {
            push(&mut losses, loss::BINARY_AS_TEXT);
            let ty = varchar_bytes(encoded_len(max), opts, &mut losses);
            with_losses(ty, losses)
        }
        Rule::FixedVarchar(n, l) => {
            if let Some(l) = l {
                push(&mut losses, l);
            }
            with_losses(varchar_bytes(u64::from(n), opts, &mut losses), losses)
        }
        Rule::MaxVarchar(l) => {
            if let Some(l) = l {
                push(&mut losses, l);
            }
            with_losses(SrType::varchar(cap(opts)), losses)
        }
        Rule::Json => exact(SrType::Json),
        Rule::Enum | Rule::Set => {
            let f = factor(ctx, &mut losses);
            let values = &ctx.ty.enum_values;
            let chars: u64 = if values.is_empty() {
                255
            } else if rule == Rule::Enum {
                values
                    .iter()
                    .map(|v| v.chars().count() as u64)
                    .max()
                    .unwrap_or(1)
            } else {
                values.iter().map(|v| v.chars().count() as u64).sum::<u64>()
                    + (values.len() as u64).saturating_sub(1)
            };
            push(
                &mut losses,
                if rule == Rule::Enum {
                    loss::ENUM_DOMAIN
                } else {
                    loss::SET_DOMAIN
                },
            );
            let ty = varchar_bytes(chars.max(1).saturating_mul(f), opts, &mut losses);
            with_losses(ty, losses)
        }
        Rule::Date => exact(SrType::Date),
        Rule::Datetime => {
            if ctx.fsp().is_none_or(|p| p > 0) {
                push(&mut losses, loss::FRACTIONAL_SECONDS);
            }
            with_losses(SrType::Datetime, losses)
        }
        Rule::ZonedDatetime => {
            push(&mut losses, loss::TIME_ZONE);
            if ctx.fsp().is_none_or(|p| p > 0) {
                push(&mut losses, loss::FRACTIONAL_SECONDS);
            }
            with_losses(SrType::Datetime, losses)
        }
        Rule::TimeText(n) => one(SrType::varchar(n), loss::NO_TIME_TYPE),
        Rule::Spatial => one(SrType::varchar(cap(opts)), loss::SPATIAL_AS_TEXT),
        Rule::Array => {
            let element = super::array_element(ctx.base).unwrap_or("");
            if ctx.depth >= 4 || element.is_empty() {
                return unknown(ctx);
            }
            let elem_ty = SourceType::named(element);
            let inner = super::map_type_depth(ctx.dialect, &elem_ty, false, opts, ctx.depth + 1);
            Mapped {
                ty: SrType::Array {
                    element: Box::new(inner.ty),
                },
                losses: inner.losses,
            }
        }
        Rule::FloatArray => exact(SrType::Array {
            element: Box::new(SrType::Float),
        }),
        Rule::DoubleArray => exact(SrType::Array {
            element: Box::new(SrType::Double),
        }),
        Rule::UnknownArray => one(
            SrType::Array {
                element: Box::new(SrType::varchar(cap(opts))),
            },
            loss::UNKNOWN_TYPE,
        ),
    }
}

/// A type no row matches: `VARCHAR(max)` with an `unknown_type` loss.
pub(crate) fn unknown(ctx: &Ctx<'_>) -> Mapped {
    one(SrType::varchar(cap(ctx.options)), loss::UNKNOWN_TYPE)
}
