//! Avro (as Confluent's `AvroConverter` writes it for Kafka Connect) back into
//! the Kafka Connect JSON shape that `JsonConverter` with `schemas.enable=true`
//! produces: a Connect schema (`{"type": "struct", "fields": [...], ...}`) and
//! a payload (pure, no I/O).
//!
//! The schema side reads the registry's raw Avro schema text (apache-avro drops
//! custom properties of primitive types, so the `connect.*` properties are read
//! from the JSON itself):
//! * `["null", X]` / `[X, "null"]` unions → X with `"optional": true`; other
//!   unions are refused ([`MapError`]);
//! * `int` with `connect.type` `int8`/`int16` → that type, else `int32`;
//!   `long` → `int64`; `float`/`double`; `boolean`; `string` and Avro `enum`
//!   → `string`; `bytes` and `fixed` → `bytes`; `array`; `map` → a Connect map
//!   with string keys; an array of `io.confluent.connect.avro.MapEntry` records
//!   → a Connect map with those keys; `record` → `struct` (named by
//!   `connect.name`, else the Avro full name);
//! * `connect.name` / `connect.version` / `connect.doc` / `connect.parameters`
//!   → `name` / `version` / `doc` / `parameters`; `connect.default` (else a
//!   non-null Avro field default) → `default`, bytes defaults as base64;
//! * an Avro logical type without `connect.name` gets Connect's own name:
//!   `decimal` → `org.apache.kafka.connect.data.Decimal` with `scale` (and
//!   `connect.decimal.precision`), `date`, `time-millis`, `timestamp-millis`.
//!
//! Keys are written in JsonConverter's order (`type`, `items`/`keys`/`values`/
//! `fields`, `optional`, `name`, `version`, `doc`, `parameters`, `default`,
//! `field`), so the text matches what the JSON path would fingerprint.
//!
//! The payload side walks an `apache_avro::types::Value` along the same raw
//! schema: bytes, fixed and decimals → standard base64 (the decimal's
//! two's-complement bytes as written, which is what JsonConverter encodes),
//! floats → the shortest decimal text of the `f32` (as Java's `Float.toString`),
//! records → objects in field order, maps → objects with sorted keys (or
//! `[key, value]` pairs for non-string keys, as JsonConverter writes them).

use std::collections::HashMap;

use apache_avro::types::Value as Avro;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// Why a schema or a value cannot be mapped, with the path of the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct MapError {
    /// Dotted path of the field (`after.c_numeric`), `$` for the top.
    pub path: String,
    /// Why.
    pub reason: String,
}

