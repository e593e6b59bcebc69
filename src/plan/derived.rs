//! The targets ddlsync derives from a source table besides its PRIMARY KEY
//! mirror (design.md, "Targets per source table"):
//!
//! * the **raw change-log table** `<target>_cdc_raw` ([`raw_table`]): a
//!   DUPLICATE KEY table whose columns are exactly what the loader's `RawRow`
//!   writes (`loader::convert::RAW_COLUMNS`), keyed on the Kafka coordinates
//!   (`topic`, `partition`, `offset`). `before`/`after` are JSON, so it never
//!   needs an ALTER when source columns change; it is planned as a
//!   `create_table` change when missing ([`diff_raw`]).
//! * the **current-state materialized view** `<target>_current`
//!   ([`current_state_mv`]): one column per source column, extracted from
//!   the `after` JSON of the latest event of each primary key; deletes are
//!   filtered. The key of a delete is only in `before`, so events are
//!   partitioned by `COALESCE(after key, before key)`:
//!
//!   ```sql
//!   SELECT CAST(get_json_string(`after`, "$.id") AS BIGINT) AS `id`, ...
//!   FROM (SELECT `op`, `after`, ROW_NUMBER() OVER (PARTITION BY
//!           COALESCE(get_json_string(`after`, "$.id"), get_json_string(`before`, "$.id"))
//!           ORDER BY `source_position` DESC, `offset` DESC) AS `__ddlsync_rn`
//!         FROM raw WHERE `op` <> "t") `__ddlsync_events`
//!   WHERE `__ddlsync_rn` = 1 AND `op` <> "d"
//!   ```
//!
//!   The view is generated from the source's current columns. StarRocks
//!   stores view definitions normalized, so the SQL text is never compared:
//!   the view's `COMMENT` carries a fingerprint of the generated definition
//!   ([`MARKER`] `sha256:<hex>`, see [`definition_marker`]); a missing view is
//!   a `create_table` change, a view whose fingerprint differs is a
//!   `regenerate_mv` change (DROP + CREATE), and a view of that name without
//!   the marker is not ddlsync's and is left alone (with a note).
//!
//! [`plan_mv_table`] turns a view's changes into a [`TablePlan`]
//! (`plan::plan_table` delegates to it). Pure: no I/O, no clock.

use std::collections::BTreeMap;

use super::{fingerprint, Action, PlanOptions, PlannedChange, Step, TablePlan};
use crate::catalog::{Catalog, Distribution, KeysType, TargetColumn, TargetTable};
use crate::ddl::mv::{CmpOp, Expr, FromClause, Function, OrderKey, Select, SelectItem};
use crate::ddl::{CreateMaterializedViewAs, Statement};
use crate::diff::{desired_table, Change, ChangeDetail, Note, TableDiff};
use crate::model::{SourceTable, TableId};
use crate::policy::{Decision, Verdict};
use crate::types::{MappingOptions, SrType};

/// Suffix of the raw change-log table.
pub const RAW_SUFFIX: &str = "_cdc_raw";
/// Suffix of the current-state materialized view.
pub const CURRENT_SUFFIX: &str = "_current";
/// What precedes the definition fingerprint in the view's `COMMENT`.
pub const MARKER: &str = "ddlsync-definition ";
/// The row-number column of the view's inner query.
pub const ROW_NUMBER_COLUMN: &str = "__ddlsync_rn";
/// Alias of the view's inner query.
pub const EVENTS_ALIAS: &str = "__ddlsync_events";

/// `<target>_cdc_raw`, in the mirror target's database.
pub fn raw_table_id(target: &TableId) -> TableId {
    TableId::new(
        target.database.clone(),
        format!("{}{RAW_SUFFIX}", target.table),
    )
}

/// `<target>_current`, in the mirror target's database.
pub fn current_mv_id(target: &TableId) -> TableId {
    TableId::new(
        target.database.clone(),
        format!("{}{CURRENT_SUFFIX}", target.table),
    )
}

fn column(name: &str, ty: SrType, nullable: bool) -> TargetColumn {
    TargetColumn {
        name: name.to_string(),
        ty,
        nullable,
        default: None,
        comment: None,
        aggregation: None,
    }
}

