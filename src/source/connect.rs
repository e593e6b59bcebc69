//! Table schemas derived from inline Kafka Connect schemas (JSON converter,
//! `schemas.enable=true`): the `after` (else `before`) struct of a data-change
//! envelope, and the key struct for the primary key.
//!
//! Owns the inference of a native source type from what Connect tells
//! ([`infer_native_type`]). This is the only schema signal for PostgreSQL,
//! which has no schema-change topic.
//!
//! # How the native type is found
//! 1. When the connector propagates source types (`column.propagate.source.type`
//!    / `datatype.propagate.source.type`), the field's parameters carry
//!    `__debezium.source.column.type` (e.g. `VARCHAR`, `INT UNSIGNED`, `INT4`),
//!    `__debezium.source.column.length` and `__debezium.source.column.scale`:
//!    these are used as they are.
//! 2. Otherwise the Debezium semantic type (the Connect schema `name`) decides:
//!    `io.debezium.time.Date` → DATE, `*.Time`/`MicroTime`/`NanoTime` → TIME,
//!    `Timestamp`/`MicroTimestamp`/`NanoTimestamp` → DATETIME (MySQL) /
//!    TIMESTAMP (PostgreSQL), `ZonedTimestamp` → TIMESTAMP (MySQL) /
//!    TIMESTAMPTZ (PostgreSQL), `ZonedTime` → TIMETZ, `Year` → YEAR,
//!    `MicroDuration`/`NanoDuration`/`Interval` → INTERVAL,
//!    `org.apache.kafka.connect.data.Decimal` → DECIMAL (MySQL) / NUMERIC
//!    (PostgreSQL) with precision from `connect.decimal.precision` and `scale`,
//!    `io.debezium.data.VariableScaleDecimal` → DECIMAL/NUMERIC without
//!    precision, `Uuid` → UUID, `Json` → JSON (jsonb cannot be told apart),
//!    `Xml` → XML, `Enum` → ENUM and `EnumSet` → SET with values from
//!    `allowed`, `Bits` → BIT with `length`, `Ltree` → LTREE, geometry
//!    `Point`/`Geometry`/`Geography` → POINT/GEOMETRY/GEOGRAPHY.
//! 3. Otherwise the Connect type: int8 → TINYINT/INT2, int16 → SMALLINT/INT2,
//!    int32 → INT/INT4, int64 → BIGINT/INT8, float → FLOAT/FLOAT4, double →
//!    DOUBLE/FLOAT8, boolean → BOOLEAN/BOOL, string → TEXT (length unknown),
//!    bytes → BLOB/BYTEA (MySQL/PostgreSQL), array → `_` + the element's
//!    PostgreSQL name (`_INT4`, `_TEXT`), anything else → the Connect type upper-cased.
//!
//! The semantic and Connect types are always kept on the [`SourceType`], so the
//! type mapping can prefer them over an inferred name.

use serde_json::{Map, Value};

use super::schema_change::normalize_type_name;
use super::{kind_of, Ctx, Result};
use crate::model::{ColumnId, SourceColumn, SourceDialect, SourceTable, SourceType, TableId};

const SOURCE_TYPE: &str = "__debezium.source.column.type";
const SOURCE_LENGTH: &str = "__debezium.source.column.length";
const SOURCE_SCALE: &str = "__debezium.source.column.scale";
const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";