fn err(path: &str, reason: impl Into<String>) -> MapError {
    MapError {
        path: if path.is_empty() {
            "$".to_owned()
        } else {
            path.to_owned()
        },
        reason: reason.into(),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];
const MAP_ENTRY: &str = "io.confluent.connect.avro.MapEntry";

/// One Avro schema (the registry's JSON text, parsed) with its named types.
#[derive(Debug, Clone)]
pub struct AvroJsonSchema {
    root: Value,
    named: HashMap<String, (Value, Option<String>)>,
}

impl AvroJsonSchema {
    /// Indexes the named types (records, enums, fixed) of `root`.
    pub fn new(root: Value) -> Result<AvroJsonSchema, MapError> {
        let mut named = HashMap::new();
        collect(&root, None, &mut named, "")?;
        Ok(AvroJsonSchema { root, named })
    }

    /// The Connect schema of the whole value.
    pub fn connect_schema(&self) -> Result<Value, MapError> {
        self.schema_of(&self.root, None, None, "")
    }

    /// The Connect payload of `value`, which was decoded with this schema.
    pub fn connect_value(&self, value: &Avro) -> Result<Value, MapError> {
        self.value_of(&self.root, None, value, "")
    }

    /// Resolves a type reference (a name, or an inline definition) to its
    /// definition and the namespace names inside it are relative to.
    fn resolve<'a>(
        &'a self,
        ty: &'a Value,
        ns: Option<&'a str>,
        path: &str,
    ) -> Result<(&'a Value, Option<&'a str>), MapError> {
        match ty {
            Value::String(name) if PRIMITIVES.contains(&name.as_str()) => Ok((ty, ns)),
            Value::String(name) => {
                let full = full_name(name, None, ns);
                let found = self
                    .named
                    .get(&full)
                    .or_else(|| self.named.get(name.as_str()));
                match found {
                    Some((def, def_ns)) => Ok((def, def_ns.as_deref())),
                    None => Err(err(path, format!("unknown avro type `{name}`"))),
                }
            }
            Value::Object(o) => {
                let inner = o
                    .get("name")
                    .and_then(Value::as_str)
                    .and_then(|n| self.named.get(&full_name(n, namespace_of(o), ns)));
                match inner {
                    Some((def, def_ns)) if is_named(o) => Ok((def, def_ns.as_deref())),
                    _ => Ok((ty, ns)),
                }
            }
            Value::Array(_) => Ok((ty, ns)),
            other => Err(err(path, format!("not an avro schema: {other}"))),
        }
    }

    /// `(branch, optional)`: the one non-null branch of a union, else the type.
    fn unwrap_union<'a>(
        &'a self,
        ty: &'a Value,
        path: &str,
    ) -> Result<(&'a Value, bool), MapError> {
        let Value::Array(branches) = ty else {
            return Ok((ty, false));
        };
        let non_null: Vec<&Value> = branches.iter().filter(|b| !is_null(b)).collect();
        match non_null.as_slice() {
            [one] => Ok((one, non_null.len() < branches.len())),
            [] => Err(err(path, "union of null only")),
            _ => Err(err(
                path,
                format!(
                    "union of {} non-null types: Debezium writes only [\"null\", T] unions",
                    non_null.len()
                ),
            )),
        }
    }

    fn schema_of(
        &self,
        ty: &Value,
        ns: Option<&str>,
        field_default: Option<&Value>,
        path: &str,
    ) -> Result<Value, MapError> {
        let (branch, optional) = self.unwrap_union(ty, path)?;
        let (def, ns) = self.resolve(branch, ns, path)?;
        let props = def.as_object();
        let prop = |k: &str| props.and_then(|p| p.get(k));
        let avro_type = type_name(def);
        let mut out = Map::new();
        let mut logical_name: Option<String> = None;
        let mut parameters: Option<Value> = prop("connect.parameters").cloned();
        let connect_type = match avro_type {
            "boolean" => "boolean",
            "int" => match prop("connect.type").and_then(Value::as_str) {
                Some("int8") => "int8",
                Some("int16") => "int16",
                _ => "int32",
            },
            "long" => "int64",
            "float" => "float",
            "double" => "double",
            "string" | "enum" => "string",
            "bytes" | "fixed" => "bytes",
            "array" => {
                let items = prop("items").ok_or_else(|| err(path, "array without items"))?;
                if let Some((k, v)) = self.map_entry(items, ns, path)? {
                    out.insert("type".into(), json!("map"));
                    out.insert("keys".into(), k);
                    out.insert("values".into(), v);
                    "map"
                } else {
                    out.insert("type".into(), json!("array"));
                    let items = self.schema_of(items, ns, None, &join(path, "items"))?;
                    out.insert("items".into(), items);
                    "array"
                }
            }
            "map" => {
                let values = prop("values").ok_or_else(|| err(path, "map without values"))?;
                out.insert("type".into(), json!("map"));
                out.insert("keys".into(), json!({"type": "string", "optional": false}));
                let values = self.schema_of(values, ns, None, &join(path, "values"))?;
                out.insert("values".into(), values);
                "map"
            }
            "record" => {
                out.insert("type".into(), json!("struct"));
                let mut fields = Vec::new();
                for f in record_fields(def, path)? {
                    let name = field_name(f, path)?;
                    let fpath = join(path, name);
                    let fty = f
                        .get("type")
                        .ok_or_else(|| err(&fpath, "field without type"))?;
                    let mut s = self.schema_of(fty, ns, f.get("default"), &fpath)?;
                    if let Value::Object(m) = &mut s {
                        m.insert("field".into(), json!(name));
                    }
                    fields.push(s);
                }
                out.insert("fields".into(), Value::Array(fields));
                "struct"
            }
            "null" => return Err(err(path, "a null type outside a union")),
            other => return Err(err(path, format!("unsupported avro type `{other}`"))),
        };
        if !out.contains_key("type") {
            out.insert("type".into(), json!(connect_type));
        }
        out.insert("optional".into(), json!(optional));
        // Connect's own logical types written by a non-Connect producer.
        match prop("logicalType").and_then(Value::as_str) {
            Some("decimal") if matches!(avro_type, "bytes" | "fixed") => {
                logical_name = Some("org.apache.kafka.connect.data.Decimal".into());
                if parameters.is_none() {
                    let scale = prop("scale").and_then(Value::as_i64).unwrap_or(0);
                    let mut p = Map::new();
                    p.insert("scale".into(), json!(scale.to_string()));
                    if let Some(precision) = prop("precision").and_then(Value::as_i64) {
                        p.insert(
                            "connect.decimal.precision".into(),
                            json!(precision.to_string()),
                        );
                    }
                    parameters = Some(Value::Object(p));
                }
            }
            Some("date") => logical_name = Some("org.apache.kafka.connect.data.Date".into()),
            Some("time-millis") => logical_name = Some("org.apache.kafka.connect.data.Time".into()),
            Some("timestamp-millis") => {
                logical_name = Some("org.apache.kafka.connect.data.Timestamp".into());
            }
            _ => {}
        }
        let name = prop("connect.name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(logical_name.clone())
            .or_else(|| {
                (avro_type == "record")
                    .then(|| def.get("name").and_then(Value::as_str))
                    .flatten()
                    .map(|n| full_name(n, props.and_then(namespace_of), ns))
            });
        if let Some(name) = &name {
            out.insert("name".into(), json!(name));
        }
        let version = prop("connect.version")
            .and_then(Value::as_i64)
            .or_else(|| (logical_name.is_some() && prop("connect.name").is_none()).then_some(1));
        if let Some(v) = version {
            out.insert("version".into(), json!(v));
        }
        if let Some(doc) = prop("connect.doc") {
            out.insert("doc".into(), doc.clone());
        }
        if let Some(p) = parameters {
            out.insert("parameters".into(), p);
        }
        let default = prop("connect.default").or(field_default.filter(|d| !d.is_null()));
        if let Some(d) = default {
            let bytes_like = matches!(connect_type, "bytes");
            out.insert("default".into(), default_value(d, bytes_like));
        }
        Ok(Value::Object(out))
    }

    /// For an array of Confluent `MapEntry` records: the Connect key and value schemas.
    fn map_entry(
        &self,
        items: &Value,
        ns: Option<&str>,
        path: &str,
    ) -> Result<Option<(Value, Value)>, MapError> {
        let (def, ns) = self.resolve(items, ns, path)?;
        if type_name(def) != "record"
            || def.get("connect.name").and_then(Value::as_str) != Some(MAP_ENTRY)
        {
            return Ok(None);
        }
        let fields = record_fields(def, path)?;
        let get = |n: &str| fields.iter().find(|f| f.get("name") == Some(&json!(n)));
        let (Some(k), Some(v)) = (get("key"), get("value")) else {
            return Err(err(path, "MapEntry record without key and value"));
        };
        let key = self.schema_of(&k["type"], ns, None, &join(path, "key"))?;
        let value = self.schema_of(&v["type"], ns, None, &join(path, "value"))?;
        Ok(Some((key, value)))
    }

    fn value_of(
        &self,
        ty: &Value,
        ns: Option<&str>,
        value: &Avro,
        path: &str,
    ) -> Result<Value, MapError> {
        let (ty, value) = match (ty, value) {
            (Value::Array(branches), Avro::Union(i, inner)) => {
                let b = branches
                    .get(*i as usize)
                    .ok_or_else(|| err(path, format!("union branch {i} not in the schema")))?;
                (b, inner.as_ref())
            }
            (Value::Array(_), Avro::Null) => return Ok(Value::Null),
            _ => (ty, value),
        };
        if let Avro::Null = value {
            return Ok(Value::Null);
        }
        let (def, ns) = self.resolve(ty, ns, path)?;
        let mismatch = || {
            err(
                path,
                format!(
                    "avro value {} does not fit type `{}`",
                    avro_kind(value),
                    type_name(def)
                ),
            )
        };
        Ok(match value {
            Avro::Null => Value::Null,
            Avro::Boolean(b) => json!(b),
            Avro::Int(i) | Avro::Date(i) | Avro::TimeMillis(i) => json!(i),
            Avro::Long(l)
            | Avro::TimeMicros(l)
            | Avro::TimestampMillis(l)
            | Avro::TimestampMicros(l)
            | Avro::TimestampNanos(l)
            | Avro::LocalTimestampMillis(l)
            | Avro::LocalTimestampMicros(l)
            | Avro::LocalTimestampNanos(l) => json!(l),
            Avro::Float(f) => float_json(f64_of_f32(*f)),
            Avro::Double(d) => float_json(*d),
            Avro::String(s) | Avro::Enum(_, s) => json!(s),
            Avro::Uuid(u) => json!(u.to_string()),
            Avro::Bytes(b) | Avro::Fixed(_, b) => json!(base64(b)),
            Avro::Decimal(d) => {
                let bytes = Vec::<u8>::try_from(d).map_err(|e| err(path, e.to_string()))?;
                json!(base64(&bytes))
            }
            Avro::BigDecimal(d) => json!(d.to_string()),
            Avro::Duration(_) => {
                return Err(err(path, "avro `duration` has no Kafka Connect equivalent"))
            }
            Avro::Union(_, _) => return Err(mismatch()),
            Avro::Array(items) => {
                let item_ty = def.get("items").ok_or_else(mismatch)?;
                let entry = self.map_entry(item_ty, ns, path)?.is_some();
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    let v = self.value_of(item_ty, ns, item, &p)?;
                    out.push(if entry {
                        let Value::Object(mut o) = v else {
                            return Err(err(&p, "MapEntry is not a record"));
                        };
                        json!([o.remove("key"), o.remove("value")])
                    } else {
                        v
                    });
                }
                Value::Array(out)
            }
            Avro::Map(entries) => {
                let values_ty = def.get("values").ok_or_else(mismatch)?;
                let mut keys: Vec<&String> = entries.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    let v = self.value_of(values_ty, ns, &entries[k], &join(path, k))?;
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            Avro::Record(fields) => {
                let schema_fields = record_fields(def, path).map_err(|_| mismatch())?;
                let mut out = Map::new();
                for (name, v) in fields {
                    let fpath = join(path, name);
                    let f = schema_fields
                        .iter()
                        .find(|f| f.get("name").and_then(Value::as_str) == Some(name))
                        .ok_or_else(|| err(&fpath, "field not in the schema"))?;
                    let fty = f.get("type").ok_or_else(|| err(&fpath, "no type"))?;
                    out.insert(name.clone(), self.value_of(fty, ns, v, &fpath)?);
                }
                Value::Object(out)
            }
        })
    }
}

