//! ALTER TABLE planning: StarRocks' rules and error texts for column changes, and the split
//! between synchronous (metadata-only) changes and asynchronous schema-change jobs.

use super::catalog::{Column, KeysType, Table};
use super::error::{Result, SrError, ER_DUP_FIELDNAME};
use super::parser::{AlterClause, ColDef, Position};
use super::types::SrType;

/// What an ALTER TABLE does once validated.
#[derive(Debug, Clone, PartialEq)]
pub struct AlterPlan {
    /// The table after all clauses.
    pub target: Table,
    /// Whether a schema-change job is needed (otherwise `target` applies at once).
    pub needs_job: bool,
    /// Whether the job is a light (fast schema evolution) add/drop.
    pub light: bool,
    /// Columns dropped or modified.
    pub changed: Vec<String>,
    /// Columns dropped.
    pub dropped: Vec<String>,
    /// Column renames `(old, new)`.
    pub renamed_cols: Vec<(String, String)>,
    /// RENAME new table name.
    pub rename_to: Option<String>,
    /// SWAP WITH other table.
    pub swap_with: Option<String>,
}

/// `A schema change operation is in progress on the table "<t>"...` (errno 1064).
pub fn busy_error(table: &str) -> SrError {
    SrError::new(format!(
        "A schema change operation is in progress on the table \"{table}\". Please wait until the current operation completes.\nTo check the status of the operation, see https://docs.starrocks.io/docs/sql-reference/sql-statements/table_bucket_part_index/SHOW_ALTER/"
    ))
}

fn no_column(c: &str) -> SrError {
    SrError::new(format!("Column[{c}] does not exists"))
}

/// Parses `x.y.z` version text into a comparable tuple.
pub fn version_tuple(v: &str) -> (u32, u32, u32) {
    let mut it = v.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

fn place(
    cols: &mut Vec<Column>,
    col: Column,
    pos: Option<&Position>,
    default_idx: usize,
) -> Result<()> {
    let idx = match pos {
        Some(Position::First) => 0,
        Some(Position::After(a)) => {
            cols.iter()
                .position(|c| c.name.eq_ignore_ascii_case(a))
                .ok_or_else(|| no_column(a))?
                + 1
        }
        None => default_idx,
    };
    cols.insert(idx.min(cols.len()), col);
    Ok(())
}

fn add_column(t: &mut Table, d: &ColDef) -> Result<()> {
    if let Some(existing) = t.col(&d.col.name) {
        return Err(SrError::new(format!(
            "Can not add column which already exists in column id: {}, you can remove {} and try again.",
            existing.name,
            existing.show()
        )));
    }
    if t.renamed_away
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&d.col.name))
    {
        return Err(SrError::new(format!(
            "Can not add column `{}`: a column was renamed from this name; adding a new column with the old name of a renamed column is not supported",
            d.col.name
        )));
    }
    let mut col = d.col.clone();
    if t.keys == KeysType::Aggregate && !d.key_given && col.agg.is_none() {
        return Err(SrError::new(format!(
            "Invalid column definition: column `{}` of an AGGREGATE KEY table needs KEY or an aggregate type",
            col.name
        )));
    }
    if col.is_key && t.keys == KeysType::Primary {
        return Err(SrError::new(
            "Can not add key column to a primary key table",
        ));
    }
    if col.is_key && !col.ty.can_be_key() {
        return Err(SrError::new(format!(
            "Invalid key column type: {}",
            col.ty.upper()
        )));
    }
    if !d.null_given {
        col.nullable = !col.is_key || t.keys == KeysType::Duplicate;
    }
    let last_key = t
        .columns
        .iter()
        .rposition(|c| c.is_key)
        .map_or(0, |i| i + 1);
    let default_idx = if col.is_key {
        last_key
    } else {
        t.columns.len()
    };
    if col.is_key {
        t.key_cols.push(col.name.clone());
    }
    place(&mut t.columns, col, d.pos.as_ref(), default_idx)
}

