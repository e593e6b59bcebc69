//! Introspection: the `information_schema` queries (one round trip per view
//! for every table asked about, starrocks-facts §4) and the pure assembly of
//! their rows into a [`Catalog`] with the same content `parse_catalog` gives
//! for the same tables' `SHOW CREATE` output.
//!
//! `tables_config` names the partition columns but not the partition clause,
//! so partitioned tables also get one `SHOW CREATE TABLE` for the verbatim
//! clause (shadow rebuilds re-issue it).

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::mv::resolve_reads;
use crate::catalog::{
    parse_catalog, parse_type_text, Catalog, Distribution, KeysType, MaterializedView, RefreshKind,
    TargetColumn, TargetTable,
};
use crate::model::TableId;

use super::error::{Error, Result};
use super::Rows;

/// Aggregate functions `information_schema.columns.EXTRA` may name.
const AGGREGATIONS: &[&str] = &[
    "SUM",
    "MIN",
    "MAX",
    "REPLACE",
    "REPLACE_IF_NOT_NULL",
    "HLL_UNION",
    "BITMAP_UNION",
    "PERCENTILE_UNION",
];

/// A SQL string literal in single quotes (names in WHERE clauses).
pub(crate) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

fn in_list<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let set: BTreeSet<&str> = values.into_iter().collect();
    set.into_iter().map(literal).collect::<Vec<_>>().join(", ")
}

/// The four queries, in order: columns, tables_config, tables, materialized_views.
pub(crate) fn queries(tables: &[TableId], view_databases: &[String]) -> [String; 4] {
    let dbs = in_list(tables.iter().map(|t| t.database.as_str()));
    let names = in_list(tables.iter().map(|t| t.table.as_str()));
    let view_dbs = in_list(
        tables
            .iter()
            .map(|t| t.database.as_str())
            .chain(view_databases.iter().map(String::as_str)),
    );
    let scope = format!("WHERE TABLE_SCHEMA IN ({dbs}) AND TABLE_NAME IN ({names})");
    [
        format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, \
             IS_NULLABLE, COLUMN_TYPE, COLUMN_KEY, EXTRA, COLUMN_COMMENT \
             FROM information_schema.columns {scope} \
             ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
        ),
        format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_MODEL, PRIMARY_KEY, PARTITION_KEY, \
             DISTRIBUTE_KEY, DISTRIBUTE_TYPE, DISTRIBUTE_BUCKET, SORT_KEY, PROPERTIES \
             FROM information_schema.tables_config {scope}"
        ),
        format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_COMMENT \
             FROM information_schema.tables {scope}"
        ),
        format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, IS_ACTIVE, INACTIVE_REASON, \
             MATERIALIZED_VIEW_DEFINITION FROM information_schema.materialized_views \
             WHERE TABLE_SCHEMA IN ({view_dbs}) ORDER BY TABLE_SCHEMA, TABLE_NAME"
        ),
    ]
}

/// The answers of the four queries.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    pub columns: Rows,
    pub tables_config: Rows,
    pub tables: Rows,
    pub views: Rows,
}

/// Splits a key list as `tables_config` prints it (`` `a`, `b` `` or `a, b`).
pub(crate) fn split_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '`' {
                if chars.peek() == Some(&'`') {
                    chars.next();
                    cur.push('`');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '`' {
            quoted = true;
            was_quoted = true;
        } else if c == ',' {
            let name = if was_quoted {
                cur.clone()
            } else {
                cur.trim().to_string()
            };
            if !name.is_empty() {
                out.push(name);
            }
            cur.clear();
            was_quoted = false;
        } else if (!c.is_whitespace() || !cur.is_empty()) && !was_quoted {
            cur.push(c);
        }
    }
    let name = if was_quoted {
        cur
    } else {
        cur.trim().to_string()
    };
    if !name.is_empty() {
        out.push(name);
    }
    out
}

fn keys_type(model: &str) -> Option<KeysType> {
    let m = model.trim().to_ascii_uppercase();
    Some(if m.starts_with("PRIMARY") {
        KeysType::Primary
    } else if m.starts_with("DUP") {
        KeysType::Duplicate
    } else if m.starts_with("UNIQUE") {
        KeysType::Unique
    } else if m.starts_with("AGG") {
        KeysType::Aggregate
    } else {
        return None;
    })
}

