//! [`render_show_create`]: a [`TargetTable`] printed exactly as StarRocks'
//! `SHOW CREATE TABLE` prints it.

use super::{Distribution, KeysType, TargetTable};

/// Quotes an identifier with backticks as StarRocks prints it.
fn q(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A double-quoted string literal as StarRocks prints it.
fn s(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn list(cols: &[String]) -> String {
    cols.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
}

/// Renders a table exactly as StarRocks' `SHOW CREATE TABLE` prints it
/// (including the trailing spaces after `ENGINE=OLAP` and `BUCKETS n`).
pub fn render_show_create(table: &TargetTable) -> String {
    let mut out = format!("CREATE TABLE {} (\n", q(&table.id.table));
    let cols: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let mut line = format!("  {} {}", q(&c.name), super::types_text::render_type(&c.ty));
            if let Some(a) = &c.aggregation {
                line.push(' ');
                line.push_str(a);
            }
            line.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
            if let Some(d) = &c.default {
                let raw = d.eq_ignore_ascii_case("CURRENT_TIMESTAMP") || d.starts_with('(');
                line.push_str(" DEFAULT ");
                line.push_str(&if raw { d.clone() } else { s(d) });
            }
            line.push_str(" COMMENT ");
            line.push_str(&s(c.comment.as_deref().unwrap_or("")));
            line
        })
        .collect();
    out.push_str(&cols.join(",\n"));
    out.push_str("\n) ENGINE=OLAP \n");
    let kw = match table.keys_type {
        KeysType::Primary => "PRIMARY",
        KeysType::Duplicate => "DUPLICATE",
        KeysType::Unique => "UNIQUE",
        KeysType::Aggregate => "AGGREGATE",
    };
    out.push_str(&format!("{kw} KEY({})\n", list(&table.key_columns)));
    if let Some(cm) = &table.comment {
        out.push_str(&format!("COMMENT {}\n", s(cm)));
    }
    if let Some(p) = &table.partition_clause {
        out.push_str(p);
        out.push('\n');
    }
    match &table.distribution {
        Some(Distribution::Hash { columns, buckets }) => {
            out.push_str(&format!("DISTRIBUTED BY HASH({})", list(columns)));
            if let Some(b) = buckets {
                out.push_str(&format!(" BUCKETS {b} "));
            }
            out.push('\n');
        }
        Some(Distribution::Random { buckets }) => {
            out.push_str("DISTRIBUTED BY RANDOM");
            if let Some(b) = buckets {
                out.push_str(&format!(" BUCKETS {b} "));
            }
            out.push('\n');
        }
        None => {}
    }
    if !table.order_by.is_empty() {
        out.push_str(&format!("ORDER BY({})\n", list(&table.order_by)));
    }
    if table.properties.is_empty() {
        let end = out.trim_end_matches('\n').len();
        out.truncate(end);
        out.push(';');
    } else {
        let props: Vec<String> = table
            .properties
            .iter()
            .map(|(k, v)| format!("{} = {}", s(k), s(v)))
            .collect();
        out.push_str(&format!("PROPERTIES (\n{}\n);", props.join(",\n")));
    }
    out
}
