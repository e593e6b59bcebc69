//! The one mapping table: MySQL-family and PostgreSQL types (native name,
//! else Debezium semantic type, else Kafka Connect type) → StarRocks types.
//!
//! [`MAPPING_TABLE`] is the single source of truth: [`map_type`] looks rows
//! up in it and applies their [`Rule`], and `types::docs` renders
//! `docs/type-mapping.md` from the same rows (with examples computed by
//! [`map_type`] itself). The per-rule arithmetic lives in `mapping/rules.rs`.

mod rules;
mod table;

pub use rules::{bytes_per_char, loss, Rule};
pub use table::MAPPING_TABLE;

use super::{Loss, Mapped, MappingOptions, SrType};
use crate::model::{SourceDialect, SourceType};

/// Which source family a row applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// MySQL, MariaDB.
    Mysql,
    /// PostgreSQL.
    Postgres,
    /// Both families.
    Both,
}

impl Applies {
    fn matches(self, dialect: SourceDialect) -> bool {
        matches!(
            (self, dialect),
            (Applies::Both, _)
                | (Applies::Mysql, SourceDialect::Mysql)
                | (Applies::Postgres, SourceDialect::Postgres)
        )
    }
}

/// What a row matches on, in lookup order: native names first, then Debezium
/// semantic types, then Kafka Connect types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Native type names (upper case, without length or modifiers).
    Native(&'static [&'static str]),
    /// PostgreSQL array types: `_elem` or `elem[]` (element mapped recursively).
    NativeArray,
    /// Debezium semantic type names (`io.debezium.time.Date`, ...).
    Semantic(&'static [&'static str]),
    /// Kafka Connect schema types (`int32`, `string`, ...), lower case.
    Connect(&'static [&'static str]),
}

/// The example a row documents; `docs` maps it with [`map_type`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// Native name (empty when only the semantic or Connect type is known).
    pub name: &'static str,
    /// Length / precision.
    pub length: Option<u64>,
    /// Scale / fractional-second precision.
    pub scale: Option<u32>,
    /// MySQL UNSIGNED.
    pub unsigned: bool,
    /// Character set.
    pub charset: Option<&'static str>,
    /// ENUM / SET values.
    pub values: &'static [&'static str],
    /// Debezium semantic type.
    pub semantic: Option<&'static str>,
    /// Kafka Connect type.
    pub connect: Option<&'static str>,
}

impl Example {
    /// An example with only a native name.
    pub const fn named(name: &'static str) -> Self {
        Self {
            name,
            length: None,
            scale: None,
            unsigned: false,
            charset: None,
            values: &[],
            semantic: None,
            connect: None,
        }
    }

    /// The example as a [`SourceType`].
    pub fn source_type(&self) -> SourceType {
        SourceType {
            name: self.name.to_string(),
            length: self.length,
            scale: self.scale,
            unsigned: self.unsigned,
            charset: self.charset.map(str::to_string),
            enum_values: self.values.iter().map(|v| v.to_string()).collect(),
            semantic: self.semantic.map(str::to_string),
            connect_type: self.connect.map(str::to_string),
        }
    }
}

/// One row of the mapping table.
#[derive(Debug, Clone, Copy)]
pub struct MappingRow {
    /// Source family.
    pub applies: Applies,
    /// What the row matches.
    pub key: Key,
    /// Source type as documented (`VARCHAR(n)`).
    pub source: &'static str,
    /// How the StarRocks type is computed.
    pub rule: Rule,
    /// The StarRocks type as documented.
    pub target: &'static str,
    /// Why, and what is lost (documentation only; the losses themselves come from the rule).
    pub note: &'static str,
    /// A worked example (mapped by the real code in the docs).
    pub example: Example,
}

/// A source type name split into its parts: `INT UNSIGNED` → (`INT`, unsigned),
/// `VARCHAR(255)` → (`VARCHAR`, length 255), `TIMESTAMP WITH TIME ZONE` → `TIMESTAMPTZ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Normalized {
    pub base: String,
    pub unsigned: bool,
    pub length: Option<u64>,
    pub scale: Option<u32>,
}

