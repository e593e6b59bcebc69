//! MySQL wire protocol of the FE query port (opensrv-mysql): authentication with
//! mysql_native_password, text queries, COM_INIT_DB, and prepared statements (parameters are
//! substituted into the SQL text before it runs).

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use opensrv_mysql::{
    AsyncMysqlShim, Column, ColumnFlags, ColumnType, ErrorKind, InitWriter, OkResponse,
    ParamParser, QueryResultWriter, StatementMetaWriter, ValueInner,
};
use rusqlite::types::Value;
use sha1::{Digest, Sha1};
use tokio::io::AsyncWrite;

use super::engine::{Engine, Output, Session};
use super::error::SrError;
use super::storage::Rows;

/// One client connection.
pub struct Shim {
    engine: Arc<Mutex<Engine>>,
    session: Session,
    user: String,
    password: String,
    conn_id: u32,
    version: String,
    stmts: HashMap<u32, (String, usize)>,
    next_stmt: u32,
}

impl Shim {
    /// A connection handler.
    pub fn new(engine: Arc<Mutex<Engine>>, user: String, password: String, conn_id: u32) -> Shim {
        let version = engine
            .lock()
            .map(|e| e.current_version())
            .unwrap_or_default();
        Shim {
            engine,
            session: Session::default(),
            user,
            password,
            conn_id,
            version,
            stmts: HashMap::new(),
            next_stmt: 1,
        }
    }

    fn run(&mut self, sql: &str) -> Result<Output, SrError> {
        let mut engine = self
            .engine
            .lock()
            .map_err(|_| SrError::new("engine lock poisoned"))?;
        tracing::debug!(conn = self.conn_id, sql, "query");
        let session = &mut self.session;
        // a panic must neither poison the engine nor kill the connection
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.execute(session, sql)
        }))
        .unwrap_or_else(|_| {
            Err(SrError::new(format!(
                "testkit StarRocks emulator: internal error while running: {sql}"
            )))
        });
        if let Err(e) = &out {
            tracing::debug!(conn = self.conn_id, error = %e, "query failed");
        }
        out
    }
}

fn scramble_ok(password: &str, salt: &[u8], auth: &[u8]) -> bool {
    if password.is_empty() {
        return auth.is_empty();
    }
    let h1 = Sha1::digest(password.as_bytes());
    let h2 = Sha1::digest(h1);
    let mut h = Sha1::new();
    h.update(salt);
    h.update(h2);
    let h3 = h.finalize();
    let expected: Vec<u8> = h1.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect();
    auth == expected.as_slice()
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Text,
}

fn kinds(rows: &Rows) -> Vec<Kind> {
    (0..rows.cols.len())
        .map(|i| {
            let mut k: Option<Kind> = None;
            for r in &rows.rows {
                let vk = match &r[i] {
                    Value::Null => continue,
                    Value::Integer(_) => Kind::Int,
                    Value::Real(_) => Kind::Float,
                    _ => Kind::Text,
                };
                k = Some(match (k, vk) {
                    (None, v) => v,
                    (Some(a), b) if a == b => a,
                    (Some(Kind::Int), Kind::Float) | (Some(Kind::Float), Kind::Int) => Kind::Float,
                    _ => Kind::Text,
                });
            }
            k.unwrap_or(Kind::Text)
        })
        .collect()
}

/// Renders a value as StarRocks prints it in text results.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(f) => Some(f.to_string()),
        Value::Text(s) => Some(s.clone()),
        Value::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
    }
}

async fn write_output<W: AsyncWrite + Send + Unpin>(
    out: Result<Output, SrError>,
    results: QueryResultWriter<'_, W>,
) -> io::Result<()> {
    match out {
        Err(e) => {
            results
                .error(ErrorKind::from(e.code), e.message.as_bytes())
                .await
        }
        Ok(Output::Ok { affected }) => {
            results
                .completed(OkResponse {
                    affected_rows: affected,
                    ..Default::default()
                })
                .await
        }
        Ok(Output::Rows(rows)) => {
            let ks = kinds(&rows);
            let cols: Vec<Column> = rows
                .cols
                .iter()
                .zip(&ks)
                .map(|(name, k)| Column {
                    table: String::new(),
                    column: name.clone(),
                    coltype: match k {
                        Kind::Int => ColumnType::MYSQL_TYPE_LONGLONG,
                        Kind::Float => ColumnType::MYSQL_TYPE_DOUBLE,
                        Kind::Text => ColumnType::MYSQL_TYPE_VAR_STRING,
                    },
                    colflags: ColumnFlags::empty(),
                })
                .collect();
            let mut w = results.start(&cols).await?;
            for r in &rows.rows {
                for (v, k) in r.iter().zip(&ks) {
                    match (v, k) {
                        (Value::Null, _) => w.write_col(None::<i64>)?,
                        (Value::Integer(i), Kind::Int) => w.write_col(*i)?,
                        (Value::Integer(i), Kind::Float) => w.write_col(*i as f64)?,
                        (Value::Real(f), Kind::Float) => w.write_col(*f)?,
                        (other, _) => w.write_col(value_text(other).unwrap_or_default())?,
                    }
                }
                w.end_row().await?;
            }
            w.finish().await
        }
    }
}

