//! Unit tests of the planner's classification and grouping details.

use std::collections::BTreeMap;

use super::steps::classify;
use super::*;
use crate::catalog::{Distribution, KeysType, TargetColumn};
use crate::diff::ChangeDetail;
use crate::types::SrType;

fn column(name: &str, ty: SrType, nullable: bool) -> TargetColumn {
    TargetColumn {
        name: name.into(),
        ty,
        nullable,
        default: None,
        comment: None,
        aggregation: None,
    }
}

fn table(keys_type: KeysType) -> TargetTable {
    TargetTable {
        id: TableId::new("d", "t"),
        columns: vec![
            column("k", SrType::Int, false),
            column("dt", SrType::Date, false),
            column("v", SrType::Varchar { len: 10 }, true),
        ],
        keys_type,
        key_columns: vec!["k".into(), "dt".into()],
        partition_clause: Some("PARTITION BY RANGE(`dt`)()".into()),
        partition_columns: vec!["dt".into()],
        distribution: Some(Distribution::Hash {
            columns: vec!["k".into()],
            buckets: Some(2),
        }),
        order_by: vec![],
        properties: BTreeMap::new(),
        comment: None,
    }
}

fn change(detail: ChangeDetail) -> Change {
    Change::new(TableId::new("d", "t"), 1, detail)
}

fn v(s: &str) -> StarRocksVersion {
    s.parse().expect("version")
}

#[test]
fn classification_follows_the_facts_sheet() {
    let pk = table(KeysType::Primary);
    let dup = table(KeysType::Duplicate);
    let none = BTreeMap::new();
    let drop = |n: &str| {
        change(ChangeDetail::DropColumn {
            column: column(n, SrType::Int, true),
        })
    };
    let new = v("3.3.5");
    assert!(matches!(
        classify(&drop("dt"), Some(&pk), &none, &new),
        Action::Impossible(_)
    ));
    assert!(matches!(
        classify(&drop("k"), Some(&pk), &none, &new),
        Action::Rebuild(_)
    ));
    assert!(matches!(
        classify(&drop("k"), Some(&dup), &none, &new),
        Action::Rebuild(_)
    ));
    assert_eq!(
        classify(&drop("v"), Some(&pk), &none, &new),
        Action::InPlace
    );
    let nullable_key = change(ChangeDetail::MakeNullable { column: "k".into() });
    assert!(matches!(
        classify(&nullable_key, Some(&pk), &none, &new),
        Action::Impossible(_)
    ));
    let table_comment = change(ChangeDetail::ChangeComment {
        column: None,
        from: None,
        to: Some("x".into()),
    });
    assert_eq!(
        classify(&table_comment, Some(&pk), &none, &new),
        Action::InPlace
    );
    assert!(matches!(
        classify(&table_comment, Some(&pk), &none, &v("3.0.0")),
        Action::Impossible(_)
    ));
    let widen_value = change(ChangeDetail::ModifyColumnType {
        column: "v".into(),
        from: SrType::Varchar { len: 10 },
        to: SrType::Varchar { len: 20 },
        class: crate::diff::TypeChangeClass::Widening,
        in_place: true,
        source_type: Default::default(),
        losses: vec![],
    });
    assert_eq!(
        classify(&widen_value, Some(&pk), &none, &new),
        Action::InPlace
    );
    let default = change(ChangeDetail::ChangeDefault {
        column: "v".into(),
        from: None,
        to: Some("a".into()),
    });
    assert!(matches!(
        classify(&default, Some(&pk), &none, &new),
        Action::Rebuild(_)
    ));
    assert!(matches!(
        classify(&default, None, &none, &new),
        Action::Impossible(_)
    ));
}

#[test]
fn newline_inside_quotes_is_detected() {
    use super::render::breaks_inside_quotes;
    assert!(breaks_inside_quotes("ALTER TABLE `a\nb` ADD COLUMN x INT"));
    assert!(breaks_inside_quotes("COMMENT \"a\nb\""));
    assert!(!breaks_inside_quotes("CREATE TABLE `a` (\n  `b` INT\n)"));
    assert!(!breaks_inside_quotes("COMMENT \"a\\\"\"\n"));
}

#[test]
fn fingerprint_is_sha256_hex() {
    let f = fingerprint("x");
    assert!(f.starts_with("sha256:") && f.len() == 7 + 64);
    assert_eq!(f, fingerprint("x"));
    assert_ne!(f, fingerprint("y"));
}
