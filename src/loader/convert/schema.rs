//! The semantic type of each column, read from an inline Kafka Connect schema
//! (`{"type": "struct", "fields": [...]}` as written by JsonConverter) or
//! given by the caller for schemaless JSON, and the row schema's fingerprint
//! (pure).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Error;

/// The unit of an integer temporal value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// Milliseconds (`io.debezium.time.Time`, `...Timestamp`, Connect's own).
    Milli,
    /// Microseconds (`MicroTime`, `MicroTimestamp`).
    Micro,
    /// Nanoseconds (`NanoTime`, `NanoTimestamp`).
    Nano,
}

/// What a column's value means, which decides its StarRocks rendering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Semantic {
    /// JSON boolean.
    Boolean,
    /// Any Connect integer (int8..int64), kept as a number.
    Int,
    /// float32/float64, kept as a number.
    Float,
    /// Plain text, kept.
    String,
    /// Connect bytes (base64 in JSON), rendered per [`super::BytesMode`].
    Bytes,
    /// `io.debezium.time.Date` / Connect `Date`: days since the epoch.
    Date,
    /// `Time` / `MicroTime` / `NanoTime`: time of day as an integer count.
    Time(TimeUnit),
    /// `Timestamp` / `MicroTimestamp` / `NanoTimestamp`: epoch count, no zone.
    Timestamp(TimeUnit),
    /// `io.debezium.time.ZonedTimestamp`: ISO-8601 text with an offset.
    ZonedTimestamp,
    /// `io.debezium.time.ZonedTime`: ISO-8601 time with an offset, kept.
    ZonedTime,
    /// Connect `Decimal`: base64 unscaled bytes with this scale; a JSON number
    /// (double handling mode) is kept as it is.
    Decimal {
        /// Digits after the point.
        scale: i32,
    },
    /// `io.debezium.data.VariableScaleDecimal`: `{scale, value}`.
    VariableScaleDecimal,
    /// `io.debezium.data.Json`: JSON text, parsed into a JSON value.
    Json,
    /// `io.debezium.data.Enum`: text.
    Enum,
    /// `io.debezium.data.EnumSet`: comma-separated text.
    EnumSet,
    /// `io.debezium.data.Bits` with its `length` parameter.
    Bits {
        /// Number of bits, when the schema says.
        length: Option<u32>,
    },
    /// `io.debezium.time.Year`: an integer.
    Year,
    /// `io.debezium.data.geometry.{Geometry,Geography,Point}`: `{wkb, srid}`.
    Geometry,
    /// `io.debezium.data.Uuid`: text.
    Uuid,
    /// `io.debezium.time.MicroDuration` / `NanoDuration`: an integer, kept.
    Duration,
    /// A Connect array of these (PostgreSQL arrays).
    Array(Box<Semantic>),
    /// A nested struct, rendered as a JSON object.
    Struct(Vec<Column>),
    /// Anything else (Connect map, unknown): the JSON value is kept.
    Any,
}

/// One column of a row schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    /// Column name as in the event.
    pub name: String,
    /// Its meaning.
    pub semantic: Semantic,
    /// Whether it may be null.
    pub optional: bool,
}

impl Column {
    /// A column (handy for schemaless descriptions).
    pub fn new(name: impl Into<String>, semantic: Semantic, optional: bool) -> Column {
        Column {
            name: name.into(),
            semantic,
            optional,
        }
    }
}

/// The columns of one table's `before`/`after` struct, with a fingerprint
/// that changes whenever a column, its type or its nullability changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSchema {
    columns: Vec<Column>,
    fingerprint: String,
}

impl RowSchema {
    /// A row schema from a column description (schemaless JSON).
    pub fn new(columns: Vec<Column>) -> RowSchema {
        let mut text = String::new();
        for c in &columns {
            text.push_str(&format!(
                "{}\u{1}{:?}\u{1}{}\u{2}",
                c.name, c.semantic, c.optional
            ));
        }
        RowSchema::fingerprinted(columns, &text)
    }

