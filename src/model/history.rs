//! Per-table schema history: versions with source positions and fingerprints,
//! column identity through renames, and the table-level events (created,
//! renamed, dropped, truncated).
//!
//! Owns [`Histories`] (all tables), [`TableHistory`], [`TableVersion`],
//! [`Fingerprint`], [`HistoryNote`] and [`TableEvent`]. Events come decoded from
//! `crate::source`; the ddl of schema-change events is read with
//! `crate::source::ddl::analyze`. Pure: no I/O, no clock, no logging.
//!
//! Rules:
//! * schema-change events (`tableChanges`) are authoritative: each CREATE/ALTER
//!   with a structure different from the latest version adds a version;
//! * renames are only taken from the ddl (sqlparser, or the literal fallback
//!   reader) or from a two-name `id` / `previousId`; a drop + add with no such
//!   evidence is reported as a possible rename and treated as drop + add;
//! * data-change events with an inline schema add a version only when the
//!   derived schema's fingerprint differs from the latest inline-derived
//!   version; a table whose history comes from the schema-change topic is not
//!   re-versioned by inline schemas (their columns are only compared by name).

mod identity;
mod note;

pub use note::{HistoryNote, TableEvent};

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::model::{SourcePosition, SourceTable, TableId};
use crate::source::ddl::{self, DdlAnalysis, StatementKind};
use crate::source::{
    DataChangeEvent, Event, IdOrder, Located, Op, SchemaChangeEvent, TableChange, TableChangeKind,
};

/// Stable hash (SHA-256) of a table's structure: column names and order, types,
/// nullability, defaults, comments, auto-increment, primary key, charset and
/// comment of the table. Not of column ids, former names, the table's name or
/// where in the stream it was seen. Displays as 12 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `table`.
    pub fn of(table: &SourceTable) -> Self {
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "\u{0}none".into());
        put(&table.dialect.to_string());
        put(&table.primary_key.join("\u{1}"));
        put(&opt(&table.charset));
        put(&opt(&table.comment));
        for c in &table.columns {
            put("\u{2}column");
            put(&c.name);
            put(&c.ty.name);
            put(&format!(
                "{:?}/{:?}/{}",
                c.ty.length, c.ty.scale, c.ty.unsigned
            ));
            put(&opt(&c.ty.charset));
            put(&c.ty.enum_values.join("\u{1}"));
            put(&opt(&c.ty.semantic));
            put(&opt(&c.ty.connect_type));
            put(&format!("{}/{}", c.nullable, c.auto_increment));
            put(&opt(&c.default));
            put(&opt(&c.comment));
        }
        Fingerprint(h.finalize().into())
    }

    /// All 64 hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex()[..12])
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

/// Where a version's structure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionOrigin {
    /// A schema-change topic value (`tableChanges`): authoritative.
    SchemaChange,
    /// The inline Connect schema of a data-change event.
    InlineSchema,
}

/// One version of a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableVersion {
    /// The table as of this version (column ids assigned by the history).
    pub table: SourceTable,
    /// Where it was observed.
    pub position: SourcePosition,
    /// Fingerprint of `table`.
    pub fingerprint: Fingerprint,
    /// The statement that produced it, when known.
    pub ddl: Option<String>,
    /// What the reader of this version should know (unparsed ddl, possible renames).
    pub warnings: Vec<String>,
    /// Schema-change topic or inline schema.
    pub origin: VersionOrigin,
}

/// The versions of one table, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableHistory {
    /// Versions, oldest first.
    pub versions: Vec<TableVersion>,
    /// True once the table was dropped (and not re-created).
    pub dropped: bool,
    /// Names the table had before renames, oldest first.
    pub former_ids: Vec<TableId>,
    #[serde(skip)]
    next_column_id: u32,
}

impl TableHistory {
    fn new() -> Self {
        Self {
            versions: Vec::new(),
            dropped: false,
            former_ids: Vec::new(),
            next_column_id: 1,
        }
    }

    /// The latest version.
    pub fn latest(&self) -> Option<&TableVersion> {
        self.versions.last()
    }
}

/// The histories of all tables seen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Histories {
    tables: BTreeMap<TableId, TableHistory>,
    /// Histories of tables dropped and later re-created under the same name.
    replaced: Vec<(TableId, TableHistory)>,
    events: Vec<TableEvent>,
}