fn properties(text: &str) -> Result<BTreeMap<String, String>, String> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let map: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| format!("PROPERTIES is not a JSON object: {e}"))?;
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect())
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

/// The ids of the `wanted` tables `tables_config` reports as partitioned.
pub(crate) fn partitioned(wanted: &[TableId], answers: &Answers) -> Vec<TableId> {
    answers
        .tables_config
        .iter()
        .filter(|r| r.get("PARTITION_KEY").is_some_and(|p| !p.trim().is_empty()))
        .filter_map(|r| Some(TableId::new(r.get("TABLE_SCHEMA")?, r.get("TABLE_NAME")?)))
        .filter(|id| wanted.contains(id))
        .collect()
}

/// Partition clause and columns of a table, from its `SHOW CREATE TABLE` text.
pub(crate) fn partition_of(
    id: &TableId,
    show_create: &str,
) -> Result<(Option<String>, Vec<String>)> {
    let cat = parse_catalog(show_create, Some(&id.database)).map_err(|e| Error::Unexpected {
        query: format!("SHOW CREATE TABLE {id}"),
        message: e.to_string(),
    })?;
    let t = cat
        .tables
        .into_values()
        .next()
        .ok_or_else(|| Error::Unexpected {
            query: format!("SHOW CREATE TABLE {id}"),
            message: "no CREATE TABLE in the answer".into(),
        })?;
    Ok((t.partition_clause, t.partition_columns))
}

