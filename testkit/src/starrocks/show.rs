//! SHOW statements, DESC, SHOW CREATE TABLE rendering and the information_schema tables
//! (materialized as SQLite temp tables at query time so WHERE/ORDER BY work).

use rusqlite::types::Value;

use super::catalog::{Column, Table};
use super::engine::{opt, t, Engine, Output, Session};
use super::error::{Result, SrError};
use super::lexer::{render, Cursor, Tok};

fn render_partition(table: &Table, toks: &[Tok]) -> String {
    let map = |toks: &[Tok], dq: bool| -> Vec<Tok> {
        toks.iter()
            .map(|tok| match tok {
                Tok::Word(w) if table.col(w).is_some() => {
                    Tok::Quoted(table.col(w).map(|c| c.name.clone()).unwrap_or_default())
                }
                Tok::Str(s) if dq => Tok::Word(format!("\"{s}\"")),
                other => other.clone(),
            })
            .collect()
    };
    let is_rl = matches!(toks.first(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("RANGE") || w.eq_ignore_ascii_case("LIST"));
    if !is_rl {
        return render(&map(toks, false));
    }
    let Some(end) = toks
        .iter()
        .position(|t| matches!(t, Tok::Sym(s) if s == ")"))
    else {
        return render(&map(toks, true));
    };
    let head = render(&map(&toks[..=end], true));
    let rest = &toks[end + 1..];
    if rest.len() < 2 {
        return head;
    }
    let inner = &rest[1..rest.len() - 1];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, tok) in inner.iter().enumerate() {
        match tok {
            Tok::Sym(s) if s == "(" || s == "[" => depth += 1,
            Tok::Sym(s) if s == ")" || s == "]" => depth -= 1,
            Tok::Sym(s) if s == "," && depth == 0 => {
                items.push(render(&map(&inner[start..i], true)));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(render(&map(&inner[start..], true)));
    format!("{head}\n({})", items.join(",\n"))
}

pub(super) fn backticked(cols: &[String]) -> String {
    cols.iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// SHOW CREATE TABLE text in StarRocks' format.
pub fn show_create_table(table: &Table) -> String {
    let mut s = format!("CREATE TABLE `{}` (\n", table.name);
    let cols: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("  {}", c.show()))
        .collect();
    s.push_str(&cols.join(",\n"));
    s.push_str("\n) ENGINE=OLAP \n");
    s.push_str(&format!(
        "{}({})\n",
        table.keys.sql(),
        backticked(&table.key_cols)
    ));
    if !table.comment.is_empty() {
        s.push_str(&format!("COMMENT \"{}\"\n", table.comment));
    }
    if let Some(p) = &table.partition {
        s.push_str(&format!("PARTITION BY {}\n", render_partition(table, p)));
    }
    if let Some(d) = &table.distribution {
        if d.cols.is_empty() {
            s.push_str("DISTRIBUTED BY RANDOM");
        } else {
            s.push_str(&format!("DISTRIBUTED BY HASH({})", backticked(&d.cols)));
        }
        if let Some(b) = d.buckets {
            s.push_str(&format!(" BUCKETS {b} "));
        }
        s.push('\n');
    }
    if !table.order_by.is_empty() {
        s.push_str(&format!("ORDER BY({})\n", backticked(&table.order_by)));
    }
    s.push_str("PROPERTIES (\n");
    let props: Vec<String> = table
        .properties
        .iter()
        .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
        .collect();
    s.push_str(&props.join(",\n"));
    s.push_str("\n);");
    s
}

pub(super) fn default_value(c: &Column) -> Value {
    opt(c.default.clone())
}

impl Engine {
    /// SHOW ... / DESC ...
    pub fn show(&mut self, s: &mut Session, sql: &str) -> Result<Output> {
        let mut c = Cursor::new(sql)?;
        if c.eat_kw("DESC") || c.eat_kw("DESCRIBE") {
            let (db, name) = c.qualified()?;
            c.eat_kw("ALL");
            c.expect_end()?;
            return self.describe(s, db, &name, false);
        }
        c.expect_kw("SHOW")?;
        if c.eat_kw("DATABASES") || c.eat_kw("SCHEMAS") {
            let mut rows = vec![vec![t("information_schema")]];
            rows.extend(self.cat.dbs.keys().map(|d| vec![t(d.clone())]));
            return Ok(Output::text(&["Database"], rows));
        }
        let full = c.eat_kw("FULL");
        if c.eat_kw("TABLES") {
            let db = if c.eat_kw("FROM") || c.eat_kw("IN") {
                Some(c.ident()?)
            } else {
                None
            };
            let db = self.qualify(s, db.as_ref())?;
            let d = self.cat.db(&db)?;
            let mut names: Vec<(String, &str)> =
                d.tables.keys().map(|n| (n.clone(), "BASE TABLE")).collect();
            names.extend(d.mvs.keys().map(|n| (n.clone(), "VIEW")));
            names.sort();
            let col = format!("Tables_in_{db}");
            if full {
                let rows = names.into_iter().map(|(n, k)| vec![t(n), t(k)]).collect();
                return Ok(Output::text(&[&col, "Table_type"], rows));
            }
            let rows = names.into_iter().map(|(n, _)| vec![t(n)]).collect();
            return Ok(Output::text(&[&col], rows));
        }
        if c.eat_kw("COLUMNS") || c.eat_kw("FIELDS") {
            if !(c.eat_kw("FROM") || c.eat_kw("IN")) {
                return Err(c.syntax("expecting FROM"));
            }
            let (mut db, name) = c.qualified()?;
            if c.eat_kw("FROM") || c.eat_kw("IN") {
                db = Some(c.ident()?);
            }
            return self.describe(s, db, &name, full);
        }
        if c.eat_kw("CREATE") {
            let mv = c.eat_kws(&["MATERIALIZED", "VIEW"]);
            if !mv {
                c.expect_kw("TABLE")?;
            }
            let (db, name) = c.qualified()?;
            c.expect_end()?;
            let db = self.qualify(s, db.as_ref())?;
            let d = self.cat.db(&db)?;
            if let Some(m) = d.mvs.get(&name) {
                let text = self.show_create_mv(m);
                return Ok(Output::text(
                    &["Materialized View", "Create Materialized View"],
                    vec![vec![t(name), t(text)]],
                ));
            }
            if mv {
                return Err(SrError::analyze(format!(
                    "Materialized view {name} is not found"
                )));
            }
            let table = self.cat.table(&db, &name)?;
            return Ok(Output::text(
                &["Table", "Create Table"],
                vec![vec![t(name), t(show_create_table(table))]],
            ));
        }
        if c.eat_kws(&["ALTER", "TABLE"]) {
            return self.show_alter(s, &mut c);
        }
        if c.is_kw("ROUTINE")
            || (c.is_kw("ALL")
                && matches!(c.peek_n(1), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("ROUTINE")))
        {
            let all = c.eat_kw("ALL");
            c.expect_kw("ROUTINE")?;
            c.expect_kw("LOAD")?;
            return self.show_routine_load(s, &mut c, all);
        }
        if c.eat_kw("VARIABLES")
            || c.eat_kws(&["SESSION", "VARIABLES"])
            || c.eat_kws(&["GLOBAL", "VARIABLES"])
        {
            let pattern = if c.eat_kw("LIKE") {
                Some(c.string()?)
            } else {
                None
            };
            let vars = [
                ("autocommit", "1"),
                ("character_set_client", "utf8"),
                ("character_set_connection", "utf8"),
                ("character_set_results", "utf8"),
                ("collation_connection", "utf8_general_ci"),
                ("lower_case_table_names", "0"),
                ("max_allowed_packet", "33554432"),
                ("query_timeout", "300"),
                ("sql_mode", "ONLY_FULL_GROUP_BY"),
                ("time_zone", "Asia/Shanghai"),
                ("version", "8.0.33"),
                ("version_comment", ""),
                ("wait_timeout", "28800"),
            ];
            let cv = format!("StarRocks version {}", self.current_version());
            let rows = vars
                .iter()
                .filter(|(k, _)| pattern.as_ref().is_none_or(|p| like(k, p)))
                .map(|(k, v)| {
                    vec![
                        t(*k),
                        t(if *k == "version_comment" {
                            cv.as_str()
                        } else {
                            v
                        }),
                    ]
                })
                .collect();
            return Ok(Output::text(&["Variable_name", "Value"], rows));
        }
        if c.eat_kws(&["MATERIALIZED", "VIEWS"]) {
            let db = if c.eat_kw("FROM") || c.eat_kw("IN") {
                Some(c.ident()?)
            } else {
                None
            };
            let db = self.qualify(s, db.as_ref())?;
            self.cat.db(&db)?;
            let mut filter = format!("TABLE_SCHEMA = '{}'", db.replace('\'', "''"));
            if c.eat_kw("LIKE") {
                filter.push_str(&format!(
                    " AND TABLE_NAME LIKE '{}'",
                    c.string()?.replace('\'', "''")
                ));
            } else if c.eat_kw("WHERE") {
                c.expect_kw("NAME")?;
                c.expect_sym("=")?;
                filter.push_str(&format!(
                    " AND TABLE_NAME = '{}'",
                    c.string()?.replace('\'', "''")
                ));
            }
            c.expect_end()?;
            self.fill_information_schema("materialized_views")?;
            let sql = format!(
                "SELECT MATERIALIZED_VIEW_ID AS id, TABLE_SCHEMA AS database_name, TABLE_NAME AS name, \
                 REFRESH_TYPE AS refresh_type, IS_ACTIVE AS is_active, INACTIVE_REASON AS inactive_reason, \
                 PARTITION_TYPE AS partition_type, TASK_ID AS task_id, TASK_NAME AS task_name, \
                 LAST_REFRESH_START_TIME AS last_refresh_start_time, \
                 LAST_REFRESH_FINISHED_TIME AS last_refresh_finished_time, \
                 LAST_REFRESH_DURATION AS last_refresh_duration, LAST_REFRESH_STATE AS last_refresh_state, \
                 TABLE_ROWS AS `rows`, MATERIALIZED_VIEW_DEFINITION AS text \
                 FROM temp.\"information_schema.materialized_views\" WHERE {filter} ORDER BY TABLE_NAME"
            );
            return Ok(Output::Rows(self.store.query(&sql)?));
        }
        if c.eat_kw("WARNINGS") || c.eat_kw("ERRORS") {
            return Ok(Output::text(&["Level", "Code", "Message"], vec![]));
        }
        Err(SrError::unsupported(format!("SHOW {}", render(c.rest()))))
    }

    fn describe(
        &mut self,
        s: &Session,
        db: Option<String>,
        name: &str,
        full: bool,
    ) -> Result<Output> {
        let db = self.qualify(s, db.as_ref())?;
        let d = self.cat.db(&db)?;
        let (cols, table): (Vec<Column>, Option<&Table>) = match d.tables.get(name) {
            Some(t) => (t.columns.clone(), Some(t)),
            None => match d.mvs.get(name) {
                Some(m) => (m.columns.clone(), None),
                None => return Err(SrError::unknown_table(&db, name)),
            },
        };
        let key = |c: &Column| {
            let sort = table.is_some_and(|t| t.is_sort_col(&c.name));
            t(if c.is_key || sort { "true" } else { "false" })
        };
        let rows = cols
            .iter()
            .map(|c| {
                let null = t(if c.nullable { "YES" } else { "NO" });
                let extra = t(c.agg.clone().unwrap_or_default());
                if full {
                    vec![
                        t(c.name.clone()),
                        t(c.ty.desc()),
                        Value::Null,
                        null,
                        key(c),
                        default_value(c),
                        extra,
                        t(""),
                        t(c.comment.clone()),
                    ]
                } else {
                    vec![
                        t(c.name.clone()),
                        t(c.ty.desc()),
                        null,
                        key(c),
                        default_value(c),
                        extra,
                    ]
                }
            })
            .collect();
        if full {
            Ok(Output::text(
                &[
                    "Field",
                    "Type",
                    "Collation",
                    "Null",
                    "Key",
                    "Default",
                    "Extra",
                    "Privileges",
                    "Comment",
                ],
                rows,
            ))
        } else {
            Ok(Output::text(
                &["Field", "Type", "Null", "Key", "Default", "Extra"],
                rows,
            ))
        }
    }
}

/// SQL LIKE with `%` and `_`, case-insensitive.
pub fn like(s: &str, pattern: &str) -> bool {
    fn m(s: &[u8], p: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'%'), _) => m(s, &p[1..]) || (!s.is_empty() && m(&s[1..], p)),
            (Some(b'_'), Some(_)) => m(&s[1..], &p[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => m(&s[1..], &p[1..]),
            _ => false,
        }
    }
    m(s.as_bytes(), pattern.as_bytes())
}