    fn fingerprinted(columns: Vec<Column>, text: &str) -> RowSchema {
        let digest = Sha256::digest(text.as_bytes());
        RowSchema {
            columns,
            fingerprint: super::bytes::hex(&digest[..8]),
        }
    }

    /// The row schema of a Debezium envelope schema (the `after` field, or
    /// `before` when there is no `after`), or of a row struct schema itself.
    pub fn from_connect(schema: &Value) -> Result<RowSchema, Error> {
        let obj = schema
            .as_object()
            .ok_or_else(|| Error::schema("schema is not an object"))?;
        let fields = fields_of(obj)?;
        let row = fields
            .iter()
            .find(|f| f.get("field").and_then(Value::as_str) == Some("after"))
            .or_else(|| {
                fields
                    .iter()
                    .find(|f| f.get("field").and_then(Value::as_str) == Some("before"))
            });
        let (row_fields, row_schema) = match row.and_then(Value::as_object) {
            Some(r) => (fields_of(r)?, row.unwrap_or(schema)),
            None => (fields, schema),
        };
        let columns = row_fields
            .iter()
            .map(|f| {
                let f = f
                    .as_object()
                    .ok_or_else(|| Error::schema("field schema is not an object"))?;
                column_of(f)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The exact Connect row schema (types, logical names, parameters,
        // defaults): an int32 -> int64 change is a new schema.
        Ok(RowSchema::fingerprinted(columns, &row_schema.to_string()))
    }

    /// The columns in schema order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column named `name`; `hint` is the position to try first.
    pub fn column(&self, name: &str, hint: usize) -> Option<&Column> {
        match self.columns.get(hint) {
            Some(c) if c.name == name => Some(c),
            _ => self.columns.iter().find(|c| c.name == name),
        }
    }

    /// 16 hex digits identifying the row schema: the exact Connect row struct
    /// schema when read from one, else the names, meanings and nullability.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

fn fields_of(obj: &Map<String, Value>) -> Result<&Vec<Value>, Error> {
    obj.get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::schema("struct schema without fields"))
}

fn column_of(f: &Map<String, Value>) -> Result<Column, Error> {
    let name = f
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::schema("field without a name"))?;
    Ok(Column {
        name: name.to_string(),
        semantic: semantic_of(f, name)?,
        optional: f.get("optional").and_then(Value::as_bool).unwrap_or(true),
    })
}

fn param<'a>(f: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    f.get("parameters")?.get(key)?.as_str()
}

/// The meaning of one Connect field schema: the logical `name` first, then
/// the physical `type`.
fn semantic_of(f: &Map<String, Value>, field: &str) -> Result<Semantic, Error> {
    use Semantic as S;
    let name = f.get("name").and_then(Value::as_str).unwrap_or("");
    let by_name = match name {
        "io.debezium.time.Date" | "org.apache.kafka.connect.data.Date" => Some(S::Date),
        "io.debezium.time.Time" | "org.apache.kafka.connect.data.Time" => {
            Some(S::Time(TimeUnit::Milli))
        }
        "io.debezium.time.MicroTime" => Some(S::Time(TimeUnit::Micro)),
        "io.debezium.time.NanoTime" => Some(S::Time(TimeUnit::Nano)),
        "io.debezium.time.Timestamp" | "org.apache.kafka.connect.data.Timestamp" => {
            Some(S::Timestamp(TimeUnit::Milli))
        }
        "io.debezium.time.MicroTimestamp" => Some(S::Timestamp(TimeUnit::Micro)),
        "io.debezium.time.NanoTimestamp" => Some(S::Timestamp(TimeUnit::Nano)),
        "io.debezium.time.ZonedTimestamp" => Some(S::ZonedTimestamp),
        "io.debezium.time.ZonedTime" => Some(S::ZonedTime),
        "org.apache.kafka.connect.data.Decimal" => {
            let scale = param(f, "scale").unwrap_or("0");
            let scale = scale.parse::<i32>().map_err(|_| {
                Error::schema(format!(
                    "field {field}: decimal scale {scale:?} is not an integer"
                ))
            })?;
            Some(S::Decimal { scale })
        }
        "io.debezium.data.VariableScaleDecimal" => Some(S::VariableScaleDecimal),
        "io.debezium.data.Json" => Some(S::Json),
        "io.debezium.data.Enum" => Some(S::Enum),
        "io.debezium.data.EnumSet" => Some(S::EnumSet),
        "io.debezium.data.Bits" => Some(S::Bits {
            length: param(f, "length").and_then(|l| l.parse().ok()),
        }),
        "io.debezium.time.Year" => Some(S::Year),
        "io.debezium.data.geometry.Geometry"
        | "io.debezium.data.geometry.Geography"
        | "io.debezium.data.geometry.Point" => Some(S::Geometry),
        "io.debezium.data.Uuid" => Some(S::Uuid),
        "io.debezium.time.MicroDuration" | "io.debezium.time.NanoDuration" => Some(S::Duration),
        _ => None,
    };
    if let Some(s) = by_name {
        return Ok(s);
    }
    let ty = f.get("type").and_then(Value::as_str).unwrap_or("");
    Ok(match ty {
        "boolean" => S::Boolean,
        "int8" | "int16" | "int32" | "int64" => S::Int,
        "float" | "float32" | "double" | "float64" => S::Float,
        "string" => S::String,
        "bytes" => S::Bytes,
        "array" => {
            let items = f
                .get("items")
                .and_then(Value::as_object)
                .ok_or_else(|| Error::schema(format!("field {field}: array without items")))?;
            S::Array(Box::new(semantic_of(items, field)?))
        }
        "struct" => S::Struct(
            fields_of(f)?
                .iter()
                .map(|c| {
                    c.as_object()
                        .ok_or_else(|| Error::schema("field schema is not an object"))
                        .and_then(column_of)
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => S::Any,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_after_struct_and_fingerprints_it() {
        let schema = json!({"type": "struct", "fields": [
            {"type": "struct", "field": "before", "optional": true, "fields": [
                {"type": "int32", "optional": false, "field": "id"}]},
            {"type": "struct", "field": "after", "optional": true, "fields": [
                {"type": "int32", "optional": false, "field": "id"},
                {"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal",
                 "parameters": {"scale": "4"}, "field": "d"},
                {"type": "array", "items": {"type": "int32", "optional": true}, "optional": true, "field": "a"},
                {"type": "int64", "name": "some.Unknown", "field": "u"}]},
            {"type": "string", "optional": false, "field": "op"}]});
        let rs = RowSchema::from_connect(&schema).unwrap();
        let sems: Vec<_> = rs.columns().iter().map(|c| c.semantic.clone()).collect();
        assert_eq!(
            sems,
            vec![
                Semantic::Int,
                Semantic::Decimal { scale: 4 },
                Semantic::Array(Box::new(Semantic::Int)),
                Semantic::Int
            ]
        );
        assert_eq!(rs.fingerprint().len(), 16);
        let other = RowSchema::new(vec![Column::new("id", Semantic::Int, true)]);
        assert_ne!(other.fingerprint(), rs.fingerprint());
        assert_eq!(rs.column("a", 0).map(|c| c.name.as_str()), Some("a"));
    }

    #[test]
    fn bad_schemas_are_errors() {
        assert!(RowSchema::from_connect(&json!(1)).is_err());
        assert!(RowSchema::from_connect(&json!({"type": "struct"})).is_err());
        let bad_scale = json!({"type": "struct", "fields": [{"type": "bytes", "field": "d",
            "name": "org.apache.kafka.connect.data.Decimal", "parameters": {"scale": "x"}}]});
        assert!(RowSchema::from_connect(&bad_scale).is_err());
    }
}