/// Assembles the catalog of `wanted` (and the views of the queried
/// databases) from the answers. `partitions` holds the partition clause of
/// each partitioned table.
pub(crate) fn build_catalog(
    wanted: &[TableId],
    answers: &Answers,
    partitions: &BTreeMap<TableId, (Option<String>, Vec<String>)>,
    queries: &[String; 4],
) -> Result<Catalog> {
    let bad = |q: usize, message: String| Error::Unexpected {
        query: queries[q].clone(),
        message,
    };
    let wanted: BTreeSet<&TableId> = wanted.iter().collect();
    let id_of = |r: &super::Row<'_>| -> Option<TableId> {
        Some(TableId::new(r.get("TABLE_SCHEMA")?, r.get("TABLE_NAME")?))
    };
    let mut columns: BTreeMap<TableId, Vec<(u64, TargetColumn)>> = BTreeMap::new();
    for r in answers.columns.iter() {
        let Some(id) = id_of(&r).filter(|id| wanted.contains(id)) else {
            continue;
        };
        let name = r.get("COLUMN_NAME").unwrap_or_default().to_string();
        let ty_text = r.get("COLUMN_TYPE").unwrap_or_default();
        let ty = parse_type_text(ty_text)
            .map_err(|e| bad(0, format!("{id}.{name}: type `{ty_text}`: {e}")))?;
        let extra = r.get("EXTRA").unwrap_or_default().to_ascii_uppercase();
        let extra = extra.trim_start_matches("DEFAULT_GENERATED").trim();
        let ordinal = r
            .get("ORDINAL_POSITION")
            .and_then(|p| p.trim().parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        columns.entry(id).or_default().push((
            ordinal,
            TargetColumn {
                name,
                ty,
                nullable: r
                    .get("IS_NULLABLE")
                    .is_none_or(|n| n.eq_ignore_ascii_case("YES")),
                default: r.get("COLUMN_DEFAULT").map(str::to_string),
                comment: non_empty(r.get("COLUMN_COMMENT")),
                aggregation: AGGREGATIONS.contains(&extra).then(|| extra.to_string()),
            },
        ));
    }
    let comments: BTreeMap<TableId, Option<String>> = answers
        .tables
        .iter()
        .filter_map(|r| Some((id_of(&r)?, non_empty(r.get("TABLE_COMMENT")))))
        .collect();
    let mut catalog = Catalog::default();
    for r in answers.tables_config.iter() {
        let Some(id) = id_of(&r).filter(|id| wanted.contains(id)) else {
            continue;
        };
        let Some(mut cols) = columns.remove(&id) else {
            continue;
        };
        cols.sort_by_key(|(o, _)| *o);
        let model = r.get("TABLE_MODEL").unwrap_or_default();
        let keys_type = keys_type(model)
            .ok_or_else(|| bad(1, format!("{id}: unknown TABLE_MODEL `{model}`")))?;
        let key_columns = split_names(r.get("PRIMARY_KEY").unwrap_or_default());
        let sort = split_names(r.get("SORT_KEY").unwrap_or_default());
        let same_as_key = sort.len() == key_columns.len()
            && sort
                .iter()
                .zip(&key_columns)
                .all(|(a, b)| a.eq_ignore_ascii_case(b));
        let buckets = r
            .get("DISTRIBUTE_BUCKET")
            .and_then(|b| b.trim().parse::<u32>().ok())
            .filter(|&b| b > 0);
        let dist_cols = split_names(r.get("DISTRIBUTE_KEY").unwrap_or_default());
        let dist_type = r.get("DISTRIBUTE_TYPE").unwrap_or_default();
        let distribution = if !dist_cols.is_empty() {
            Some(Distribution::Hash {
                columns: dist_cols,
                buckets,
            })
        } else if dist_type.eq_ignore_ascii_case("RANDOM") {
            Some(Distribution::Random { buckets })
        } else {
            None
        };
        let (partition_clause, partition_columns) =
            partitions.get(&id).cloned().unwrap_or((None, Vec::new()));
        let properties = properties(r.get("PROPERTIES").unwrap_or_default())
            .map_err(|m| bad(1, format!("{id}: {m}")))?;
        let table = TargetTable {
            id: id.clone(),
            columns: cols.into_iter().map(|(_, c)| c).collect(),
            keys_type,
            key_columns,
            partition_clause,
            partition_columns,
            distribution,
            order_by: if same_as_key { Vec::new() } else { sort },
            properties,
            comment: comments.get(&id).cloned().flatten(),
        };
        catalog.tables.insert(id, table);
    }
    for r in answers.views.iter() {
        let Some(id) = id_of(&r) else { continue };
        let definition = r.get("MATERIALIZED_VIEW_DEFINITION").unwrap_or_default();
        let mut mv = view_from_definition(&id, definition);
        mv.is_active = r.get("IS_ACTIVE").is_none_or(|a| {
            a.eq_ignore_ascii_case("true") || a == "1" || a.eq_ignore_ascii_case("yes")
        });
        mv.inactive_reason = if mv.is_active {
            None
        } else {
            non_empty(r.get("INACTIVE_REASON"))
        };
        let (reads, warnings) = resolve_reads(&mv.query, &id.database, &catalog.tables);
        mv.reads = reads;
        mv.warnings.extend(warnings);
        catalog.views.insert(id, mv);
    }
    Ok(catalog)
}

