//! Type mapping (source → StarRocks), the conversion matrix and the generated
//! `docs/type-mapping.md`.

use ddlsync::model::{ColumnId, SourceColumn, SourceDialect, SourceType};
use ddlsync::types::docs::render_mapping_doc;
use ddlsync::types::{
    can_hold, classify_conversion, map_column, Conversion, Mapped, MappingOptions, SrType,
    WideDecimal,
};
use proptest::prelude::*;

use SourceDialect::{Mysql, Postgres};

fn col(ty: SourceType) -> SourceColumn {
    SourceColumn {
        id: ColumnId(1),
        name: "c".into(),
        former_names: vec![],
        position: 1,
        ty,
        nullable: true,
        default: None,
        comment: None,
        auto_increment: false,
    }
}

fn ty(name: &str, length: Option<u64>, scale: Option<u32>, charset: Option<&str>) -> SourceType {
    SourceType {
        name: name.into(),
        length,
        scale,
        charset: charset.map(str::to_string),
        ..SourceType::default()
    }
}

fn map(d: SourceDialect, t: SourceType) -> Mapped {
    map_column(d, &col(t), false, &MappingOptions::default())
}

fn map_pk(d: SourceDialect, t: SourceType) -> Mapped {
    map_column(d, &col(t), true, &MappingOptions::default())
}

fn codes(m: &Mapped) -> Vec<&str> {
    m.losses.iter().map(|l| l.code.as_str()).collect()
}

fn vc(len: u32) -> SrType {
    SrType::Varchar { len }
}

#[test]
fn docs_are_generated_from_the_table() {
    let doc = render_mapping_doc();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/type-mapping.md");
    if std::env::var("UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(path, &doc).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == doc,
        "docs/type-mapping.md is stale: run `UPDATE_DOCS=1 cargo test --test types`"
    );
    insta::assert_snapshot!("type_mapping_doc", doc);
}

#[test]
fn mysql_strings_are_charset_aware() {
    let utf8mb4 = Some("utf8mb4");
    assert_eq!(
        map(Mysql, ty("VARCHAR", Some(255), None, utf8mb4)).ty,
        vc(1020)
    );
    let latin1 = map(Mysql, ty("VARCHAR", Some(10), None, Some("latin1")));
    assert_eq!(latin1.ty, vc(10));
    assert_eq!(codes(&latin1), ["charset_bytes"]);
    assert_eq!(
        map(Mysql, ty("VARCHAR", Some(10), None, Some("ascii"))).losses,
        vec![]
    );
    assert_eq!(
        map(Mysql, ty("VARCHAR", Some(100), None, Some("utf8mb3"))).ty,
        vc(300)
    );
    assert_eq!(
        map(
            Mysql,
            ty("VARCHAR", Some(100), None, Some("utf8_general_ci"))
        )
        .ty,
        vc(300)
    );
    assert_eq!(map(Mysql, ty("VARCHAR", Some(100), None, None)).ty, vc(400));
    let huge = map(Mysql, ty("VARCHAR", Some(300_000), None, utf8mb4));
    assert_eq!(huge.ty, vc(1_048_576));
    assert_eq!(codes(&huge), ["length_capped"]);
    assert_eq!(map(Mysql, ty("CHAR", Some(100), None, utf8mb4)).ty, vc(400));
    assert_eq!(
        map(Mysql, ty("CHAR", Some(10), None, utf8mb4)).ty,
        SrType::Char { len: 40 }
    );
    assert_eq!(
        map_pk(Mysql, ty("CHAR", Some(10), None, utf8mb4)).ty,
        vc(40)
    );
    assert_eq!(
        map(Mysql, ty("VARCHAR(20)", None, None, Some("latin1"))).ty,
        vc(20)
    );
    assert_eq!(map(Mysql, ty("TEXT", None, None, utf8mb4)).ty, vc(65_535));
    assert_eq!(
        map(Mysql, ty("LONGTEXT", None, None, utf8mb4)).ty,
        vc(1_048_576)
    );
    let options = MappingOptions {
        default_bytes_per_char: 3,
        ..MappingOptions::default()
    };
    let m = map_column(
        Mysql,
        &col(ty("VARCHAR", Some(10), None, None)),
        false,
        &options,
    );
    assert_eq!(m.ty, vc(30));
}

