//! Diff engine: property tests (diff of a table with itself is empty, applying
//! a diff reaches the source, determinism and order, nullable adds are not
//! destructive) and the hand-made-table and rename cases.

use std::collections::BTreeSet;

use ddlsync::catalog::{Distribution, KeysType, TargetColumn, TargetTable};
use ddlsync::diff::{apply_changes, desired_table, diff_table, Change, ChangeDetail, ChangeKind};
use ddlsync::model::{ColumnId, SourceColumn, SourceDialect, SourceTable, SourceType, TableId};
use ddlsync::types::{MappingOptions, SrType};
use proptest::prelude::*;

fn ty(name: &str, length: Option<u64>, scale: Option<u32>) -> SourceType {
    SourceType {
        name: name.into(),
        length,
        scale,
        charset: matches!(name, "VARCHAR" | "CHAR" | "TEXT").then(|| "utf8mb4".to_string()),
        ..SourceType::default()
    }
}

fn col(id: u32, name: &str, t: SourceType, nullable: bool) -> SourceColumn {
    SourceColumn {
        id: ColumnId(id),
        name: name.into(),
        former_names: vec![],
        position: id,
        ty: t,
        nullable,
        default: None,
        comment: None,
        auto_increment: false,
    }
}

fn table(columns: Vec<SourceColumn>) -> SourceTable {
    SourceTable {
        id: TableId::new("shop", "customers"),
        dialect: SourceDialect::Mysql,
        primary_key: vec![columns[0].name.clone()],
        columns,
        charset: Some("utf8mb4".into()),
        comment: None,
    }
}

fn opts() -> MappingOptions {
    MappingOptions::default()
}

fn source_types() -> impl Strategy<Value = SourceType> {
    prop_oneof![
        Just(ty("INT", None, None)),
        Just(ty("BIGINT", None, None)),
        Just(ty("SMALLINT", None, None)),
        (1u64..300).prop_map(|n| ty("VARCHAR", Some(n), None)),
        Just(ty("TEXT", None, None)),
        Just(ty("DATE", None, None)),
        Just(ty("DATETIME", None, None)),
        Just(ty("DOUBLE", None, None)),
        (1u64..30, 0u32..5).prop_map(|(p, s)| ty("DECIMAL", Some(p + 5), Some(s))),
        Just(ty("JSON", None, None)),
    ]
}

/// A source table: key `id` (BIGINT NOT NULL) and 0..7 columns `c0`..`c6`.
fn source_tables() -> impl Strategy<Value = SourceTable> {
    proptest::collection::vec(
        (
            source_types(),
            any::<bool>(),
            proptest::option::of("[a-z ]{0,8}"),
        ),
        0..7,
    )
    .prop_map(|cols| {
        let mut columns = vec![col(1, "id", ty("BIGINT", None, None), false)];
        for (i, (t, nullable, comment)) in cols.into_iter().enumerate() {
            let mut c = col(i as u32 + 2, &format!("c{i}"), t, nullable);
            c.comment = comment;
            columns.push(c);
        }
        table(columns)
    })
}

#[derive(Debug, Clone)]
enum Op {
    Add(SourceType, bool),
    Drop(usize),
    Rename(usize),
    Retype(usize, SourceType),
    Nullable(usize, bool),
    Comment(usize, Option<String>),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(
        prop_oneof![
            (source_types(), any::<bool>()).prop_map(|(t, n)| Op::Add(t, n)),
            any::<usize>().prop_map(Op::Drop),
            any::<usize>().prop_map(Op::Rename),
            (any::<usize>(), source_types()).prop_map(|(i, t)| Op::Retype(i, t)),
            (any::<usize>(), any::<bool>()).prop_map(|(i, n)| Op::Nullable(i, n)),
            (any::<usize>(), proptest::option::of("[a-z]{1,6}"))
                .prop_map(|(i, c)| Op::Comment(i, c)),
        ],
        0..6,
    )
}

/// Applies source-side edits (never to the key column); renames record former names.
fn evolve(a: &SourceTable, ops: &[Op]) -> SourceTable {
    let mut b = a.clone();
    let mut next = 100u32;
    for op in ops {
        let n = b.columns.len();
        let pick = |i: usize| if n > 1 { Some(1 + i % (n - 1)) } else { None };
        match op {
            Op::Add(t, nullable) => {
                next += 1;
                b.columns
                    .push(col(next, &format!("n{next}"), t.clone(), *nullable));
            }
            Op::Drop(i) => {
                if let Some(i) = pick(*i) {
                    b.columns.remove(i);
                }
            }
            Op::Rename(i) => {
                if let Some(i) = pick(*i) {
                    next += 1;
                    let c = &mut b.columns[i];
                    let old = std::mem::replace(&mut c.name, format!("r{next}"));
                    c.former_names.push(old);
                }
            }
            Op::Retype(i, t) => {
                if let Some(i) = pick(*i) {
                    b.columns[i].ty = t.clone();
                }
            }
            Op::Nullable(i, v) => {
                if let Some(i) = pick(*i) {
                    b.columns[i].nullable = *v;
                }
            }
            Op::Comment(i, c) => {
                if let Some(i) = pick(*i) {
                    b.columns[i].comment = c.clone();
                }
            }
        }
    }
    for (i, c) in b.columns.iter_mut().enumerate() {
        c.position = i as u32 + 1;
    }
    b
}

