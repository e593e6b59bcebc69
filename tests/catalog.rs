//! Target catalog: parsing StarRocks `SHOW CREATE TABLE` / `SHOW CREATE
//! MATERIALIZED VIEW` output, rendering it back, and MV base-column reads.

use std::collections::BTreeSet;

use ddlsync::catalog::{
    parse_catalog, parse_catalog_with_warnings, render_show_create, Catalog, Distribution,
    KeysType, RefreshKind,
};
use ddlsync::model::TableId;
use ddlsync::types::SrType;
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/starrocks/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(text: &str) -> Catalog {
    parse_catalog(text, Some("db")).unwrap_or_else(|e| panic!("{e}"))
}

fn set(cols: &[&str]) -> BTreeSet<String> {
    cols.iter().map(|c| c.to_string()).collect()
}

#[test]
fn verbatim_outputs_round_trip() {
    for name in [
        "pk_tab1.sql",
        "dup_t1.sql",
        "dup_range_partition.sql",
        "dup_expr_partition.sql",
        "pk_cast_partition.sql",
        "agg_week.sql",
    ] {
        let text = fixture(name);
        let catalog = parse(&text);
        assert_eq!(catalog.tables.len(), 1, "{name}");
        let table = catalog.tables.values().next().unwrap();
        assert_eq!(render_show_create(table), text, "{name}");
        let again = parse(&render_show_create(table));
        assert_eq!(again.tables.values().next().unwrap(), table, "{name}");
    }
}

#[test]
fn primary_key_table() {
    let c = parse(&fixture("pk_tab1.sql"));
    let t = &c.tables[&TableId::new("db", "tab1")];
    assert_eq!(t.keys_type, KeysType::Primary);
    assert_eq!(t.key_columns, ["k1", "k2"]);
    assert_eq!(t.order_by, ["v3"]);
    assert_eq!(
        t.distribution,
        Some(Distribution::Hash {
            columns: vec!["k1".into()],
            buckets: Some(1)
        })
    );
    assert_eq!(t.columns.len(), 7);
    assert!(!t.columns[0].nullable);
    assert_eq!(t.columns[1].ty, SrType::Varchar { len: 50 });
    assert_eq!(t.column("V6").unwrap().default.as_deref(), Some("0"));
    assert_eq!(t.columns[0].comment, None);
    assert_eq!(t.properties["replication_num"], "1");
}

#[test]
fn partitions_keep_text_and_columns() {
    let c = parse(&fixture("dup_range_partition.sql"));
    let t = c.tables.values().next().unwrap();
    assert_eq!(t.keys_type, KeysType::Duplicate);
    assert_eq!(t.partition_columns, ["dt"]);
    assert!(t
        .partition_clause
        .as_deref()
        .unwrap()
        .starts_with("PARTITION BY RANGE(`dt`)\n(PARTITION p20210101"));
    assert_eq!(
        t.distribution,
        Some(Distribution::Hash {
            columns: vec!["site_id".into()],
            buckets: None
        })
    );
    let c = parse(&fixture("dup_expr_partition.sql"));
    let t = c.tables.values().next().unwrap();
    assert_eq!(
        t.partition_clause.as_deref(),
        Some("PARTITION BY date_trunc('day', `dt`)")
    );
    assert_eq!(t.partition_columns, ["dt"]);
    let c = parse(&fixture("pk_cast_partition.sql"));
    let t = c.tables.values().next().unwrap();
    assert_eq!(t.partition_columns, ["bill"]);
    assert_eq!(t.columns[0].comment.as_deref(), Some("运单号"));
    let c = parse(&fixture("agg_week.sql"));
    let t = c.tables.values().next().unwrap();
    assert_eq!(t.partition_columns, ["event_day"]);
}

