//! StarRocks column types: parsing, rendering (SHOW CREATE TABLE, DESC, information_schema),
//! the schema-change conversion matrix and value checks for loads.

use serde::{Deserialize, Serialize};

use super::error::{Result, SrError};
use super::lexer::{Cursor, Tok};

/// Longest VARCHAR (bytes) in v2.1–v4.1.
pub const VARCHAR_MAX: u32 = 1_048_576;
/// Length STRING is rendered with: STRING is an alias of VARCHAR(65533).
pub const STRING_LEN: u32 = 65_533;

/// A StarRocks column type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SrType {
    /// BOOLEAN
    Boolean,
    /// TINYINT
    TinyInt,
    /// SMALLINT
    SmallInt,
    /// INT
    Int,
    /// BIGINT
    BigInt,
    /// LARGEINT
    LargeInt,
    /// FLOAT
    Float,
    /// DOUBLE
    Double,
    /// DECIMAL(p, s)
    Decimal(u32, u32),
    /// CHAR(n)
    Char(u32),
    /// VARCHAR(n) (STRING = VARCHAR(65533))
    Varchar(u32),
    /// DATE
    Date,
    /// DATETIME
    DateTime,
    /// JSON
    Json,
    /// VARBINARY(n)
    Varbinary(Option<u32>),
    /// ARRAY<t>
    Array(Box<SrType>),
    /// MAP<k, v>
    Map(Box<SrType>, Box<SrType>),
    /// BITMAP, HLL, PERCENTILE and other opaque types, lower-case name.
    Other(String),
}

impl SrType {
    /// Parses a type at the cursor.
    pub fn parse(c: &mut Cursor) -> Result<SrType> {
        let name = c.ident()?.to_ascii_lowercase();
        let mut args = Vec::new();
        let has_args = c.is_sym("(");
        if has_args && !matches!(name.as_str(), "array" | "map") {
            c.expect_sym("(")?;
            loop {
                args.push(c.number()? as u32);
                if !c.eat_sym(",") {
                    break;
                }
            }
            c.expect_sym(")")?;
        }
        // display widths like int(11) are accepted and dropped
        let ty = match name.as_str() {
            "boolean" | "bool" => SrType::Boolean,
            "tinyint" => SrType::TinyInt,
            "smallint" => SrType::SmallInt,
            "int" | "integer" => SrType::Int,
            "bigint" => SrType::BigInt,
            "largeint" => SrType::LargeInt,
            "float" => SrType::Float,
            "double" => SrType::Double,
            "decimal" | "decimalv3" | "decimal32" | "decimal64" | "decimal128" | "numeric" => {
                let p = args.first().copied().unwrap_or(10);
                let s = args.get(1).copied().unwrap_or(0);
                if p == 0 || p > 76 || s > p {
                    return Err(SrError::analyze(format!(
                        "Invalid decimal type: DECIMAL({p},{s})"
                    )));
                }
                SrType::Decimal(p, s)
            }
            "char" => {
                let n = args.first().copied().unwrap_or(1);
                if n == 0 || n > 255 {
                    return Err(SrError::analyze("Char size must be between 1 and 255"));
                }
                SrType::Char(n)
            }
            "varchar" => {
                let n = args.first().copied().unwrap_or(1);
                if n == 0 || n > VARCHAR_MAX {
                    return Err(SrError::analyze(format!(
                        "Varchar size must be between 1 and {VARCHAR_MAX}"
                    )));
                }
                SrType::Varchar(n)
            }
            "string" | "text" => SrType::Varchar(STRING_LEN),
            "date" => SrType::Date,
            "datetime" | "timestamp" => SrType::DateTime,
            "json" | "jsonb" => SrType::Json,
            "varbinary" | "binary" => SrType::Varbinary(args.first().copied()),
            "array" => {
                c.expect_sym("<")?;
                let inner = SrType::parse(c)?;
                c.expect_sym(">")?;
                SrType::Array(Box::new(inner))
            }
            "map" => {
                c.expect_sym("<")?;
                let k = SrType::parse(c)?;
                c.expect_sym(",")?;
                let v = SrType::parse(c)?;
                c.expect_sym(">")?;
                SrType::Map(Box::new(k), Box::new(v))
            }
            "bitmap" | "hll" | "percentile" => SrType::Other(name),
            other => return Err(SrError::unsupported(format!("column type '{other}'"))),
        };
        Ok(ty)
    }