fn names(t: &TargetTable) -> BTreeSet<String> {
    t.columns
        .iter()
        .map(|c| c.name.to_ascii_lowercase())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn diff_of_a_table_with_itself_is_empty(a in source_tables()) {
        let (target, _) = desired_table(&a, &a.id, &opts());
        let d = diff_table(&a, Some(&target), &opts());
        prop_assert!(d.changes.is_empty(), "{:?}", d.changes);
        prop_assert!(d.notes.is_empty());
    }

    #[test]
    fn applying_the_diff_reaches_the_source(a in source_tables(), ops in ops()) {
        let b = evolve(&a, &ops);
        let (ta, _) = desired_table(&a, &a.id, &opts());
        let (tb, _) = desired_table(&b, &b.id, &opts());
        let d = diff_table(&b, Some(&ta), &opts());
        let applied = apply_changes(&ta, &d.changes);
        // Same columns as b's own table (order aside: StarRocks appends)...
        prop_assert_eq!(names(&applied), names(&tb));
        // ...and nothing left to do.
        let again = diff_table(&b, Some(&applied), &opts());
        prop_assert!(again.changes.is_empty(), "left over: {:?}", again.changes);
        // No rename without evidence.
        let renames = d.changes.iter().filter(|c| c.kind() == ChangeKind::RenameColumn).count();
        let evidenced = b
            .columns
            .iter()
            .filter(|c| {
                ta.column(&c.name).is_none() && c.former_names.iter().any(|f| ta.column(f).is_some())
            })
            .count();
        prop_assert_eq!(renames, evidenced);
    }

    #[test]
    fn diff_is_deterministic_and_sorted(a in source_tables(), ops in ops()) {
        let b = evolve(&a, &ops);
        let (ta, _) = desired_table(&a, &a.id, &opts());
        let d1 = diff_table(&b, Some(&ta), &opts());
        let d2 = diff_table(&b, Some(&ta), &opts());
        prop_assert_eq!(&d1, &d2);
        let keys: Vec<_> = d1.changes.iter().map(Change::sort_key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        prop_assert_eq!(keys, sorted);
    }

    #[test]
    fn adding_nullable_columns_is_not_destructive(
        a in source_tables(),
        added in proptest::collection::vec(source_types(), 1..4),
    ) {
        let ops: Vec<Op> = added.into_iter().map(|t| Op::Add(t, true)).collect();
        let b = evolve(&a, &ops);
        let (ta, _) = desired_table(&a, &a.id, &opts());
        let d = diff_table(&b, Some(&ta), &opts());
        prop_assert!(d.changes.iter().all(|c| !c.kind().is_destructive()), "{:?}", d.changes);
        prop_assert!(d.changes.iter().all(|c| c.kind() == ChangeKind::AddColumn));
    }
}

#[test]
fn hand_made_string_table_is_in_sync() {
    let source = table(vec![
        col(1, "id", ty("BIGINT", None, None), false),
        col(2, "name", ty("VARCHAR", Some(100), None), true),
        col(3, "bio", ty("TEXT", None, None), true),
        col(4, "code", ty("CHAR", Some(3), None), true),
        col(5, "attrs", ty("JSON", None, None), true),
    ]);
    let string_col = |name: &str| TargetColumn {
        name: name.into(),
        ty: SrType::String,
        nullable: true,
        default: None,
        comment: None,
        aggregation: None,
    };
    let target = TargetTable {
        id: source.id.clone(),
        columns: vec![
            TargetColumn {
                name: "id".into(),
                ty: SrType::BigInt,
                nullable: false,
                default: None,
                comment: None,
                aggregation: None,
            },
            string_col("name"),
            string_col("bio"),
            string_col("code"),
            string_col("attrs"),
        ],
        keys_type: KeysType::Primary,
        key_columns: vec!["id".into()],
        partition_clause: None,
        partition_columns: vec![],
        distribution: Some(Distribution::Hash {
            columns: vec!["id".into()],
            buckets: Some(4),
        }),
        order_by: vec![],
        properties: Default::default(),
        comment: None,
    };
    let d = diff_table(&source, Some(&target), &opts());
    assert!(d.changes.is_empty(), "{:#?}", d.changes);
}

#[test]
fn rename_chain_through_former_names_is_one_rename() {
    let before = table(vec![
        col(1, "id", ty("BIGINT", None, None), false),
        col(2, "last_name", ty("VARCHAR", Some(100), None), true),
    ]);
    let (target, _) = desired_table(&before, &before.id, &opts());
    let mut after = before.clone();
    after.columns[1].name = "family_name".into();
    after.columns[1].former_names = vec!["last_name".into(), "surname".into()];
    let d = diff_table(&after, Some(&target), &opts());
    assert_eq!(d.changes.len(), 1, "{:#?}", d.changes);
    assert_eq!(
        d.changes[0].detail,
        ChangeDetail::RenameColumn {
            from: "last_name".into(),
            to: "family_name".into()
        }
    );
    assert!(d.changes.iter().all(|c| c.kind() != ChangeKind::DropColumn));
}

#[test]
fn varchar_mapping_is_charset_aware_and_widening_is_classified() {
    let before = table(vec![
        col(1, "id", ty("BIGINT", None, None), false),
        col(2, "email", ty("VARCHAR", Some(100), None), true),
    ]);
    let (target, _) = desired_table(&before, &before.id, &opts());
    assert_eq!(target.columns[1].ty, SrType::Varchar { len: 400 });
    let mut after = before.clone();
    after.columns[1].ty.length = Some(255);
    let d = diff_table(&after, Some(&target), &opts());
    assert_eq!(d.changes.len(), 1);
    match &d.changes[0].detail {
        ChangeDetail::ModifyColumnType {
            from,
            to,
            class,
            in_place,
            ..
        } => {
            assert_eq!(
                (from, to),
                (
                    &SrType::Varchar { len: 400 },
                    &SrType::Varchar { len: 1020 }
                )
            );
            assert_eq!(class.as_str(), "widening");
            assert!(in_place);
        }
        other => panic!("unexpected {other:?}"),
    }
}
