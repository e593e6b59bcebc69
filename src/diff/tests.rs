//! Unit tests of the diff: renames through former names, possible renames,
//! history-only changes and the literal-default reader.

use super::*;
use crate::model::{ColumnId, SourceDialect, SourceType};

fn col(id: u32, name: &str, ty: &str, nullable: bool) -> SourceColumn {
    SourceColumn {
        id: ColumnId(id),
        name: name.into(),
        former_names: vec![],
        position: id,
        ty: SourceType::named(ty),
        nullable,
        default: None,
        comment: None,
        auto_increment: false,
    }
}

fn table(cols: Vec<SourceColumn>) -> SourceTable {
    SourceTable {
        id: TableId::new("shop", "customers"),
        dialect: SourceDialect::Mysql,
        columns: cols,
        primary_key: vec!["id".into()],
        charset: None,
        comment: None,
    }
}

fn opts() -> MappingOptions {
    MappingOptions::default()
}

#[test]
fn rename_via_former_names_is_one_rename() {
    let before = table(vec![
        col(1, "id", "BIGINT", false),
        col(2, "last_name", "VARCHAR", true),
    ]);
    let (target, _) = desired_table(&before, &before.id, &opts());
    let mut renamed = col(2, "family_name", "VARCHAR", true);
    renamed.former_names = vec!["last_name".into(), "surname".into()];
    let after = table(vec![col(1, "id", "BIGINT", false), renamed]);
    let d = diff_table(&after, Some(&target), &opts());
    let kinds: Vec<_> = d.changes.iter().map(Change::kind).collect();
    assert_eq!(kinds, vec![ChangeKind::RenameColumn]);
    assert_eq!(
        d.changes[0].detail,
        ChangeDetail::RenameColumn {
            from: "last_name".into(),
            to: "family_name".into()
        }
    );
    assert!(d.notes.is_empty());
}

#[test]
fn drop_and_add_without_evidence_is_a_possible_rename_note() {
    let before = table(vec![
        col(1, "id", "BIGINT", false),
        col(2, "last_name", "VARCHAR", true),
    ]);
    let (target, _) = desired_table(&before, &before.id, &opts());
    let after = table(vec![
        col(1, "id", "BIGINT", false),
        col(3, "family_name", "VARCHAR", true),
    ]);
    let d = diff_table(&after, Some(&target), &opts());
    let kinds: Vec<_> = d.changes.iter().map(Change::kind).collect();
    assert_eq!(kinds, vec![ChangeKind::DropColumn, ChangeKind::AddColumn]);
    assert_eq!(d.notes.len(), 1);
    assert_eq!(d.notes[0].code, "possible_rename");
}

#[test]
fn create_table_keys_first_not_null() {
    let mut t = table(vec![
        col(1, "name", "VARCHAR", true),
        col(2, "id", "BIGINT", false),
    ]);
    t.columns[1].position = 2;
    let d = diff_table(&t, None, &opts());
    let ChangeDetail::CreateTable { table, .. } = &d.changes[0].detail else {
        panic!("create_table expected");
    };
    assert_eq!(table.columns[0].name, "id");
    assert!(!table.columns[0].nullable);
    assert_eq!(table.key_columns, vec!["id".to_string()]);
    assert_eq!(table.keys_type, KeysType::Primary);
    assert_eq!(
        table
            .properties
            .get("fast_schema_evolution")
            .map(String::as_str),
        Some("true")
    );
}

#[test]
fn nullable_source_on_not_null_target_is_make_nullable() {
    let before = table(vec![
        col(1, "id", "BIGINT", false),
        col(2, "a", "INT", false),
    ]);
    let (target, _) = desired_table(&before, &before.id, &opts());
    let after = table(vec![
        col(1, "id", "BIGINT", false),
        col(2, "a", "INT", true),
    ]);
    let d = diff_table(&after, Some(&target), &opts());
    assert_eq!(d.changes.len(), 1);
    assert_eq!(d.changes[0].kind(), ChangeKind::MakeNullable);
    // The other way round is in sync structurally (the target holds every value)...
    let (nullable_target, _) = desired_table(&after, &after.id, &opts());
    assert!(diff_table(&before, Some(&nullable_target), &opts()).is_empty());
    // ...and comes from history only.
    let h = history_changes(&after, &before, &nullable_target);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].kind(), ChangeKind::MakeNotNull);
}

#[test]
fn history_reports_defaults_and_moves() {
    let before = table(vec![
        col(1, "id", "BIGINT", false),
        col(2, "a", "INT", true),
        col(3, "b", "INT", true),
        col(4, "c", "INT", true),
    ]);
    let (target, _) = desired_table(&before, &before.id, &opts());
    let mut after = before.clone();
    after.columns[1].default = Some("'7'".into());
    let moved = after.columns.remove(3);
    after.columns.insert(1, moved);
    for (i, c) in after.columns.iter_mut().enumerate() {
        c.position = i as u32 + 1;
    }
    let h = history_changes(&before, &after, &target);
    let kinds: Vec<_> = h.iter().map(Change::kind).collect();
    assert_eq!(
        kinds,
        vec![ChangeKind::ReorderColumn, ChangeKind::ChangeDefault]
    );
    let moved_model = apply_changes(&target, &h);
    let names: Vec<_> = moved_model
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, vec!["id", "c", "a", "b"]);
}

#[test]
fn literal_defaults() {
    assert_eq!(literal_default("'abc'"), Some("abc".into()));
    assert_eq!(
        literal_default("'it''s'::character varying"),
        Some("it's".into())
    );
    assert_eq!(literal_default("0"), Some("0".into()));
    assert_eq!(literal_default("NULL"), None);
    assert_eq!(literal_default("CURRENT_TIMESTAMP(3)"), None);
    assert_eq!(literal_default("nextval('s'::regclass)"), None);
}

#[test]
fn table_events_are_sorted_first() {
    let before = table(vec![col(1, "id", "BIGINT", false)]);
    let after = table(vec![
        col(1, "id", "BIGINT", false),
        col(2, "x", "INT", true),
    ]);
    let (target, _) = desired_table(&before, &before.id, &opts());
    let mut d = diff_table(&after, Some(&target), &opts());
    d.extend([Change::truncate_table(target.id.clone())]);
    assert_eq!(d.changes[0].kind(), ChangeKind::TruncateTable);
    assert_eq!(d.changes[1].kind(), ChangeKind::AddColumn);
}