#[test]
fn mysql_integers_and_booleans() {
    let unsigned = |n: &str| SourceType {
        unsigned: true,
        ..SourceType::named(n)
    };
    assert_eq!(map(Mysql, unsigned("BIGINT")).ty, SrType::LargeInt);
    assert_eq!(
        map(Mysql, SourceType::named("BIGINT UNSIGNED")).ty,
        SrType::LargeInt
    );
    assert_eq!(map(Mysql, unsigned("INT")).ty, SrType::BigInt);
    assert_eq!(map(Mysql, unsigned("SMALLINT")).ty, SrType::Int);
    assert_eq!(map(Mysql, unsigned("MEDIUMINT")).ty, SrType::Int);
    assert_eq!(map(Mysql, unsigned("TINYINT")).ty, SrType::SmallInt);
    assert_eq!(map(Mysql, SourceType::named("TINYINT")).ty, SrType::TinyInt);
    let t1 = map(Mysql, ty("TINYINT", Some(1), None, None));
    assert_eq!(t1.ty, SrType::Boolean);
    assert_eq!(codes(&t1), ["tinyint1_boolean"]);
    let no_bool = MappingOptions {
        tinyint1_as_boolean: false,
        ..MappingOptions::default()
    };
    let m = map_column(
        Mysql,
        &col(ty("TINYINT", Some(1), None, None)),
        false,
        &no_bool,
    );
    assert_eq!(m.ty, SrType::TinyInt);
    assert_eq!(
        map(Mysql, ty("BIT", Some(1), None, None)).ty,
        SrType::Boolean
    );
    assert_eq!(
        map(Mysql, ty("BIT", Some(8), None, None)).ty,
        SrType::BigInt
    );
    assert_eq!(
        map(Mysql, ty("BIT", Some(64), None, None)).ty,
        SrType::LargeInt
    );
    assert_eq!(map(Mysql, SourceType::named("BOOLEAN")).ty, SrType::Boolean);
    assert_eq!(map(Mysql, SourceType::named("YEAR")).ty, SrType::Int);
    assert_eq!(map(Mysql, SourceType::named("SERIAL")).ty, SrType::LargeInt);
}

#[test]
fn decimals_follow_the_wide_decimal_policy() {
    let d = |p, s| SrType::Decimal {
        precision: p,
        scale: s,
    };
    assert_eq!(
        map(Mysql, ty("DECIMAL", Some(10), Some(2), None)).ty,
        d(10, 2)
    );
    assert_eq!(map(Mysql, SourceType::named("DECIMAL")).ty, d(10, 0));
    assert_eq!(
        map_pk(Mysql, ty("DECIMAL", Some(10), Some(2), None)).ty,
        vc(12)
    );
    assert_eq!(
        map_pk(Mysql, ty("DECIMAL", Some(10), Some(0), None)).ty,
        vc(11)
    );
    let wide = map(Mysql, ty("DECIMAL", Some(65), Some(10), None));
    assert_eq!(wide.ty, vc(67));
    assert_eq!(codes(&wide), ["numeric_as_text"]);
    let with = |w| MappingOptions {
        wide_decimal: w,
        ..MappingOptions::default()
    };
    let c = col(ty("DECIMAL", Some(65), Some(10), None));
    let dbl = map_column(Mysql, &c, false, &with(WideDecimal::Double));
    assert_eq!(
        (dbl.ty.clone(), codes(&dbl)),
        (SrType::Double, vec!["precision"])
    );
    let d38 = map_column(Mysql, &c, false, &with(WideDecimal::Decimal38));
    assert_eq!((d38.ty.clone(), codes(&d38)), (d(38, 10), vec!["overflow"]));
    let d256 = map_column(Mysql, &c, false, &with(WideDecimal::Decimal256));
    assert_eq!((d256.ty, d256.losses.len()), (d(65, 10), 0));
    // PostgreSQL numeric without precision (VariableScaleDecimal).
    let pg = map(Postgres, SourceType::named("NUMERIC"));
    assert_eq!(
        (pg.ty.clone(), codes(&pg)),
        (vc(1_048_576), vec!["numeric_as_text"])
    );
    let vsd = SourceType {
        semantic: Some("io.debezium.data.VariableScaleDecimal".into()),
        connect_type: Some("struct".into()),
        ..SourceType::default()
    };
    assert_eq!(map(Postgres, vsd).ty, vc(1_048_576));
    assert_eq!(
        map(Postgres, ty("NUMERIC", Some(12), Some(3), None)).ty,
        d(12, 3)
    );
    assert_eq!(map(Postgres, SourceType::named("MONEY")).ty, d(19, 2));
}

