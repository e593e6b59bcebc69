//! Renders `docs/type-mapping.md` from the mapping table and the conversion
//! matrix, so the documentation is generated from the code it describes.
//!
//! `tests/types.rs` compares the file with [`render_mapping_doc`] and rewrites
//! it when `UPDATE_DOCS=1`.

use super::mapping::{rules_loss_codes, Applies, Key, MappingRow, MAPPING_TABLE};
use super::{classify_conversion, map_column, Conversion, MappingOptions, SrType};
use crate::model::{ColumnId, SourceColumn, SourceDialect, SourceType};

const PREAMBLE: &str = "\
# Type mapping: MySQL / MariaDB and PostgreSQL → StarRocks

<!-- Generated from src/types/mapping/table.rs by `cargo test --test types`;
     run it with UPDATE_DOCS=1 to rewrite this file. Do not edit by hand. -->

ddlsync maps every source column through one table in code
(`types::mapping::MAPPING_TABLE`). A column is looked up by its **native type**
first, then by its **Debezium semantic type**, then by its **Kafka Connect
type** (PostgreSQL sources often carry only the last two). A type that no row
matches becomes `VARCHAR(max)` with an `unknown_type` loss. Every mapping that
cannot carry a value over exactly reports a *loss* (code and sentence), and the
plan shows it.

Decisions:

- **Lengths are bytes in StarRocks, characters in the source.** VARCHAR(n) and
  CHAR(n) are multiplied by the charset's bytes per character (utf8mb4 4,
  utf8/utf8mb3 3, latin1/ascii 1, unknown: `default_bytes_per_char`, 4 by
  default; PostgreSQL is UTF8, 4). latin1 is sized at 1 byte per character as
  asked, with a `charset_bytes` loss because non-ASCII latin1 characters take
  2–3 bytes in UTF-8.
- **`max` is the VARCHAR cap of the target** (1048576 for StarRocks 2.1–4.1;
  `MappingOptions::max_varchar_bytes`). Beyond it the column stays
  `VARCHAR(max)` with a `length_capped` loss. ddlsync never generates
  `STRING`: StarRocks documents STRING as 65533 bytes, so it is *narrower*
  than `VARCHAR(1048576)`. A hand-made `STRING` (shown as `varchar(65533)`)
  target column is accepted as holding any text.
- **CHAR** becomes CHAR(n × bytes) up to 255 bytes, VARCHAR beyond.
- **Primary-key columns** cannot be DECIMAL, FLOAT, DOUBLE, CHAR, JSON, ARRAY
  or VARBINARY in StarRocks: DECIMAL(p,s) → VARCHAR(p+2) (p+1 when s = 0),
  FLOAT/DOUBLE → VARCHAR(32), CHAR(n) → VARCHAR(n), the others → VARCHAR(max),
  each with a `key_as_text` loss (CHAR excepted).
- **Wide decimals** (p > 38, and PostgreSQL `numeric` without precision)
  follow `MappingOptions::wide_decimal`: `string` (default) → VARCHAR(p+2),
  or VARCHAR(max) without precision; `double` → DOUBLE (`precision` loss);
  `decimal38` → DECIMAL(38, s), DECIMAL(38, 9) without precision (`overflow`
  loss); `decimal256` → exact DECIMAL(p, s) up to p = 76 (StarRocks ≥ 4.0).
- **Binary data** is stored as text: StarRocks' Stream Load cannot load
  VARBINARY from JSON (facts §2.1). The VARCHAR is sized for hex or base64
  (`binary_as_text` loss; decode with `from_base64()`).
- **TIME, TIMETZ, INTERVAL** become VARCHAR (StarRocks has no TIME type).
- **DATETIME / TIMESTAMP**: StarRocks' DATETIME documents no fractional
  seconds, so a source keeping sub-seconds reports `fractional_seconds`.
  MySQL TIMESTAMP and PostgreSQL timestamptz arrive as UTC (ZonedTimestamp)
  and are stored as UTC wall-clock time (`time_zone` loss).
- **BIGINT UNSIGNED → LARGEINT** (exact), **YEAR → INT**, **BIT(1) → BOOLEAN**,
  BIT(n ≤ 63) → BIGINT, BIT(64) → LARGEINT.
- **ENUM / SET** become VARCHAR sized for the longest value (all values and
  commas for SET); the domain is not enforced (`enum_domain`, `set_domain`).
- **Spatial types** become VARCHAR(max) text (`spatial_as_text`).
";

/// A column holding `ty`, for the examples.
fn column(ty: SourceType) -> SourceColumn {
    SourceColumn {
        id: ColumnId(1),
        name: "c".into(),
        former_names: Vec::new(),
        position: 1,
        ty,
        nullable: true,
        default: None,
        comment: None,
        auto_increment: false,
    }
}

/// Escapes a table cell: `|` always, `<`/`>` outside code spans.
fn cell(text: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for ch in text.chars() {
        match ch {
            '`' => {
                in_code = !in_code;
                out.push(ch);
            }
            '|' => out.push_str("\\|"),
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            _ => out.push(ch),
        }
    }
    out
}

