//! Schema-change topic values (MySQL family): `databaseName`, `ddl` and
//! `tableChanges[]` with the full column list after the change.
//!
//! Owns [`SchemaChangeEvent`], [`TableChange`] and the decoding of a
//! `tableChanges[].table` into a [`SourceTable`]. Every column field may be
//! absent, null or present (they differ between Debezium versions). A table
//! change's `id` may carry two names (`old,new` or `new,old`, see
//! [`IdOrder`]); the order is settled with `previousId` when present, else with
//! the renames found in `ddl`, else left [`IdOrder::Ambiguous`] for the history
//! (which knows which of the two tables exists) to settle.

use serde_json::{Map, Value};

use super::{ddl, dialect_of, fill_native_position, kind_of, Ctx, Result};
use crate::model::{
    ColumnId, SourceColumn, SourceDialect, SourcePosition, SourceTable, SourceType, TableId,
};

/// One value of the schema-change topic.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaChangeEvent {
    /// `databaseName`: the database the statement ran in.
    pub database: Option<String>,
    /// `schemaName` (null for MySQL).
    pub schema_name: Option<String>,
    /// The statement, as Debezium reports it (may be empty or absent).
    pub ddl: Option<String>,
    /// Source family.
    pub dialect: SourceDialect,
    /// Tables changed by the statement, each with its full structure after it.
    pub table_changes: Vec<TableChange>,
}

/// `tableChanges[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableChangeKind {
    /// `CREATE`.
    Create,
    /// `ALTER` (also used by Debezium for table renames).
    Alter,
    /// `DROP` (no `table` structure).
    Drop,
    /// `TRUNCATE` (not emitted by current connectors; accepted).
    Truncate,
}

/// How the two names of a table change's `id` were ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdOrder {
    /// One name only.
    Single,
    /// A `previousId` field named the old table.
    PreviousId,
    /// `old,new` (confirmed by the ddl's renames).
    OldNew,
    /// `new,old` (confirmed by the ddl's renames).
    NewOld,
    /// Two names and nothing to tell their order: `id` holds the second,
    /// `previous_id` the first (the documented `old,new` order).
    Ambiguous,
}

/// One entry of `tableChanges`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableChange {
    /// What happened.
    pub kind: TableChangeKind,
    /// The table's name after the change.
    pub id: TableId,
    /// The table's name before the change, when `id` carried two names or a
    /// `previousId` was given.
    pub previous_id: Option<TableId>,
    /// How `id` / `previous_id` were told apart.
    pub id_order: IdOrder,
    /// `id` exactly as Debezium wrote it.
    pub raw_id: String,
    /// The table after the change (`None` for DROP). Column ids are provisional
    /// (the column's position); the history assigns the real ones.
    pub table: Option<SourceTable>,
}

/// Decodes a schema-change payload. `outer_source` is the record's `source`
/// when the payload is a Flink CDC `historyRecord`.
pub(crate) fn decode(
    payload: &Map<String, Value>,
    outer_source: Option<&Value>,
    ctx: &Ctx,
    position: &mut SourcePosition,
) -> Result<SchemaChangeEvent> {
    let source = outer_source
        .and_then(Value::as_object)
        .or_else(|| payload.get("source").and_then(Value::as_object));
    let dialect = dialect_of(source, ctx)?;
    fill_native_position(source, position);
    position.ts_ms = source
        .and_then(|s| s.get("ts_ms"))
        .and_then(Value::as_i64)
        .or_else(|| payload.get("ts_ms").and_then(Value::as_i64));
    let database = opt_str(payload, "databaseName", "payload.databaseName", ctx)?;
    let schema_name = opt_str(payload, "schemaName", "payload.schemaName", ctx)?;
    let ddl_text = opt_str(payload, "ddl", "payload.ddl", ctx)?;
    let changes = match payload.get("tableChanges") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => {
            return Err(ctx.invalid(
                "payload.tableChanges",
                format!("expected an array, found {}", kind_of(other)),
            ))
        }
    };
    let renames = ddl_text
        .as_deref()
        .map(|d| ddl::analyze(d).table_renames)
        .unwrap_or_default();
    let default_db = database.clone().unwrap_or_default();
    let mut table_changes = Vec::with_capacity(changes.len());
    for (i, change) in changes.iter().enumerate() {
        let path = format!("payload.tableChanges[{i}]");
        let Value::Object(change) = change else {
            return Err(ctx.invalid(
                &path,
                format!("expected an object, found {}", kind_of(change)),
            ));
        };
        table_changes.push(decode_change(
            change,
            &path,
            &default_db,
            dialect,
            &renames,
            ctx,
        )?);
    }
    Ok(SchemaChangeEvent {
        database,
        schema_name,
        ddl: ddl_text,
        dialect,
        table_changes,
    })
}