#[test]
fn temporal_types_report_their_losses() {
    let tz = map(Postgres, SourceType::named("TIMESTAMPTZ"));
    assert_eq!(tz.ty, SrType::Datetime);
    assert_eq!(codes(&tz), ["time_zone", "fractional_seconds"]);
    let tz0 = map(Postgres, ty("TIMESTAMPTZ", Some(0), None, None));
    assert_eq!(codes(&tz0), ["time_zone"]);
    assert_eq!(map(Mysql, SourceType::named("DATETIME")).losses, vec![]);
    assert_eq!(
        codes(&map(Mysql, ty("DATETIME", Some(6), None, None))),
        ["fractional_seconds"]
    );
    assert_eq!(
        codes(&map(Mysql, SourceType::named("TIMESTAMP"))),
        ["time_zone"]
    );
    let time = map(Mysql, SourceType::named("TIME"));
    assert_eq!(
        (time.ty.clone(), codes(&time)),
        (vc(32), vec!["no_time_type"])
    );
    assert_eq!(map(Postgres, SourceType::named("INTERVAL")).ty, vc(64));
    assert_eq!(map(Postgres, SourceType::named("DATE")).ty, SrType::Date);
    let by_semantic = SourceType {
        semantic: Some("io.debezium.time.Date".into()),
        connect_type: Some("int32".into()),
        ..SourceType::default()
    };
    assert_eq!(map(Postgres, by_semantic).ty, SrType::Date);
}

#[test]
fn other_types() {
    assert_eq!(map(Postgres, SourceType::named("UUID")).ty, vc(36));
    assert_eq!(map(Postgres, SourceType::named("JSONB")).ty, SrType::Json);
    assert_eq!(map(Mysql, SourceType::named("JSON")).ty, SrType::Json);
    assert_eq!(map_pk(Mysql, SourceType::named("JSON")).ty, vc(1_048_576));
    let arr = map(Postgres, SourceType::named("_INT4"));
    assert_eq!(
        arr.ty,
        SrType::Array {
            element: Box::new(SrType::Int)
        }
    );
    assert_eq!(
        map(Postgres, SourceType::named("text[]")).ty.to_string(),
        "ARRAY<VARCHAR(1048576)>"
    );
    assert_eq!(map(Postgres, SourceType::named("INET")).ty, vc(64));
    assert_eq!(
        codes(&map(Postgres, SourceType::named("GEOMETRY"))),
        ["spatial_as_text"]
    );
    assert_eq!(
        codes(&map(Mysql, SourceType::named("POINT"))),
        ["spatial_as_text"]
    );
    let bin = map(Mysql, ty("VARBINARY", Some(16), None, None));
    assert_eq!(
        (bin.ty.clone(), codes(&bin)),
        (vc(32), vec!["binary_as_text"])
    );
    assert_eq!(map(Postgres, SourceType::named("BYTEA")).ty, vc(1_048_576));
    let e = SourceType {
        enum_values: vec!["small".into(), "medium".into()],
        charset: Some("utf8mb4".into()),
        ..SourceType::named("ENUM")
    };
    let m = map(Mysql, e);
    assert_eq!((m.ty.clone(), codes(&m)), (vc(24), vec!["enum_domain"]));
    let s = SourceType {
        enum_values: vec!["a".into(), "bb".into()],
        charset: Some("latin1".into()),
        ..SourceType::named("SET")
    };
    assert_eq!(map(Mysql, s).ty, vc(4));
    let pg_enum = SourceType {
        semantic: Some("io.debezium.data.Enum".into()),
        enum_values: vec!["happy".into()],
        ..SourceType::named("MOOD")
    };
    assert_eq!(map(Postgres, pg_enum).ty, vc(20));
    let unknown = map(Mysql, SourceType::named("FROBNICATOR"));
    assert_eq!(
        (unknown.ty.clone(), codes(&unknown)),
        (vc(1_048_576), vec!["unknown_type"])
    );
    let connect_only = SourceType {
        connect_type: Some("INT64".into()),
        ..SourceType::default()
    };
    assert_eq!(map(Postgres, connect_only).ty, SrType::BigInt);
    assert_eq!(map_pk(Mysql, SourceType::named("DOUBLE")).ty, vc(32));
}