/// The table described by a data-change envelope schema, or `None` when the
/// schema has no `after`/`before` struct (e.g. an empty `{}` schema).
pub(crate) fn table_from_envelope(
    envelope: &Map<String, Value>,
    key: Option<&Value>,
    id: &TableId,
    dialect: SourceDialect,
    ctx: &Ctx,
) -> Result<Option<SourceTable>> {
    let Some(Value::Array(fields)) = envelope.get("fields") else {
        return Ok(None);
    };
    let row = ["after", "before"].iter().find_map(|wanted| {
        fields.iter().find(|f| {
            f.get("field").and_then(Value::as_str) == Some(*wanted)
                && f.get("fields").is_some_and(Value::is_array)
        })
    });
    let Some(row) = row else { return Ok(None) };
    let which = row.get("field").and_then(Value::as_str).unwrap_or("after");
    let row_fields = row
        .get("fields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut columns = Vec::with_capacity(row_fields.len());
    for (i, f) in row_fields.iter().enumerate() {
        let path = format!("schema.fields[{which}].fields[{i}]");
        let Value::Object(f) = f else {
            return Err(ctx.invalid(&path, format!("expected an object, found {}", kind_of(f))));
        };
        columns.push(column_from_field(f, i, &path, dialect, ctx)?);
    }
    Ok(Some(SourceTable {
        id: id.clone(),
        dialect,
        columns,
        primary_key: key.map(key_columns).unwrap_or_default(),
        charset: None,
        comment: None,
    }))
}

/// Primary-key column names from a record key: its schema's fields when it has
/// one, else the keys of the bare key object.
pub(crate) fn key_columns(key: &Value) -> Vec<String> {
    let names_of = |fields: &Vec<Value>| -> Vec<String> {
        fields
            .iter()
            .filter_map(|f| f.get("field").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    if let Some(Value::Array(fields)) = key.get("schema").and_then(|s| s.get("fields")) {
        return names_of(fields);
    }
    match key.get("payload") {
        Some(Value::Object(p)) if key.get("schema").is_some() => p.keys().cloned().collect(),
        _ => match key {
            Value::Object(o) => o.keys().cloned().collect(),
            _ => Vec::new(),
        },
    }
}

fn column_from_field(
    f: &Map<String, Value>,
    index: usize,
    path: &str,
    dialect: SourceDialect,
    ctx: &Ctx,
) -> Result<SourceColumn> {
    let name = match f.get("field") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(ctx.invalid(
                &format!("{path}.field"),
                format!("expected a string, found {}", kind_of(other)),
            ))
        }
        None => return Err(ctx.not_debezium(format!("missing field `{path}.field`"))),
    };
    let position = u32::try_from(index + 1).unwrap_or(u32::MAX);
    let default = match f.get("default") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => Some(v.to_string()),
    };
    Ok(SourceColumn {
        id: ColumnId(position),
        name,
        former_names: Vec::new(),
        position,
        ty: infer_native_type(f, dialect),
        nullable: f.get("optional").and_then(Value::as_bool).unwrap_or(false),
        default,
        comment: None,
        auto_increment: false,
    })
}

fn param<'a>(f: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    f.get("parameters")
        .and_then(|p| p.get(key))
        .and_then(Value::as_str)
}

fn param_num<T: std::str::FromStr>(f: &Map<String, Value>, key: &str) -> Option<T> {
    param(f, key).and_then(|v| v.trim().parse().ok())
}