    /// Rendering in SHOW CREATE TABLE and information_schema COLUMN_TYPE: `int(11)`, `decimal(10, 2)`.
    pub fn show(&self) -> String {
        match self {
            SrType::Boolean => "boolean".into(),
            SrType::TinyInt => "tinyint(4)".into(),
            SrType::SmallInt => "smallint(6)".into(),
            SrType::Int => "int(11)".into(),
            SrType::BigInt => "bigint(20)".into(),
            SrType::LargeInt => "largeint(40)".into(),
            SrType::Float => "float".into(),
            SrType::Double => "double".into(),
            SrType::Decimal(p, s) => format!("decimal({p}, {s})"),
            SrType::Char(n) => format!("char({n})"),
            SrType::Varchar(n) => format!("varchar({n})"),
            SrType::Date => "date".into(),
            SrType::DateTime => "datetime".into(),
            SrType::Json => "json".into(),
            SrType::Varbinary(Some(n)) => format!("varbinary({n})"),
            SrType::Varbinary(None) => "varbinary".into(),
            SrType::Array(t) => format!("array<{}>", t.show()),
            SrType::Map(k, v) => format!("map<{},{}>", k.show(), v.show()),
            SrType::Other(n) => n.clone(),
        }
    }

    /// Rendering in DESC: no display width, `decimal(10,2)`.
    pub fn desc(&self) -> String {
        match self {
            SrType::TinyInt
            | SrType::SmallInt
            | SrType::Int
            | SrType::BigInt
            | SrType::LargeInt => self.data_type(),
            SrType::Decimal(p, s) => format!("decimal({p},{s})"),
            SrType::Array(t) => format!("array<{}>", t.desc()),
            _ => self.show(),
        }
    }

    /// Bare type name (information_schema DATA_TYPE).
    pub fn data_type(&self) -> String {
        let s = self.show();
        s.split(['(', '<']).next().unwrap_or("").to_string()
    }

    /// Rendering inside error messages: `INT`, `VARCHAR(10)`, `DECIMAL(10,2)`.
    pub fn upper(&self) -> String {
        self.desc().to_ascii_uppercase()
    }

    /// Declared type of the mirror column in SQLite.
    pub fn sqlite(&self) -> &'static str {
        match self {
            SrType::Boolean
            | SrType::TinyInt
            | SrType::SmallInt
            | SrType::Int
            | SrType::BigInt
            | SrType::LargeInt => "INTEGER",
            SrType::Float | SrType::Double | SrType::Decimal(..) => "REAL",
            _ => "TEXT",
        }
    }

    /// Declared type of the mirror column: `DECIMAL(p,s)` (NUMERIC affinity, and the scale is
    /// used to print values) or the affinity name.
    pub fn sqlite_decl(&self) -> String {
        match self {
            SrType::Decimal(p, s) => format!("DECIMAL({p},{s})"),
            other => other.sqlite().to_string(),
        }
    }

    /// Whether this is an integer type.
    pub fn is_integer(&self) -> bool {
        self.int_rank().is_some()
    }

    fn int_rank(&self) -> Option<u8> {
        match self {
            SrType::TinyInt => Some(1),
            SrType::SmallInt => Some(2),
            SrType::Int => Some(3),
            SrType::BigInt => Some(4),
            SrType::LargeInt => Some(5),
            _ => None,
        }
    }

    /// Length of a string type in bytes.
    pub fn str_len(&self) -> Option<u32> {
        match self {
            SrType::Char(n) | SrType::Varchar(n) => Some(*n),
            _ => None,
        }
    }

    /// Display length of a decimal, for the decimal → VARCHAR rule.
    fn decimal_display_len(p: u32, s: u32) -> u32 {
        p + 1 + u32::from(s > 0)
    }

    /// Checks a MODIFY COLUMN type change against the FE conversion matrix.
    /// Returns `Can not change <old> to <new>` or `Cannot shorten string length`.
    pub fn check_change(&self, new: &SrType) -> Result<()> {
        use SrType::*;
        if self == new {
            return Ok(());
        }
        let deny = || {
            Err(SrError::new(format!(
                "Can not change {} to {}",
                self.upper(),
                new.upper()
            )))
        };
        let allowed = match (self, new) {
            (Char(a), Varchar(b)) | (Varchar(a), Varchar(b)) | (Char(a), Char(b)) => {
                if b < a {
                    return Err(SrError::new("Cannot shorten string length"));
                }
                true
            }
            (a, b) if a.int_rank().is_some() && b.int_rank().is_some() => {
                a.int_rank() < b.int_rank()
            }
            (a, Double) if a.int_rank().is_some() => *a != LargeInt,
            (Int, Date) => true,
            (a, Varchar(_)) if a.int_rank().is_some() => true,
            (Float, Double) | (Float, Varchar(_)) | (Double, Varchar(_)) => true,
            (Varchar(_), b) if b.int_rank().is_some() => true,
            (Varchar(_), Float | Double | Date | Json | Decimal(..)) => true,
            (Json, Varchar(_)) => true,
            (Date, DateTime) | (DateTime, Date) => true,
            (Decimal(p1, s1), Decimal(p2, s2)) => s1 <= s2 && p1 - s1 <= p2 - s2,
            (Decimal(p, s), Varchar(n)) => *n >= Self::decimal_display_len(*p, *s),
            _ => false,
        };
        if allowed {
            Ok(())
        } else {
            deny()
        }
    }

    /// Whether a key column may use this type (`FLOAT`/`DOUBLE`/`JSON`... may not).
    pub fn can_be_key(&self) -> bool {
        !matches!(
            self,
            SrType::Float
                | SrType::Double
                | SrType::Json
                | SrType::Array(_)
                | SrType::Map(..)
                | SrType::Varbinary(_)
                | SrType::Other(_)
        )
    }
}