#[test]
fn conversion_matrix_cases() {
    use Conversion::*;
    let c = classify_conversion;
    assert_eq!(c(&SrType::TinyInt, &SrType::LargeInt), Widening);
    assert_eq!(c(&SrType::Int, &SrType::Double), Widening);
    assert_eq!(
        c(&SrType::BigInt, &SrType::Double),
        Narrowing { in_place: true }
    );
    assert_eq!(c(&SrType::Float, &SrType::Double), Widening);
    assert_eq!(
        c(&SrType::Double, &SrType::Float),
        Narrowing { in_place: false }
    );
    assert_eq!(c(&SrType::Int, &vc(11)), Widening);
    assert_eq!(c(&SrType::Int, &vc(5)), Narrowing { in_place: true });
    assert_eq!(c(&vc(10), &vc(5)), Narrowing { in_place: false });
    assert_eq!(c(&SrType::Char { len: 10 }, &vc(10)), Widening);
    assert_eq!(c(&vc(10), &SrType::Int), Narrowing { in_place: true });
    assert_eq!(c(&vc(10), &SrType::Json), Narrowing { in_place: true });
    assert_eq!(c(&SrType::Date, &SrType::Datetime), Widening);
    assert_eq!(
        c(&SrType::Datetime, &SrType::Date),
        Narrowing { in_place: true }
    );
    assert_eq!(c(&SrType::Int, &SrType::Date), Narrowing { in_place: true });
    assert_eq!(c(&SrType::Datetime, &vc(100)), Incompatible);
    assert_eq!(c(&SrType::Boolean, &SrType::Int), Incompatible);
    let d = |p, s| SrType::Decimal {
        precision: p,
        scale: s,
    };
    assert_eq!(c(&d(10, 2), &d(12, 4)), Widening);
    assert_eq!(c(&d(10, 2), &d(12, 1)), Narrowing { in_place: false });
    assert_eq!(c(&d(10, 2), &d(11, 3)), Widening);
    assert_eq!(c(&d(10, 2), &d(10, 3)), Narrowing { in_place: false });
    assert_eq!(c(&d(10, 2), &vc(12)), Widening);
    assert_eq!(c(&d(10, 2), &vc(8)), Narrowing { in_place: false });
}

#[test]
fn hand_made_string_columns_hold_everything_textual() {
    for desired in [
        vc(1_048_576),
        vc(36),
        SrType::Char { len: 40 },
        SrType::Json,
        SrType::Int,
    ] {
        assert!(can_hold(&SrType::String, &desired), "{desired}");
        assert!(can_hold(&vc(65_533), &desired), "{desired}");
    }
    assert!(can_hold(&vc(100), &vc(24)));
    assert!(!can_hold(&vc(10), &vc(24)));
    assert!(can_hold(&SrType::BigInt, &SrType::Int));
    assert!(can_hold(&SrType::Double, &SrType::Float));
    assert!(can_hold(&SrType::Datetime, &SrType::Date));
    assert!(!can_hold(&SrType::Date, &SrType::Datetime));
    assert!(can_hold(&SrType::Json, &SrType::Json));
    assert!(!can_hold(&SrType::Json, &vc(10)));
}

fn arb_source_type() -> impl Strategy<Value = SourceType> {
    let names = prop::sample::select(vec![
        "VARCHAR",
        "CHAR",
        "BPCHAR",
        "TINYINT",
        "INT",
        "BIGINT",
        "DECIMAL",
        "NUMERIC",
        "ENUM",
        "SET",
        "BIT",
        "TEXT",
        "BLOB",
        "VARBINARY",
        "DATETIME",
        "TIMESTAMPTZ",
        "TIME",
        "_INT4",
        "_NUMERIC",
        "int4[]",
        "JSON",
        "UUID",
        "",
        "???",
        "_",
        "[]",
        "VARCHAR(",
        "DECIMAL(70,2)",
        "INT UNSIGNED ZEROFILL",
        "GEOMETRY",
        "MONEY",
        "FLOAT",
        "DOUBLE PRECISION",
    ]);
    let sems = prop::option::of(prop::sample::select(vec![
        "io.debezium.time.MicroTimestamp",
        "io.debezium.data.Enum",
        "io.debezium.data.VariableScaleDecimal",
        "org.apache.kafka.connect.data.Decimal",
        "io.debezium.data.Bits",
        "nonsense",
    ]));
    let conns = prop::option::of(prop::sample::select(vec![
        "int8", "int64", "string", "bytes", "array", "struct", "float64", "x",
    ]));
    (
        prop_oneof![names.prop_map(str::to_string), ".{0,12}"],
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u32>()),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            "utf8mb4", "latin1", "utf8", "weird", "",
        ])),
        prop::collection::vec(".{0,8}", 0..4),
        sems,
        conns,
    )
        .prop_map(
            |(name, length, scale, unsigned, charset, values, sem, conn)| SourceType {
                name,
                length,
                scale,
                unsigned,
                charset: charset.map(str::to_string),
                enum_values: values,
                semantic: sem.map(str::to_string),
                connect_type: conn.map(str::to_string),
            },
        )
}

