//! Which source table a data record belongs to and which StarRocks tables
//! its rows go to (pure).
//!
//! The source table comes from the envelope's `source` block (`source.schema`
//! for PostgreSQL, `source.db` for the MySQL family, + `source.table`), with
//! or without the JsonConverter's inline schema; when the block is missing,
//! from a Debezium topic name `<prefix>.<db>.<table>`. The routing itself is
//! [`crate::config::Config::route`]; this module turns a route into the tables
//! to load: the PRIMARY KEY mirror `target` and the raw change log
//! `<target>_cdc_raw` (the current-state MV needs no loading).

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::{Route, TargetKind};
use crate::loader::convert::Source as ParsedSource;
use crate::model::TableId;

/// Suffix of the raw change-log table.
pub const RAW_SUFFIX: &str = "_cdc_raw";

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
    #[serde(default)]
    source: Option<Source>,
}

#[derive(Deserialize)]
struct Inner {
    #[serde(default)]
    source: Option<Source>,
}

#[derive(Deserialize, Default)]
struct Source {
    #[serde(default)]
    connector: Option<String>,
    #[serde(default)]
    db: Option<String>,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    table: Option<String>,
    #[serde(default)]
    lsn: Option<serde::de::IgnoredAny>,
}

impl Source {
    fn table_id(self) -> Option<TableId> {
        table_id(
            self.connector.as_deref(),
            self.db.as_deref(),
            self.schema.as_deref(),
            self.table.as_deref(),
            self.lsn.is_some(),
        )
    }
}

/// The source table from the fields of a `source` block: `schema.table` for
/// PostgreSQL (told by the connector, or by an `lsn` without one), else
/// `db.table`.
fn table_id<'a>(
    connector: Option<&str>,
    db: Option<&'a str>,
    schema: Option<&'a str>,
    table: Option<&'a str>,
    has_lsn: bool,
) -> Option<TableId> {
    let postgres =
        matches!(connector, Some("postgresql" | "postgres")) || (connector.is_none() && has_lsn);
    let nonempty = |s: Option<&'a str>| s.filter(|s| !s.is_empty());
    let db = if postgres {
        nonempty(schema).or(nonempty(db))
    } else {
        nonempty(db)
    };
    Some(TableId::new(db?, nonempty(table)?))
}

/// The source table of an envelope already parsed (its `source` block), or
/// from the topic name as [`source_table`] does.
pub fn source_of(source: Option<&ParsedSource<'_>>, topic: &str) -> Option<TableId> {
    source
        .and_then(|s| {
            table_id(
                s.connector.as_deref(),
                s.db.as_deref(),
                s.schema.as_deref(),
                s.table.as_deref(),
                s.lsn().is_some(),
            )
        })
        .or_else(|| table_from_topic(topic))
}

/// The source table of a JSON data record (`None`: not a Debezium envelope
/// and no `<prefix>.<db>.<table>` topic name).
pub fn source_table(value: &str, topic: &str) -> Option<TableId> {
    let from_source = serde_json::from_str::<Top<'_>>(value)
        .ok()
        .and_then(|top| match (top.source, top.payload) {
            (Some(s), _) => Some(s),
            (None, Some(p)) => serde_json::from_str::<Option<Inner>>(p.get())
                .ok()
                .flatten()
                .and_then(|i| i.source),
            (None, None) => None,
        })
        .and_then(Source::table_id);
    from_source.or_else(|| table_from_topic(topic))
}

/// `<prefix>.<db>.<table>` → `db.table`.
pub fn table_from_topic(topic: &str) -> Option<TableId> {
    let parts: Vec<&str> = topic.split('.').collect();
    (parts.len() >= 3 && parts.iter().all(|p| !p.is_empty()))
        .then(|| TableId::new(parts[parts.len() - 2], parts[parts.len() - 1]))
}

/// The StarRocks tables a routed source table is loaded into.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Targets {
    /// The PRIMARY KEY mirror.
    pub mirror: Option<TableId>,
    /// The raw change-log table.
    pub raw: Option<TableId>,
    /// `mirror` and `raw` as text (what the runtime keys its tables by).
    names: [Option<String>; 2],
}

impl Targets {
    /// These tables.
    pub fn new(mirror: Option<TableId>, raw: Option<TableId>) -> Targets {
        let names = [
            mirror.as_ref().map(ToString::to_string),
            raw.as_ref().map(ToString::to_string),
        ];
        Targets { mirror, raw, names }
    }

    /// From a route.
    pub fn of(route: &Route) -> Targets {
        let has = |k| route.targets.contains(&k);
        Targets::new(
            has(TargetKind::Mirror).then(|| route.target.clone()),
            has(TargetKind::Raw).then(|| raw_table(&route.target)),
        )
    }

    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.mirror.is_none() && self.raw.is_none()
    }

    /// The mirror's name as text.
    pub fn mirror_name(&self) -> Option<&String> {
        self.names[0].as_ref()
    }

    /// The raw table's name as text.
    pub fn raw_name(&self) -> Option<&String> {
        self.names[1].as_ref()
    }
}

/// The raw change-log table of a mirror target.
pub fn raw_table(target: &TableId) -> TableId {
    TableId::new(
        target.database.clone(),
        format!("{}{RAW_SUFFIX}", target.table),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_block_with_and_without_inline_schema() {
        let pg = r#"{"schema":{"type":"struct"},"payload":{"op":"c","source":{"connector":"postgresql","db":"app","schema":"public","table":"orders","lsn":1}}}"#;
        assert_eq!(
            source_table(pg, "x"),
            Some(TableId::new("public", "orders"))
        );
        let my = r#"{"before":null,"after":{"id":1},"op":"c","source":{"connector":"mysql","db":"shop","table":"items"}}"#;
        assert_eq!(source_table(my, "x"), Some(TableId::new("shop", "items")));
        let bare_pg = r#"{"op":"c","source":{"db":"app","schema":"s","table":"t","lsn":5}}"#;
        assert_eq!(source_table(bare_pg, "x"), Some(TableId::new("s", "t")));
    }

    #[test]
    fn falls_back_to_the_topic_name() {
        assert_eq!(
            source_table(r#"{"op":"c"}"#, "dbserver1.inventory.customers"),
            Some(TableId::new("inventory", "customers"))
        );
        assert_eq!(
            source_table("not json", "p.d.t"),
            Some(TableId::new("d", "t"))
        );
        assert_eq!(source_table(r#"{"op":"c"}"#, "plain"), None);
        assert_eq!(table_from_topic("a..b"), None);
    }

    #[test]
    fn targets_of_a_route() {
        let route = Route {
            target: TableId::new("dw", "orders"),
            targets: vec![
                TargetKind::Mirror,
                TargetKind::Raw,
                TargetKind::CurrentStateMv,
            ],
        };
        let t = Targets::of(&route);
        assert_eq!(t.mirror, Some(TableId::new("dw", "orders")));
        assert_eq!(t.raw, Some(TableId::new("dw", "orders_cdc_raw")));
        let mv_only = Route {
            target: TableId::new("dw", "orders"),
            targets: vec![TargetKind::CurrentStateMv],
        };
        assert!(Targets::of(&mv_only).is_empty());
    }
}