/// `SELECT SLEEP(n)` → n seconds (capped at 60).
fn sleep_seconds(sql: &str) -> Option<f64> {
    let l = sql.trim().trim_end_matches(';').to_ascii_lowercase();
    let inner = l
        .strip_prefix("select")?
        .trim()
        .strip_prefix("sleep(")?
        .strip_suffix(')')?;
    inner.trim().parse::<f64>().ok().map(|s| s.clamp(0.0, 60.0))
}

fn count_params(sql: &str) -> usize {
    let mut n = 0;
    let mut quote: Option<char> = None;
    for ch in sql.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None if ch == '\'' || ch == '"' || ch == '`' => quote = Some(ch),
            None if ch == '?' => n += 1,
            None => {}
        }
    }
    n
}

fn substitute(sql: &str, params: &[String]) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut it = params.iter();
    for ch in sql.chars() {
        match quote {
            Some(q) if ch == q => {
                quote = None;
                out.push(ch);
            }
            Some(_) => out.push(ch),
            None if ch == '\'' || ch == '"' || ch == '`' => {
                quote = Some(ch);
                out.push(ch);
            }
            None if ch == '?' => out.push_str(it.next().map_or("NULL", String::as_str)),
            None => out.push(ch),
        }
    }
    out
}

#[async_trait::async_trait]
impl<W: AsyncWrite + Send + Unpin> AsyncMysqlShim<W> for Shim {
    type Error = io::Error;

    fn version(&self) -> String {
        format!("8.0.33-StarRocks-{}", self.version)
    }

    fn connect_id(&self) -> u32 {
        self.conn_id
    }

    async fn authenticate(&self, _plugin: &str, username: &[u8], salt: &[u8], auth: &[u8]) -> bool {
        let ok = username == self.user.as_bytes() && scramble_ok(&self.password, salt, auth);
        if !ok {
            tracing::info!(user = %String::from_utf8_lossy(username), "authentication failed");
        }
        ok
    }

    async fn on_prepare<'a>(
        &'a mut self,
        query: &'a str,
        info: StatementMetaWriter<'a, W>,
    ) -> io::Result<()> {
        let id = self.next_stmt;
        self.next_stmt += 1;
        let n = count_params(query);
        self.stmts.insert(id, (query.to_string(), n));
        let params: Vec<Column> = (0..n)
            .map(|i| Column {
                table: String::new(),
                column: format!("?{i}"),
                coltype: ColumnType::MYSQL_TYPE_VAR_STRING,
                colflags: ColumnFlags::empty(),
            })
            .collect();
        info.reply(id, &params, &[]).await
    }

    async fn on_execute<'a>(
        &'a mut self,
        id: u32,
        params: ParamParser<'a>,
        results: QueryResultWriter<'a, W>,
    ) -> io::Result<()> {
        let Some((sql, _)) = self.stmts.get(&id).cloned() else {
            return results
                .error(
                    ErrorKind::ER_UNKNOWN_STMT_HANDLER,
                    b"Unknown prepared statement handler",
                )
                .await;
        };
        let mut vals = Vec::new();
        for p in params {
            vals.push(match p.value.into_inner() {
                ValueInner::NULL => "NULL".to_string(),
                ValueInner::Int(i) => i.to_string(),
                ValueInner::UInt(u) => u.to_string(),
                ValueInner::Double(f) => f.to_string(),
                ValueInner::Bytes(b) => {
                    format!(
                        "'{}'",
                        String::from_utf8_lossy(b)
                            .replace('\\', "\\\\")
                            .replace('\'', "''")
                    )
                }
                other => format!("'{other:?}'"),
            });
        }
        let out = self.run(&substitute(&sql, &vals));
        write_output(out, results).await
    }

    async fn on_close<'a>(&'a mut self, stmt: u32)
    where
        W: 'async_trait,
    {
        self.stmts.remove(&stmt);
    }

    async fn on_query<'a>(
        &'a mut self,
        query: &'a str,
        results: QueryResultWriter<'a, W>,
    ) -> io::Result<()> {
        if let Some(secs) = sleep_seconds(query) {
            // SELECT SLEEP(n) waits without holding the engine
            tokio::time::sleep(std::time::Duration::from_secs_f64(secs)).await;
            let col = query.trim().trim_end_matches(';')[6..].trim().to_string();
            let rows = Rows {
                cols: vec![col],
                rows: vec![vec![Value::Integer(0)]],
            };
            return write_output(Ok(Output::Rows(rows)), results).await;
        }
        let out = self.run(query);
        write_output(out, results).await
    }

    async fn on_init<'a>(&'a mut self, db: &'a str, w: InitWriter<'a, W>) -> io::Result<()> {
        match self.run(&format!("USE `{db}`")) {
            Ok(_) => w.ok().await,
            Err(e) => w.error(ErrorKind::from(e.code), e.message.as_bytes()).await,
        }
    }
}
