//! StarRocks SQL functions registered in SQLite: `get_json_string`, `get_json_int`,
//! `get_json_double`, `json_query`, `parse_json`, `current_version`, `date_trunc`...

use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::Connection;

/// Looks up a JSON path like `$.a.b[0]` or `$."x"`.
pub fn json_path<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let p = path.trim();
    let p = p.strip_prefix('$').unwrap_or(p);
    let mut cur = v;
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let (key, tail) = if let Some(r2) = r.strip_prefix('"') {
                let end = r2.find('"')?;
                (&r2[..end], &r2[end + 1..])
            } else {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                (&r[..end], &r[end..])
            };
            cur = cur.get(key)?;
            rest = tail;
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let idx: usize = r[..end].trim().parse().ok()?;
            cur = cur.get(idx)?;
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(cur)
}

fn lookup(ctx: &rusqlite::functions::Context<'_>) -> rusqlite::Result<Option<serde_json::Value>> {
    let doc: Option<String> = ctx.get(0)?;
    let path: Option<String> = ctx.get(1)?;
    let (Some(doc), Some(path)) = (doc, path) else {
        return Ok(None);
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&doc) else {
        return Ok(None);
    };
    Ok(json_path(&v, &path).cloned())
}

/// Registers the functions on a connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let f = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("get_json_string", 2, f, |ctx| {
        Ok(match lookup(ctx)? {
            None | Some(serde_json::Value::Null) => Value::Null,
            Some(serde_json::Value::String(s)) => Value::Text(s),
            Some(other) => Value::Text(other.to_string()),
        })
    })?;
    conn.create_scalar_function("get_json_int", 2, f, |ctx| {
        Ok(match lookup(ctx)? {
            Some(serde_json::Value::Number(n)) => n.as_i64().map_or(Value::Null, Value::Integer),
            Some(serde_json::Value::String(s)) => s.parse().map_or(Value::Null, Value::Integer),
            Some(serde_json::Value::Bool(b)) => Value::Integer(i64::from(b)),
            _ => Value::Null,
        })
    })?;
    conn.create_scalar_function("get_json_double", 2, f, |ctx| {
        Ok(match lookup(ctx)? {
            Some(serde_json::Value::Number(n)) => n.as_f64().map_or(Value::Null, Value::Real),
            Some(serde_json::Value::String(s)) => s.parse().map_or(Value::Null, Value::Real),
            _ => Value::Null,
        })
    })?;
    conn.create_scalar_function("get_json_bool", 2, f, |ctx| {
        Ok(match lookup(ctx)? {
            Some(serde_json::Value::Bool(b)) => Value::Integer(i64::from(b)),
            _ => Value::Null,
        })
    })?;
    conn.create_scalar_function("json_query", 2, f, |ctx| {
        Ok(match lookup(ctx)? {
            None => Value::Null,
            Some(v) => Value::Text(v.to_string()),
        })
    })?;
    conn.create_scalar_function("parse_json", 1, f, |ctx| {
        let s: Option<String> = ctx.get(0)?;
        Ok(s.map_or(Value::Null, Value::Text))
    })?;
    conn.create_scalar_function("json_string", 1, f, |ctx| {
        let s: Option<String> = ctx.get(0)?;
        Ok(s.map_or(Value::Null, Value::Text))
    })?;
    conn.create_scalar_function("date_trunc", 2, f, |ctx| {
        let unit: String = ctx.get(0)?;
        let v: Option<String> = ctx.get(1)?;
        Ok(match v {
            None => Value::Null,
            Some(v) if v.len() >= 10 && v.is_ascii() => {
                Value::Text(match unit.to_ascii_lowercase().as_str() {
                    "year" => format!("{}-01-01 00:00:00", &v[..4]),
                    "month" => format!("{}-01 00:00:00", &v[..7]),
                    "day" => format!("{} 00:00:00", &v[..10]),
                    "hour" if v.len() >= 13 => format!("{}:00:00", &v[..13]),
                    _ => v,
                })
            }
            Some(v) => Value::Text(v),
        })
    })?;
    conn.create_scalar_function("now", 0, FunctionFlags::SQLITE_UTF8, |_| {
        Ok(Value::Text(super::catalog::now_text()))
    })?;
    Ok(())
}