fn check_lengths(t: &SrType) -> Result<(), TestCaseError> {
    match t {
        SrType::Varchar { len } => prop_assert!((1..=1_048_576).contains(len), "{t}"),
        SrType::Char { len } => prop_assert!((1..=255).contains(len), "{t}"),
        SrType::Decimal { precision, scale } => {
            prop_assert!(
                *precision >= 1 && *precision <= 38 && scale <= precision,
                "{t}"
            )
        }
        SrType::Array { element } => check_lengths(element)?,
        _ => {}
    }
    Ok(())
}

fn arb_sr_type() -> impl Strategy<Value = SrType> {
    let leaf = prop_oneof![
        Just(SrType::Boolean),
        Just(SrType::TinyInt),
        Just(SrType::SmallInt),
        Just(SrType::Int),
        Just(SrType::BigInt),
        Just(SrType::LargeInt),
        Just(SrType::Float),
        Just(SrType::Double),
        (1u8..=38)
            .prop_flat_map(|p| (Just(p), 0..=p))
            .prop_map(|(precision, scale)| SrType::Decimal { precision, scale }),
        (1u32..=255).prop_map(|len| SrType::Char { len }),
        (1u32..=1_048_576).prop_map(|len| SrType::Varchar { len }),
        Just(SrType::String),
        prop::option::of(1u32..=1_048_576).prop_map(|len| SrType::Varbinary { len }),
        Just(SrType::Date),
        Just(SrType::Datetime),
        Just(SrType::Json),
        Just(SrType::Other {
            text: "bitmap".into()
        }),
    ];
    leaf.prop_recursive(2, 4, 1, |inner| {
        inner.prop_map(|e| SrType::Array {
            element: Box::new(e),
        })
    })
}

proptest! {
    #[test]
    fn mapping_never_panics_and_respects_limits(t in arb_source_type(), pk in any::<bool>(), pg in any::<bool>()) {
        let d = if pg { Postgres } else { Mysql };
        let c = col(t);
        let a = map_column(d, &c, pk, &MappingOptions::default());
        let b = map_column(d, &c, pk, &MappingOptions::default());
        prop_assert_eq!(&a, &b, "deterministic");
        check_lengths(&a.ty)?;
        if pk {
            prop_assert!(a.ty.allowed_in_primary_key(), "{} in a primary key", a.ty);
        }
    }

    #[test]
    fn varchar_length_is_monotone(a in 0u64..2_000_000, b in 0u64..2_000_000,
                                  cs in prop::sample::select(vec!["utf8mb4", "latin1", "utf8"])) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let len = |n| match map(Mysql, ty("VARCHAR", Some(n), None, Some(cs))).ty {
            SrType::Varchar { len } => len,
            other => panic!("{other}"),
        };
        prop_assert!(len(lo) <= len(hi));
    }

    #[test]
    fn conversion_laws(a in arb_sr_type(), b in arb_sr_type()) {
        prop_assert!(can_hold(&a, &a));
        prop_assert_eq!(classify_conversion(&a, &a), Conversion::Identity);
        if classify_conversion(&a, &b) == Conversion::Widening {
            prop_assert!(can_hold(&b, &a), "{} -> {} widening but not held", a, b);
        }
    }
}

#[test]
fn every_row_is_reached_by_its_own_example() {
    use ddlsync::types::mapping::{find_row, Applies, MAPPING_TABLE};
    for row in MAPPING_TABLE {
        let dialects: &[SourceDialect] = match row.applies {
            Applies::Mysql => &[Mysql],
            Applies::Postgres => &[Postgres],
            Applies::Both => &[Mysql, Postgres],
        };
        for d in dialects {
            let found = find_row(*d, &row.example.source_type());
            assert!(
                found.is_some_and(|f| std::ptr::eq(f, row)),
                "{d}: example of row `{}` is mapped by another row",
                row.source
            );
        }
    }
}