fn drop_column(t: &mut Table, name: &str) -> Result<String> {
    let idx = t.col_idx(name).ok_or_else(|| no_column(name))?;
    let col = t.columns[idx].clone();
    if t.is_part_col(name) {
        return Err(SrError::new(format!(
            "Partition column[{}] cannot be dropped. index[{}]",
            col.name, t.name
        )));
    }
    if t.is_dist_col(name) {
        return Err(SrError::new(format!(
            "Distribution column[{}] cannot be dropped. index[{}]",
            col.name, t.name
        )));
    }
    if col.is_key && t.keys != KeysType::Duplicate {
        return Err(SrError::new(format!(
            "Can not drop key column `{}` in {} table",
            col.name,
            t.keys.sql().to_ascii_lowercase()
        )));
    }
    if col.is_key && t.columns.iter().filter(|c| c.is_key).count() == 1 {
        return Err(SrError::new(format!(
            "No key column left. index[{}]",
            t.name
        )));
    }
    if t.is_sort_col(name) && t.keys == KeysType::Primary {
        return Err(SrError::new(format!(
            "Can not drop sort column `{}` of a primary key table",
            col.name
        )));
    }
    t.columns.remove(idx);
    t.key_cols.retain(|k| !k.eq_ignore_ascii_case(name));
    t.order_by.retain(|k| !k.eq_ignore_ascii_case(name));
    Ok(col.name)
}

/// Validates a full MODIFY COLUMN definition; returns whether it is a pure VARCHAR widening.
fn modify_column(t: &mut Table, d: &ColDef) -> Result<bool> {
    let idx = t
        .col_idx(&d.col.name)
        .ok_or_else(|| no_column(&d.col.name))?;
    let old = t.columns[idx].clone();
    let pk_key = t.keys == KeysType::Primary && old.is_key;
    let mut new = d.col.clone();
    new.name = old.name.clone();
    new.is_key = old.is_key || d.key_given;
    if !d.null_given {
        new.nullable = if pk_key { old.nullable } else { true };
    }
    let widening = matches!((&old.ty, &new.ty), (SrType::Varchar(a), SrType::Varchar(b)) if b > a)
        && old.nullable == new.nullable
        && old.default == new.default
        && d.pos.is_none();
    if pk_key && !widening && new.ty != old.ty {
        return Err(SrError::new(format!(
            "Can not modify key column: {} for primary key table except for increasing varchar length",
            old.name
        )));
    }
    if t.keys == KeysType::Primary && t.is_sort_col(&old.name) && !widening && new.ty != old.ty {
        return Err(SrError::new(
            "Can not modify sort column in primary data model table except for increasing varchar length",
        ));
    }
    if pk_key && d.pos.is_some() {
        return Err(SrError::new("Can not reorder pk keys by modify column"));
    }
    let same_shape = new.ty == old.ty && new.nullable == old.nullable;
    if t.is_part_col(&old.name) && !(widening || same_shape) {
        return Err(SrError::new(format!(
            "Can not modify partition column[{}]. index[{}]",
            old.name, t.name
        )));
    }
    if t.is_dist_col(&old.name) && !(widening || same_shape) {
        return Err(SrError::new(format!(
            "Can not modify distribution column[{}]. index[{}]",
            old.name, t.name
        )));
    }
    let type_check = old.ty.check_change(&new.ty);
    let shorten = matches!(&type_check, Err(e) if e.message == "Cannot shorten string length");
    if !shorten {
        type_check?;
    }
    if old.agg != new.agg && t.keys == KeysType::Aggregate {
        return Err(SrError::new("Can not change aggregation type"));
    }
    if old.nullable && !new.nullable {
        return Err(SrError::new("Can not change from nullable to non-nullable"));
    }
    if old.default != new.default {
        return Err(SrError::new("Can not change default value"));
    }
    if shorten {
        return Err(SrError::new("Cannot shorten string length"));
    }
    t.columns.remove(idx);
    let default_idx = idx;
    place(&mut t.columns, new, d.pos.as_ref(), default_idx)?;
    Ok(widening)
}

fn rename_in(list: &mut [String], from: &str, to: &str) {
    for x in list.iter_mut() {
        if x.eq_ignore_ascii_case(from) {
            *x = to.to_string();
        }
    }
}

