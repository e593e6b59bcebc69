//! `information_schema` tables (schemata, tables, columns, tables_config,
//! materialized_views), materialized as SQLite temp tables at query time so that any
//! WHERE / IN / ORDER BY / projection works.

use rusqlite::types::Value;

use super::catalog::{Column, KeysType, Table};
use super::engine::{opt, t, Engine};
use super::error::{Result, SrError};
use super::show::{backticked, default_value};
use super::storage::q;

fn column_key(table: &Table, c: &Column) -> &'static str {
    if !c.is_key {
        return "";
    }
    match table.keys {
        KeysType::Primary => "PRI",
        KeysType::Unique => "UNI",
        KeysType::Duplicate => "DUP",
        KeysType::Aggregate => "AGG",
    }
}

fn numeric(c: &Column) -> (Value, Value) {
    use super::types::SrType as T;
    let i = |p: i64, s: i64| (Value::Integer(p), Value::Integer(s));
    match c.ty {
        T::TinyInt => i(3, 0),
        T::SmallInt => i(5, 0),
        T::Int => i(10, 0),
        T::BigInt => i(19, 0),
        T::LargeInt => i(39, 0),
        T::Float => i(12, 0),
        T::Double => i(22, 0),
        T::Decimal(p, s) => i(p.into(), s.into()),
        _ => (Value::Null, Value::Null),
    }
}

