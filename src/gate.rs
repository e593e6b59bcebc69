//! The per-table gate where the agent and the loader meet.
//!
//! The agent (or, under `--loader-only`, a refresher reading StarRocks) tells
//! the gates what each target table has (its columns), whether a change for it
//! is waiting (held: pending, approved, applying or stale plan, or `halt`) and
//! whether the target will not follow some source columns (ignored or rejected
//! changes: rows are projected to the target's columns). The loader asks
//! [`Gates::admit`] for every new row shape of a table and flushes, holds or
//! projects accordingly. [`admit`] is the pure decision; [`Gates`] is the
//! shared, thread-safe map with a change counter the loader waits on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use tokio::sync::watch;

use crate::model::TableId;

/// What the agent says of one target table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableGate {
    /// The target's columns as last read or applied (`None`: the table does not exist).
    pub columns: Option<BTreeSet<String>>,
    /// Why the table is held (`None`: open).
    pub held: Option<String>,
    /// The target keeps fewer columns than the source on purpose (ignored or
    /// rejected change): rows are projected to `columns`.
    pub project: bool,
    /// Columns the source had in an earlier version and has no more: a row
    /// written before such a drop still carries the column, which is projected
    /// away rather than waited for (the target will never get it).
    pub dropped_upstream: BTreeSet<String>,
    /// Columns the source renamed: former name → current name. A row written
    /// before the rename carries the former name; once the target has the
    /// current one, the value is loaded into it (not dropped).
    pub renamed_upstream: BTreeMap<String, String>,
}

/// What the loader does with rows of a given shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Load the rows as they are.
    Load,
    /// Load only these columns, renamed ones under their current name; the
    /// others are dropped (and counted).
    Project {
        /// Columns the target has.
        keep: BTreeSet<String>,
        /// Columns of the rows the target does not have.
        dropped: Vec<String>,
        /// Columns of the rows the source has renamed since: (row's name, target's name).
        renamed: Vec<(String, String)>,
    },
    /// Do not load: flush what is batched, pause the table, retry on the next gate change.
    Hold {
        /// Why, for logs and metrics.
        reason: String,
    },
}

/// The decision for rows with `columns` (names, `__op` excluded) of a table
/// whose gate is `gate` (`None`: the agent has not reported the table yet).
pub fn admit(gate: Option<&TableGate>, columns: &[&str]) -> Admission {
    let Some(gate) = gate else {
        return Admission::Hold {
            reason: "the target table has not been read yet".into(),
        };
    };
    if let Some(reason) = &gate.held {
        return Admission::Hold {
            reason: reason.clone(),
        };
    }
    let Some(target) = &gate.columns else {
        return Admission::Hold {
            reason: "the target table does not exist yet".into(),
        };
    };
    // A former name whose current name the target has (and the row lacks) is a rename.
    let mut renamed = Vec::new();
    let mut missing = Vec::new();
    for c in columns.iter().filter(|c| !target.contains(**c)) {
        match gate.renamed_upstream.get(*c) {
            Some(now) if target.contains(now) && !columns.contains(&now.as_str()) => {
                renamed.push(((*c).to_owned(), now.clone()));
            }
            _ => missing.push((*c).to_owned()),
        }
    }
    let waited_for = missing.iter().any(|c| !gate.dropped_upstream.contains(c));
    if missing.is_empty() && renamed.is_empty() {
        Admission::Load
    } else if gate.project || !waited_for {
        Admission::Project {
            keep: target.clone(),
            dropped: missing,
            renamed,
        }
    } else {
        Admission::Hold {
            reason: format!(
                "the target has no column {} yet: waiting for the agent",
                missing.join(", ")
            ),
        }
    }
}

/// The gates of every target table, shared by the agent and the loader.
#[derive(Debug)]
pub struct Gates {
    state: Mutex<BTreeMap<TableId, TableGate>>,
    version: watch::Sender<u64>,
}

impl Default for Gates {
    fn default() -> Self {
        Gates::new()
    }
}

impl Gates {
    /// No table known: every table is held until reported.
    pub fn new() -> Gates {
        Gates {
            state: Mutex::new(BTreeMap::new()),
            version: watch::channel(0).0,
        }
    }

