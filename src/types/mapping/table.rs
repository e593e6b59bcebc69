//! The rows of the mapping table. Order matters only within a key kind: the
//! first row whose dialect and key match wins.

use super::rules::loss;
use super::{Applies, Example, Key, MappingRow, Rule};

const fn ex(name: &'static str) -> Example {
    Example::named(name)
}

const fn len(name: &'static str, length: u64) -> Example {
    Example {
        length: Some(length),
        ..Example::named(name)
    }
}

const fn text(name: &'static str, length: u64, charset: &'static str) -> Example {
    Example {
        length: Some(length),
        charset: Some(charset),
        ..Example::named(name)
    }
}

const fn unsigned(name: &'static str) -> Example {
    Example {
        unsigned: true,
        ..Example::named(name)
    }
}

const fn dec(name: &'static str, p: u64, s: u32) -> Example {
    Example {
        length: Some(p),
        scale: Some(s),
        ..Example::named(name)
    }
}

const fn sem(semantic: &'static str, connect: &'static str) -> Example {
    Example {
        semantic: Some(semantic),
        connect: Some(connect),
        ..Example::named("")
    }
}

const fn conn(connect: &'static str) -> Example {
    Example {
        connect: Some(connect),
        ..Example::named("")
    }
}

const fn row(
    applies: Applies,
    key: Key,
    source: &'static str,
    rule: Rule,
    target: &'static str,
    note: &'static str,
    example: Example,
) -> MappingRow {
    MappingRow {
        applies,
        key,
        source,
        rule,
        target,
        note,
        example,
    }
}

use Applies::{Both, Mysql, Postgres};
use Key::{Connect, Native, NativeArray, Semantic};