impl Engine {
    fn info_rows(&self, table: &str) -> Result<(Vec<&'static str>, Vec<Vec<Value>>)> {
        let int = |i: u64| Value::Integer(i as i64);
        let mut rows = Vec::new();
        let cols: Vec<&'static str> = match table {
            "schemata" => {
                for db in self.cat.dbs.keys() {
                    rows.push(vec![
                        t("def"),
                        t(db.clone()),
                        t("utf8"),
                        t("utf8_general_ci"),
                        Value::Null,
                    ]);
                }
                vec![
                    "CATALOG_NAME",
                    "SCHEMA_NAME",
                    "DEFAULT_CHARACTER_SET_NAME",
                    "DEFAULT_COLLATION_NAME",
                    "SQL_PATH",
                ]
            }
            "tables" => {
                for (dn, d) in &self.cat.dbs {
                    for tb in d.tables.values() {
                        let n = self.store.count(dn, &tb.name);
                        rows.push(vec![
                            t("def"),
                            t(dn.clone()),
                            t(tb.name.clone()),
                            t("BASE TABLE"),
                            t("StarRocks"),
                            Value::Null,
                            Value::Null,
                            Value::Integer(n),
                            Value::Integer(0),
                            Value::Integer(0),
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            t(tb.create_time.clone()),
                            t(tb.update_time.clone()),
                            Value::Null,
                            t("utf8_general_ci"),
                            Value::Null,
                            t(""),
                            t(tb.comment.clone()),
                        ]);
                    }
                    for m in d.mvs.values() {
                        let n = self.store.count(dn, &m.name);
                        rows.push(vec![
                            t("def"),
                            t(dn.clone()),
                            t(m.name.clone()),
                            t("VIEW"),
                            t("StarRocks"),
                            Value::Null,
                            Value::Null,
                            Value::Integer(n),
                            Value::Integer(0),
                            Value::Integer(0),
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            t("utf8_general_ci"),
                            Value::Null,
                            t(""),
                            t(""),
                        ]);
                    }
                }
                vec![
                    "TABLE_CATALOG",
                    "TABLE_SCHEMA",
                    "TABLE_NAME",
                    "TABLE_TYPE",
                    "ENGINE",
                    "VERSION",
                    "ROW_FORMAT",
                    "TABLE_ROWS",
                    "AVG_ROW_LENGTH",
                    "DATA_LENGTH",
                    "MAX_DATA_LENGTH",
                    "INDEX_LENGTH",
                    "DATA_FREE",
                    "AUTO_INCREMENT",
                    "CREATE_TIME",
                    "UPDATE_TIME",
                    "CHECK_TIME",
                    "TABLE_COLLATION",
                    "CHECKSUM",
                    "CREATE_OPTIONS",
                    "TABLE_COMMENT",
                ]
            }
            "columns" => {
                for (dn, d) in &self.cat.dbs {
                    let all = d
                        .tables
                        .values()
                        .map(|tb| (tb.name.clone(), tb.columns.clone(), Some(tb)))
                        .chain(
                            d.mvs
                                .values()
                                .map(|m| (m.name.clone(), m.columns.clone(), None)),
                        );
                    for (tn, columns, tb) in all {
                        for (i, c) in columns.iter().enumerate() {
                            let (np, ns) = numeric(c);
                            let len = c.ty.str_len().map_or(Value::Null, |n| int(n.into()));
                            let (cs, coll) = if c.ty.str_len().is_some() {
                                (t("utf8"), t("utf8_general_ci"))
                            } else {
                                (Value::Null, Value::Null)
                            };
                            let ck = tb.map_or("", |tb| column_key(tb, c));
                            let extra = if c.default_is_expr {
                                "DEFAULT_GENERATED"
                            } else {
                                ""
                            };
                            let dtp = if matches!(c.ty, super::types::SrType::DateTime) {
                                Value::Integer(0)
                            } else {
                                Value::Null
                            };
                            rows.push(vec![
                                Value::Null,
                                t(dn.clone()),
                                t(tn.clone()),
                                t(c.name.clone()),
                                int(i as u64 + 1),
                                default_value(c),
                                t(if c.nullable { "YES" } else { "NO" }),
                                t(c.ty.data_type()),
                                len.clone(),
                                len,
                                np.clone(),
                                ns.clone(),
                                dtp,
                                cs,
                                coll,
                                t(c.ty.show().replace(", ", ",")),
                                t(ck),
                                t(extra.to_string() + &c.agg.clone().unwrap_or_default()),
                                t("select,insert,update,references"),
                                t(c.comment.clone()),
                                np,
                                ns,
                                Value::Null,
                                Value::Null,
                            ]);
                        }
                    }
                }
                vec![
                    "TABLE_CATALOG",
                    "TABLE_SCHEMA",
                    "TABLE_NAME",
                    "COLUMN_NAME",
                    "ORDINAL_POSITION",
                    "COLUMN_DEFAULT",
                    "IS_NULLABLE",
                    "DATA_TYPE",
                    "CHARACTER_MAXIMUM_LENGTH",
                    "CHARACTER_OCTET_LENGTH",
                    "NUMERIC_PRECISION",
                    "NUMERIC_SCALE",
                    "DATETIME_PRECISION",
                    "CHARACTER_SET_NAME",
                    "COLLATION_NAME",
                    "COLUMN_TYPE",
                    "COLUMN_KEY",
                    "EXTRA",
                    "PRIVILEGES",
                    "COLUMN_COMMENT",
                    "COLUMN_SIZE",
                    "DECIMAL_DIGITS",
                    "GENERATION_EXPRESSION",
                    "SRS_ID",
                ]
            }
            "tables_config" => {
                for (dn, d) in &self.cat.dbs {
                    for tb in d.tables.values() {
                        let dist =
                            tb.distribution
                                .clone()
                                .unwrap_or(super::catalog::Distribution {
                                    cols: vec![],
                                    buckets: None,
                                });
                        let props = serde_json::to_string(&tb.properties).unwrap_or_default();
                        rows.push(vec![
                            t(dn.clone()),
                            t(tb.name.clone()),
                            t("OLAP"),
                            t(tb.keys.model()),
                            t(backticked(&tb.key_cols)),
                            t(backticked(&tb.partition_cols)),
                            t(backticked(&dist.cols)),
                            t(if dist.cols.is_empty() {
                                "RANDOM"
                            } else {
                                "HASH"
                            }),
                            Value::Integer(dist.buckets.unwrap_or(0) as i64),
                            t(backticked(if tb.order_by.is_empty() {
                                &tb.key_cols
                            } else {
                                &tb.order_by
                            })),
                            t(props),
                            Value::Integer(tb.id as i64),
                        ]);
                    }
                }
                vec![
                    "TABLE_SCHEMA",
                    "TABLE_NAME",
                    "TABLE_ENGINE",
                    "TABLE_MODEL",
                    "PRIMARY_KEY",
                    "PARTITION_KEY",
                    "DISTRIBUTE_KEY",
                    "DISTRIBUTE_TYPE",
                    "DISTRIBUTE_BUCKET",
                    "SORT_KEY",
                    "PROPERTIES",
                    "TABLE_ID",
                ]
            }
            "materialized_views" => {
                for (dn, d) in &self.cat.dbs {
                    for m in d.mvs.values() {
                        let n = self.store.count(dn, &m.name);
                        let refresh_type = if m.refresh.starts_with("MANUAL") {
                            "MANUAL"
                        } else {
                            "ASYNC"
                        };
                        rows.push(vec![
                            Value::Integer(m.id as i64),
                            t(dn.clone()),
                            t(m.name.clone()),
                            t(refresh_type),
                            t(if m.active { "true" } else { "false" }),
                            t(m.inactive_reason.clone()),
                            t("UNPARTITIONED"),
                            Value::Integer(m.id as i64 + 1),
                            t(format!("mv-{}", m.id)),
                            opt(m.last_refresh.clone()),
                            opt(m.last_refresh.clone()),
                            t("0.000"),
                            t(m.last_refresh_state.clone()),
                            Value::Integer(n),
                            t(self.show_create_mv(m)),
                            t(""),
                            t(if m.active { "VALID" } else { "INVALID" }),
                            t("root"),
                        ]);
                    }
                }
                vec![
                    "MATERIALIZED_VIEW_ID",
                    "TABLE_SCHEMA",
                    "TABLE_NAME",
                    "REFRESH_TYPE",
                    "IS_ACTIVE",
                    "INACTIVE_REASON",
                    "PARTITION_TYPE",
                    "TASK_ID",
                    "TASK_NAME",
                    "LAST_REFRESH_START_TIME",
                    "LAST_REFRESH_FINISHED_TIME",
                    "LAST_REFRESH_DURATION",
                    "LAST_REFRESH_STATE",
                    "TABLE_ROWS",
                    "MATERIALIZED_VIEW_DEFINITION",
                    "EXTRA_MESSAGE",
                    "QUERY_REWRITE_STATUS",
                    "CREATOR",
                ]
            }
            other => return Err(SrError::unsupported(format!("information_schema.{other}"))),
        };
        Ok((cols, rows))
    }

    /// Materializes `information_schema.<table>` as a SQLite temp table.
    pub fn fill_information_schema(&mut self, table: &str) -> Result<()> {
        let (cols, rows) = self.info_rows(table)?;
        let name = q(&format!("information_schema.{table}"));
        let defs: Vec<String> = cols.iter().map(|c| q(c)).collect();
        let conn = &self.store.conn;
        let err = |e: rusqlite::Error| SrError::new(e.to_string());
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS temp.{name}; CREATE TEMP TABLE {name} ({});",
            defs.join(", ")
        ))
        .map_err(err)?;
        let marks = vec!["?"; cols.len()].join(", ");
        let mut stmt = conn
            .prepare(&format!("INSERT INTO temp.{name} VALUES ({marks})"))
            .map_err(err)?;
        for r in rows {
            stmt.execute(rusqlite::params_from_iter(r)).map_err(err)?;
        }
        Ok(())
    }
}