pub(crate) fn normalize(name: &str) -> Normalized {
    let upper = name.trim().to_ascii_uppercase();
    let (head, args) = match upper.find('(') {
        Some(i) => {
            let close = upper[i..].find(')').map(|j| i + j).unwrap_or(upper.len());
            let rest = format!("{} {}", &upper[..i], upper.get(close + 1..).unwrap_or(""));
            (rest, Some(upper[i + 1..close].to_string()))
        }
        None => (upper.clone(), None),
    };
    let mut words: Vec<&str> = head.split_whitespace().collect();
    let unsigned = words.contains(&"UNSIGNED");
    words.retain(|w| !matches!(*w, "UNSIGNED" | "SIGNED" | "ZEROFILL"));
    let joined = words.join(" ");
    let base = match joined.as_str() {
        "TIMESTAMP WITH TIME ZONE" => "TIMESTAMPTZ".to_string(),
        "TIMESTAMP WITHOUT TIME ZONE" => "TIMESTAMP".to_string(),
        "TIME WITH TIME ZONE" => "TIMETZ".to_string(),
        "TIME WITHOUT TIME ZONE" => "TIME".to_string(),
        "CHARACTER VARYING" | "CHAR VARYING" | "NATIONAL VARCHAR" | "NVARCHAR" => {
            "VARCHAR".to_string()
        }
        "CHARACTER" | "NATIONAL CHAR" | "NCHAR" => "CHAR".to_string(),
        "DOUBLE PRECISION" => "DOUBLE".to_string(),
        "BIT VARYING" => "VARBIT".to_string(),
        _ => joined,
    };
    let (mut length, mut scale) = (None, None);
    if let Some(args) = args {
        let mut parts = args.split(',').map(|p| p.trim().parse::<u64>().ok());
        length = parts.next().flatten();
        scale = parts.next().flatten().and_then(|s| u32::try_from(s).ok());
    }
    Normalized {
        base,
        unsigned,
        length,
        scale,
    }
}

/// The element name of a PostgreSQL array type name, if it is one.
pub(crate) fn array_element(base: &str) -> Option<&str> {
    if let Some(e) = base.strip_suffix("[]") {
        return Some(e.trim_end_matches("[]").trim());
    }
    base.strip_prefix('_').filter(|e| !e.is_empty())
}

/// Finds the row for a type: native name, else semantic type, else Connect type.
pub fn find_row(dialect: SourceDialect, ty: &SourceType) -> Option<&'static MappingRow> {
    let norm = normalize(&ty.name);
    let rows = || MAPPING_TABLE.iter().filter(|r| r.applies.matches(dialect));
    if !norm.base.is_empty() {
        if let Some(r) = rows()
            .find(|r| matches!(r.key, Key::Native(names) if names.contains(&norm.base.as_str())))
        {
            return Some(r);
        }
        if dialect == SourceDialect::Postgres && array_element(&norm.base).is_some() {
            if let Some(r) = rows().find(|r| r.key == Key::NativeArray) {
                return Some(r);
            }
        }
    }
    if let Some(sem) = ty.semantic.as_deref().filter(|s| !s.is_empty()) {
        if let Some(r) =
            rows().find(|r| matches!(r.key, Key::Semantic(names) if names.contains(&sem)))
        {
            return Some(r);
        }
    }
    let connect = ty.connect_type.as_deref()?.trim().to_ascii_lowercase();
    rows().find(|r| matches!(r.key, Key::Connect(names) if names.contains(&connect.as_str())))
}

/// Maps a source type (see `types::map_column`).
pub fn map_type(
    dialect: SourceDialect,
    ty: &SourceType,
    in_primary_key: bool,
    options: &MappingOptions,
) -> Mapped {
    map_type_depth(dialect, ty, in_primary_key, options, 0)
}

pub(crate) fn map_type_depth(
    dialect: SourceDialect,
    ty: &SourceType,
    in_primary_key: bool,
    options: &MappingOptions,
    depth: u8,
) -> Mapped {
    let norm = normalize(&ty.name);
    let ctx = rules::Ctx {
        dialect,
        ty,
        base: &norm.base,
        unsigned: ty.unsigned || norm.unsigned,
        length: ty.length.or(norm.length),
        scale: ty.scale.or(norm.scale),
        options,
        depth,
    };
    let mapped = match find_row(dialect, ty) {
        Some(row) => rules::apply(row.rule, &ctx),
        None => rules::unknown(&ctx),
    };
    if in_primary_key {
        key_safe(mapped, options)
    } else {
        mapped
    }
}

/// Replaces a type StarRocks refuses in a PRIMARY KEY by a VARCHAR.
fn key_safe(mapped: Mapped, options: &MappingOptions) -> Mapped {
    let Mapped { ty, mut losses } = mapped;
    let cap = rules::cap(options);
    let (ty, loss) = match ty {
        SrType::Decimal { precision, scale } => (
            SrType::varchar(u32::from(precision) + if scale > 0 { 2 } else { 1 }),
            Some(rules::loss::KEY_AS_TEXT),
        ),
        SrType::Float | SrType::Double => (SrType::varchar(32), Some(rules::loss::KEY_AS_TEXT)),
        SrType::Char { len } => (SrType::varchar(len), None),
        t @ (SrType::Json
        | SrType::Array { .. }
        | SrType::Varbinary { .. }
        | SrType::Other { .. }) => {
            let _ = t;
            (SrType::varchar(cap), Some(rules::loss::KEY_AS_TEXT))
        }
        t => (t, None),
    };
    if let Some(l) = loss {
        losses.push(Loss {
            code: l.code.to_string(),
            detail: l.detail.to_string(),
        });
    }
    Mapped { ty, losses }
}

/// Every loss code the rules can report, with its explanation (for the docs).
pub fn rules_loss_codes() -> impl Iterator<Item = (&'static str, &'static str)> {
    rules::loss::ALL.iter().map(|l| (l.code, l.detail))
}