    fn update(&self, table: &TableId, f: impl FnOnce(&mut TableGate)) {
        let changed = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let gate = state.entry(table.clone()).or_default();
            let before = gate.clone();
            f(gate);
            *gate != before
        };
        if changed {
            self.version.send_modify(|v| *v += 1);
        }
    }

    /// The target's columns (`None`: the table does not exist).
    pub fn set_columns(&self, table: &TableId, columns: Option<BTreeSet<String>>) {
        self.update(table, |g| g.columns = columns);
    }

    /// Holds the table.
    pub fn hold(&self, table: &TableId, reason: impl Into<String>) {
        let reason = reason.into();
        self.update(table, |g| g.held = Some(reason));
    }

    /// Opens the table.
    pub fn release(&self, table: &TableId) {
        self.update(table, |g| g.held = None);
    }

    /// Columns dropped at the source (see [`TableGate::dropped_upstream`]).
    pub fn set_dropped_upstream(&self, table: &TableId, columns: BTreeSet<String>) {
        self.update(table, |g| g.dropped_upstream = columns);
    }

    /// Columns renamed at the source (see [`TableGate::renamed_upstream`]).
    pub fn set_renamed_upstream(&self, table: &TableId, renamed: BTreeMap<String, String>) {
        self.update(table, |g| g.renamed_upstream = renamed);
    }

    /// Whether rows are projected to the target's columns.
    pub fn set_project(&self, table: &TableId, project: bool) {
        self.update(table, |g| g.project = project);
    }

    /// The decision for rows of `table` with `columns` (see [`admit`]).
    pub fn admit(&self, table: &TableId, columns: &[&str]) -> Admission {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        admit(state.get(table), columns)
    }

    /// One table's gate.
    pub fn get(&self, table: &TableId) -> Option<TableGate> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.get(table).cloned()
    }

    /// Held tables with their reasons.
    pub fn held(&self) -> Vec<(TableId, String)> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .iter()
            .filter_map(|(t, g)| g.held.clone().map(|r| (t.clone(), r)))
            .collect()
    }

    /// A receiver that sees a new value after every change of any gate.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(c: &[&str]) -> Option<BTreeSet<String>> {
        Some(c.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn unknown_missing_and_held_tables_hold() {
        assert!(matches!(admit(None, &["id"]), Admission::Hold { .. }));
        let missing = TableGate::default();
        assert!(matches!(
            admit(Some(&missing), &["id"]),
            Admission::Hold { .. }
        ));
        let held = TableGate {
            columns: cols(&["id"]),
            held: Some("plan 3 pending".into()),
            ..TableGate::default()
        };
        assert_eq!(
            admit(Some(&held), &["id"]),
            Admission::Hold {
                reason: "plan 3 pending".into()
            }
        );
    }

    #[test]
    fn new_columns_hold_unless_projected() {
        let mut g = TableGate {
            columns: cols(&["id", "name"]),
            ..TableGate::default()
        };
        assert_eq!(admit(Some(&g), &["id"]), Admission::Load);
        assert_eq!(admit(Some(&g), &["id", "name"]), Admission::Load);
        let Admission::Hold { reason } = admit(Some(&g), &["id", "name", "email"]) else {
            panic!("a new column must hold");
        };
        assert!(reason.contains("email"), "{reason}");
        g.project = true;
        assert_eq!(
            admit(Some(&g), &["id", "name", "email"]),
            Admission::Project {
                keep: cols(&["id", "name"]).unwrap(),
                dropped: vec!["email".into()],
                renamed: Vec::new(),
            }
        );
    }

    #[test]
    fn columns_dropped_upstream_are_projected_and_new_ones_wait() {
        let g = TableGate {
            columns: cols(&["id", "name"]),
            dropped_upstream: cols(&["note"]).unwrap(),
            ..TableGate::default()
        };
        // A row written before `note` was dropped at the source: nothing to wait for.
        assert_eq!(
            admit(Some(&g), &["id", "name", "note"]),
            Admission::Project {
                keep: cols(&["id", "name"]).unwrap(),
                dropped: vec!["note".into()],
                renamed: Vec::new(),
            }
        );
        // `email` is new (not known to have been dropped): the agent is adding it.
        assert!(matches!(
            admit(Some(&g), &["id", "name", "email", "note"]),
            Admission::Hold { .. }
        ));
    }

    #[test]
    fn a_renamed_column_loads_under_its_new_name_once_the_target_has_it() {
        let mut g = TableGate {
            columns: cols(&["id", "name", "remark"]),
            // `note` was renamed to `remark`; it is also gone from the latest version.
            dropped_upstream: cols(&["note"]).unwrap(),
            renamed_upstream: [("note".to_owned(), "remark".to_owned())].into(),
            ..TableGate::default()
        };
        // A row written before the rename: its `note` value goes into `remark`.
        assert_eq!(
            admit(Some(&g), &["id", "name", "note"]),
            Admission::Project {
                keep: cols(&["id", "name", "remark"]).unwrap(),
                dropped: Vec::new(),
                renamed: vec![("note".into(), "remark".into())],
            }
        );
        // Rows written after it load as they are.
        assert_eq!(admit(Some(&g), &["id", "name", "remark"]), Admission::Load);
        // The target not renamed yet: the former name is still a target column.
        g.columns = cols(&["id", "name", "note"]);
        assert_eq!(admit(Some(&g), &["id", "name", "note"]), Admission::Load);
        // Neither name on the target: the agent has not added it; wait.
        g.columns = cols(&["id", "name"]);
        g.dropped_upstream.clear();
        assert!(matches!(
            admit(Some(&g), &["id", "name", "note"]),
            Admission::Hold { .. }
        ));
    }

    #[tokio::test]
    async fn changes_bump_the_version_and_no_ops_do_not() {
        let gates = Gates::new();
        let mut rx = gates.subscribe();
        let t = TableId::new("db", "t");
        gates.set_columns(&t, cols(&["id"]));
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        gates.set_columns(&t, cols(&["id"]));
        assert!(!rx.has_changed().unwrap());
        gates.hold(&t, "x");
        assert!(rx.has_changed().unwrap());
        assert_eq!(gates.held(), vec![(t.clone(), "x".to_owned())]);
        gates.release(&t);
        assert_eq!(gates.admit(&t, &["id"]), Admission::Load);
    }
}