/// The mapping table (see the module docs).
#[rustfmt::skip]
pub static MAPPING_TABLE: &[MappingRow] = &[
    // ---- MySQL / MariaDB, by native type -------------------------------------------------
    row(Mysql, Native(&["BOOLEAN", "BOOL"]), "BOOLEAN", Rule::Boolean, "BOOLEAN", "", ex("BOOLEAN")),
    row(Mysql, Native(&["TINYINT"]), "TINYINT[(M)] [UNSIGNED]", Rule::TinyInt, "TINYINT; TINYINT(1) → BOOLEAN (option `tinyint1_as_boolean`); UNSIGNED → SMALLINT", "Debezium sends TINYINT(1) as a number.", len("TINYINT", 1)),
    row(Mysql, Native(&["SMALLINT"]), "SMALLINT [UNSIGNED]", Rule::Integer(16), "SMALLINT; UNSIGNED → INT", "", unsigned("SMALLINT")),
    row(Mysql, Native(&["MEDIUMINT"]), "MEDIUMINT [UNSIGNED]", Rule::Integer(24), "INT", "", ex("MEDIUMINT")),
    row(Mysql, Native(&["INT", "INTEGER"]), "INT [UNSIGNED]", Rule::Integer(32), "INT; UNSIGNED → BIGINT", "", unsigned("INT")),
    row(Mysql, Native(&["BIGINT"]), "BIGINT [UNSIGNED]", Rule::Integer(64), "BIGINT; UNSIGNED → LARGEINT", "LARGEINT holds every BIGINT UNSIGNED value (Flink CDC uses DECIMAL(20,0)).", unsigned("BIGINT")),
    row(Mysql, Native(&["SERIAL"]), "SERIAL", Rule::LargeInt, "LARGEINT", "SERIAL is BIGINT UNSIGNED.", ex("SERIAL")),
    row(Mysql, Native(&["BIT"]), "BIT(n)", Rule::Bit, "BIT(1) → BOOLEAN; n ≤ 63 → BIGINT; n = 64 → LARGEINT", "Debezium sends BIT(n>1) as little-endian bytes: the loader writes them as an integer.", len("BIT", 8)),
    row(Mysql, Native(&["FLOAT"]), "FLOAT", Rule::Float, "FLOAT", "", ex("FLOAT")),
    row(Mysql, Native(&["DOUBLE", "REAL"]), "DOUBLE, REAL", Rule::Double, "DOUBLE", "", ex("DOUBLE")),
    row(Mysql, Native(&["DECIMAL", "NUMERIC", "DEC", "FIXED"]), "DECIMAL(p,s)", Rule::Decimal { default_precision: Some(10), }, "DECIMAL(p,s) for p ≤ 38; wider per `wide_decimal`", "Without precision MySQL means DECIMAL(10,0).", dec("DECIMAL", 65, 10)),
    row(Mysql, Native(&["CHAR"]), "CHAR(n)", Rule::Char { unbounded: false }, "CHAR(n × bytes/char) when ≤ 255 bytes, else VARCHAR", "", text("CHAR", 100, "utf8mb4")),
    row(Mysql, Native(&["VARCHAR"]), "VARCHAR(n)", Rule::Varchar, "VARCHAR(min(n × bytes/char, max))", "bytes/char: utf8mb4 4, utf8/utf8mb3 3, latin1/ascii 1, unknown `default_bytes_per_char`.", text("VARCHAR", 255, "utf8mb4")),
    row(Mysql, Native(&["TINYTEXT"]), "TINYTEXT", Rule::TextBytes(255), "VARCHAR(255)", "TEXT limits are bytes.", ex("TINYTEXT")),
    row(Mysql, Native(&["TEXT"]), "TEXT", Rule::TextBytes(65_535), "VARCHAR(65535)", "", ex("TEXT")),
    row(Mysql, Native(&["MEDIUMTEXT"]), "MEDIUMTEXT", Rule::TextBytes(16_777_215), "VARCHAR(max)", "", ex("MEDIUMTEXT")),
    row(Mysql, Native(&["LONGTEXT"]), "LONGTEXT", Rule::TextBytes(4_294_967_295), "VARCHAR(max)", "", ex("LONGTEXT")),
    row(Mysql, Native(&["BINARY", "VARBINARY"]), "BINARY(n), VARBINARY(n)", Rule::Binary, "VARCHAR(max(2n, 4⌈n/3⌉))", "Sized for hex or base64 text.", len("VARBINARY", 16)),
    row(Mysql, Native(&["TINYBLOB"]), "TINYBLOB", Rule::BlobBytes(255), "VARCHAR(510)", "", ex("TINYBLOB")),
    row(Mysql, Native(&["BLOB"]), "BLOB", Rule::BlobBytes(65_535), "VARCHAR(131070)", "", ex("BLOB")),
    row(Mysql, Native(&["MEDIUMBLOB", "LONGBLOB"]), "MEDIUMBLOB, LONGBLOB", Rule::BlobBytes(16_777_215), "VARCHAR(max)", "", ex("LONGBLOB")),
    row(Mysql, Native(&["JSON"]), "JSON", Rule::Json, "JSON", "", ex("JSON")),
    row(Mysql, Native(&["ENUM"]), "ENUM(...)", Rule::Enum, "VARCHAR(longest value × bytes/char)", "No values known: 255 characters.", Example { values: &["small", "medium", "large"], charset: Some("utf8mb4"), ..Example::named("ENUM") }),
    row(Mysql, Native(&["SET"]), "SET(...)", Rule::Set, "VARCHAR((all values + commas) × bytes/char)", "", Example { values: &["a", "b", "c"], charset: Some("latin1"), ..Example::named("SET") }),
    row(Mysql, Native(&["YEAR"]), "YEAR", Rule::Integer(32), "INT", "Debezium sends an int32.", ex("YEAR")),
    row(Mysql, Native(&["DATE"]), "DATE", Rule::Date, "DATE", "", ex("DATE")),
    row(Mysql, Native(&["TIME"]), "TIME(p)", Rule::TimeText(32), "VARCHAR(32)", "Text `[-]HHH:MM:SS[.ffffff]`.", ex("TIME")),
    row(Mysql, Native(&["DATETIME"]), "DATETIME(p)", Rule::Datetime, "DATETIME", "", len("DATETIME", 6)),
    row(Mysql, Native(&["TIMESTAMP"]), "TIMESTAMP(p)", Rule::ZonedDatetime, "DATETIME", "Debezium sends UTC (ZonedTimestamp); stored as UTC.", ex("TIMESTAMP")),
    row(Mysql, Native(&["GEOMETRY", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION", "GEOMCOLLECTION"]), "GEOMETRY and other spatial types", Rule::Spatial, "VARCHAR(max)", "", ex("POINT")),
    row(Mysql, Native(&["VECTOR"]), "VECTOR(n)", Rule::FloatArray, "ARRAY<FLOAT>", "", ex("VECTOR")),
    row(Mysql, Native(&["INET4"]), "INET4 (MariaDB)", Rule::FixedVarchar(15, None), "VARCHAR(15)", "", ex("INET4")),
    row(Mysql, Native(&["INET6"]), "INET6 (MariaDB)", Rule::FixedVarchar(45, None), "VARCHAR(45)", "", ex("INET6")),
    row(Both, Native(&["UUID"]), "UUID", Rule::FixedVarchar(36, None), "VARCHAR(36)", "", ex("UUID")),
    // ---- PostgreSQL, by native type --------------------------------------------------------
    row(Postgres, Native(&["BOOL", "BOOLEAN"]), "boolean", Rule::Boolean, "BOOLEAN", "", ex("BOOL")),
    row(Postgres, Native(&["INT2", "SMALLINT", "SMALLSERIAL", "SERIAL2"]), "int2, smallserial", Rule::Integer(16), "SMALLINT", "", ex("INT2")),
    row(Postgres, Native(&["INT4", "INTEGER", "INT", "SERIAL", "SERIAL4"]), "int4, serial", Rule::Integer(32), "INT", "", ex("INT4")),
    row(Postgres, Native(&["INT8", "BIGINT", "BIGSERIAL", "SERIAL8", "OID"]), "int8, bigserial, oid", Rule::Integer(64), "BIGINT", "", ex("INT8")),
    row(Postgres, Native(&["FLOAT4", "REAL"]), "float4, real", Rule::Float, "FLOAT", "", ex("FLOAT4")),
    row(Postgres, Native(&["FLOAT8", "DOUBLE", "FLOAT"]), "float8, double precision", Rule::Double, "DOUBLE", "", ex("FLOAT8")),
    row(Postgres, Native(&["NUMERIC", "DECIMAL"]), "numeric(p,s), numeric", Rule::Decimal { default_precision: None, }, "DECIMAL(p,s) for p ≤ 38; wider or without precision per `wide_decimal`", "numeric without precision arrives as VariableScaleDecimal.", ex("NUMERIC")),
    row(Postgres, Native(&["MONEY"]), "money", Rule::Money, "DECIMAL(19, 2)", "money is a 64-bit count of cents.", ex("MONEY")),
    row(Postgres, Native(&["VARCHAR"]), "varchar(n)", Rule::Varchar, "VARCHAR(min(n × 4, max)); no length → VARCHAR(max)", "PostgreSQL lengths are characters; UTF8 is 4 bytes/char.", len("VARCHAR", 100)),
    row(Postgres, Native(&["CHAR"]), "char(n)", Rule::Char { unbounded: false }, "CHAR(n × 4) when ≤ 255 bytes, else VARCHAR", "", len("CHAR", 10)),
    row(Postgres, Native(&["BPCHAR"]), "bpchar(n)", Rule::Char { unbounded: true }, "as char(n); no length → VARCHAR(max)", "", len("BPCHAR", 80)),
    row(Postgres, Native(&["TEXT", "CITEXT", "NAME", "LTREE", "TSVECTOR", "TSQUERY", "INT4RANGE", "INT8RANGE", "NUMRANGE", "TSRANGE", "TSTZRANGE", "DATERANGE"]), "text, citext, name, ltree, tsvector, ranges", Rule::MaxVarchar(None), "VARCHAR(max)", "", ex("TEXT")),
    row(Postgres, Native(&["XML"]), "xml", Rule::MaxVarchar(None), "VARCHAR(max)", "", ex("XML")),
    row(Postgres, Native(&["BYTEA"]), "bytea", Rule::MaxVarchar(Some(loss::BINARY_AS_TEXT)), "VARCHAR(max)", "", ex("BYTEA")),
    row(Postgres, Native(&["JSON", "JSONB"]), "json, jsonb", Rule::Json, "JSON", "", ex("JSONB")),
    row(Postgres, Native(&["HSTORE", "SPARSEVEC"]), "hstore, sparsevec", Rule::Json, "JSON", "Debezium sends a JSON object.", ex("HSTORE")),
    row(Postgres, Native(&["DATE"]), "date", Rule::Date, "DATE", "", ex("DATE")),
    row(Postgres, Native(&["TIMESTAMP"]), "timestamp(p)", Rule::Datetime, "DATETIME", "Without precision PostgreSQL keeps microseconds.", ex("TIMESTAMP")),
    row(Postgres, Native(&["TIMESTAMPTZ"]), "timestamptz(p)", Rule::ZonedDatetime, "DATETIME", "Debezium sends UTC (ZonedTimestamp); stored as UTC.", ex("TIMESTAMPTZ")),
    row(Postgres, Native(&["TIME", "TIMETZ"]), "time, timetz", Rule::TimeText(32), "VARCHAR(32)", "", ex("TIMETZ")),
    row(Postgres, Native(&["INTERVAL"]), "interval", Rule::TimeText(64), "VARCHAR(64)", "", ex("INTERVAL")),
    row(Postgres, Native(&["BIT"]), "bit(n)", Rule::Bit, "bit(1) → BOOLEAN; n ≤ 63 → BIGINT; n = 64 → LARGEINT; longer → VARCHAR(n)", "", len("BIT", 100)),
    row(Postgres, Native(&["VARBIT"]), "varbit", Rule::MaxVarchar(Some(loss::BITS_AS_TEXT)), "VARCHAR(max)", "", ex("VARBIT")),
    row(Postgres, Native(&["INET", "CIDR"]), "inet, cidr", Rule::FixedVarchar(64, None), "VARCHAR(64)", "", ex("INET")),
    row(Postgres, Native(&["MACADDR"]), "macaddr", Rule::FixedVarchar(17, None), "VARCHAR(17)", "", ex("MACADDR")),
    row(Postgres, Native(&["MACADDR8"]), "macaddr8", Rule::FixedVarchar(23, None), "VARCHAR(23)", "", ex("MACADDR8")),
    row(Postgres, Native(&["GEOMETRY", "GEOGRAPHY", "POINT", "LINE", "LSEG", "BOX", "PATH", "POLYGON", "CIRCLE"]), "PostGIS geometry/geography, geometric types", Rule::Spatial, "VARCHAR(max)", "", ex("GEOMETRY")),
    row(Postgres, Native(&["VECTOR"]), "vector", Rule::DoubleArray, "ARRAY<DOUBLE>", "", ex("VECTOR")),
    row(Postgres, Native(&["HALFVEC"]), "halfvec", Rule::FloatArray, "ARRAY<FLOAT>", "", ex("HALFVEC")),
    row(Postgres, NativeArray, "arrays (`_int4`, `int4[]`)", Rule::Array, "ARRAY<mapped element>", "The element is mapped by this table (as a non-key column).", ex("_INT4")),
    // ---- By Debezium semantic type (native type unknown) -----------------------------------
    row(Both, Semantic(&["io.debezium.time.Date", "org.apache.kafka.connect.data.Date", "io.debezium.time.IsoDate", "io.debezium.time.StructuredDate"]), "io.debezium.time.Date and other dates", Rule::Date, "DATE", "", sem("io.debezium.time.Date", "int32")),
    row(Both, Semantic(&["io.debezium.time.Timestamp", "io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp", "org.apache.kafka.connect.data.Timestamp", "io.debezium.time.IsoTimestamp", "io.debezium.time.StructuredTimestamp"]), "io.debezium.time.(Micro|Nano)Timestamp", Rule::Datetime, "DATETIME", "", sem("io.debezium.time.MicroTimestamp", "int64")),
    row(Both, Semantic(&["io.debezium.time.ZonedTimestamp", "io.debezium.time.StructuredZonedTimestamp"]), "io.debezium.time.ZonedTimestamp", Rule::ZonedDatetime, "DATETIME", "", sem("io.debezium.time.ZonedTimestamp", "string")),
    row(Both, Semantic(&["io.debezium.time.Time", "io.debezium.time.MicroTime", "io.debezium.time.NanoTime", "org.apache.kafka.connect.data.Time", "io.debezium.time.IsoTime", "io.debezium.time.ZonedTime", "io.debezium.time.StructuredTime", "io.debezium.time.StructuredZonedTime"]), "io.debezium.time.(Micro|Nano|Zoned)Time", Rule::TimeText(32), "VARCHAR(32)", "", sem("io.debezium.time.MicroTime", "int64")),
    row(Both, Semantic(&["io.debezium.time.MicroDuration", "io.debezium.time.Interval", "io.debezium.time.StructuredDuration"]), "io.debezium.time.MicroDuration, Interval", Rule::TimeText(64), "VARCHAR(64)", "", sem("io.debezium.time.MicroDuration", "int64")),
    row(Both, Semantic(&["io.debezium.time.Year"]), "io.debezium.time.Year", Rule::Integer(32), "INT", "", sem("io.debezium.time.Year", "int32")),
    row(Both, Semantic(&["org.apache.kafka.connect.data.Decimal"]), "Connect Decimal(p,s)", Rule::Decimal { default_precision: None, }, "DECIMAL(p,s); unknown precision per `wide_decimal`", "", Example { length: Some(12), scale: Some(2), ..sem("org.apache.kafka.connect.data.Decimal", "bytes") }),
    row(Both, Semantic(&["io.debezium.data.VariableScaleDecimal"]), "io.debezium.data.VariableScaleDecimal", Rule::VariableDecimal, "per `wide_decimal`", "", sem("io.debezium.data.VariableScaleDecimal", "struct")),
    row(Both, Semantic(&["io.debezium.data.Json"]), "io.debezium.data.Json", Rule::Json, "JSON", "", sem("io.debezium.data.Json", "string")),
    row(Both, Semantic(&["io.debezium.data.Xml", "io.debezium.data.Ltree", "io.debezium.data.Tsvector"]), "io.debezium.data.Xml, Ltree, Tsvector", Rule::MaxVarchar(None), "VARCHAR(max)", "", sem("io.debezium.data.Xml", "string")),
    row(Both, Semantic(&["io.debezium.data.Uuid"]), "io.debezium.data.Uuid", Rule::FixedVarchar(36, None), "VARCHAR(36)", "", sem("io.debezium.data.Uuid", "string")),
    row(Both, Semantic(&["io.debezium.data.Enum"]), "io.debezium.data.Enum (incl. PostgreSQL enums)", Rule::Enum, "VARCHAR(longest value × bytes/char)", "", Example { values: &["sad", "ok", "happy"], ..sem("io.debezium.data.Enum", "string") }),
    row(Both, Semantic(&["io.debezium.data.EnumSet"]), "io.debezium.data.EnumSet", Rule::Set, "VARCHAR((all values + commas) × bytes/char)", "", sem("io.debezium.data.EnumSet", "string")),
    row(Both, Semantic(&["io.debezium.data.Bits"]), "io.debezium.data.Bits", Rule::Bit, "as BIT(n)", "", Example { length: Some(8), ..sem("io.debezium.data.Bits", "bytes") }),
    row(Both, Semantic(&["io.debezium.data.geometry.Geometry", "io.debezium.data.geometry.Geography", "io.debezium.data.geometry.Point", "io.debezium.data.geometry.Circle", "io.debezium.data.geometry.Line"]), "io.debezium.data.geometry.*", Rule::Spatial, "VARCHAR(max)", "", sem("io.debezium.data.geometry.Geometry", "struct")),
    row(Both, Semantic(&["io.debezium.data.DoubleVector"]), "io.debezium.data.DoubleVector", Rule::DoubleArray, "ARRAY<DOUBLE>", "", sem("io.debezium.data.DoubleVector", "array")),
    row(Both, Semantic(&["io.debezium.data.FloatVector"]), "io.debezium.data.FloatVector", Rule::FloatArray, "ARRAY<FLOAT>", "", sem("io.debezium.data.FloatVector", "array")),
    row(Both, Semantic(&["io.debezium.data.SparseVector"]), "io.debezium.data.SparseVector", Rule::Json, "JSON", "", sem("io.debezium.data.SparseVector", "struct")),
    // ---- By Kafka Connect type (last resort) -----------------------------------------------
    row(Both, Connect(&["boolean"]), "boolean", Rule::Boolean, "BOOLEAN", "", conn("boolean")),
    row(Both, Connect(&["int8"]), "int8", Rule::TinyInt, "TINYINT", "", conn("int8")),
    row(Both, Connect(&["int16"]), "int16", Rule::Integer(16), "SMALLINT", "", conn("int16")),
    row(Both, Connect(&["int32"]), "int32", Rule::Integer(32), "INT", "", conn("int32")),
    row(Both, Connect(&["int64"]), "int64", Rule::Integer(64), "BIGINT", "", conn("int64")),
    row(Both, Connect(&["float32"]), "float32", Rule::Float, "FLOAT", "", conn("float32")),
    row(Both, Connect(&["float64"]), "float64", Rule::Double, "DOUBLE", "", conn("float64")),
    row(Both, Connect(&["string"]), "string", Rule::MaxVarchar(None), "VARCHAR(max)", "The source length is unknown.", conn("string")),
    row(Both, Connect(&["bytes"]), "bytes", Rule::MaxVarchar(Some(loss::BINARY_AS_TEXT)), "VARCHAR(max)", "", conn("bytes")),
    row(Both, Connect(&["array"]), "array", Rule::UnknownArray, "ARRAY<VARCHAR(max)>", "The element type is not carried by the model.", conn("array")),
    row(Both, Connect(&["map", "struct"]), "map, struct", Rule::Json, "JSON", "", conn("struct")),
];
