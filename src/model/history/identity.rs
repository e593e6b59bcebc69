//! Column identity between two versions of a table: the same name keeps the
//! [`ColumnId`]; a rename read from the ddl keeps it too and records the old
//! name in `former_names`; a drop + add with no ddl evidence gets a new id and
//! is only reported as a *possible* rename.

use crate::model::{ColumnId, SourceColumn, SourceTable};

/// What matching a new version against the previous one found.
#[derive(Debug, Default)]
pub(super) struct Matched {
    /// Columns renamed by ddl evidence: (old name, new name).
    pub(super) renamed: Vec<(String, String)>,
    /// Drop + add pairs that look like a rename: (dropped, added).
    pub(super) possible: Vec<(String, String)>,
}

/// Assigns ids to `new`'s columns. `prev` is the previous version (None for the
/// first), `renames` the column renames of the ddl for this table, in order.
/// `next_id` is the history's id counter.
pub(super) fn assign_ids(
    new: &mut SourceTable,
    prev: Option<&SourceTable>,
    renames: &[(String, String)],
    next_id: &mut u32,
) -> Matched {
    let mut out = Matched::default();
    let Some(prev) = prev else {
        for c in &mut new.columns {
            c.id = fresh(next_id);
            c.former_names.clear();
        }
        return out;
    };
    // The name each previous column has after the ddl's renames.
    let current: Vec<(String, bool)> = prev
        .columns
        .iter()
        .map(|c| {
            let mut name = c.name.clone();
            let mut renamed = false;
            for (from, to) in renames {
                if name.eq_ignore_ascii_case(from) {
                    name = to.clone();
                    renamed = true;
                }
            }
            (name, renamed)
        })
        .collect();
    let mut used = vec![false; prev.columns.len()];
    let mut matched_new = vec![false; new.columns.len()];
    // Two passes: exact names first, then ASCII case-insensitive.
    for exact in [true, false] {
        for (ni, col) in new.columns.iter_mut().enumerate() {
            if matched_new[ni] {
                continue;
            }
            let hit = current.iter().enumerate().find(|(pi, (name, _))| {
                !used[*pi]
                    && if exact {
                        *name == col.name
                    } else {
                        name.eq_ignore_ascii_case(&col.name)
                    }
            });
            let Some((pi, (_, renamed))) = hit else {
                continue;
            };
            used[pi] = true;
            matched_new[ni] = true;
            let old = &prev.columns[pi];
            col.id = old.id;
            col.former_names = old.former_names.clone();
            if old.name != col.name {
                col.former_names.push(old.name.clone());
                if *renamed {
                    out.renamed.push((old.name.clone(), col.name.clone()));
                }
            }
        }
    }
    for (ni, col) in new.columns.iter_mut().enumerate() {
        if !matched_new[ni] {
            col.id = fresh(next_id);
            col.former_names.clear();
        }
    }
    // Possible renames: a dropped and an added column at the same position with the same type.
    let dropped: Vec<&SourceColumn> = prev
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| !used[*i])
        .map(|(_, c)| c)
        .collect();
    for (ni, added) in new.columns.iter().enumerate() {
        if matched_new[ni] {
            continue;
        }
        if let Some(d) = dropped
            .iter()
            .find(|d| d.position == added.position && d.ty == added.ty)
        {
            out.possible.push((d.name.clone(), added.name.clone()));
        }
    }
    out
}

fn fresh(next_id: &mut u32) -> ColumnId {
    let id = ColumnId(*next_id);
    *next_id = next_id.saturating_add(1);
    id
}