/// A view from `MATERIALIZED_VIEW_DEFINITION`: the full `CREATE
/// MATERIALIZED VIEW` statement (parsed as `SHOW CREATE` output), or, when
/// it does not parse, the text after the first `AS` as its query, with a warning.
fn view_from_definition(id: &TableId, definition: &str) -> MaterializedView {
    if let Ok(cat) = parse_catalog(definition, Some(&id.database)) {
        if let Some(mut mv) = cat.views.into_values().next() {
            mv.id = id.clone();
            mv.warnings.clear();
            return mv;
        }
    }
    let upper = definition.to_ascii_uppercase();
    let query = upper
        .find("\nAS ")
        .or_else(|| upper.find(" AS SELECT"))
        .map_or(definition, |i| &definition[i + 3..])
        .trim()
        .trim_end_matches(';')
        .trim()
        .to_string();
    MaterializedView {
        id: id.clone(),
        create_sql: definition.trim().to_string(),
        query,
        refresh: if upper.contains("REFRESH MANUAL") {
            RefreshKind::Manual
        } else {
            RefreshKind::Async
        },
        reads: BTreeMap::new(),
        is_active: true,
        inactive_reason: None,
        warnings: vec![format!(
            "definition of {id} not read as SHOW CREATE output; its query was cut after AS"
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(columns: &[&str], data: &[&[Option<&str>]]) -> Rows {
        Rows {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: data
                .iter()
                .map(|r| r.iter().map(|v| v.map(str::to_string)).collect())
                .collect(),
        }
    }

    #[test]
    fn key_lists_split_with_and_without_backticks() {
        assert_eq!(split_names("`a`, `b c`"), vec!["a", "b c"]);
        assert_eq!(split_names("a, b"), vec!["a", "b"]);
        assert_eq!(split_names("`we``ird`,`x`"), vec!["we`ird", "x"]);
        assert!(split_names("").is_empty());
    }

    #[test]
    fn literals_escape_quotes() {
        assert_eq!(literal("o'k"), "'o''k'");
    }

    #[test]
    fn builds_a_table_and_a_view() {
        let id = TableId::new("d", "t");
        let q = queries(std::slice::from_ref(&id), &[]);
        let s = Some;
        let answers = Answers {
            columns: rows(
                &[
                    "TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "ORDINAL_POSITION",
                    "COLUMN_DEFAULT", "IS_NULLABLE", "COLUMN_TYPE", "COLUMN_KEY", "EXTRA",
                    "COLUMN_COMMENT",
                ],
                &[
                    &[s("d"), s("t"), s("v"), s("2"), s("0"), s("YES"), s("decimal(10,2)"), s(""), s(""), s("money")],
                    &[s("d"), s("t"), s("id"), s("1"), None, s("NO"), s("bigint(20)"), s("PRI"), s(""), s("")],
                    &[s("d"), s("other"), s("x"), s("1"), None, s("NO"), s("int(11)"), s(""), s(""), s("")],
                ],
            ),
            tables_config: rows(
                &[
                    "TABLE_SCHEMA", "TABLE_NAME", "TABLE_MODEL", "PRIMARY_KEY", "PARTITION_KEY",
                    "DISTRIBUTE_KEY", "DISTRIBUTE_TYPE", "DISTRIBUTE_BUCKET", "SORT_KEY", "PROPERTIES",
                ],
                &[&[
                    s("d"), s("t"), s("PRIMARY_KEYS"), s("`id`"), s(""), s("`id`"), s("HASH"),
                    s("4"), s("`id`"), s(r#"{"replication_num":"1"}"#),
                ]],
            ),
            tables: rows(
                &["TABLE_SCHEMA", "TABLE_NAME", "TABLE_TYPE", "TABLE_COMMENT"],
                &[&[s("d"), s("t"), s("BASE TABLE"), s("")]],
            ),
            views: rows(
                &["TABLE_SCHEMA", "TABLE_NAME", "IS_ACTIVE", "INACTIVE_REASON", "MATERIALIZED_VIEW_DEFINITION"],
                &[&[
                    s("d"), s("mv"), s("false"), s("base table schema changed for columns: v"),
                    s("CREATE MATERIALIZED VIEW `mv` (`id`, `v`)\nREFRESH MANUAL\nAS SELECT `id`, `v` FROM `d`.`t`;"),
                ]],
            ),
        };
        let cat = build_catalog(std::slice::from_ref(&id), &answers, &BTreeMap::new(), &q).unwrap();
        let t = &cat.tables[&id];
        assert_eq!(t.columns[0].name, "id");
        assert!(!t.columns[0].nullable);
        assert_eq!(t.columns[1].default.as_deref(), Some("0"));
        assert_eq!(t.columns[1].comment.as_deref(), Some("money"));
        assert_eq!(t.keys_type, KeysType::Primary);
        assert!(t.order_by.is_empty());
        assert_eq!(
            t.distribution,
            Some(Distribution::Hash {
                columns: vec!["id".into()],
                buckets: Some(4)
            })
        );
        assert_eq!(cat.tables.len(), 1);
        let mv = &cat.views[&TableId::new("d", "mv")];
        assert!(!mv.is_active);
        assert_eq!(mv.refresh, RefreshKind::Manual);
        assert!(mv.reads[&id].contains("v"));
    }
}