fn decode_change(
    change: &Map<String, Value>,
    path: &str,
    default_db: &str,
    dialect: SourceDialect,
    renames: &[ddl::TableRename],
    ctx: &Ctx,
) -> Result<TableChange> {
    let kind_text = opt_str(change, "type", &format!("{path}.type"), ctx)?
        .ok_or_else(|| ctx.not_debezium(format!("missing field `{path}.type`")))?;
    let kind = match kind_text.to_ascii_uppercase().as_str() {
        "CREATE" => TableChangeKind::Create,
        "ALTER" => TableChangeKind::Alter,
        "DROP" => TableChangeKind::Drop,
        "TRUNCATE" => TableChangeKind::Truncate,
        _ => {
            return Err(ctx.invalid(
                &format!("{path}.type"),
                format!("unknown table change type `{kind_text}`"),
            ))
        }
    };
    let raw_id = opt_str(change, "id", &format!("{path}.id"), ctx)?
        .ok_or_else(|| ctx.not_debezium(format!("missing field `{path}.id`")))?;
    let names = parse_id(&raw_id).ok_or_else(|| {
        ctx.invalid(
            &format!("{path}.id"),
            format!("cannot read table id `{raw_id}`"),
        )
    })?;
    let ids: Vec<TableId> = names.iter().map(|n| table_id_of(n, default_db)).collect();
    let explicit_prev = opt_str(change, "previousId", &format!("{path}.previousId"), ctx)?
        .and_then(|p| parse_id(&p))
        .and_then(|n| n.first().map(|n| table_id_of(n, default_db)));
    let (id, previous_id, id_order) = match (ids.as_slice(), explicit_prev) {
        ([one], Some(prev)) => (one.clone(), Some(prev), IdOrder::PreviousId),
        ([one], None) => (one.clone(), None, IdOrder::Single),
        ([a, b], _) => order_pair(a, b, renames, default_db),
        _ => {
            return Err(ctx.invalid(
                &format!("{path}.id"),
                format!(
                    "expected one or two table names, found {} in `{raw_id}`",
                    ids.len()
                ),
            ))
        }
    };
    let table = match change.get("table") {
        None | Some(Value::Null) => None,
        Some(Value::Object(t)) => Some(decode_table(
            t,
            &id,
            dialect,
            &format!("{path}.table"),
            ctx,
        )?),
        Some(other) => {
            return Err(ctx.invalid(
                &format!("{path}.table"),
                format!("expected an object, found {}", kind_of(other)),
            ))
        }
    };
    if table.is_none() && matches!(kind, TableChangeKind::Create | TableChangeKind::Alter) {
        return Err(ctx.invalid(
            &format!("{path}.table"),
            format!("missing table structure for a {kind_text} change"),
        ));
    }
    Ok(TableChange {
        kind,
        id,
        previous_id,
        id_order,
        raw_id,
        table,
    })
}

/// Orders the two names of an `id` with the ddl's table renames.
fn order_pair(
    a: &TableId,
    b: &TableId,
    renames: &[ddl::TableRename],
    default_db: &str,
) -> (TableId, Option<TableId>, IdOrder) {
    for r in renames {
        let from = r.from.to_table_id(default_db);
        let to = r.to.to_table_id(default_db);
        if same_table(&from, a) && same_table(&to, b) {
            return (b.clone(), Some(a.clone()), IdOrder::OldNew);
        }
        if same_table(&from, b) && same_table(&to, a) {
            return (a.clone(), Some(b.clone()), IdOrder::NewOld);
        }
    }
    (b.clone(), Some(a.clone()), IdOrder::Ambiguous)
}

/// Table names compared as MySQL does on case-insensitive file systems.
pub(crate) fn same_table(x: &TableId, y: &TableId) -> bool {
    x.database.eq_ignore_ascii_case(&y.database) && x.table.eq_ignore_ascii_case(&y.table)
}

