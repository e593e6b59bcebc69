//! The StarRocks edge: a MySQL-protocol client (mysql_async) for DDL,
//! introspection and schema-change job polling.
//!
//! Owns [`Client`] (a connection pool built from
//! [`crate::config::StarRocksConfig`]), [`Session`] (one
//! connection, for statements that must share one, such as `USE db` before a
//! stored MV definition), and text result sets ([`Rows`]). The password is
//! sent and never logged or printed (`Client`'s `Debug` leaves it out).
//!
//! * [`error`]: the one classification of StarRocks failures (connection,
//!   busy, refused) with `is_retriable()`.
//! * [`jobs`]: `SHOW ALTER TABLE COLUMN` rows ([`AlterJob`], [`JobState`]).
//! * `introspect` (private): the `information_schema` queries and their
//!   assembly into a [`Catalog`].
//!
//! ```no_run
//! # async fn demo(config: &ddlsync::config::StarRocksConfig) -> Result<(), ddlsync::starrocks::Error> {
//! use ddlsync::model::TableId;
//! let client = ddlsync::starrocks::Client::new(config)?;
//! let version = client.version().await?;
//! let catalog = client.introspect(&[TableId::new("shop", "orders")]).await?;
//! let jobs = client.alter_jobs(&TableId::new("shop", "orders")).await?;
//! client.disconnect().await;
//! # let _ = (version, catalog, jobs); Ok(()) }
//! ```

pub mod error;
mod introspect;
pub mod jobs;

use std::collections::BTreeMap;
use std::fmt;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Pool, PoolConstraints, PoolOpts, Value};

use crate::capabilities::StarRocksVersion;
use crate::catalog::Catalog;
use crate::config::StarRocksConfig;
use crate::ddl::quote_table;
use crate::model::TableId;

pub use error::{Error, Result};
pub use jobs::{AlterJob, JobState};

/// A text result set: column names and rows of optional strings (NULL → `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, one value per column.
    pub rows: Vec<Vec<Option<String>>>,
}

/// One row of [`Rows`], with access by column name.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Option<String>],
}

impl<'a> Row<'a> {
    /// The value of column `name` (case-insensitive); `None` for NULL or no such column.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let i = self
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))?;
        self.values.get(i)?.as_deref()
    }
}

impl Rows {
    /// The rows, with access by column name.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        self.rows.iter().map(|values| Row {
            columns: &self.columns,
            values,
        })
    }

    /// The first value of the first row.
    pub fn scalar(&self) -> Option<&str> {
        self.rows.first()?.first()?.as_deref()
    }
}

fn text_of(v: Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        Value::Date(y, mo, d, h, mi, s, us) => Some(if us == 0 {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        } else {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
        }),
        Value::Time(neg, d, h, mi, s, _) => Some(format!(
            "{}{:02}:{mi:02}:{s:02}",
            if neg { "-" } else { "" },
            u32::from(h) + d * 24
        )),
    }
}

/// Client of one StarRocks FE (query port).
#[derive(Clone)]
pub struct Client {
    pool: Pool,
    addr: String,
    version_override: Option<StarRocksVersion>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.addr)
            .field("version_override", &self.version_override)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config` (no connection is made until the first query).
    pub fn new(config: &StarRocksConfig) -> Result<Self> {
        let bad = |message: String| Error::Config { message };
        let (host, port) = config
            .query
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("query address `{}` is not host:port", config.query)))?;
        let port: u16 = port.parse().map_err(|_| {
            bad(format!(
                "query address `{}` has no valid port",
                config.query
            ))
        })?;
        let version_override = config
            .version
            .as_deref()
            .map(str::parse::<StarRocksVersion>)
            .transpose()
            .map_err(|e| bad(format!("version: {e}")))?;
        let constraints =
            PoolConstraints::new(0, 8).ok_or_else(|| bad("invalid pool constraints".into()))?;
        let opts = OptsBuilder::default()
            .ip_or_hostname(host.trim_start_matches('[').trim_end_matches(']'))
            .tcp_port(port)
            .user(Some(config.user.clone()))
            .pass(Some(config.password.expose().to_string()))
            .prefer_socket(false)
            .stmt_cache_size(0)
            .pool_opts(PoolOpts::default().with_constraints(constraints));
        Ok(Self {
            pool: Pool::new(opts),
            addr: config.query.clone(),
            version_override,
        })
    }

    /// `host:port` of the FE query port.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// One connection from the pool.
    pub async fn session(&self) -> Result<Session> {
        let conn = self
            .pool
            .get_conn()
            .await
            .map_err(|e| Error::classify(e, &self.addr, "connect"))?;
        Ok(Session {
            conn,
            addr: self.addr.clone(),
        })
    }

    /// Runs a statement that returns no rows.
    pub async fn execute(&self, sql: &str) -> Result<()> {
        self.session().await?.execute(sql).await
    }

    /// Runs a query and returns its rows as text.
    pub async fn query(&self, sql: &str) -> Result<Rows> {
        self.session().await?.query(sql).await
    }

    /// The StarRocks version: the configured override, else `SELECT current_version()`.
    pub async fn version(&self) -> Result<StarRocksVersion> {
        if let Some(v) = &self.version_override {
            return Ok(*v);
        }
        let sql = "SELECT current_version()";
        let rows = self.query(sql).await?;
        let text = rows.scalar().unwrap_or_default();
        text.parse().map_err(|e| Error::Unexpected {
            query: sql.into(),
            message: format!("version `{text}`: {e}"),
        })
    }

    /// The catalog of `tables` and of the materialized views in their
    /// databases: one query per `information_schema` view for all tables
    /// (plus one `SHOW CREATE TABLE` per partitioned table, for its clause).
    /// Tables that do not exist are absent from the result.
    pub async fn introspect(&self, tables: &[TableId]) -> Result<Catalog> {
        self.introspect_with_views(tables, &[]).await
    }

    /// As [`Client::introspect`], also reading the views of `view_databases`.
    pub async fn introspect_with_views(
        &self,
        tables: &[TableId],
        view_databases: &[String],
    ) -> Result<Catalog> {
        if tables.is_empty() && view_databases.is_empty() {
            return Ok(Catalog::default());
        }
        let queries = introspect::queries(tables, view_databases);
        let mut s = self.session().await?;
        let mut answers = introspect::Answers::default();
        if !tables.is_empty() {
            answers.columns = s.query(&queries[0]).await?;
            answers.tables_config = s.query(&queries[1]).await?;
            answers.tables = s.query(&queries[2]).await?;
        }
        answers.views = s.query(&queries[3]).await?;
        let mut partitions = BTreeMap::new();
        for id in introspect::partitioned(tables, &answers) {
            let sql = format!("SHOW CREATE TABLE {}", quote_table(&id));
            let rows = s.query(&sql).await?;
            let text = rows
                .rows
                .first()
                .and_then(|r| r.get(1))
                .cloned()
                .flatten()
                .unwrap_or_default();
            partitions.insert(id.clone(), introspect::partition_of(&id, &text)?);
        }
        introspect::build_catalog(tables, &answers, &partitions, &queries)
    }

    /// The schema-change jobs of `table`, newest first (`SHOW ALTER TABLE
    /// COLUMN FROM db WHERE TableName = "t" ORDER BY CreateTime DESC`).
    pub async fn alter_jobs(&self, table: &TableId) -> Result<Vec<AlterJob>> {
        self.session().await?.alter_jobs(table).await
    }

    /// `SELECT COUNT(*)` of a table.
    pub async fn count_rows(&self, table: &TableId) -> Result<u64> {
        self.session().await?.count_rows(table).await
    }

    /// Closes every pooled connection.
    pub async fn disconnect(self) {
        if let Err(e) = self.pool.disconnect().await {
            tracing::debug!(addr = %self.addr, error = %e, "StarRocks pool closed with an error.");
        }
    }
}