/// Registers the named types under `ty` by full name, with their namespace.
fn collect(
    ty: &Value,
    ns: Option<&str>,
    named: &mut HashMap<String, (Value, Option<String>)>,
    path: &str,
) -> Result<(), MapError> {
    match ty {
        Value::Array(branches) => {
            for b in branches {
                collect(b, ns, named, path)?;
            }
        }
        Value::Object(o) => {
            let mut inner_ns = ns.map(str::to_owned);
            if is_named(o) {
                let name = o
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| err(path, "named type without a name"))?;
                let full = full_name(name, namespace_of(o), ns);
                inner_ns = full.rsplit_once('.').map(|(n, _)| n.to_owned());
                named.insert(full, (ty.clone(), inner_ns.clone()));
            }
            let inner = inner_ns.as_deref();
            match type_name(ty) {
                "record" => {
                    for f in record_fields(ty, path)? {
                        let fpath = join(path, field_name(f, path)?);
                        if let Some(t) = f.get("type") {
                            collect(t, inner, named, &fpath)?;
                        }
                    }
                }
                "array" => {
                    if let Some(t) = o.get("items") {
                        collect(t, inner, named, path)?;
                    }
                }
                "map" => {
                    if let Some(t) = o.get("values") {
                        collect(t, inner, named, path)?;
                    }
                }
                _ => {
                    if let Some(t @ (Value::Object(_) | Value::Array(_))) = o.get("type") {
                        collect(t, ns, named, path)?;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_named(o: &Map<String, Value>) -> bool {
    matches!(
        o.get("type").and_then(Value::as_str),
        Some("record" | "error" | "enum" | "fixed")
    )
}

fn namespace_of(o: &Map<String, Value>) -> Option<&str> {
    o.get("namespace").and_then(Value::as_str)
}

fn full_name(name: &str, namespace: Option<&str>, enclosing: Option<&str>) -> String {
    if name.contains('.') {
        return name.to_owned();
    }
    match namespace.or(enclosing).filter(|n| !n.is_empty()) {
        Some(n) => format!("{n}.{name}"),
        None => name.to_owned(),
    }
}

/// The Avro type name of a definition: `"int"`, `{"type": "int", ...}`,
/// `{"type": {"type": "int"}}` → `int`; `record`, `array`, ...
fn type_name(def: &Value) -> &str {
    match def {
        Value::String(s) => s,
        Value::Object(o) => match o.get("type") {
            Some(inner @ Value::Object(_)) => type_name(inner),
            Some(Value::String(s)) if s == "error" => "record",
            Some(Value::String(s)) => s,
            _ => "",
        },
        _ => "",
    }
}

fn is_null(ty: &Value) -> bool {
    type_name(ty) == "null"
}

fn record_fields<'a>(def: &'a Value, path: &str) -> Result<&'a Vec<Value>, MapError> {
    def.get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| err(path, "record without fields"))
}

fn field_name<'a>(f: &'a Value, path: &str) -> Result<&'a str, MapError> {
    f.get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| err(path, "record field without a name"))
}