fn table_id_of(parts: &[String], default_db: &str) -> TableId {
    match parts {
        [] => TableId::new(default_db, ""),
        [t] => TableId::new(default_db, t.as_str()),
        [.., d, t] => TableId::new(d.as_str(), t.as_str()),
    }
}

/// Parses `"db"."t"`, `db.t`, `` `db`.`t` `` and two such names separated by a
/// comma. Returns the names, each as its dotted parts.
pub(crate) fn parse_id(raw: &str) -> Option<Vec<Vec<String>>> {
    let mut names = vec![Vec::new()];
    let mut part = String::new();
    let mut chars = raw.chars().peekable();
    let mut quoted_part = false;
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' => {
                let q = c;
                loop {
                    match chars.next() {
                        None => return None,
                        Some(x) if x == q => {
                            if chars.peek() == Some(&q) {
                                chars.next();
                                part.push(q);
                            } else {
                                break;
                            }
                        }
                        Some(x) => part.push(x),
                    }
                }
                quoted_part = true;
            }
            '.' | ',' => {
                if part.is_empty() && !quoted_part {
                    return None;
                }
                names.last_mut()?.push(std::mem::take(&mut part));
                quoted_part = false;
                if c == ',' {
                    names.push(Vec::new());
                }
            }
            c if c.is_whitespace() && !quoted_part && part.is_empty() => {}
            c => part.push(c),
        }
    }
    if part.is_empty() && !quoted_part {
        return None;
    }
    names.last_mut()?.push(part);
    Some(names)
}

fn decode_table(
    t: &Map<String, Value>,
    id: &TableId,
    dialect: SourceDialect,
    path: &str,
    ctx: &Ctx,
) -> Result<SourceTable> {
    let columns_value = match t.get("columns") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => {
            return Err(ctx.invalid(
                &format!("{path}.columns"),
                format!("expected an array, found {}", kind_of(other)),
            ))
        }
    };
    let mut columns = Vec::with_capacity(columns_value.len());
    for (i, c) in columns_value.iter().enumerate() {
        let cpath = format!("{path}.columns[{i}]");
        let Value::Object(c) = c else {
            return Err(ctx.invalid(&cpath, format!("expected an object, found {}", kind_of(c))));
        };
        columns.push(decode_column(c, i, &cpath, ctx)?);
    }
    columns.sort_by_key(|c| c.position);
    let primary_key = str_array(
        t,
        "primaryKeyColumnNames",
        &format!("{path}.primaryKeyColumnNames"),
        ctx,
    )?;
    Ok(SourceTable {
        id: id.clone(),
        dialect,
        columns,
        primary_key,
        charset: opt_str(
            t,
            "defaultCharsetName",
            &format!("{path}.defaultCharsetName"),
            ctx,
        )?,
        comment: opt_str(t, "comment", &format!("{path}.comment"), ctx)?,
    })
}

fn decode_column(
    c: &Map<String, Value>,
    index: usize,
    path: &str,
    ctx: &Ctx,
) -> Result<SourceColumn> {
    let f = |k: &str| format!("{path}.{k}");
    let name = opt_str(c, "name", &f("name"), ctx)?
        .ok_or_else(|| ctx.not_debezium(format!("missing field `{}`", f("name"))))?;
    let type_text = match opt_str(c, "typeName", &f("typeName"), ctx)? {
        Some(t) => t,
        None => opt_str(c, "typeExpression", &f("typeExpression"), ctx)?
            .ok_or_else(|| ctx.not_debezium(format!("missing field `{}`", f("typeName"))))?,
    };
    let (type_name, unsigned) = normalize_type_name(&type_text);
    let position = match opt_i64(c, "position", &f("position"), ctx)? {
        Some(p) => u32::try_from(p)
            .map_err(|_| ctx.invalid(&f("position"), format!("out of range: {p}")))?,
        None => u32::try_from(index + 1).unwrap_or(u32::MAX),
    };
    let length = opt_i64(c, "length", &f("length"), ctx)?.and_then(|l| u64::try_from(l).ok());
    let scale = opt_i64(c, "scale", &f("scale"), ctx)?.and_then(|s| u32::try_from(s).ok());
    let enum_values = str_array(c, "enumValues", &f("enumValues"), ctx)?
        .into_iter()
        .map(|v| unquote_enum_value(&v))
        .collect();
    let nullable = opt_bool(c, "optional", &f("optional"), ctx)?.unwrap_or(true);
    let default = match c.get("defaultValueExpression") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
        Some(other) => {
            return Err(ctx.invalid(
                &f("defaultValueExpression"),
                format!("expected a string, found {}", kind_of(other)),
            ))
        }
    };
    Ok(SourceColumn {
        id: ColumnId(position),
        name,
        former_names: Vec::new(),
        position,
        ty: SourceType {
            name: type_name,
            length,
            scale,
            unsigned,
            charset: opt_str(c, "charsetName", &f("charsetName"), ctx)?,
            enum_values,
            semantic: None,
            connect_type: None,
        },
        nullable,
        default,
        comment: opt_str(c, "comment", &f("comment"), ctx)?,
        auto_increment: opt_bool(c, "autoIncremented", &f("autoIncremented"), ctx)?
            .unwrap_or(false),
    })
}

