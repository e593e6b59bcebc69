//! Stream Load on the BE: JSON (simple and jsonpaths modes) and CSV bodies, `columns` with
//! `__op`, partial updates, row filtering with `max_filter_ratio`, labels, and StarRocks'
//! response JSON.

use std::collections::BTreeMap;
use std::io::Read;

use rusqlite::types::Value;
use serde::Serialize;

use super::catalog::{now_ms, KeysType, LabelEntry, Table};
use super::engine::Engine;
use super::functions::json_path;
use super::storage::{q, tname};
use super::types::convert_json;

/// A Stream Load request as received by the BE.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadRequest {
    /// Database.
    pub db: String,
    /// Table.
    pub table: String,
    /// Headers, lower-case names.
    pub headers: BTreeMap<String, String>,
    /// Body (possibly compressed).
    pub body: Vec<u8>,
}

/// StarRocks' Stream Load reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoadResponse {
    /// TxnId.
    pub txn_id: i64,
    /// Label.
    pub label: String,
    /// Success / Fail / Publish Timeout.
    pub status: String,
    /// Message.
    pub message: String,
    /// NumberTotalRows.
    pub number_total_rows: u64,
    /// NumberLoadedRows.
    pub number_loaded_rows: u64,
    /// NumberFilteredRows.
    pub number_filtered_rows: u64,
    /// NumberUnselectedRows.
    pub number_unselected_rows: u64,
    /// LoadBytes.
    pub load_bytes: u64,
    /// LoadTimeMs.
    pub load_time_ms: u64,
    /// BeginTxnTimeMs.
    pub begin_txn_time_ms: u64,
    /// StreamLoadPlanTimeMs.
    pub stream_load_plan_time_ms: u64,
    /// ReadDataTimeMs.
    pub read_data_time_ms: u64,
    /// WriteDataTimeMs.
    pub write_data_time_ms: u64,
    /// CommitAndPublishTimeMs.
    pub commit_and_publish_time_ms: u64,
    /// ErrorURL.
    #[serde(rename = "ErrorURL", skip_serializing_if = "Option::is_none")]
    pub error_url: Option<String>,
}

/// The duplicate-label reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelExists {
    /// -1.
    pub txn_id: i64,
    /// Label.
    pub label: String,
    /// `Label Already Exists`.
    pub status: String,
    /// FINISHED etc.
    pub existing_job_status: String,
    /// `Label [<l>] has already been used.`
    pub message: String,
}

/// Either reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Normal reply.
    Load(LoadResponse),
    /// Duplicate label.
    Exists(LabelExists),
}

impl Reply {
    /// JSON text.
    pub fn json(&self) -> String {
        match self {
            Reply::Load(r) => serde_json::to_string_pretty(r),
            Reply::Exists(r) => serde_json::to_string_pretty(r),
        }
        .unwrap_or_default()
    }
}

/// Row operations of one load: op and `(column, value)` pairs.
type RowOps = Vec<RowOp>;

/// One row operation.
type RowOp = (Op, Vec<(String, Option<Value>)>);

enum Op {
    Upsert,
    Delete,
}

fn split_top(s: &str) -> Vec<String> {
    let (mut out, mut depth, mut cur) = (Vec::new(), 0i32, String::new());
    for ch in s.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('`').to_string()
}

/// An expression of `columns`: a source name or a literal.
enum Expr {
    Name(String),
    Lit(serde_json::Value),
}

fn parse_expr(e: &str) -> Result<Expr, String> {
    let e = e.trim();
    if (e.starts_with('\'') && e.ends_with('\'') || e.starts_with('"') && e.ends_with('"'))
        && e.len() >= 2
    {
        return Ok(Expr::Lit(serde_json::Value::String(
            e[1..e.len() - 1].to_string(),
        )));
    }
    if let Ok(n) = e.parse::<i64>() {
        return Ok(Expr::Lit(n.into()));
    }
    if e.chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '`')
    {
        return Ok(Expr::Name(unquote(e)));
    }
    Err(format!("unsupported expression in columns: {e}"))
}

fn fail(label: &str, txn: i64, msg: impl Into<String>) -> Reply {
    Reply::Load(LoadResponse {
        txn_id: txn,
        label: label.into(),
        status: "Fail".into(),
        message: msg.into(),
        ..Default::default()
    })
}

