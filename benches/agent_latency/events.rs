//! Synthetic MariaDB schema-change values, shaped as Debezium writes them, and
//! the producer call that stamps each record with the time it was sent.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};

use super::{now_ms, Result, DB};

/// One MariaDB column as Debezium writes it in `tableChanges`.
#[derive(Clone)]
pub struct Column {
    pub name: String,
    /// `INT`, `BIGINT` or `VARCHAR`.
    pub type_name: &'static str,
    pub length: Option<u32>,
    pub optional: bool,
}

impl Column {
    pub fn json(&self, position: usize) -> serde_json::Value {
        let jdbc = match self.type_name {
            "BIGINT" => -5,
            "INT" => 4,
            _ => 12,
        };
        serde_json::json!({
            "name": self.name,
            "jdbcType": jdbc,
            "nativeType": null,
            "typeName": self.type_name,
            "typeExpression": self.type_name,
            "charsetName": self.length.map(|_| "utf8mb4"),
            "length": self.length,
            "scale": null,
            "position": position,
            "optional": self.optional,
            "autoIncremented": false,
            "generated": false,
            "comment": null,
            "defaultValueExpression": null,
            "enumValues": null,
        })
    }

    pub fn sql(&self) -> String {
        let ty = match self.length {
            Some(l) => format!("{}({l})", self.type_name),
            None => self.type_name.to_owned(),
        };
        let null = if self.optional { "NULL" } else { "NOT NULL" };
        format!("`{}` {ty} {null}", self.name)
    }
}

pub fn initial_columns() -> Vec<Column> {
    let mut cols = vec![Column {
        name: "id".into(),
        type_name: "BIGINT",
        length: None,
        optional: false,
    }];
    for i in 2..=8 {
        cols.push(Column {
            name: format!("c{i}"),
            type_name: if i % 2 == 0 { "VARCHAR" } else { "INT" },
            length: (i % 2 == 0).then_some(100),
            optional: true,
        });
    }
    cols
}

/// The value of a MariaDB schema-change record (JSON converter, schemas off).
pub fn schema_change(table: &str, kind: &str, ddl: &str, columns: &[Column], pos: u64) -> String {
    let ts = now_ms();
    let value = serde_json::json!({
        "source": {
            "version": "3.6.3.Final", "connector": "mysql", "name": "benchsrv",
            "ts_ms": ts, "snapshot": "false", "db": DB, "sequence": null,
            "ts_us": ts * 1000, "ts_ns": ts * 1_000_000, "table": table,
            "server_id": 223306, "gtid": null, "file": "mariadb-bin.000001",
            "pos": pos, "row": 0, "thread": null, "query": null,
        },
        "ts_ms": ts,
        "databaseName": DB,
        "schemaName": null,
        "ddl": ddl,
        "tableChanges": [{
            "type": kind,
            "id": format!("\"{DB}\".\"{table}\""),
            "table": {
                "defaultCharsetName": "utf8mb4",
                "primaryKeyColumnNames": ["id"],
                "columns": columns.iter().enumerate().map(|(i, c)| c.json(i + 1)).collect::<Vec<_>>(),
                "comment": null,
            },
        }],
    });
    value.to_string()
}

/// Sends one record whose Kafka timestamp is now; returns that timestamp.
pub async fn send(producer: &FutureProducer, topic: &str, value: &str) -> Result<i64> {
    let key = format!(r#"{{"databaseName":"{DB}"}}"#);
    let ts = now_ms();
    producer
        .send(
            FutureRecord::to(topic)
                .key(&key)
                .payload(value)
                .timestamp(ts),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| format!("producing to {topic}: {e}"))?;
    Ok(ts)
}