/// A default value as JsonConverter writes it: bytes (Avro JSON encodes them
/// as a string of code points 0-255) become base64.
fn default_value(d: &Value, bytes_like: bool) -> Value {
    match d {
        Value::String(s) if bytes_like => {
            let bytes: Option<Vec<u8>> =
                s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
            match bytes {
                Some(b) => json!(base64(&b)),
                None => d.clone(),
            }
        }
        other => other.clone(),
    }
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The `f64` whose shortest text is the `f32`'s shortest text (`-3.4e38`,
/// not `-3.3999999521443642e38`), as Java's `Float.toString` gives it.
fn f64_of_f32(f: f32) -> f64 {
    if !f.is_finite() {
        return f64::from(f);
    }
    f.to_string().parse().unwrap_or(f64::from(f))
}

/// A JSON number; non-finite floats (which JSON cannot hold) as text.
fn float_json(d: f64) -> Value {
    match serde_json::Number::from_f64(d) {
        Some(n) => Value::Number(n),
        None if d.is_nan() => json!("NaN"),
        None if d > 0.0 => json!("Infinity"),
        None => json!("-Infinity"),
    }
}

fn avro_kind(v: &Avro) -> &'static str {
    match v {
        Avro::Null => "null",
        Avro::Boolean(_) => "boolean",
        Avro::Int(_) => "int",
        Avro::Long(_) => "long",
        Avro::Float(_) => "float",
        Avro::Double(_) => "double",
        Avro::Bytes(_) => "bytes",
        Avro::String(_) => "string",
        Avro::Fixed(..) => "fixed",
        Avro::Enum(..) => "enum",
        Avro::Union(..) => "union",
        Avro::Array(_) => "array",
        Avro::Map(_) => "map",
        Avro::Record(_) => "record",
        Avro::Date(_) => "date",
        Avro::Decimal(_) => "decimal",
        Avro::BigDecimal(_) => "big-decimal",
        Avro::TimeMillis(_) => "time-millis",
        Avro::TimeMicros(_) => "time-micros",
        Avro::TimestampMillis(_) => "timestamp-millis",
        Avro::TimestampMicros(_) => "timestamp-micros",
        Avro::TimestampNanos(_) => "timestamp-nanos",
        Avro::LocalTimestampMillis(_) => "local-timestamp-millis",
        Avro::LocalTimestampMicros(_) => "local-timestamp-micros",
        Avro::LocalTimestampNanos(_) => "local-timestamp-nanos",
        Avro::Duration(_) => "duration",
        Avro::Uuid(_) => "uuid",
    }
}