impl Engine {
    /// Marks a label as in progress; answers `Label Already Exists` (RUNNING or the stored
    /// status) when it is taken.
    pub fn begin_label(&mut self, db: &str, label: &str) -> Option<Reply> {
        let key = format!("{db}/{label}");
        let status = if self.running_labels.contains(&key) {
            "RUNNING".to_string()
        } else if let Some(e) = self.cat.labels.get(&key) {
            e.status.clone()
        } else {
            self.running_labels.insert(key);
            return None;
        };
        Some(Reply::Exists(LabelExists {
            txn_id: -1,
            label: label.to_string(),
            status: "Label Already Exists".into(),
            existing_job_status: status,
            message: format!("Label [{label}] has already been used."),
        }))
    }

    /// Ends the in-progress mark of a label.
    pub fn end_label(&mut self, db: &str, label: &str) {
        self.running_labels.remove(&format!("{db}/{label}"));
    }

    /// Runs one Stream Load.
    pub fn stream_load(&mut self, req: &LoadRequest) -> Reply {
        let started = now_ms();
        let h = |k: &str| req.headers.get(k).map(|s| s.trim().to_string());
        let txn = self.cat.id() as i64;
        let label = h("label").unwrap_or_else(|| format!("testkit_{txn}"));
        if self.faults.fail_stream_loads > 0 {
            self.faults.fail_stream_loads -= 1;
            return fail(&label, txn, "testkit injected fault: stream load failed");
        }
        let Ok(table) = self.cat.table(&req.db, &req.table).cloned() else {
            return fail(
                &label,
                txn,
                format!("unknown table, tableName={}", req.table),
            );
        };
        let key = format!("{}/{label}", req.db);
        if let Some(e) = self.cat.labels.get(&key) {
            return Reply::Exists(LabelExists {
                txn_id: -1,
                label: label.clone(),
                status: "Label Already Exists".into(),
                existing_job_status: e.status.clone(),
                message: format!("Label [{label}] has already been used."),
            });
        }
        let gz = h("compression").is_some_and(|c| c.eq_ignore_ascii_case("gzip"))
            || h("content-encoding").is_some_and(|c| c.eq_ignore_ascii_case("gzip"));
        let body = if gz {
            let mut out = Vec::new();
            if let Err(e) = flate2::read::GzDecoder::new(req.body.as_slice()).read_to_end(&mut out)
            {
                return fail(&label, txn, format!("Failed to decompress gzip body: {e}"));
            }
            out
        } else {
            req.body.clone()
        };
        let mut resp = match self.load_rows(&table, req, &h, &body, txn, &label) {
            Ok(r) => r,
            Err(msg) => return fail(&label, txn, msg),
        };
        resp.load_bytes = body.len() as u64;
        resp.load_time_ms = (now_ms() - started).max(0) as u64;
        if resp.status != "Fail" {
            let mut status = "FINISHED";
            if self.faults.publish_timeout_stream_loads > 0 {
                self.faults.publish_timeout_stream_loads -= 1;
                resp.status = "Publish Timeout".into();
                resp.message =
                    "transaction commit successfully, BUT data will be visible later".into();
                status = "COMMITTED";
            }
            self.cat.labels.insert(
                key,
                LabelEntry {
                    txn_id: txn as u64,
                    status: status.into(),
                },
            );
            self.after_load(&req.db, &req.table);
            self.persist();
        }
        Reply::Load(resp)
    }