/// A value converted for storage, or the reason the row is filtered.
pub fn convert_json(
    ty: &SrType,
    v: &serde_json::Value,
) -> std::result::Result<Option<rusqlite::types::Value>, String> {
    use rusqlite::types::Value as V;
    use serde_json::Value as J;
    if v.is_null() {
        return Ok(None);
    }
    let as_text = || match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    };
    let int_bounds =
        |bits: u32| -> (i128, i128) { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) };
    let out = match ty {
        SrType::Boolean => match v {
            J::Bool(b) => V::Integer(i64::from(*b)),
            J::Number(n) => V::Integer(i64::from(n.as_f64().unwrap_or(0.0) != 0.0)),
            J::String(s) if s.eq_ignore_ascii_case("true") || s == "1" => V::Integer(1),
            J::String(s) if s.eq_ignore_ascii_case("false") || s == "0" => V::Integer(0),
            _ => return Err(format!("'{}' is not a valid boolean", as_text())),
        },
        t if t.is_integer() => {
            let bits = match t {
                SrType::TinyInt => 8,
                SrType::SmallInt => 16,
                SrType::Int => 32,
                SrType::BigInt => 64,
                _ => 127,
            };
            let n: i128 = match v {
                J::Number(n) if n.is_i64() || n.is_u64() => {
                    n.to_string().parse().unwrap_or(i128::MAX)
                }
                J::Bool(b) => i128::from(*b),
                J::String(s) => s
                    .trim()
                    .parse()
                    .map_err(|_| format!("'{s}' is not a valid {}", t.desc()))?,
                _ => return Err(format!("'{}' is not a valid {}", as_text(), t.desc())),
            };
            let (lo, hi) = int_bounds(bits);
            if n < lo || n > hi {
                return Err(format!("'{n}' is out of range for {}", t.desc()));
            }
            if bits > 64 {
                V::Text(n.to_string())
            } else {
                V::Integer(n as i64)
            }
        }
        SrType::Float | SrType::Double | SrType::Decimal(..) => match v {
            J::Number(n) => V::Real(n.as_f64().unwrap_or(0.0)),
            J::String(s) => V::Real(
                s.trim()
                    .parse()
                    .map_err(|_| format!("'{s}' is not a valid {}", ty.desc()))?,
            ),
            _ => return Err(format!("'{}' is not a valid {}", as_text(), ty.desc())),
        },
        SrType::Char(n) | SrType::Varchar(n) => {
            let s = as_text();
            if s.len() > *n as usize {
                return Err(format!(
                    "the length of input is too long than schema. column: {} length: {}",
                    ty.desc(),
                    s.len()
                ));
            }
            V::Text(s)
        }
        SrType::Date | SrType::DateTime => {
            let s = as_text();
            if !valid_datetime(&s, *ty == SrType::Date) {
                return Err(format!("'{s}' is not a valid {}", ty.desc()));
            }
            let s = if *ty == SrType::Date {
                s[..10].to_string()
            } else {
                normalize_datetime(&s)
            };
            V::Text(s)
        }
        SrType::Json => V::Text(match v {
            J::String(s) if serde_json::from_str::<J>(s).is_ok() => s.clone(),
            other => other.to_string(),
        }),
        _ => V::Text(as_text()),
    };
    Ok(Some(out))
}

fn valid_datetime(s: &str, date_only: bool) -> bool {
    let b = s.as_bytes();
    let date_ok = s.is_ascii()
        && b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s[..4].parse::<u32>().is_ok()
        && s[5..7].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && s[8..10].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d));
    if !date_ok {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    !date_only || b[10] == b' ' || b[10] == b'T'
}

fn normalize_datetime(s: &str) -> String {
    if s.len() == 10 {
        return format!("{s} 00:00:00");
    }
    let mut out = s.replacen('T', " ", 1);
    if let Some(stripped) = out.strip_suffix('Z') {
        out = stripped.to_string();
    }
    out
}

/// Splits `ident` tokens out of a token list (for partition/distribution column references).
pub fn idents_in(toks: &[Tok]) -> Vec<String> {
    toks.iter()
        .filter_map(|t| match t {
            Tok::Quoted(q) => Some(q.clone()),
            Tok::Word(w) => Some(w.clone()),
            _ => None,
        })
        .collect()
}