/// One StarRocks connection.
pub struct Session {
    conn: Conn,
    addr: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("addr", &self.addr).finish()
    }
}

impl Session {
    /// Runs a statement that returns no rows.
    pub async fn execute(&mut self, sql: &str) -> Result<()> {
        self.conn
            .query_drop(sql)
            .await
            .map_err(|e| Error::classify(e, &self.addr, sql))
    }

    /// Runs a query and returns its rows as text.
    pub async fn query(&mut self, sql: &str) -> Result<Rows> {
        let result: Vec<mysql_async::Row> = self
            .conn
            .query(sql)
            .await
            .map_err(|e| Error::classify(e, &self.addr, sql))?;
        let columns = result
            .first()
            .map(|r| {
                r.columns_ref()
                    .iter()
                    .map(|c| c.name_str().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let rows = result
            .into_iter()
            .map(|r| {
                r.unwrap_raw()
                    .into_iter()
                    .map(|v| v.and_then(text_of))
                    .collect()
            })
            .collect();
        Ok(Rows { columns, rows })
    }

    /// See [`Client::alter_jobs`].
    pub async fn alter_jobs(&mut self, table: &TableId) -> Result<Vec<AlterJob>> {
        let sql = format!(
            "SHOW ALTER TABLE COLUMN FROM {} WHERE TableName = {} ORDER BY CreateTime DESC",
            crate::ddl::quote_ident(&table.database),
            crate::ddl::quote_string(&table.table)
        );
        let rows = match self.query(&sql).await {
            // A database that does not exist yet has no jobs (errno 1049, ER_BAD_DB_ERROR).
            Err(e) if e.code() == Some(1049) => return Ok(Vec::new()),
            r => r?,
        };
        let mut jobs = Vec::new();
        for r in rows.iter() {
            let id = r.get("JobId").unwrap_or_default();
            let job_id = id.trim().parse().map_err(|_| Error::Unexpected {
                query: sql.clone(),
                message: format!("JobId `{id}` is not a number"),
            })?;
            jobs.push(AlterJob {
                job_id,
                table_name: r.get("TableName").unwrap_or_default().to_string(),
                state: JobState::parse(r.get("State").unwrap_or_default()),
                msg: r.get("Msg").unwrap_or_default().to_string(),
                create_time: r.get("CreateTime").unwrap_or_default().to_string(),
                finish_time: r
                    .get("FinishTime")
                    .filter(|f| !f.is_empty() && *f != "NULL")
                    .map(str::to_string),
            });
        }
        jobs.sort_by_key(|j| std::cmp::Reverse(j.job_id));
        Ok(jobs)
    }

    /// `SELECT COUNT(*)` of a table.
    pub async fn count_rows(&mut self, table: &TableId) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", quote_table(table));
        let rows = self.query(&sql).await?;
        let text = rows.scalar().unwrap_or_default();
        text.trim().parse().map_err(|_| Error::Unexpected {
            query: sql.clone(),
            message: format!("count `{text}` is not a number"),
        })
    }
}
