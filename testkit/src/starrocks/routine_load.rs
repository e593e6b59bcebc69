//! Routine Load jobs: CREATE/PAUSE/RESUME/STOP/ALTER and SHOW ROUTINE LOAD. State and
//! column mapping are kept and validated; Kafka is not consumed.

use std::collections::BTreeMap;

use rusqlite::types::Value;

use super::catalog::{now_text, RoutineLoad};
use super::engine::{opt, t, Engine, Output, Session};
use super::error::{Result, SrError};
use super::lexer::{render, Cursor, Tok};

/// Splits a token group at top-level commas into rendered items.
fn split_items(toks: &[Tok]) -> Vec<String> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0usize);
    for (i, tok) in toks.iter().enumerate() {
        match tok {
            Tok::Sym(s) if s == "(" => depth += 1,
            Tok::Sym(s) if s == ")" => depth -= 1,
            Tok::Sym(s) if s == "," && depth == 0 => {
                out.push(render(&toks[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < toks.len() {
        out.push(render(&toks[start..]));
    }
    out
}

/// Target column of a COLUMNS item (`a` or `a = expr`).
fn target_of(item: &str) -> String {
    item.split('=')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('`')
        .to_string()
}

/// Source names referenced by a mapping: the plain items and the right-hand identifiers.
fn referenced(items: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for i in items {
        let tgt = target_of(i);
        if tgt != "__op" {
            out.push(tgt);
        }
    }
    out
}

impl Engine {
    fn validate_columns(&self, db: &str, table: &str, items: &[String]) -> Result<()> {
        let tb = self.cat.table(db, table)?;
        for name in referenced(items) {
            if tb.col(&name).is_none()
                && !items
                    .iter()
                    .any(|i| i.contains('=') && i.contains(&name) && target_of(i) != name)
            {
                return Err(SrError::analyze(format!(
                    "Unknown column '{name}' in '{table}'"
                )));
            }
        }
        Ok(())
    }

    /// CREATE ROUTINE LOAD / ALTER ROUTINE LOAD.
    pub fn routine_load_ddl(&mut self, s: &mut Session, sql: &str) -> Result<Output> {
        let mut c = Cursor::new(sql)?;
        let create = c.eat_kws(&["CREATE", "ROUTINE", "LOAD"]);
        if !create {
            c.expect_kw("ALTER")?;
            c.expect_kw("ROUTINE")?;
            c.expect_kw("LOAD")?;
            c.expect_kw("FOR")?;
        }
        let (db, name) = c.qualified()?;
        let db = self.qualify(s, db.as_ref())?;
        let key = format!("{db}/{name}");
        let table = if create {
            c.expect_kw("ON")?;
            Some(c.ident()?)
        } else {
            None
        };
        let mut columns = None;
        let mut props = Vec::new();
        let mut source = Vec::new();
        while !c.at_end() {
            if c.eat_sym(",") {
                continue;
            }
            if c.eat_kws(&["COLUMNS", "TERMINATED", "BY"])
                || c.eat_kws(&["ROWS", "TERMINATED", "BY"])
            {
                c.string()?;
            } else if c.eat_kw("COLUMNS") {
                columns = Some(split_items(&c.group()?));
            } else if c.eat_kw("WHERE") {
                while !c.at_end() && !c.is_sym(",") && !c.is_kw("PROPERTIES") && !c.is_kw("FROM") {
                    c.next();
                }
            } else if c.eat_kw("PARTITION") || c.eat_kw("TEMPORARY") {
                c.eat_kw("PARTITION");
                c.group()?;
            } else if c.eat_kw("PROPERTIES") {
                props = c.properties()?;
            } else if c.eat_kw("FROM") {
                c.expect_kw("KAFKA")?;
                source = c.properties()?;
            } else {
                return Err(SrError::unsupported(format!(
                    "ROUTINE LOAD clause near '{}'",
                    render(c.rest())
                )));
            }
        }
        if create {
            if self
                .cat
                .routine_loads
                .get(&key)
                .is_some_and(|r| r.state != "STOPPED" && r.state != "CANCELLED")
            {
                return Err(SrError::new(format!(
                    "Routine load job [{name}] already exists"
                )));
            }
            let table = table.unwrap_or_default();
            let items = columns.unwrap_or_default();
            self.validate_columns(&db, &table, &items)?;
            let src: BTreeMap<String, String> = source.into_iter().collect();
            if !src.contains_key("kafka_topic") || !src.contains_key("kafka_broker_list") {
                return Err(SrError::analyze(
                    "kafka_broker_list and kafka_topic are required properties",
                ));
            }
            let rl = RoutineLoad {
                id: self.cat.id(),
                name: name.clone(),
                db: db.clone(),
                table,
                state: "NEED_SCHEDULE".into(),
                columns: items,
                properties: props.into_iter().collect(),
                source: src,
                create_time: now_text(),
                pause_time: None,
                end_time: None,
                reason: String::new(),
            };
            self.cat.routine_loads.insert(key, rl);
            return Ok(Output::ok());
        }
        let rl = self
            .cat
            .routine_loads
            .get(&key)
            .cloned()
            .ok_or_else(|| SrError::new(format!("Routine load job [{name}] not found")))?;
        if rl.state != "PAUSED" {
            return Err(SrError::new("Only supports modification of PAUSED jobs"));
        }
        if source
            .iter()
            .any(|(k, v)| k == "kafka_topic" && rl.source.get(k) != Some(v))
        {
            return Err(SrError::new("kafka_topic can not be modified"));
        }
        if let Some(items) = &columns {
            self.validate_columns(&db, &rl.table, items)?;
        }
        let r = self
            .cat
            .routine_loads
            .get_mut(&key)
            .ok_or_else(|| SrError::new("routine load vanished"))?;
        if let Some(items) = columns {
            r.columns = items;
        }
        r.properties.extend(props);
        r.source.extend(source);
        Ok(Output::ok())
    }

    /// PAUSE / RESUME / STOP ROUTINE LOAD FOR [db.]job.
    pub fn routine_load_action(&mut self, s: &mut Session, sql: &str) -> Result<Output> {
        let mut c = Cursor::new(sql)?;
        let action = c.ident()?.to_ascii_uppercase();
        c.expect_kw("ROUTINE")?;
        c.expect_kw("LOAD")?;
        c.expect_kw("FOR")?;
        let (db, name) = c.qualified()?;
        c.expect_end()?;
        let db = self.qualify(s, db.as_ref())?;
        let r = self
            .cat
            .routine_loads
            .get_mut(&format!("{db}/{name}"))
            .ok_or_else(|| SrError::new(format!("Routine load job [{name}] not found")))?;
        if r.state == "STOPPED" || r.state == "CANCELLED" {
            return Err(SrError::new(format!(
                "Routine load job [{name}] is in final state {}",
                r.state
            )));
        }
        match action.as_str() {
            "PAUSE" => {
                r.state = "PAUSED".into();
                r.pause_time = Some(now_text());
                r.reason =
                    "ErrorReason{errCode = 100, msg='User root pauses routine load job'}".into();
            }
            "RESUME" => {
                r.state = "NEED_SCHEDULE".into();
                r.reason.clear();
            }
            _ => {
                r.state = "STOPPED".into();
                r.end_time = Some(now_text());
            }
        }
        Ok(Output::ok())
    }

    /// Pauses Routine Load jobs on `db.table` that map one of the dropped columns.
    pub fn pause_routine_loads_for(&mut self, db: &str, table: &str, dropped: &[String]) {
        for r in self.cat.routine_loads.values_mut() {
            if r.db != db
                || r.table != table
                || !matches!(r.state.as_str(), "RUNNING" | "NEED_SCHEDULE")
            {
                continue;
            }
            if let Some(c) = referenced(&r.columns)
                .into_iter()
                .find(|c| dropped.iter().any(|d| d.eq_ignore_ascii_case(c)))
            {
                r.state = "PAUSED".into();
                r.pause_time = Some(now_text());
                r.reason = format!(
                    "ErrorReason{{errCode = 104, msg='Unknown column '{c}' in '{table}''}}"
                );
                tracing::info!(job = %r.name, column = %c, "routine load paused: mapped column dropped");
            }
        }
    }

    /// SHOW [ALL] ROUTINE LOAD [FOR [db.]job] [FROM db].
    pub fn show_routine_load(&mut self, s: &Session, c: &mut Cursor, all: bool) -> Result<Output> {
        let (mut db, mut name) = (None, None);
        if c.eat_kw("FOR") {
            let (d, n) = c.qualified()?;
            db = d;
            name = Some(n);
        }
        if c.eat_kw("FROM") || c.eat_kw("IN") {
            db = Some(c.ident()?);
        }
        let db = self.qualify(s, db.as_ref())?;
        for r in self.cat.routine_loads.values_mut() {
            if r.state == "NEED_SCHEDULE" {
                r.state = "RUNNING".into();
            }
        }
        let rows = self
            .cat
            .routine_loads
            .values()
            .filter(|r| r.db == db && name.as_ref().is_none_or(|n| *n == r.name))
            .filter(|r| {
                all || name.is_some() || !matches!(r.state.as_str(), "STOPPED" | "CANCELLED")
            })
            .map(|r| {
                let mut jp = serde_json::Map::new();
                jp.insert("columnToColumnExpr".into(), r.columns.join(",").into());
                for (k, v) in &r.properties {
                    jp.insert(k.clone(), v.clone().into());
                }
                let ds = serde_json::json!({
                    "topic": r.source.get("kafka_topic"),
                    "brokerList": r.source.get("kafka_broker_list"),
                });
                vec![
                    Value::Integer(r.id as i64),
                    t(r.name.clone()),
                    t(r.create_time.clone()),
                    opt(r.pause_time.clone()),
                    opt(r.end_time.clone()),
                    t(r.db.clone()),
                    t(r.table.clone()),
                    t(r.state.clone()),
                    t("KAFKA"),
                    Value::Integer(0),
                    t(serde_json::Value::Object(jp).to_string()),
                    t(ds.to_string()),
                    t("{}"),
                    t("{}"),
                    t("{}"),
                    t("{}"),
                    t(r.reason.clone()),
                    t(""),
                    t(""),
                    t(""),
                ]
            })
            .collect();
        Ok(Output::text(
            &[
                "Id",
                "Name",
                "CreateTime",
                "PauseTime",
                "EndTime",
                "DbName",
                "TableName",
                "State",
                "DataSourceType",
                "CurrentTaskNum",
                "JobProperties",
                "DataSourceProperties",
                "CustomProperties",
                "Statistic",
                "Progress",
                "TimestampProgress",
                "ReasonOfStateChanged",
                "ErrorLogUrls",
                "TrackingSQL",
                "OtherMsg",
            ],
            rows,
        ))
    }
}
