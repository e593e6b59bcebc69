//! `CREATE MATERIALIZED VIEW ... AS SELECT ...` built by ddlsync (the
//! current-state view over a raw change-log table), as a small query AST:
//! column references, string and integer literals, a closed set of
//! functions (`get_json_*`, `json_query`, `COALESCE`), `CAST`, comparisons,
//! `ROW_NUMBER() OVER (...)`, and one level of sub-query. Identifiers go
//! through [`quote_ident`], literals through [`quote_string`].

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{quote_ident, quote_string, quote_table};
use crate::model::TableId;
use crate::types::SrType;

/// The functions ddlsync writes in generated queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// `get_json_string(json, path)`
    GetJsonString,
    /// `get_json_int(json, path)`
    GetJsonInt,
    /// `get_json_double(json, path)`
    GetJsonDouble,
    /// `json_query(json, path)` (a JSON value)
    JsonQuery,
    /// `COALESCE(a, b, ...)`
    Coalesce,
}

impl Function {
    /// The name as written.
    pub fn name(self) -> &'static str {
        match self {
            Function::GetJsonString => "get_json_string",
            Function::GetJsonInt => "get_json_int",
            Function::GetJsonDouble => "get_json_double",
            Function::JsonQuery => "json_query",
            Function::Coalesce => "COALESCE",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    NotEq,
}

/// One sort key of an `ORDER BY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderKey {
    /// The expression.
    pub expr: Expr,
    /// `DESC` (else `ASC`, not written).
    pub descending: bool,
}

/// An expression of a generated query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expr {
    /// A column reference (unqualified).
    Column {
        /// The column.
        name: String,
    },
    /// A string literal.
    Str {
        /// The value.
        value: String,
    },
    /// An integer literal.
    Int {
        /// The value.
        value: i64,
    },
    /// A function call.
    Call {
        /// The function.
        function: Function,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `CAST(expr AS ty)`
    Cast {
        /// The value.
        expr: Box<Expr>,
        /// The type.
        ty: SrType,
    },
    /// `left op right`
    Compare {
        /// Left side.
        left: Box<Expr>,
        /// Operator.
        op: CmpOp,
        /// Right side.
        right: Box<Expr>,
    },
    /// `a AND b AND ...`
    And {
        /// The conjuncts.
        all: Vec<Expr>,
    },
    /// `ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)`
    RowNumber {
        /// Partitioning expressions.
        partition_by: Vec<Expr>,
        /// Ordering.
        order_by: Vec<OrderKey>,
    },
}

impl Expr {
    /// A column reference.
    pub fn column(name: impl Into<String>) -> Self {
        Expr::Column { name: name.into() }
    }

    /// A string literal.
    pub fn str(value: impl Into<String>) -> Self {
        Expr::Str {
            value: value.into(),
        }
    }

    /// A function call.
    pub fn call(function: Function, args: Vec<Expr>) -> Self {
        Expr::Call { function, args }
    }

    /// `CAST(self AS ty)`.
    pub fn cast(self, ty: SrType) -> Self {
        Expr::Cast {
            expr: Box::new(self),
            ty,
        }
    }

    /// `self op right`.
    pub fn compare(self, op: CmpOp, right: Expr) -> Self {
        Expr::Compare {
            left: Box::new(self),
            op,
            right: Box::new(right),
        }
    }
}

fn comma_list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if self.descending {
            f.write_str(" DESC")?;
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column { name } => f.write_str(&quote_ident(name)),
            Expr::Str { value } => f.write_str(&quote_string(value)),
            Expr::Int { value } => write!(f, "{value}"),
            Expr::Call { function, args } => write!(f, "{}({})", function.name(), comma_list(args)),
            Expr::Cast { expr, ty } => write!(f, "CAST({expr} AS {ty})"),
            Expr::Compare { left, op, right } => {
                let op = match op {
                    CmpOp::Eq => "=",
                    CmpOp::NotEq => "<>",
                };
                write!(f, "{left} {op} {right}")
            }
            Expr::And { all } => {
                let parts: Vec<String> = all.iter().map(ToString::to_string).collect();
                f.write_str(&parts.join(" AND "))
            }
            Expr::RowNumber {
                partition_by,
                order_by,
            } => {
                f.write_str("ROW_NUMBER() OVER (")?;
                if !partition_by.is_empty() {
                    write!(f, "PARTITION BY {}", comma_list(partition_by))?;
                }
                if !order_by.is_empty() {
                    if !partition_by.is_empty() {
                        f.write_str(" ")?;
                    }
                    write!(f, "ORDER BY {}", comma_list(order_by))?;
                }
                f.write_str(")")
            }
        }
    }
}

/// One item of a SELECT list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectItem {
    /// The expression.
    pub expr: Expr,
    /// `AS alias`.
    pub alias: Option<String>,
}

impl fmt::Display for SelectItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if let Some(a) = &self.alias {
            write!(f, " AS {}", quote_ident(a))?;
        }
        Ok(())
    }
}

/// What a SELECT reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum FromClause {
    /// A table, fully qualified.
    Table {
        /// The table.
        table: TableId,
    },
    /// `(SELECT ...) alias`
    Subquery {
        /// The inner query.
        query: Box<Select>,
        /// Its alias.
        alias: String,
    },
}

impl fmt::Display for FromClause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FromClause::Table { table } => f.write_str(&quote_table(table)),
            FromClause::Subquery { query, alias } => {
                let inner = query.to_string().replace('\n', "\n  ");
                write!(f, "(\n  {inner}\n) {}", quote_ident(alias))
            }
        }
    }
}

/// `SELECT items FROM from [WHERE filter]`, one item per line (a sub-query
/// indented), so that plans and diffs of generated views stay readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Select {
    /// The SELECT list.
    pub items: Vec<SelectItem>,
    /// The source.
    pub from: FromClause,
    /// The WHERE condition.
    pub filter: Option<Expr>,
}

impl fmt::Display for Select {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT")?;
        for (i, item) in self.items.iter().enumerate() {
            let sep = if i + 1 < self.items.len() { "," } else { "" };
            write!(f, "\n  {item}{sep}")?;
        }
        write!(f, "\nFROM {}", self.from)?;
        if let Some(w) = &self.filter {
            write!(f, "\nWHERE {w}")?;
        }
        Ok(())
    }
}

/// `CREATE MATERIALIZED VIEW mv [COMMENT] [DISTRIBUTED BY HASH] REFRESH ...
/// [PROPERTIES] AS SELECT ...`, as ddlsync generates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateMaterializedViewAs {
    /// The view.
    pub mv: TableId,
    /// `COMMENT "..."` (ddlsync keeps its definition fingerprint there).
    pub comment: Option<String>,
    /// `DISTRIBUTED BY HASH(cols)` (empty: not written).
    pub distributed_by: Vec<String>,
    /// `REFRESH ...` (e.g. `ASYNC`).
    pub refresh: String,
    /// Properties, sorted by name.
    pub properties: BTreeMap<String, String>,
    /// The query.
    pub query: Select,
}

impl fmt::Display for CreateMaterializedViewAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CREATE MATERIALIZED VIEW {}", quote_table(&self.mv))?;
        if let Some(c) = &self.comment {
            write!(f, "\nCOMMENT {}", quote_string(c))?;
        }
        if !self.distributed_by.is_empty() {
            let cols: Vec<String> = self.distributed_by.iter().map(|c| quote_ident(c)).collect();
            write!(f, "\nDISTRIBUTED BY HASH({})", cols.join(", "))?;
        }
        write!(f, "\nREFRESH {}", self.refresh)?;
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
        write!(f, "\nAS {}", self.query)
    }
}
