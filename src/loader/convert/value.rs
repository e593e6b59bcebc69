//! One Debezium value into its StarRocks Stream Load JSON form, by semantic
//! type (pure). Whole rows are `row`'s.

use serde_json::{Map, Value};

use super::bytes::{bits_value, decimal_text, decode_base64, hex};
use super::schema::{Column, Semantic, TimeUnit};
use super::temporal::{format_date, format_datetime, format_time, parse_zoned, MICROS_PER_SEC};
use super::{BytesMode, Config, Error};

/// A converted value, or the marker that the source did not send it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// The StarRocks JSON value (null included).
    Value(Value),
    /// `__debezium_unavailable_value`: PostgreSQL did not send this unchanged
    /// TOASTed value. Never write it; keep the previous value.
    Unavailable,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn mismatch(field: &str, expected: &'static str, v: &Value) -> Error {
    Error::TypeMismatch {
        field: field.to_string(),
        expected,
        found: kind(v),
    }
}

fn int(v: &Value, field: &str) -> Result<i64, Error> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| Error::out_of_range(field, "a 64-bit integer")),
        _ => Err(mismatch(field, "integer", v)),
    }
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, Error> {
    v.as_str().ok_or_else(|| mismatch(field, "string", v))
}

fn to_micros(v: i64, unit: TimeUnit, field: &str, target: &'static str) -> Result<i64, Error> {
    match unit {
        TimeUnit::Milli => v
            .checked_mul(1000)
            .ok_or_else(|| Error::out_of_range(field, target)),
        TimeUnit::Micro => Ok(v),
        TimeUnit::Nano => Ok(v.div_euclid(1000)),
    }
}

/// Converts one value of meaning `sem` for column `field`.
pub fn convert_value(sem: &Semantic, v: &Value, cfg: &Config, field: &str) -> Result<Cell, Error> {
    if let Value::String(s) = v {
        if cfg.is_unavailable(s) {
            return Ok(Cell::Unavailable);
        }
    }
    if v.is_null() {
        return Ok(Cell::Value(Value::Null));
    }
    let out = match sem {
        Semantic::Boolean => match v {
            Value::Bool(_) => v.clone(),
            Value::Number(n) if n.as_i64() == Some(0) => Value::Bool(false),
            Value::Number(n) if n.as_i64() == Some(1) => Value::Bool(true),
            _ => return Err(mismatch(field, "boolean", v)),
        },
        Semantic::Int | Semantic::Year | Semantic::Duration => {
            int(v, field)?;
            v.clone()
        }
        Semantic::Float => match v {
            Value::Number(_) => v.clone(),
            _ => return Err(mismatch(field, "number", v)),
        },
        Semantic::String
        | Semantic::Enum
        | Semantic::EnumSet
        | Semantic::Uuid
        | Semantic::ZonedTime => {
            text(v, field)?;
            v.clone()
        }
        Semantic::Bytes => {
            let s = text(v, field)?;
            match cfg.bytes {
                BytesMode::Hex => Value::String(hex(&decode_base64(s, field)?)),
                BytesMode::Base64 => {
                    decode_base64(s, field)?;
                    v.clone()
                }
            }
        }
        Semantic::Date => {
            let days = int(v, field)?;
            Value::String(format_date(days, field)?)
        }
        Semantic::Time(unit) => {
            let micros = to_micros(int(v, field)?, *unit, field, "TIME")?;
            Value::String(format_time(micros))
        }
        Semantic::Timestamp(unit) => {
            let micros = to_micros(int(v, field)?, *unit, field, "DATETIME")?;
            Value::String(format_datetime(micros, field)?)
        }
        Semantic::ZonedTimestamp => {
            let micros = parse_zoned(text(v, field)?, field)?;
            let shifted = micros
                .checked_add(i64::from(cfg.time_zone.offset_secs()) * MICROS_PER_SEC)
                .ok_or_else(|| Error::out_of_range(field, "DATETIME"))?;
            Value::String(format_datetime(shifted, field)?)
        }
        Semantic::Decimal { scale } => match v {
            Value::String(s) => {
                Value::String(decimal_text(&decode_base64(s, field)?, *scale, field)?)
            }
            Value::Number(_) => v.clone(),
            _ => return Err(mismatch(field, "base64 decimal", v)),
        },
        Semantic::VariableScaleDecimal => {
            let obj = v
                .as_object()
                .ok_or_else(|| mismatch(field, "{scale, value} struct", v))?;
            let scale = obj
                .get("scale")
                .map(|s| int(s, field))
                .transpose()?
                .unwrap_or(0);
            let scale =
                i32::try_from(scale).map_err(|_| Error::out_of_range(field, "decimal scale"))?;
            let value = obj.get("value").unwrap_or(&Value::Null);
            let bytes = decode_base64(text(value, field)?, field)?;
            Value::String(decimal_text(&bytes, scale, field)?)
        }
        Semantic::Json => {
            let s = text(v, field)?;
            serde_json::from_str(s)
                .map_err(|e| Error::invalid(field, format!("invalid json: {e}")))?
        }
        Semantic::Bits { length } => match v {
            Value::Bool(_) => v.clone(),
            _ => bits_value(&decode_base64(text(v, field)?, field)?, *length),
        },
        Semantic::Geometry => {
            let obj = v
                .as_object()
                .ok_or_else(|| mismatch(field, "{wkb, srid} struct", v))?;
            let wkb = obj.get("wkb").unwrap_or(&Value::Null);
            Value::String(hex(&decode_base64(text(wkb, field)?, field)?))
        }
        Semantic::Array(item) => {
            let items = v.as_array().ok_or_else(|| mismatch(field, "array", v))?;
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                match convert_value(item, it, cfg, field)? {
                    Cell::Value(x) => out.push(x),
                    Cell::Unavailable => return Ok(Cell::Unavailable),
                }
            }
            Value::Array(out)
        }
        Semantic::Struct(cols) => {
            let obj = v.as_object().ok_or_else(|| mismatch(field, "struct", v))?;
            Value::Object(convert_struct(cols, obj, cfg, field)?)
        }
        Semantic::Any => v.clone(),
    };
    Ok(Cell::Value(out))
}