    fn load_rows(
        &mut self,
        table: &Table,
        req: &LoadRequest,
        h: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        txn: i64,
        label: &str,
    ) -> Result<LoadResponse, String> {
        let format = h("format")
            .unwrap_or_else(|| "csv".into())
            .to_ascii_lowercase();
        let strip = h("strip_outer_array").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let partial = h("partial_update").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let max_ratio: f64 = h("max_filter_ratio")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        // the columns mapping: (target, expr)
        let mut mapping: Vec<(String, Expr)> = Vec::new();
        let mut sources: Vec<String> = Vec::new();
        match h("columns") {
            Some(cols) => {
                for item in split_top(&cols) {
                    match item.split_once('=') {
                        Some((tgt, e)) => mapping.push((unquote(tgt), parse_expr(e)?)),
                        None => {
                            let n = unquote(&item);
                            sources.push(n.clone());
                            mapping.push((n.clone(), Expr::Name(n)));
                        }
                    }
                }
            }
            None => {
                for c in &table.columns {
                    sources.push(c.name.clone());
                    mapping.push((c.name.clone(), Expr::Name(c.name.clone())));
                }
            }
        }
        // source records: name -> value
        let mut records: Vec<(String, BTreeMap<String, serde_json::Value>)> = Vec::new();
        if format == "json" {
            let text = String::from_utf8_lossy(body);
            let mut values = Vec::new();
            for v in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>() {
                let v = v.map_err(|e| format!("Failed to parse json: {e}"))?;
                match v {
                    serde_json::Value::Array(items) if strip => values.extend(items),
                    serde_json::Value::Array(_) => {
                        return Err(
                            "JSON data is an array, strip_outer_array must be set true".into()
                        )
                    }
                    other => values.push(other),
                }
            }
            let paths: Option<Vec<String>> = match h("jsonpaths") {
                Some(p) => {
                    Some(serde_json::from_str(&p).map_err(|e| format!("Invalid jsonpaths: {e}"))?)
                }
                None => None,
            };
            for v in values {
                let mut rec = BTreeMap::new();
                match &paths {
                    Some(paths) => {
                        for (name, p) in sources.iter().zip(paths) {
                            if let Some(x) = json_path(&v, p) {
                                rec.insert(name.to_ascii_lowercase(), x.clone());
                            }
                        }
                    }
                    None => {
                        if let serde_json::Value::Object(m) = &v {
                            for (k, x) in m {
                                rec.insert(k.to_ascii_lowercase(), x.clone());
                            }
                        }
                    }
                }
                records.push((v.to_string(), rec));
            }
        } else if format == "csv" {
            let sep = h("column_separator").unwrap_or_else(|| "\t".into());
            let text = String::from_utf8_lossy(body);
            for line in text
                .split('\n')
                .filter(|l| !l.trim_end_matches('\r').is_empty())
            {
                let line = line.trim_end_matches('\r');
                let mut rec = BTreeMap::new();
                for (name, f) in sources.iter().zip(line.split(sep.as_str())) {
                    let v = if f == "\\N" {
                        serde_json::Value::Null
                    } else {
                        serde_json::Value::String(f.into())
                    };
                    rec.insert(name.to_ascii_lowercase(), v);
                }
                records.push((line.to_string(), rec));
            }
        } else {
            return Err(format!("unsupported format: {format}"));
        }
        let total = records.len() as u64;
        let mut errors = Vec::new();
        let mut ops: RowOps = Vec::new();
        for (raw, rec) in &records {
            match self.map_row(table, &mapping, rec, partial) {
                Ok(r) => ops.push(r),
                Err(reason) => errors.push(format!("Error: {reason}. Row: {raw}")),
            }
        }
        let filtered = errors.len() as u64;
        let mut resp = LoadResponse {
            txn_id: txn,
            label: label.to_string(),
            status: "Success".into(),
            message: "OK".into(),
            number_total_rows: total,
            number_loaded_rows: total - filtered,
            number_filtered_rows: filtered,
            ..Default::default()
        };
        if filtered > 0 {
            let file = format!("error_log_{txn}");
            self.error_logs
                .insert(file.clone(), errors.join("\n") + "\n");
            resp.error_url = Some(format!("/api/_load_error_log?file={file}"));
        }
        if total > 0 && filtered as f64 / total as f64 > max_ratio {
            resp.status = "Fail".into();
            resp.message = "too many filtered rows".into();
            resp.number_loaded_rows = 0;
            return Ok(resp);
        }
        self.apply_ops(&req.db, table, ops, partial)?;
        Ok(resp)
    }