/// `INT UNSIGNED ZEROFILL` → (`INT`, true); `varchar(255)` → (`VARCHAR`, false).
pub(crate) fn normalize_type_name(text: &str) -> (String, bool) {
    let upper = text.trim().to_ascii_uppercase();
    let base = upper.split('(').next().unwrap_or(&upper);
    let mut unsigned = upper.contains(" UNSIGNED");
    let mut words: Vec<&str> = Vec::new();
    for w in base.split_whitespace() {
        match w {
            "UNSIGNED" => unsigned = true,
            "ZEROFILL" | "SIGNED" => {}
            w => words.push(w),
        }
    }
    (words.join(" "), unsigned)
}

/// `'a'` → `a`, `'it''s'` → `it's`; other text unchanged.
fn unquote_enum_value(v: &str) -> String {
    match v.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => v.to_string(),
    }
}

pub(crate) fn opt_str(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
    ctx: &Ctx,
) -> Result<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => {
            Err(ctx.invalid(path, format!("expected a string, found {}", kind_of(other))))
        }
    }
}

fn opt_i64(m: &Map<String, Value>, key: &str, path: &str, ctx: &Ctx) -> Result<Option<i64>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ctx.invalid(path, format!("expected an integer, found {n}"))),
        Some(other) => Err(ctx.invalid(
            path,
            format!("expected an integer, found {}", kind_of(other)),
        )),
    }
}

fn opt_bool(m: &Map<String, Value>, key: &str, path: &str, ctx: &Ctx) -> Result<Option<bool>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ctx.invalid(
            path,
            format!("expected a boolean, found {}", kind_of(other)),
        )),
    }
}

fn str_array(m: &Map<String, Value>, key: &str, path: &str, ctx: &Ctx) -> Result<Vec<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(ctx.invalid(
                    &format!("{path}[{i}]"),
                    format!("expected a string, found {}", kind_of(other)),
                )),
            })
            .collect(),
        Some(other) => {
            Err(ctx.invalid(path, format!("expected an array, found {}", kind_of(other))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids() {
        assert_eq!(
            parse_id(r#""inventory"."customers""#),
            Some(vec![vec!["inventory".to_string(), "customers".to_string()]])
        );
        assert_eq!(
            parse_id(r#""test"."table2","test"."table1""#).map(|v| v.len()),
            Some(2)
        );
        assert_eq!(
            parse_id("test.table"),
            Some(vec![vec!["test".into(), "table".into()]])
        );
        assert_eq!(
            parse_id(r#""a""b"."c""#),
            Some(vec![vec!["a\"b".into(), "c".into()]])
        );
        assert_eq!(parse_id(r#""unterminated"#), None);
        assert_eq!(parse_id(""), None);
        assert_eq!(parse_id("a..b"), None);
    }

    #[test]
    fn normalizes_type_names() {
        assert_eq!(normalize_type_name("INT UNSIGNED"), ("INT".into(), true));
        assert_eq!(
            normalize_type_name("bigint unsigned zerofill"),
            ("BIGINT".into(), true)
        );
        assert_eq!(
            normalize_type_name("varchar(255)"),
            ("VARCHAR".into(), false)
        );
        assert_eq!(
            normalize_type_name("DOUBLE PRECISION"),
            ("DOUBLE PRECISION".into(), false)
        );
    }

    #[test]
    fn unquotes_enum_values() {
        assert_eq!(unquote_enum_value("'a'"), "a");
        assert_eq!(unquote_enum_value("'it''s'"), "it's");
        assert_eq!(unquote_enum_value("b"), "b");
    }
}
