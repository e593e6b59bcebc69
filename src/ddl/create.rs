//! `CREATE TABLE`: the statement, built either from a target-table model (for
//! shadow rebuilds and for the before/after `SHOW CREATE TABLE` text) or by
//! the planner for a new source table. Rendered in the layout StarRocks'
//! `SHOW CREATE TABLE` uses, with upper-case type names.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{quote_ident, quote_string, quote_table, ColumnDef, DefaultValue};
use crate::catalog::{Distribution, KeysType, TargetTable};
use crate::model::TableId;

/// `CREATE TABLE ...` with the clauses ddlsync writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateTable {
    /// The table.
    pub table: TableId,
    /// Columns in order (key columns first).
    pub columns: Vec<ColumnDef>,
    /// Key model.
    pub keys_type: KeysType,
    /// Key columns in key order.
    pub key_columns: Vec<String>,
    /// Table comment.
    pub comment: Option<String>,
    /// Partition clause, verbatim as `SHOW CREATE TABLE` printed it.
    pub partition_clause: Option<String>,
    /// Bucketing.
    pub distribution: Option<Distribution>,
    /// `ORDER BY` sort key.
    pub order_by: Vec<String>,
    /// Properties, sorted by name.
    pub properties: BTreeMap<String, String>,
}

impl CreateTable {
    /// The statement that creates `table` as modelled (columns, keys,
    /// partitioning, bucketing, sort key, properties, comment).
    pub fn from_target(table: &TargetTable) -> Self {
        Self::from_target_as(table, table.id.clone())
    }

    /// Like [`CreateTable::from_target`], under another name (shadow tables).
    pub fn from_target_as(table: &TargetTable, id: TableId) -> Self {
        let columns = table
            .columns
            .iter()
            .map(|c| ColumnDef {
                name: c.name.clone(),
                ty: c.ty.clone(),
                key: false,
                aggregation: c.aggregation.clone(),
                nullable: c.nullable,
                default: c.default.as_deref().map(DefaultValue::from_catalog),
                comment: c.comment.clone(),
            })
            .collect();
        Self {
            table: id,
            columns,
            keys_type: table.keys_type,
            key_columns: table.key_columns.clone(),
            comment: table.comment.clone(),
            partition_clause: table.partition_clause.clone(),
            distribution: table.distribution.clone(),
            order_by: table.order_by.clone(),
            properties: table.properties.clone(),
        }
    }
}

fn ident_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| quote_ident(n))
        .collect::<Vec<_>>()
        .join(", ")
}

fn keys_keyword(k: KeysType) -> &'static str {
    match k {
        KeysType::Primary => "PRIMARY KEY",
        KeysType::Duplicate => "DUPLICATE KEY",
        KeysType::Unique => "UNIQUE KEY",
        KeysType::Aggregate => "AGGREGATE KEY",
    }
}

impl fmt::Display for CreateTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "CREATE TABLE {} (", quote_table(&self.table))?;
        for (i, c) in self.columns.iter().enumerate() {
            let sep = if i + 1 < self.columns.len() { "," } else { "" };
            writeln!(f, "  {c}{sep}")?;
        }
        f.write_str(") ENGINE=OLAP")?;
        if !self.key_columns.is_empty() {
            write!(
                f,
                "\n{}({})",
                keys_keyword(self.keys_type),
                ident_list(&self.key_columns)
            )?;
        }
        if let Some(c) = &self.comment {
            write!(f, "\nCOMMENT {}", quote_string(c))?;
        }
        if let Some(p) = &self.partition_clause {
            write!(f, "\n{}", p.trim())?;
        }
        match &self.distribution {
            Some(Distribution::Hash { columns, buckets }) => {
                write!(f, "\nDISTRIBUTED BY HASH({})", ident_list(columns))?;
                if let Some(b) = buckets {
                    write!(f, " BUCKETS {b}")?;
                }
            }
            Some(Distribution::Random { buckets }) => {
                f.write_str("\nDISTRIBUTED BY RANDOM")?;
                if let Some(b) = buckets {
                    write!(f, " BUCKETS {b}")?;
                }
            }
            None => {}
        }
        if !self.order_by.is_empty() {
            write!(f, "\nORDER BY({})", ident_list(&self.order_by))?;
        }
        if !self.properties.is_empty() {
            f.write_str("\nPROPERTIES (")?;
            for (i, (k, v)) in self.properties.iter().enumerate() {
                let sep = if i + 1 < self.properties.len() {
                    ","
                } else {
                    ""
                };
                write!(f, "\n{} = {}{sep}", quote_string(k), quote_string(v))?;
            }
            f.write_str("\n)")?;
        }
        Ok(())
    }
}