/// The source type of one Connect field (see the module docs for the rules).
pub fn infer_native_type(f: &Map<String, Value>, dialect: SourceDialect) -> SourceType {
    let connect_type = f.get("type").and_then(Value::as_str).map(str::to_string);
    let semantic = f.get("name").and_then(Value::as_str).map(str::to_string);
    let enum_values = match semantic.as_deref() {
        Some("io.debezium.data.Enum" | "io.debezium.data.EnumSet") => param(f, "allowed")
            .map(|a| a.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut ty = SourceType {
        connect_type: connect_type.clone(),
        semantic: semantic.clone(),
        enum_values,
        ..SourceType::default()
    };
    if let Some(native) = param(f, SOURCE_TYPE) {
        let (name, unsigned) = normalize_type_name(native);
        ty.name = name;
        ty.unsigned = unsigned;
        ty.length = param_num(f, SOURCE_LENGTH);
        ty.scale = param_num(f, SOURCE_SCALE);
        return ty;
    }
    let pg = dialect == SourceDialect::Postgres;
    let pick = |mysql: &str, postgres: &str| if pg { postgres } else { mysql }.to_string();
    let by_semantic = semantic.as_deref().and_then(|s| {
        Some(match s {
            "io.debezium.time.Date" | "org.apache.kafka.connect.data.Date" => "DATE".to_string(),
            "io.debezium.time.Time"
            | "io.debezium.time.MicroTime"
            | "io.debezium.time.NanoTime"
            | "org.apache.kafka.connect.data.Time" => "TIME".to_string(),
            "io.debezium.time.Timestamp"
            | "io.debezium.time.MicroTimestamp"
            | "io.debezium.time.NanoTimestamp"
            | "org.apache.kafka.connect.data.Timestamp" => pick("DATETIME", "TIMESTAMP"),
            "io.debezium.time.ZonedTimestamp" => pick("TIMESTAMP", "TIMESTAMPTZ"),
            "io.debezium.time.ZonedTime" => "TIMETZ".to_string(),
            "io.debezium.time.Year" => "YEAR".to_string(),
            "io.debezium.time.MicroDuration"
            | "io.debezium.time.NanoDuration"
            | "io.debezium.time.Interval" => "INTERVAL".to_string(),
            DECIMAL => {
                ty.length = param_num(f, "connect.decimal.precision");
                ty.scale = param_num(f, "scale");
                pick("DECIMAL", "NUMERIC")
            }
            "io.debezium.data.VariableScaleDecimal" => pick("DECIMAL", "NUMERIC"),
            "io.debezium.data.Uuid" => "UUID".to_string(),
            "io.debezium.data.Json" => "JSON".to_string(),
            "io.debezium.data.Xml" => "XML".to_string(),
            "io.debezium.data.Enum" => "ENUM".to_string(),
            "io.debezium.data.EnumSet" => "SET".to_string(),
            "io.debezium.data.Bits" => {
                ty.length = param_num(f, "length");
                "BIT".to_string()
            }
            "io.debezium.data.Ltree" => "LTREE".to_string(),
            "io.debezium.data.geometry.Point" => "POINT".to_string(),
            "io.debezium.data.geometry.Geometry" => "GEOMETRY".to_string(),
            "io.debezium.data.geometry.Geography" => "GEOGRAPHY".to_string(),
            _ => return None,
        })
    });
    ty.name = match by_semantic {
        Some(n) => n,
        None => match connect_type.as_deref() {
            Some("int8") => pick("TINYINT", "INT2"),
            Some("int16") => pick("SMALLINT", "INT2"),
            Some("int32") => pick("INT", "INT4"),
            Some("int64") => pick("BIGINT", "INT8"),
            Some("float" | "float32") => pick("FLOAT", "FLOAT4"),
            Some("double" | "float64") => pick("DOUBLE", "FLOAT8"),
            Some("boolean") => pick("BOOLEAN", "BOOL"),
            Some("string") => "TEXT".to_string(),
            Some("bytes") => pick("BLOB", "BYTEA"),
            Some("array") => {
                let element = f
                    .get("items")
                    .and_then(Value::as_object)
                    .map(|items| infer_native_type(items, SourceDialect::Postgres).name)
                    .unwrap_or_else(|| "TEXT".to_string());
                format!("_{element}")
            }
            Some(other) => other.to_ascii_uppercase(),
            None => "UNKNOWN".to_string(),
        },
    };
    ty
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn infer(v: Value, dialect: SourceDialect) -> SourceType {
        infer_native_type(v.as_object().unwrap(), dialect)
    }

    #[test]
    fn postgres_semantic_types() {
        let pg = SourceDialect::Postgres;
        let t = infer(json!({"type":"string","name":"io.debezium.data.Uuid"}), pg);
        assert_eq!(t.name, "UUID");
        let t = infer(
            json!({"type":"string","name":"io.debezium.time.ZonedTimestamp"}),
            pg,
        );
        assert_eq!(t.name, "TIMESTAMPTZ");
        let t = infer(
            json!({"type":"array","items":{"type":"int32","optional":true}}),
            pg,
        );
        assert_eq!(t.name, "_INT4");
        let t = infer(
            json!({"type":"bytes","name":DECIMAL,"parameters":{"scale":"4","connect.decimal.precision":"12"}}),
            pg,
        );
        assert_eq!(
            (t.name.as_str(), t.length, t.scale),
            ("NUMERIC", Some(12), Some(4))
        );
    }

    #[test]
    fn mysql_types_and_propagated_source_types() {
        let my = SourceDialect::Mysql;
        let t = infer(
            json!({"type":"string","name":"io.debezium.data.Enum","parameters":{"allowed":"a,b,c"}}),
            my,
        );
        assert_eq!((t.name.as_str(), t.enum_values.len()), ("ENUM", 3));
        let t = infer(
            json!({"type":"int64","parameters":{"__debezium.source.column.type":"INT UNSIGNED","__debezium.source.column.length":"10"}}),
            my,
        );
        assert_eq!(
            (t.name.as_str(), t.unsigned, t.length),
            ("INT", true, Some(10))
        );
        assert_eq!(t.connect_type.as_deref(), Some("int64"));
        let t = infer(
            json!({"type":"int64","name":"io.debezium.time.MicroTimestamp"}),
            my,
        );
        assert_eq!(t.name, "DATETIME");
    }

    #[test]
    fn key_columns_from_schema_and_bare_key() {
        let k = json!({"schema":{"type":"struct","fields":[{"type":"int32","field":"id"}]},"payload":{"id":1}});
        assert_eq!(key_columns(&k), vec!["id"]);
        assert_eq!(key_columns(&json!({"a":1,"b":2})), vec!["a", "b"]);
        assert!(key_columns(&json!(5)).is_empty());
    }
}