impl Histories {
    /// No tables yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The histories of `keep` only (live, dropped or replaced), with every
    /// table event: what planning a few tables needs.
    pub fn subset(&self, keep: &std::collections::BTreeSet<TableId>) -> Histories {
        Histories {
            tables: self
                .tables
                .iter()
                .filter(|(id, _)| keep.contains(*id))
                .map(|(id, h)| (id.clone(), h.clone()))
                .collect(),
            replaced: self
                .replaced
                .iter()
                .filter(|(id, _)| keep.contains(id))
                .cloned()
                .collect(),
            events: self.events.clone(),
        }
    }

    /// Folds one event in and says what happened.
    pub fn apply(&mut self, event: &Located<Event>) -> Vec<HistoryNote> {
        match &event.value {
            Event::SchemaChange(sc) => self.apply_schema_change(sc, &event.position),
            Event::DataChange(dc) => self.apply_data_change(dc, &event.position),
        }
    }

    /// Folds events in order; returns all notes.
    pub fn apply_all<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a Located<Event>>,
    ) -> Vec<HistoryNote> {
        events.into_iter().flat_map(|e| self.apply(e)).collect()
    }

    /// Live (not dropped) tables, sorted by id.
    pub fn tables(&self) -> impl Iterator<Item = (&TableId, &TableHistory)> {
        self.tables.iter().filter(|(_, h)| !h.dropped)
    }

    /// Dropped tables (not re-created), sorted by id.
    pub fn dropped(&self) -> impl Iterator<Item = (&TableId, &TableHistory)> {
        self.tables.iter().filter(|(_, h)| h.dropped)
    }

    /// The history of `id` (live or dropped).
    pub fn get(&self, id: &TableId) -> Option<&TableHistory> {
        self.tables.get(id)
    }

    /// Created / renamed / dropped / truncated events, in stream order.
    pub fn table_events(&self) -> &[TableEvent] {
        &self.events
    }

    fn live(&self, id: &TableId) -> bool {
        self.tables.get(id).is_some_and(|h| !h.dropped)
    }

    fn apply_schema_change(
        &mut self,
        sc: &SchemaChangeEvent,
        pos: &SourcePosition,
    ) -> Vec<HistoryNote> {
        let mut notes = Vec::new();
        let ddl_text = sc.ddl.as_deref().filter(|d| !d.trim().is_empty());
        let analysis = ddl_text.map(ddl::analyze).unwrap_or_default();
        let mut warnings = Vec::new();
        if let (Some(d), Some(err)) = (ddl_text, &analysis.error) {
            notes.push(HistoryNote::DdlNotParsed {
                ddl: d.to_string(),
                error: err.clone(),
            });
            warnings.push(format!("ddl not parsed by sqlparser: {err}"));
            if analysis.from_fallback {
                warnings.push("renames read by the fallback reader".to_string());
            }
        }
        let default_db = sc.database.clone().unwrap_or_default();
        if sc.table_changes.is_empty() {
            notes.extend(self.statement_only(&analysis, &default_db, ddl_text, pos));
            return notes;
        }
        for change in &sc.table_changes {
            notes.extend(self.apply_change(
                change,
                &analysis,
                &default_db,
                ddl_text,
                &warnings,
                pos,
            ));
        }
        notes
    }

    /// A schema-change value without table changes: only TRUNCATE matters.
    fn statement_only(
        &mut self,
        analysis: &DdlAnalysis,
        default_db: &str,
        ddl_text: Option<&str>,
        pos: &SourcePosition,
    ) -> Vec<HistoryNote> {
        let mut notes = Vec::new();
        for st in analysis
            .statements
            .iter()
            .filter(|s| s.kind == StatementKind::Truncate)
        {
            for t in &st.tables {
                let id = t.to_table_id(default_db);
                if self.live(&id) {
                    notes.push(self.truncated(&id, pos));
                }
            }
        }
        if notes.is_empty() {
            notes.push(HistoryNote::Skipped {
                reason: format!("no table change in `{}`", ddl_text.unwrap_or("")),
            });
        }
        notes
    }

    fn truncated(&mut self, id: &TableId, pos: &SourcePosition) -> HistoryNote {
        self.events.push(TableEvent::Truncated {
            id: id.clone(),
            position: pos.clone(),
        });
        HistoryNote::Truncated { table: id.clone() }
    }

    fn apply_change(
        &mut self,
        change: &TableChange,
        analysis: &DdlAnalysis,
        default_db: &str,
        ddl_text: Option<&str>,
        warnings: &[String],
        pos: &SourcePosition,
    ) -> Vec<HistoryNote> {
        let mut notes = Vec::new();
        let (id, previous) = self.resolve_ids(change, analysis, default_db);
        match change.kind {
            TableChangeKind::Drop => {
                match self.tables.get_mut(&id).filter(|h| !h.dropped) {
                    Some(h) => {
                        h.dropped = true;
                        self.events.push(TableEvent::Dropped {
                            id: id.clone(),
                            position: pos.clone(),
                        });
                        notes.push(HistoryNote::Dropped { table: id });
                    }
                    None => notes.push(HistoryNote::Skipped {
                        reason: format!("drop of unknown table {id}"),
                    }),
                }
                return notes;
            }
            TableChangeKind::Truncate => {
                notes.push(self.truncated(&id, pos));
                return notes;
            }
            TableChangeKind::Create | TableChangeKind::Alter => {}
        }
        let Some(table) = &change.table else {
            return notes;
        };
        if let Some(old) = previous.filter(|old| *old != id && self.live(old) && !self.live(&id)) {
            if let Some(mut h) = self.tables.remove(&old) {
                h.former_ids.push(old.clone());
                self.tables.insert(id.clone(), h);
            }
            self.events.push(TableEvent::Renamed {
                from: old.clone(),
                to: id.clone(),
                position: pos.clone(),
            });
            notes.push(HistoryNote::TableRenamed {
                from: old,
                to: id.clone(),
            });
        }
        let renames: Vec<(String, String)> = analysis
            .column_renames
            .iter()
            .filter(|r| {
                r.table.matches(&id, default_db)
                    || self.get(&id).is_some_and(|h| {
                        h.former_ids.iter().any(|f| r.table.matches(f, default_db))
                    })
            })
            .map(|r| (r.from.clone(), r.to.clone()))
            .collect();
        let mut table = table.clone();
        table.id = id.clone();
        notes.extend(self.add_version(
            table,
            &renames,
            pos,
            ddl_text,
            warnings.to_vec(),
            VersionOrigin::SchemaChange,
        ));
        notes
    }

    /// The table's name after the change and, for a rename, before it.
    fn resolve_ids(
        &self,
        change: &TableChange,
        analysis: &DdlAnalysis,
        default_db: &str,
    ) -> (TableId, Option<TableId>) {
        match (&change.previous_id, change.id_order) {
            (Some(prev), IdOrder::Ambiguous) => {
                // Documented order is old,new; settle it with what exists.
                if self.live(&change.id) && !self.live(prev) {
                    (prev.clone(), Some(change.id.clone()))
                } else {
                    (change.id.clone(), Some(prev.clone()))
                }
            }
            (Some(prev), _) => (change.id.clone(), Some(prev.clone())),
            (None, _) => {
                // Follow the ddl's table renames (in order) back to the original name.
                let mut previous = None;
                for r in analysis.table_renames.iter().rev() {
                    let target = previous.clone().unwrap_or_else(|| change.id.clone());
                    if r.to.matches(&target, default_db) {
                        previous = Some(r.from.to_table_id(default_db));
                    }
                }
                let previous = previous.map(|p| {
                    // Use the existing history's spelling of the name.
                    self.tables
                        .keys()
                        .find(|k| crate::source::schema_change::same_table(k, &p))
                        .cloned()
                        .unwrap_or(p)
                });
                (change.id.clone(), previous)
            }
        }
    }

    fn add_version(
        &mut self,
        mut table: SourceTable,
        renames: &[(String, String)],
        pos: &SourcePosition,
        ddl_text: Option<&str>,
        mut warnings: Vec<String>,
        origin: VersionOrigin,
    ) -> Vec<HistoryNote> {
        let id = table.id.clone();
        let mut notes = Vec::new();
        if self.tables.get(&id).is_some_and(|h| h.dropped) {
            if let Some(old) = self.tables.remove(&id) {
                self.replaced.push((id.clone(), old));
            }
        }
        let is_new = !self.tables.contains_key(&id);
        let history = self
            .tables
            .entry(id.clone())
            .or_insert_with(TableHistory::new);
        if is_new {
            self.events.push(TableEvent::Created {
                id: id.clone(),
                position: pos.clone(),
            });
        }
        let prev = history.latest().map(|v| &v.table);
        let fingerprint = Fingerprint::of(&table);
        if let Some(prev_version) = history.latest() {
            if prev_version.fingerprint == fingerprint && prev_version.table.id == id {
                notes.push(HistoryNote::Unchanged { table: id });
                return notes;
            }
        }
        let mut next_id = history.next_column_id;
        let matched = identity::assign_ids(&mut table, prev, renames, &mut next_id);
        history.next_column_id = next_id;
        for (from, to) in matched.renamed {
            notes.push(HistoryNote::ColumnRenamed {
                table: id.clone(),
                from,
                to,
            });
        }
        for (from, to) in matched.possible {
            warnings.push(format!(
                "possible rename {from} -> {to}: dropped and added at the same position with the same type, no ddl evidence; treated as drop + add"
            ));
            notes.push(HistoryNote::PossibleRename {
                table: id.clone(),
                from,
                to,
            });
        }
        history.versions.push(TableVersion {
            table,
            position: pos.clone(),
            fingerprint,
            ddl: ddl_text.map(str::to_string),
            warnings,
            origin,
        });
        notes.push(HistoryNote::NewVersion {
            table: id,
            version: history.versions.len() - 1,
            fingerprint,
        });
        notes
    }

    fn apply_data_change(
        &mut self,
        dc: &DataChangeEvent,
        pos: &SourcePosition,
    ) -> Vec<HistoryNote> {
        let mut notes = Vec::new();
        if dc.op == Op::Truncate {
            notes.push(self.truncated(&dc.table, pos));
        }
        // A truncate carries no row (and no key): its schema says nothing new.
        let schema = dc.schema.as_ref().filter(|_| dc.op != Op::Truncate);
        let Some(schema) = schema else {
            if !self.live(&dc.table) && notes.is_empty() {
                notes.push(HistoryNote::Skipped {
                    reason: format!("data event for {} without inline schema", dc.table),
                });
            }
            return notes;
        };
        // Inline schemas never resurrect a dropped table or a renamed-away name
        // (files concatenated per topic put old data events after the DDL).
        let renamed_to = self
            .tables
            .iter()
            .find(|(_, h)| !h.dropped && h.former_ids.contains(&dc.table))
            .map(|(id, _)| id.clone());
        let dropped = self.tables.get(&dc.table).is_some_and(|h| h.dropped);
        if !self.live(&dc.table) && (dropped || renamed_to.is_some()) {
            let why = match renamed_to {
                Some(to) => format!("renamed to {to}"),
                None => "dropped".to_string(),
            };
            notes.push(HistoryNote::Skipped {
                reason: format!("inline schema of {} ignored: the table was {why}", dc.table),
            });
            return notes;
        }
        let latest = self
            .tables
            .get(&dc.table)
            .filter(|h| !h.dropped)
            .and_then(|h| h.latest());
        match latest {
            Some(v) if v.origin == VersionOrigin::SchemaChange => {
                let names = |t: &SourceTable| -> Vec<String> {
                    t.columns
                        .iter()
                        .map(|c| c.name.to_ascii_lowercase())
                        .collect()
                };
                if names(&v.table) == names(schema) {
                    notes.push(HistoryNote::Unchanged {
                        table: dc.table.clone(),
                    });
                } else {
                    notes.push(HistoryNote::Skipped {
                        reason: format!(
                            "inline schema of {} has columns [{}] but the schema-change topic says [{}]; the schema-change topic is authoritative",
                            dc.table,
                            names(schema).join(", "),
                            names(&v.table).join(", ")
                        ),
                    });
                }
            }
            latest => {
                let mut schema = schema.clone();
                // Without a record key the key columns are unknown, not absent.
                if dc.key.is_none() && schema.primary_key.is_empty() {
                    if let Some(v) = latest {
                        schema.primary_key = v.table.primary_key.clone();
                    }
                }
                notes.extend(self.add_version(
                    schema,
                    &[],
                    pos,
                    None,
                    Vec::new(),
                    VersionOrigin::InlineSchema,
                ))
            }
        }
        notes
    }
}

#[cfg(test)]
mod tests;