/// The raw change-log table `id`: the loader's raw row columns (names as
/// `RAW_COLUMNS`), the Kafka coordinates first as the DUPLICATE KEY, hashed
/// on them.
pub fn raw_table(id: TableId, options: &PlanOptions) -> TargetTable {
    let key = ["topic", "partition", "offset"].map(String::from).to_vec();
    let columns = vec![
        column("topic", SrType::Varchar { len: 255 }, false),
        column("partition", SrType::Int, false),
        column("offset", SrType::BigInt, false),
        column("op", SrType::Varchar { len: 8 }, false),
        column("before", SrType::Json, true),
        column("after", SrType::Json, true),
        column("source_position", SrType::Varchar { len: 512 }, true),
        column("event_time", SrType::Datetime, true),
    ];
    let mut properties = BTreeMap::new();
    properties.insert("fast_schema_evolution".to_string(), "true".to_string());
    properties.insert(
        "replication_num".to_string(),
        options.replication_num.to_string(),
    );
    TargetTable {
        id,
        columns,
        keys_type: KeysType::Duplicate,
        key_columns: key.clone(),
        partition_clause: None,
        partition_columns: Vec::new(),
        distribution: Some(Distribution::Hash {
            columns: key,
            buckets: None,
        }),
        order_by: Vec::new(),
        properties,
        comment: Some("ddlsync raw change log".to_string()),
    }
}

/// The `create_table` diff of the raw table when it is missing; a note when
/// it exists without a column the loader writes.
pub fn diff_raw(
    source: &TableId,
    raw: &TableId,
    catalog: &Catalog,
    options: &PlanOptions,
) -> TableDiff {
    let mut diff = TableDiff {
        source_table: source.clone(),
        target_table: raw.clone(),
        changes: Vec::new(),
        notes: Vec::new(),
    };
    match catalog.tables.get(raw) {
        None => diff.extend([Change::new(
            raw.clone(),
            0,
            ChangeDetail::CreateTable {
                table: Box::new(raw_table(raw.clone(), options)),
                losses: Vec::new(),
            },
        )]),
        Some(t) => {
            let model = raw_table(raw.clone(), options);
            let missing: Vec<&str> = model
                .columns
                .iter()
                .filter(|c| t.column(&c.name).is_none())
                .map(|c| c.name.as_str())
                .collect();
            if !missing.is_empty() {
                diff.notes.push(Note {
                    code: "raw_table_mismatch".into(),
                    column: None,
                    message: format!(
                        "raw table {raw} lacks {}: the loader's raw rows will not load",
                        missing.join(", ")
                    ),
                });
            }
        }
    }
    diff
}

