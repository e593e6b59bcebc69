//! StarRocks column types as `SHOW CREATE TABLE` spells them: parsing
//! (`int(11)`, `decimal128(38, 9)`, `array<varchar(10)>`, ...) and rendering.

use super::cursor::Cursor;
use super::input::Tok;
use super::CatalogError;
use crate::types::SrType;

/// Parses a column type at the cursor.
pub(crate) fn parse_type(c: &mut Cursor<'_>) -> Result<SrType, CatalogError> {
    let from = c.pos;
    let name = match c.peek().map(|t| &t.tok) {
        Some(Tok::Word(w)) => w.to_ascii_lowercase(),
        _ => return Err(c.err("a column type")),
    };
    c.pos += 1;
    if matches!(name.as_str(), "array" | "map" | "struct") {
        if !c.peek().is_some_and(|t| t.is_sym('<')) {
            return Err(c.err(&format!("`<` after {name}")));
        }
        if name == "array" {
            c.pos += 1;
            let element = parse_type(c)?;
            if !c.peek().is_some_and(|t| t.is_sym('>')) {
                return Err(c.err("`>` closing array<...>"));
            }
            c.pos += 1;
            return Ok(SrType::Array {
                element: Box::new(element),
            });
        }
        c.skip_group()?;
        return Ok(SrType::Other {
            text: c.text(from, c.pos).to_string(),
        });
    }
    let mut args = Vec::new();
    if c.peek().is_some_and(|t| t.is_sym('(')) {
        c.pos += 1;
        loop {
            match c.peek().map(|t| &t.tok) {
                Some(Tok::Num(n)) => {
                    args.push(n.parse::<u64>().map_err(|_| c.err("a type length"))?);
                    c.pos += 1;
                }
                _ => return Err(c.err("a number in the type's parentheses")),
            }
            if c.peek().is_some_and(|t| t.is_sym(')')) {
                c.pos += 1;
                break;
            }
            if !c.peek().is_some_and(|t| t.is_sym(',')) {
                return Err(c.err("`,` or `)` in the type's parentheses"));
            }
            c.pos += 1;
        }
    }
    let len32 = |default: u32| {
        args.first()
            .map_or(Some(default), |&n| u32::try_from(n).ok())
    };
    let other = || SrType::Other {
        text: c.text(from, c.pos).to_string(),
    };
    Ok(match name.as_str() {
        "boolean" | "bool" => SrType::Boolean,
        "tinyint" => SrType::TinyInt,
        "smallint" => SrType::SmallInt,
        "int" | "integer" => SrType::Int,
        "bigint" => SrType::BigInt,
        "largeint" => SrType::LargeInt,
        "float" => SrType::Float,
        "double" => SrType::Double,
        "decimal" | "decimalv2" | "decimal32" | "decimal64" | "decimal128" | "decimal256"
        | "numeric" => {
            let p = args.first().copied().unwrap_or(10);
            let s = args.get(1).copied().unwrap_or(0);
            match (u8::try_from(p), u8::try_from(s)) {
                (Ok(precision), Ok(scale)) if precision >= 1 && scale <= precision => {
                    SrType::Decimal { precision, scale }
                }
                _ => other(),
            }
        }
        "char" => len32(1).map_or_else(other, |len| SrType::Char { len }),
        "varchar" => len32(1).map_or_else(other, |len| SrType::Varchar { len }),
        "string" => SrType::String,
        "varbinary" | "binary" => match args.first() {
            None => SrType::Varbinary { len: None },
            Some(&n) => {
                u32::try_from(n).map_or_else(|_| other(), |n| SrType::Varbinary { len: Some(n) })
            }
        },
        "date" => SrType::Date,
        "datetime" => SrType::Datetime,
        "json" | "jsonb" => SrType::Json,
        _ => other(),
    })
}

/// Renders a type as `SHOW CREATE TABLE` prints it (`int(11)`, `varchar(20)`, ...).
pub(crate) fn render_type(ty: &SrType) -> String {
    match ty {
        SrType::Boolean => "boolean".into(),
        SrType::TinyInt => "tinyint(4)".into(),
        SrType::SmallInt => "smallint(6)".into(),
        SrType::Int => "int(11)".into(),
        SrType::BigInt => "bigint(20)".into(),
        SrType::LargeInt => "largeint(40)".into(),
        SrType::Float => "float".into(),
        SrType::Double => "double".into(),
        SrType::Decimal { precision, scale } => format!("decimal({precision}, {scale})"),
        SrType::Char { len } => format!("char({len})"),
        SrType::Varchar { len } => format!("varchar({len})"),
        SrType::String => "string".into(),
        SrType::Varbinary { len: Some(n) } => format!("varbinary({n})"),
        SrType::Varbinary { len: None } => "varbinary".into(),
        SrType::Date => "date".into(),
        SrType::Datetime => "datetime".into(),
        SrType::Json => "json".into(),
        SrType::Array { element } => format!("array<{}>", render_type(element)),
        SrType::Other { text } => text.clone(),
    }
}
