//! Shared helpers of the StarRocks emulator tests: start the emulator in-process on
//! ephemeral ports and talk to it over the MySQL protocol (mysql_async) and HTTP (reqwest).

#![allow(dead_code)]

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Value};
use testkit::starrocks::{Config, Handle, Server};

/// A running emulator plus connection settings.
pub struct Sr {
    pub handle: Handle,
    pub user: String,
    pub password: String,
}

/// Starts an emulator with default settings (version 3.3.5, job 300 ms).
pub async fn start() -> Sr {
    start_with(Config::default()).await
}

/// Starts an emulator with `cfg`.
pub async fn start_with(cfg: Config) -> Sr {
    let (user, password) = (cfg.user.clone(), cfg.password.clone());
    let handle = Server::start(cfg).await.expect("emulator starts");
    Sr {
        handle,
        user,
        password,
    }
}

impl Sr {
    /// A new MySQL connection.
    pub async fn conn(&self) -> Conn {
        self.try_conn(&self.password).await.expect("connects")
    }

    /// A new MySQL connection with a given password.
    pub async fn try_conn(&self, password: &str) -> Result<Conn, mysql_async::Error> {
        let opts = OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.handle.query_addr().port())
            .user(Some(self.user.clone()))
            .pass(Some(password.to_string()))
            .prefer_socket(false);
        Conn::new(opts).await
    }

    /// FE base URL.
    pub fn fe_url(&self) -> String {
        format!("http://{}", self.handle.http_addr())
    }

    /// Sets faults through the admin endpoint.
    pub async fn faults(&self, json: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/_testkit/faults", self.fe_url()))
            .body(json.to_string())
            .send()
            .await
            .expect("faults endpoint answers");
        assert_eq!(r.status().as_u16(), 200, "faults request {json}");
    }
}

/// Renders a MySQL value as text (NULL = None).
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// Runs a statement that must succeed.
pub async fn exec(c: &mut Conn, sql: &str) {
    if let Err(e) = c.query_drop(sql).await {
        panic!("statement failed: {sql}\n{e}");
    }
}

/// Runs a statement that must fail; returns `(errno, message)`.
pub async fn err(c: &mut Conn, sql: &str) -> (u16, String) {
    match c.query_drop(sql).await {
        Ok(()) => panic!("statement unexpectedly succeeded: {sql}"),
        Err(mysql_async::Error::Server(e)) => (e.code, e.message),
        Err(other) => panic!("not a server error for {sql}: {other}"),
    }
}

/// Runs a query; rows as text.
pub async fn rows(c: &mut Conn, sql: &str) -> Vec<Vec<Option<String>>> {
    let r: Vec<mysql_async::Row> = match c.query(sql).await {
        Ok(r) => r,
        Err(e) => panic!("query failed: {sql}\n{e}"),
    };
    r.into_iter()
        .map(|row| row.unwrap().iter().map(text).collect())
        .collect()
}

/// Runs a query; the column names and rows as text.
pub async fn rows_named(c: &mut Conn, sql: &str) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let r: Vec<mysql_async::Row> = c
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("query failed: {sql}\n{e}"));
    let cols = r
        .first()
        .map(|row| {
            row.columns_ref()
                .iter()
                .map(|c| c.name_str().into_owned())
                .collect()
        })
        .unwrap_or_default();
    (
        cols,
        r.into_iter()
            .map(|row| row.unwrap().iter().map(text).collect())
            .collect(),
    )
}

/// First column of the first row.
pub async fn scalar(c: &mut Conn, sql: &str) -> Option<String> {
    rows(c, sql)
        .await
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .flatten()
}

/// State of the newest schema-change job of `table`.
pub async fn last_job_state(c: &mut Conn, table: &str) -> Option<String> {
    let r = rows(
        c,
        &format!("SHOW ALTER TABLE COLUMN WHERE TableName = \"{table}\" ORDER BY CreateTime DESC LIMIT 1"),
    )
    .await;
    r.first().and_then(|row| row[9].clone())
}

/// Polls until the newest job of `table` is FINISHED or CANCELLED; returns the final row.
pub async fn wait_job(c: &mut Conn, table: &str) -> Vec<Option<String>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = rows(
            c,
            &format!("SHOW ALTER TABLE COLUMN WHERE TableName = \"{table}\" ORDER BY CreateTime DESC LIMIT 1"),
        )
        .await;
        if let Some(row) = r.into_iter().next() {
            let st = row[9].clone().unwrap_or_default();
            if st == "FINISHED" || st == "CANCELLED" {
                return row;
            }
        }
        assert!(
            Instant::now() < deadline,
            "job of {table} did not finish in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SHOW CREATE TABLE text.
pub async fn show_create(c: &mut Conn, table: &str) -> String {
    let r = rows(c, &format!("SHOW CREATE TABLE {table}")).await;
    r[0][1].clone().expect("DDL text")
}