/// Validates the clauses of one ALTER TABLE against `table` and plans the change.
pub fn plan(table: &Table, clauses: &[AlterClause], version: &str) -> Result<AlterPlan> {
    let is_column = |c: &AlterClause| {
        matches!(
            c,
            AlterClause::AddColumns(_)
                | AlterClause::DropColumn(_)
                | AlterClause::Modify(_)
                | AlterClause::OrderBy(_)
        )
    };
    let has_partition = clauses
        .iter()
        .any(|c| matches!(c, AlterClause::Partition(_)));
    if has_partition && clauses.iter().any(is_column) {
        return Err(SrError::new(
            "Unsupported operation: partition, column and rollup operations cannot be combined in one ALTER TABLE statement",
        ));
    }
    let mut t = table.clone();
    let mut p = AlterPlan {
        target: table.clone(),
        needs_job: false,
        light: true,
        changed: Vec::new(),
        dropped: Vec::new(),
        renamed_cols: Vec::new(),
        rename_to: None,
        swap_with: None,
    };
    let mut modified: Vec<String> = Vec::new();
    let single = clauses.len() == 1;
    for clause in clauses {
        match clause {
            AlterClause::AddColumns(defs) => {
                for d in defs {
                    add_column(&mut t, d)?;
                    p.light &= !d.col.is_key && d.pos.is_none();
                }
                p.needs_job = true;
            }
            AlterClause::DropColumn(c) => {
                let name = drop_column(&mut t, c)?;
                p.light &= !table.col(c).is_some_and(|x| x.is_key);
                p.changed.push(name.clone());
                p.dropped.push(name);
                p.needs_job = true;
            }
            AlterClause::Modify(d) => {
                if modified.iter().any(|m| m.eq_ignore_ascii_case(&d.col.name)) {
                    return Err(no_column(&d.col.name));
                }
                modified.push(d.col.name.clone());
                let widening = modify_column(&mut t, d)?;
                let name = t
                    .col(&d.col.name)
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                if widening
                    && single
                    && t.fast_schema_evolution()
                    && version_tuple(version) >= (3, 2, 0)
                {
                    continue;
                }
                p.changed.push(name);
                p.light = false;
                p.needs_job = true;
            }
            AlterClause::ModifyComment(c, comment) => {
                let idx = t.col_idx(c).ok_or_else(|| no_column(c))?;
                t.columns[idx].comment = comment.clone();
            }
            AlterClause::RenameColumn(from, to) => {
                if version_tuple(version) < (3, 3, 2) {
                    return Err(SrError::new(format!(
                        "Getting syntax error. Detail message: RENAME COLUMN is not supported by StarRocks {version}; it needs 3.3.2 or later."
                    )));
                }
                let idx = t.col_idx(from).ok_or_else(|| {
                    SrError::analyze(format!("Unknown column '{from}' in '{}'", t.name))
                })?;
                if t.col(to).is_some() {
                    return Err(SrError::with_code(
                        ER_DUP_FIELDNAME,
                        format!("Duplicate column name '{to}'"),
                    ));
                }
                let old = t.columns[idx].name.clone();
                t.columns[idx].name = to.clone();
                rename_in(&mut t.key_cols, &old, to);
                rename_in(&mut t.order_by, &old, to);
                rename_in(&mut t.partition_cols, &old, to);
                if let Some(d) = t.distribution.as_mut() {
                    rename_in(&mut d.cols, &old, to);
                }
                if let Some(toks) = t.partition.as_mut() {
                    for tok in toks.iter_mut() {
                        match tok {
                            super::lexer::Tok::Word(w) | super::lexer::Tok::Quoted(w)
                                if w.eq_ignore_ascii_case(&old) =>
                            {
                                *tok = super::lexer::Tok::Quoted(to.clone());
                            }
                            _ => {}
                        }
                    }
                }
                t.renamed_away.push(old.clone());
                p.renamed_cols.push((old, to.clone()));
            }
            AlterClause::Rename(n) => p.rename_to = Some(n.clone()),
            AlterClause::Comment(c) => t.comment = c.clone(),
            AlterClause::OrderBy(cols) => {
                for c in cols {
                    t.col(c).ok_or_else(|| no_column(c))?;
                }
                t.order_by = cols
                    .iter()
                    .map(|c| t.col(c).map(|x| x.name.clone()).unwrap_or_default())
                    .collect();
                p.light = false;
                p.needs_job = true;
            }
            AlterClause::SwapWith(o) => p.swap_with = Some(o.clone()),
            AlterClause::SetProperties(props) => {
                for (k, v) in props {
                    t.properties.insert(k.clone(), v.clone());
                }
            }
            AlterClause::Partition(_) => {}
            AlterClause::Distribution(text) => {
                return Err(SrError::unsupported(format!(
                    "ALTER TABLE DISTRIBUTED BY {text} (OPTIMIZE jobs)"
                )));
            }
        }
    }
    if p.needs_job {
        t.schema_version += 1;
    }
    p.target = t;
    Ok(p)
}