#[test]
fn list_partitions_and_decimal_spellings() {
    let text = "USE `my``db`;\nCREATE TABLE `t` (\n  `city` varchar(20) NOT NULL COMMENT \"\",\n  \
                `amt` decimal128(38, 9) NULL COMMENT \"\",\n  `n` largeint(40) NULL COMMENT \"\",\n  \
                `m` map<int(11),varchar(10)> NULL COMMENT \"\",\n  `b` varbinary NULL COMMENT \"\"\n) ENGINE=OLAP \n\
                DUPLICATE KEY(`city`)\nPARTITION BY LIST(`city`)(PARTITION p1 VALUES IN (\"a\", \"b\"))\n\
                DISTRIBUTED BY HASH(`city`) BUCKETS 2 \nPROPERTIES (\n\"replication_num\" = \"1\"\n);";
    let c = parse_catalog(text, None).unwrap();
    let t = &c.tables[&TableId::new("my`db", "t")];
    assert_eq!(t.partition_columns, ["city"]);
    assert_eq!(
        t.columns[1].ty,
        SrType::Decimal {
            precision: 38,
            scale: 9
        }
    );
    assert_eq!(t.columns[2].ty, SrType::LargeInt);
    assert_eq!(t.columns[3].ty.to_string(), "map<int(11),varchar(10)>");
    assert_eq!(t.columns[4].ty, SrType::Varbinary { len: None });
    assert_eq!(
        parse_catalog(&render_show_create(t), Some("my`db"))
            .unwrap()
            .tables[&t.id],
        *t
    );
}

#[test]
fn aggregate_table_from_g_output() {
    let c = parse(&fixture("agg_example_table.txt"));
    let t = &c.tables[&TableId::new("db", "example_table")];
    assert_eq!(t.keys_type, KeysType::Aggregate);
    assert_eq!(t.comment.as_deref(), Some("my first starrocks table"));
    assert_eq!(
        t.columns[1].ty,
        SrType::Decimal {
            precision: 10,
            scale: 2
        }
    );
    assert_eq!(t.columns[1].default.as_deref(), Some("10.5"));
    assert_eq!(t.columns[2].aggregation.as_deref(), Some("REPLACE"));
    assert_eq!(t.columns[3].aggregation.as_deref(), Some("SUM"));
    assert_eq!(t.columns[0].ty, SrType::TinyInt);
    assert_eq!(t.properties.len(), 5);
}

#[test]
fn shop_catalog_with_use_unique_random_and_views() {
    let (c, warnings) = parse_catalog_with_warnings(&fixture("shop.sql"), None).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let orders = TableId::new("shop", "orders");
    let customers = TableId::new("shop", "customers");
    let raw = TableId::new("shop", "events_raw");
    assert_eq!(c.tables.len(), 3);
    assert_eq!(c.tables[&customers].keys_type, KeysType::Unique);
    assert_eq!(c.tables[&customers].columns[2].ty, SrType::String);
    assert_eq!(c.tables[&customers].columns[3].ty, SrType::Char { len: 2 });
    assert_eq!(
        c.tables[&raw].distribution,
        Some(Distribution::Random { buckets: Some(2) })
    );
    let o = &c.tables[&orders];
    assert_eq!(o.comment.as_deref(), Some("orders mirror"));
    assert_eq!(
        o.column("created_at").unwrap().default.as_deref(),
        Some("CURRENT_TIMESTAMP")
    );
    assert_eq!(
        o.column("tags").unwrap().ty.to_string(),
        "ARRAY<VARCHAR(64)>"
    );
    assert_eq!(o.column("extra").unwrap().ty, SrType::Json);
    let rendered = render_show_create(o);
    assert!(rendered.contains("`created_at` datetime NULL DEFAULT CURRENT_TIMESTAMP COMMENT \"\""));
    assert_eq!(
        parse_catalog(&rendered, Some("shop")).unwrap().tables[&orders],
        *o
    );

    let totals = &c.views[&TableId::new("shop", "customer_totals")];
    assert_eq!(totals.refresh, RefreshKind::Async);
    assert_eq!(
        totals.reads[&orders],
        set(&["amount", "customer_id", "status"])
    );
    assert_eq!(totals.reads[&customers], set(&["id", "name"]));

    let latest = &c.views[&TableId::new("shop", "latest_orders")];
    assert_eq!(latest.refresh, RefreshKind::Manual);
    assert_eq!(latest.reads.len(), 1);
    assert_eq!(
        latest.reads[&orders],
        set(&["created_at", "customer_id", "id"])
    );

    let all = &c.views[&TableId::new("shop", "raw_all")];
    assert_eq!(all.reads[&raw], set(&["k", "op", "payload", "ts"]));
    assert_eq!(all.reads[&orders], set(&["id"]));

    let readers: Vec<_> = c
        .views_reading(&orders, &["AMOUNT".to_string()])
        .map(|v| v.id.table.clone())
        .collect();
    assert_eq!(readers, ["customer_totals"]);
}