    fn map_row(
        &self,
        table: &Table,
        mapping: &[(String, Expr)],
        rec: &BTreeMap<String, serde_json::Value>,
        partial: bool,
    ) -> Result<RowOp, String> {
        let mut op = Op::Upsert;
        let mut vals: Vec<(String, Option<Value>)> = Vec::new();
        for (target, e) in mapping {
            let v = match e {
                Expr::Name(n) => match rec.get(&n.to_ascii_lowercase()) {
                    Some(v) => v.clone(),
                    None => continue,
                },
                Expr::Lit(l) => l.clone(),
            };
            if target.eq_ignore_ascii_case("__op") {
                let s = match &v {
                    serde_json::Value::String(s) => s.to_ascii_lowercase(),
                    other => other.to_string(),
                };
                op = match s.as_str() {
                    "0" | "upsert" => Op::Upsert,
                    "1" | "delete" => Op::Delete,
                    other => return Err(format!("invalid __op value '{other}'")),
                };
                continue;
            }
            let Some(col) = table.col(target) else {
                continue;
            };
            let conv =
                convert_json(&col.ty, &v).map_err(|e| format!("column '{}': {e}", col.name))?;
            if conv.is_none() && !col.nullable {
                return Err(format!("NULL value in non-nullable column '{}'", col.name));
            }
            vals.retain(|(n, _)| n != &col.name);
            vals.push((col.name.clone(), conv));
        }
        if matches!(op, Op::Delete) && table.keys != KeysType::Primary {
            return Err("delete (__op = 1) is only supported on PRIMARY KEY tables".into());
        }
        for k in &table.key_cols {
            if !vals.iter().any(|(n, v)| n == k && v.is_some()) {
                if table.keys == KeysType::Duplicate && !matches!(op, Op::Delete) {
                    continue;
                }
                return Err(format!("key column '{k}' is missing"));
            }
        }
        if !partial && matches!(op, Op::Upsert) {
            for c in &table.columns {
                if !c.nullable && c.default.is_none() && !vals.iter().any(|(n, _)| *n == c.name) {
                    return Err(format!("NULL value in non-nullable column '{}'", c.name));
                }
            }
        }
        Ok((op, vals))
    }

    fn apply_ops(
        &mut self,
        db: &str,
        table: &Table,
        ops: RowOps,
        partial: bool,
    ) -> Result<(), String> {
        let tn = tname(db, &table.name);
        let conn = &mut self.store.conn;
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        for (op, vals) in ops {
            let params: Vec<Value> = vals
                .iter()
                .map(|(_, v)| v.clone().unwrap_or(Value::Null))
                .collect();
            let names: Vec<String> = vals.iter().map(|(n, _)| q(n)).collect();
            let sql = match op {
                Op::Delete => {
                    let keys: Vec<String> = table
                        .key_cols
                        .iter()
                        .map(|k| format!("{} IS ?", q(k)))
                        .collect();
                    let params: Vec<Value> = table
                        .key_cols
                        .iter()
                        .map(|k| {
                            vals.iter()
                                .find(|(n, _)| n == k)
                                .and_then(|(_, v)| v.clone())
                                .unwrap_or(Value::Null)
                        })
                        .collect();
                    tx.execute(
                        &format!("DELETE FROM {tn} WHERE {}", keys.join(" AND ")),
                        rusqlite::params_from_iter(params),
                    )
                    .map_err(|e| e.to_string())?;
                    continue;
                }
                Op::Upsert if table.keys == KeysType::Duplicate => {
                    format!(
                        "INSERT INTO {tn} ({}) VALUES ({})",
                        names.join(", "),
                        vec!["?"; names.len()].join(", ")
                    )
                }
                Op::Upsert if partial => {
                    let keys: Vec<String> = table.key_cols.iter().map(|k| q(k)).collect();
                    let sets: Vec<String> = vals
                        .iter()
                        .filter(|(n, _)| !table.key_cols.contains(n))
                        .map(|(n, _)| format!("{} = excluded.{}", q(n), q(n)))
                        .collect();
                    let action = if sets.is_empty() {
                        "NOTHING".to_string()
                    } else {
                        format!("UPDATE SET {}", sets.join(", "))
                    };
                    format!(
                        "INSERT INTO {tn} ({}) VALUES ({}) ON CONFLICT ({}) DO {action}",
                        names.join(", "),
                        vec!["?"; names.len()].join(", "),
                        keys.join(", ")
                    )
                }
                Op::Upsert => format!(
                    "INSERT OR REPLACE INTO {tn} ({}) VALUES ({})",
                    names.join(", "),
                    vec!["?"; names.len()].join(", ")
                ),
            };
            tx.execute(&sql, rusqlite::params_from_iter(params))
                .map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())
    }
}