fn convert_struct(
    cols: &[Column],
    obj: &Map<String, Value>,
    cfg: &Config,
    field: &str,
) -> Result<Map<String, Value>, Error> {
    let mut out = Map::with_capacity(obj.len());
    for (k, x) in obj {
        let sem = cols
            .iter()
            .find(|c| &c.name == k)
            .map_or(&Semantic::Any, |c| &c.semantic);
        let path = format!("{field}.{k}");
        match convert_value(sem, x, cfg, &path)? {
            Cell::Value(x) => {
                out.insert(k.clone(), x);
            }
            Cell::Unavailable => {
                return Err(Error::invalid(&path, "unavailable value inside a struct"))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conv(sem: Semantic, v: Value) -> Result<Cell, Error> {
        convert_value(&sem, &v, &Config::default(), "c")
    }

    fn ok(sem: Semantic, v: Value) -> Value {
        match conv(sem, v) {
            Ok(Cell::Value(v)) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_semantic_type() {
        use Semantic as S;
        assert_eq!(ok(S::Date, json!(19782)), json!("2024-02-29"));
        assert_eq!(
            ok(S::Time(TimeUnit::Milli), json!(1500)),
            json!("00:00:01.500000")
        );
        assert_eq!(
            ok(S::Time(TimeUnit::Nano), json!(1_000_001_000)),
            json!("00:00:01.000001")
        );
        assert_eq!(
            ok(S::Timestamp(TimeUnit::Milli), json!(1_000)),
            json!("1970-01-01 00:00:01")
        );
        assert_eq!(
            ok(S::Timestamp(TimeUnit::Nano), json!(1_500)),
            json!("1970-01-01 00:00:00.000001")
        );
        assert_eq!(
            ok(S::ZonedTimestamp, json!("2024-02-29T10:34:56Z")),
            json!("2024-02-29 10:34:56")
        );
        assert_eq!(ok(S::Decimal { scale: 2 }, json!("EHI=")), json!("42.10"));
        assert_eq!(ok(S::Decimal { scale: 2 }, json!(42.1)), json!(42.1));
        assert_eq!(
            ok(
                S::VariableScaleDecimal,
                json!({"scale": 3, "value": "AQ=="})
            ),
            json!("0.001")
        );
        assert_eq!(ok(S::Json, json!("{\"k\": [1]}")), json!({"k": [1]}));
        assert_eq!(ok(S::Bits { length: Some(3) }, json!("BQ==")), json!(5));
        assert_eq!(ok(S::Bytes, json!("3q2+7w==")), json!("deadbeef"));
        assert_eq!(
            ok(S::Geometry, json!({"wkb": "AQ==", "srid": 4326})),
            json!("01")
        );
        assert_eq!(
            ok(S::Array(Box::new(S::Date)), json!([0, null])),
            json!(["1970-01-01", null])
        );
        assert_eq!(ok(S::Boolean, json!(1)), json!(true));
        assert_eq!(ok(S::Int, json!(null)), json!(null));
        let tz = Config {
            time_zone: super::super::TimeZone::parse("+08:00").unwrap(),
            ..Config::default()
        };
        let v =
            convert_value(&S::ZonedTimestamp, &json!("2024-02-29T20:00:00Z"), &tz, "c").unwrap();
        assert_eq!(v, Cell::Value(json!("2024-03-01 04:00:00")));
        let b64 = Config {
            bytes: BytesMode::Base64,
            ..Config::default()
        };
        let v = convert_value(&S::Bytes, &json!("3q2+7w=="), &b64, "c").unwrap();
        assert_eq!(v, Cell::Value(json!("3q2+7w==")));
    }

    #[test]
    fn unavailable_values_are_detected_in_any_shape() {
        assert_eq!(
            conv(Semantic::String, json!("__debezium_unavailable_value")),
            Ok(Cell::Unavailable)
        );
        assert_eq!(
            conv(
                Semantic::Bytes,
                json!("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==")
            ),
            Ok(Cell::Unavailable)
        );
        assert_eq!(
            conv(
                Semantic::Array(Box::new(Semantic::String)),
                json!(["__debezium_unavailable_value"])
            ),
            Ok(Cell::Unavailable)
        );
        assert_eq!(
            conv(Semantic::Json, json!("__debezium_unavailable_value")),
            Ok(Cell::Unavailable)
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = conv(Semantic::Date, json!("x")).unwrap_err();
        assert_eq!(e.to_string(), "field c: expected integer, found string");
        assert!(conv(Semantic::Timestamp(TimeUnit::Milli), json!(i64::MAX)).is_err());
        assert!(conv(Semantic::Json, json!("{")).is_err());
        assert!(conv(Semantic::Bytes, json!("!!")).is_err());
        assert!(conv(Semantic::Int, json!(1.5)).is_err());
    }
}