#[test]
fn materialized_views_from_the_docs() {
    let c = parse(&fixture("mv_lo_mv1.txt"));
    let mv = &c.views[&TableId::new("db", "lo_mv1")];
    let lineorder = TableId::new("wlc_test", "lineorder");
    assert_eq!(
        mv.reads[&lineorder],
        set(&[
            "lo_custkey",
            "lo_orderkey",
            "lo_quantity",
            "lo_revenue",
            "lo_shipmode"
        ])
    );
    assert!(mv.query.starts_with("SELECT `wlc_test`"));
    assert!(mv
        .create_sql
        .starts_with("CREATE MATERIALIZED VIEW `lo_mv1`"));

    let c = parse(&fixture("mv_pred_2.sql"));
    let mv = &c.views[&TableId::new("db", "mv_pred_2")];
    assert_eq!(
        mv.reads[&TableId::new("ssb_1g", "lineorder")],
        set(&["lo_linenumber", "lo_quantity", "lo_revenue", "lo_tax"])
    );
}

#[test]
fn unknown_tables_and_unparsable_queries_are_conservative() {
    let text = "CREATE MATERIALIZED VIEW mv REFRESH MANUAL AS SELECT * FROM t1;\n\
                CREATE MATERIALIZED VIEW mv2 REFRESH ASYNC AS SELECT a FROM t1 JOIN t2 ON t1.id = t2.id;\n\
                CREATE MATERIALIZED VIEW mv3 REFRESH ASYNC AS SELECT a FROM t1 WHERE ((( ;\n";
    let c = parse(text);
    let t1 = TableId::new("db", "t1");
    let t2 = TableId::new("db", "t2");
    assert_eq!(c.views[&TableId::new("db", "mv")].reads[&t1], set(&["*"]));
    let mv2 = &c.views[&TableId::new("db", "mv2")];
    assert_eq!(mv2.reads[&t1], set(&["a", "id"]));
    assert_eq!(mv2.reads[&t2], set(&["a", "id"]));
    let mv3 = &c.views[&TableId::new("db", "mv3")];
    assert_eq!(mv3.reads[&t1], set(&["*"]));
    assert_eq!(mv3.warnings.len(), 1, "{:?}", mv3.warnings);
    assert_eq!(c.views_reading(&t1, &["zzz".into()]).count(), 2);
}

#[test]
fn tabular_cli_output() {
    let text = "+-------+--------------+\n\
                | Table | Create Table |\n\
                +-------+--------------+\n\
                | t     | CREATE TABLE `t` (\n  `k` int(11) NOT NULL COMMENT \"\"\n) ENGINE=OLAP \nDUPLICATE KEY(`k`)\nDISTRIBUTED BY HASH(`k`) BUCKETS 1 \nPROPERTIES (\n\"replication_num\" = \"1\"\n); |\n\
                +-------+--------------+\n1 row in set (0.00 sec)\n";
    let c = parse(text);
    assert_eq!(c.tables[&TableId::new("db", "t")].key_columns, ["k"]);
}

#[test]
fn bad_input_names_the_line() {
    let err = |text: &str| parse_catalog(text, Some("db")).unwrap_err().to_string();
    assert_eq!(
        err("{\"not\": \"ddl\"}"),
        "line 1: not a StarRocks SHOW CREATE output: expected CREATE TABLE, CREATE MATERIALIZED VIEW or USE, found `{`"
    );
    let text = "-- c\nCREATE TABLE `t` (\n  `k` int(11) NOT NULL COMMENT \"\"\n) ENGINE=OLAP \nPRIMARY `k`\n";
    assert_eq!(err(text), "line 5: expected KEY after PRIMARY, found `k`");
    assert!(err("CREATE TABLE `t` (\n `k` int(11) COMMENT \"oops\n")
        .starts_with("line 2: unterminated string"));
    assert!(err("CREATE TABLE t (k int(11)").starts_with("line 1: expected `,` or `)`"));
    assert_eq!(
        parse_catalog("CREATE TABLE t (k int(11)) ENGINE=OLAP;", None)
            .unwrap_err()
            .line(),
        1
    );
    assert!(err("CREATE TABLE t (k int(11)) ENGINE=OLAP;\nSELECT 1;")
        .starts_with("line 2: expected CREATE TABLE"));
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_input(s in "\\PC{0,200}") {
        drop(parse_catalog(&s, Some("db")));
    }

    #[test]
    fn never_panics_on_truncated_fixtures(cut in 0usize..2000, which in 0usize..4) {
        let name = ["pk_tab1.sql", "shop.sql", "mv_lo_mv1.txt", "dup_range_partition.sql"][which];
        let text = fixture(name);
        let mut end = cut.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        drop(parse_catalog(&text[..end], Some("db")));
    }
}

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,10}",
        "[ -~&&[^\\n]]{1,12}",
        "[a-z]{1,4}`[a-z]{0,3}"
    ]
}