/// The JSON path of a top-level key: `$.name`, or `$."na.me"` when the name
/// is not a plain identifier.
pub fn json_path(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("$.{name}")
    } else {
        format!("$.\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The expression reading column `name` of type `ty` from the JSON column
/// `json` (`after` or `before`): the `get_json_*` function that fits the
/// type (`json_query` for JSON, BOOLEAN and nested types), cast to `ty`.
pub fn extract(json: &str, name: &str, ty: &SrType) -> Expr {
    let args = vec![Expr::column(json), Expr::str(json_path(name))];
    let function = match ty {
        SrType::TinyInt | SrType::SmallInt | SrType::Int => Function::GetJsonInt,
        SrType::Float | SrType::Double => Function::GetJsonDouble,
        SrType::Json | SrType::Boolean | SrType::Array { .. } | SrType::Other { .. } => {
            Function::JsonQuery
        }
        _ => Function::GetJsonString,
    };
    let call = Expr::call(function, args);
    match ty {
        SrType::Json => call,
        _ => call.cast(ty.clone()),
    }
}

/// The current-state view `mv` of `source` over the raw table `raw`, with
/// the fingerprint of its definition in its comment. `None` when the source
/// has no primary key (the latest event of a row cannot be told).
pub fn current_state_mv(
    source: &SourceTable,
    raw: &TableId,
    mv: &TableId,
    mapping: &MappingOptions,
    options: &PlanOptions,
) -> Option<CreateMaterializedViewAs> {
    let (table, _) = desired_table(source, mv, mapping);
    if table.keys_type != KeysType::Primary || table.key_columns.is_empty() {
        return None;
    }
    let key_types: Vec<(&str, &SrType)> = table
        .key_columns
        .iter()
        .filter_map(|k| table.column(k).map(|c| (c.name.as_str(), &c.ty)))
        .collect();
    let partition_by = key_types
        .iter()
        .map(|(name, _)| {
            let from = |json: &str| {
                Expr::call(
                    Function::GetJsonString,
                    vec![Expr::column(json), Expr::str(json_path(name))],
                )
            };
            Expr::call(Function::Coalesce, vec![from("after"), from("before")])
        })
        .collect();
    let inner = Select {
        items: vec![
            SelectItem {
                expr: Expr::column("op"),
                alias: None,
            },
            SelectItem {
                expr: Expr::column("after"),
                alias: None,
            },
            SelectItem {
                expr: Expr::RowNumber {
                    partition_by,
                    order_by: ["source_position", "offset"]
                        .map(|c| OrderKey {
                            expr: Expr::column(c),
                            descending: true,
                        })
                        .to_vec(),
                },
                alias: Some(ROW_NUMBER_COLUMN.to_string()),
            },
        ],
        from: FromClause::Table { table: raw.clone() },
        filter: Some(Expr::column("op").compare(CmpOp::NotEq, Expr::str("t"))),
    };
    let items = table
        .columns
        .iter()
        .map(|c| SelectItem {
            expr: extract("after", &c.name, &c.ty),
            alias: Some(c.name.clone()),
        })
        .collect();
    let query = Select {
        items,
        from: FromClause::Subquery {
            query: Box::new(inner),
            alias: EVENTS_ALIAS.to_string(),
        },
        filter: Some(Expr::And {
            all: vec![
                Expr::column(ROW_NUMBER_COLUMN).compare(CmpOp::Eq, Expr::Int { value: 1 }),
                Expr::column("op").compare(CmpOp::NotEq, Expr::str("d")),
            ],
        }),
    };
    let mut properties = BTreeMap::new();
    properties.insert(
        "replication_num".to_string(),
        options.replication_num.to_string(),
    );
    let mut out = CreateMaterializedViewAs {
        mv: mv.clone(),
        comment: None,
        distributed_by: key_types.iter().map(|(n, _)| n.to_string()).collect(),
        refresh: "ASYNC".to_string(),
        properties,
        query,
    };
    let fp = definition_fingerprint(&out);
    out.comment = Some(format!(
        "ddlsync current-state view of {} over {raw}; {MARKER}{fp}",
        source.id
    ));
    Some(out)
}

/// Fingerprint of a generated definition (its text without the comment).
pub fn definition_fingerprint(mv: &CreateMaterializedViewAs) -> String {
    let bare = CreateMaterializedViewAs {
        comment: None,
        ..mv.clone()
    };
    fingerprint(&bare.to_string())
}

/// The definition fingerprint ddlsync left in a view's text (its `COMMENT`),
/// `None` when the text has no marker (not a ddlsync-generated view).
pub fn definition_marker(text: &str) -> Option<String> {
    let at = text.find(MARKER)? + MARKER.len();
    let rest = text[at..].strip_prefix("sha256:")?;
    let hex: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (hex.len() == 64).then(|| format!("sha256:{hex}"))
}

/// The diff of the current-state view `mv` of `source`: `create_table` when
/// missing, `regenerate_mv` when its fingerprint differs, nothing (maybe a
/// note) otherwise.
pub fn diff_current_mv(
    source: &SourceTable,
    raw: &TableId,
    mv: &TableId,
    catalog: &Catalog,
    mapping: &MappingOptions,
    options: &PlanOptions,
) -> TableDiff {
    let mut diff = TableDiff {
        source_table: source.id.clone(),
        target_table: mv.clone(),
        changes: Vec::new(),
        notes: Vec::new(),
    };
    let note = |code: &str, message: String| Note {
        code: code.into(),
        column: None,
        message,
    };
    let Some(generated) = current_state_mv(source, raw, mv, mapping, options) else {
        diff.notes.push(note(
            "no_primary_key",
            format!(
                "{} has no primary key: the current-state view {mv} is not planned",
                source.id
            ),
        ));
        return diff;
    };
    if catalog.tables.contains_key(mv) {
        diff.notes.push(note(
            "current_mv_name_taken",
            format!("a table named {mv} exists: the current-state view is not planned"),
        ));
        return diff;
    }
    let to = definition_fingerprint(&generated);
    match catalog.views.get(mv) {
        None => diff.extend([Change::new(
            mv.clone(),
            0,
            ChangeDetail::CreateMv {
                mv: Box::new(generated),
            },
        )]),
        Some(view) => match definition_marker(&view.create_sql) {
            None => diff.notes.push(note(
                "current_mv_not_managed",
                format!(
                    "materialized view {mv} was not generated by ddlsync (no definition \
                     fingerprint in its comment): left alone"
                ),
            )),
            Some(from) if from == to => {}
            Some(from) => diff.extend([Change::new(
                mv.clone(),
                0,
                ChangeDetail::RegenerateMv {
                    mv: Box::new(generated),
                    from,
                    to,
                },
            )]),
        },
    }
    diff
}

/// Whether every change of the diff is about a ddlsync-generated view.
pub fn is_mv_diff(diff: &TableDiff) -> bool {
    !diff.changes.is_empty()
        && diff.changes.iter().all(|c| {
            matches!(
                c.detail,
                ChangeDetail::CreateMv { .. } | ChangeDetail::RegenerateMv { .. }
            )
        })
}

fn create(mv: &CreateMaterializedViewAs) -> Statement {
    Statement::CreateMaterializedView {
        mv: mv.mv.clone(),
        definition: mv.to_string(),
    }
}

/// The plan of a generated view (a diff for which [`is_mv_diff`] holds).
/// `from_fingerprint` is `None` (fingerprints cover tables; the view's own
/// state is told by the fingerprint in its comment, which the executor
/// checks); `before`/`after` are the view definitions.
pub fn plan_mv_table(diff: &TableDiff, decisions: &[Decision], catalog: &Catalog) -> TablePlan {
    let mut steps_now = Vec::new();
    let mut after = None;
    let changes = diff
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let decision = decisions
                .get(i)
                .cloned()
                .unwrap_or_else(Decision::builtin_default);
            let (steps, notes, generated) = match &c.detail {
                ChangeDetail::CreateMv { mv } => (
                    vec![Step::Sql {
                        statement: create(mv),
                        waits_for_job: false,
                    }],
                    vec![format!(
                        "created REFRESH ASYNC over {}: StarRocks runs its first refresh \
                         after creation",
                        raw_of(mv)
                    )],
                    Some(mv),
                ),
                ChangeDetail::RegenerateMv { mv, from, to } => (
                    vec![Step::RebuildMv {
                        mv: mv.mv.clone(),
                        statements: vec![
                            Statement::DropMaterializedView {
                                mv: mv.mv.clone(),
                                if_exists: true,
                            },
                            create(mv),
                        ],
                    }],
                    vec![format!(
                        "the source columns changed (definition {from} → {to}): the view is \
                         dropped and re-created; readers see no rows until its first refresh"
                    )],
                    Some(mv),
                ),
                _ => (Vec::new(), vec!["not a generated view".to_string()], None),
            };
            let ignored = decision.verdict == Verdict::Ignore;
            let pending = matches!(decision.verdict, Verdict::Queue | Verdict::Halt);
            if !ignored {
                after = generated.map(|g| statement_text(&g.to_string()));
            }
            if decision.verdict == Verdict::Apply {
                steps_now.extend(steps.iter().cloned());
            }
            PlannedChange {
                id: format!("{}/{}", c.table, c.kind()),
                source_table: diff.source_table.clone(),
                change: c.clone(),
                pending,
                action: if ignored {
                    Action::None
                } else {
                    Action::InPlace
                },
                steps: if ignored { Vec::new() } else { steps },
                notes,
                decision,
            }
        })
        .collect();
    let before = catalog
        .views
        .get(&diff.target_table)
        .map(|v| statement_text(&v.create_sql));
    let after = after.or_else(|| before.clone());
    TablePlan {
        source_table: diff.source_table.clone(),
        target_table: diff.target_table.clone(),
        from_fingerprint: None,
        to_fingerprint: after.as_deref().map(fingerprint),
        before,
        after,
        changes,
        steps: steps_now,
        notes: diff.notes.clone(),
    }
}

/// A view definition as the plan shows it: `;` and a newline at the end.
fn statement_text(sql: &str) -> String {
    format!("{};\n", sql.trim().trim_end_matches(';').trim_end())
}

fn raw_of(mv: &CreateMaterializedViewAs) -> String {
    match &mv.query.from {
        FromClause::Subquery { query, .. } => match &query.from {
            FromClause::Table { table } => table.to_string(),
            FromClause::Subquery { .. } => "the raw table".into(),
        },
        FromClause::Table { table } => table.to_string(),
    }
}

/// Whether a step re-creates a ddlsync-generated view, and if so the
/// fingerprint it creates (for the executor: such a step is done when the
/// view exists with that fingerprint).
pub fn generated_fingerprint(statements: &[Statement]) -> Option<String> {
    statements.iter().find_map(|s| match s {
        Statement::CreateMaterializedView { definition, .. } => definition_marker(definition),
        _ => None,
    })
}