fn describe_example(ty: &SourceType) -> String {
    let mut s = if ty.name.is_empty() {
        ty.semantic
            .clone()
            .or_else(|| ty.connect_type.clone())
            .unwrap_or_default()
    } else {
        ty.to_string()
    };
    if !ty.enum_values.is_empty() {
        s.push_str(&format!("('{}')", ty.enum_values.join("','")));
    }
    if let Some(cs) = &ty.charset {
        s.push(' ');
        s.push_str(cs);
    }
    s
}

fn dialect_of(row: &MappingRow) -> SourceDialect {
    match row.applies {
        Applies::Postgres => SourceDialect::Postgres,
        _ => SourceDialect::Mysql,
    }
}

fn matches_of(row: &MappingRow) -> String {
    let names: Vec<String> = match row.key {
        Key::Native(n) | Key::Semantic(n) | Key::Connect(n) => {
            n.iter().map(|x| format!("`{x}`")).collect()
        }
        Key::NativeArray => vec!["`_<elem>`".into(), "`<elem>[]`".into()],
    };
    names.join(", ")
}

fn section(out: &mut String, title: &str, rows: &[&MappingRow], options: &MappingOptions) {
    out.push_str(&format!("\n## {title}\n\n"));
    out.push_str(
        "| Source | Matches | StarRocks | Example | In a primary key | Losses | Notes |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|\n");
    for row in rows {
        let st = row.example.source_type();
        let dialect = dialect_of(row);
        let plain = map_column(dialect, &column(st.clone()), false, options);
        let key = map_column(dialect, &column(st.clone()), true, options);
        let key_cell = if key.ty == plain.ty {
            "same".to_string()
        } else {
            format!("`{}`", key.ty)
        };
        let losses: Vec<String> = plain
            .losses
            .iter()
            .map(|l| format!("`{}`", l.code))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | `{}` → `{}` | {} | {} | {} |\n",
            cell(row.source),
            cell(&matches_of(row)),
            cell(row.target),
            cell(&describe_example(&st)),
            plain.ty,
            key_cell,
            losses.join(", "),
            cell(row.note),
        ));
    }
}

/// Types shown in the conversion matrix.
fn matrix_types() -> Vec<SrType> {
    vec![
        SrType::Boolean,
        SrType::TinyInt,
        SrType::SmallInt,
        SrType::Int,
        SrType::BigInt,
        SrType::LargeInt,
        SrType::Float,
        SrType::Double,
        SrType::Decimal {
            precision: 10,
            scale: 2,
        },
        SrType::Decimal {
            precision: 20,
            scale: 4,
        },
        SrType::Char { len: 10 },
        SrType::Varchar { len: 10 },
        SrType::Varchar { len: 100 },
        SrType::String,
        SrType::Date,
        SrType::Datetime,
        SrType::Json,
    ]
}

fn symbol(c: Conversion) -> &'static str {
    match c {
        Conversion::Identity => "=",
        Conversion::Widening => "W",
        Conversion::Narrowing { in_place: true } => "n",
        Conversion::Narrowing { in_place: false } => "N",
        Conversion::Incompatible => "·",
    }
}

/// The whole `docs/type-mapping.md`.
pub fn render_mapping_doc() -> String {
    let options = MappingOptions::default();
    let mut out = String::from(PREAMBLE);
    let pick = |f: &dyn Fn(&MappingRow) -> bool| -> Vec<&'static MappingRow> {
        MAPPING_TABLE.iter().filter(|r| f(r)).collect()
    };
    let native = |r: &MappingRow| matches!(r.key, Key::Native(_) | Key::NativeArray);
    section(
        &mut out,
        "MySQL / MariaDB (native type)",
        &pick(&|r| native(r) && r.applies != Applies::Postgres),
        &options,
    );
    section(
        &mut out,
        "PostgreSQL (native type)",
        &pick(&|r| native(r) && r.applies == Applies::Postgres),
        &options,
    );
    section(
        &mut out,
        "By Debezium semantic type (native type unknown)",
        &pick(&|r| matches!(r.key, Key::Semantic(_))),
        &options,
    );
    section(
        &mut out,
        "By Kafka Connect type (last resort)",
        &pick(&|r| matches!(r.key, Key::Connect(_))),
        &options,
    );

    out.push_str("\n## Loss codes\n\n| Code | Meaning |\n|---|---|\n");
    for (code, detail) in rules_loss_codes() {
        out.push_str(&format!("| `{code}` | {} |\n", cell(detail)));
    }

    out.push_str(
        "\n## Conversion matrix (`classify_conversion`, rows = from, columns = to)\n\n\
         `=` identity, `W` widening (lossless, in place), `n` narrowing that StarRocks \
         runs in place (values may be refused), `N` narrowing that needs a rebuild, \
         `·` incompatible (rebuild). Source: starrocks-facts §1.4; conversions the \
         facts do not list are treated as needing a rebuild.\n\n",
    );
    let types = matrix_types();
    out.push_str("| from \\ to |");
    for t in &types {
        out.push_str(&format!(" `{t}` |"));
    }
    out.push_str("\n|---|");
    for _ in &types {
        out.push_str("---|");
    }
    out.push('\n');
    for from in &types {
        out.push_str(&format!("| `{from}` |"));
        for to in &types {
            out.push_str(&format!(" {} |", symbol(classify_conversion(from, to))));
        }
        out.push('\n');
    }
    out
}