fn arb_text() -> BoxedStrategy<Option<String>> {
    prop::option::of("[ -~]{1,20}|运单号").boxed()
}

fn arb_type() -> impl Strategy<Value = SrType> {
    prop_oneof![
        Just(SrType::Boolean),
        Just(SrType::TinyInt),
        Just(SrType::Int),
        Just(SrType::LargeInt),
        Just(SrType::Double),
        (1u8..=38).prop_map(|p| SrType::Decimal {
            precision: p,
            scale: p / 2
        }),
        (1u32..=255).prop_map(|len| SrType::Char { len }),
        (1u32..=1_048_576).prop_map(|len| SrType::Varchar { len }),
        Just(SrType::String),
        Just(SrType::Date),
        Just(SrType::Datetime),
        Just(SrType::Json),
        Just(SrType::Varbinary { len: None }),
        (1u32..=100).prop_map(|len| SrType::Array {
            element: Box::new(SrType::Varchar { len })
        }),
        Just(SrType::Other {
            text: "map<int(11),varchar(10)>".into()
        }),
    ]
}

prop_compose! {
    fn arb_column()(name in arb_name(), ty in arb_type(), nullable in any::<bool>(),
                    default in prop::option::of("[a-z0-9 \"\\\\]{0,8}"), comment in arb_text(),
                    aggregation in prop::option::of(prop::sample::select(vec!["SUM", "MAX", "REPLACE"])))
        -> ddlsync::catalog::TargetColumn {
        ddlsync::catalog::TargetColumn {
            name, ty, nullable, default, comment, aggregation: aggregation.map(str::to_string),
        }
    }
}

prop_compose! {
    fn arb_table()(table in arb_name(), columns in prop::collection::vec(arb_column(), 1..6),
                   keys in prop::sample::select(vec![KeysType::Primary, KeysType::Duplicate, KeysType::Unique, KeysType::Aggregate]),
                   key_columns in prop::collection::vec(arb_name(), 0..3),
                   partition in prop::option::of(prop::sample::select(vec![
                       "PARTITION BY date_trunc('day', `dt`)",
                       "PARTITION BY RANGE(`dt`)\n(PARTITION p1 VALUES [(\"2021-01-01\"), (\"2021-01-02\")))",
                       "PARTITION BY (`a`, `b`)",
                   ])),
                   hash in any::<bool>(), buckets in prop::option::of(1u32..64),
                   dist_cols in prop::collection::vec(arb_name(), 1..3),
                   order_by in prop::collection::vec(arb_name(), 0..2),
                   properties in prop::collection::btree_map("[a-z_.]{1,12}", "[ -~]{0,10}", 0..4),
                   comment in arb_text())
        -> ddlsync::catalog::TargetTable {
        let partition_columns = match partition {
            Some(p) if p.contains("`a`") => vec!["a".to_string(), "b".to_string()],
            Some(_) => vec!["dt".to_string()],
            None => vec![],
        };
        ddlsync::catalog::TargetTable {
            id: TableId::new("db", table),
            columns,
            keys_type: keys,
            key_columns,
            partition_clause: partition.map(str::to_string),
            partition_columns,
            distribution: Some(if hash {
                Distribution::Hash { columns: dist_cols, buckets }
            } else {
                Distribution::Random { buckets }
            }),
            order_by,
            properties,
            comment,
        }
    }
}

proptest! {
    #[test]
    fn parse_of_render_is_identity(t in arb_table()) {
        let text = render_show_create(&t);
        let c = parse_catalog(&text, Some("db")).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(c.tables.len(), 1);
        prop_assert_eq!(c.tables.values().next().unwrap(), &t, "{}", text);
    }
}
