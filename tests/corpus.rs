//! The DDL corpus run: every statement of the MySQL-family DDL corpus copied
//! from Debezium (`fixtures/debezium/ddl/`, see its SOURCES.md) goes through
//! `source::ddl::analyze`. Nothing may panic; the parse rate is printed per
//! file and must not fall below the measured floor.

use std::path::{Path, PathBuf};

use ddlsync::source::ddl::{analyze, split_statements, StatementKind};

/// Statements parsed by sqlparser 0.64 when this floor was set, minus a margin.
const MIN_PARSED: usize = 3_800;
/// Statements in the corpus (split on `;` outside quotes and comments).
const MIN_STATEMENTS: usize = 4_900;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "sql" || e == "ddl") {
            out.push(p);
        }
    }
}

#[test]
fn mysql_ddl_corpus_parses_without_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/debezium/ddl");
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(all.len() > 100, "corpus missing: {} files", all.len());
    let (mut total, mut parsed, mut panics) = (0usize, 0usize, 0usize);
    let (mut renames_col, mut renames_tab) = (0usize, 0usize);
    let mut ddl_total = 0usize;
    let mut ddl_parsed = 0usize;
    for path in &all {
        let bytes = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let stmts = split_statements(&text);
        let mut ok = 0;
        for s in &stmts {
            match std::panic::catch_unwind(|| analyze(s)) {
                Ok(a) => {
                    if a.parsed() {
                        ok += 1;
                        if a.statements
                            .iter()
                            .any(|st| st.kind != StatementKind::Other)
                        {
                            ddl_parsed += 1;
                        }
                    }
                    let is_ddl = a
                        .statements
                        .iter()
                        .any(|st| st.kind != StatementKind::Other)
                        || starts_table_ddl(s);
                    ddl_total += usize::from(is_ddl);
                    renames_col += a.column_renames.len();
                    renames_tab += a.table_renames.len();
                }
                Err(_) => {
                    panics += 1;
                    eprintln!("PANIC in {}: {s}", path.display());
                }
            }
        }
        total += stmts.len();
        parsed += ok;
        let rel = path.strip_prefix(&root).unwrap().display();
        println!(
            "{rel}: parsed {ok} of {} statements ({:.1}%)",
            stmts.len(),
            pct(ok, stmts.len())
        );
    }
    println!(
        "corpus: {} files, parsed {parsed} of {total} statements ({:.1}%); table DDL parsed {ddl_parsed} of {ddl_total} ({:.1}%); renames found: {renames_col} column, {renames_tab} table; panics: {panics}",
        all.len(),
        pct(parsed, total),
        pct(ddl_parsed, ddl_total),
    );
    assert_eq!(panics, 0);
    assert!(total >= MIN_STATEMENTS, "only {total} statements found");
    assert!(
        parsed >= MIN_PARSED,
        "parsed {parsed} of {total}, below the floor {MIN_PARSED}"
    );
}

fn starts_table_ddl(s: &str) -> bool {
    let words: Vec<String> = s
        .split_whitespace()
        .take(4)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    matches!(
        (w(0), w(1)),
        ("CREATE" | "ALTER" | "DROP" | "RENAME" | "TRUNCATE", "TABLE")
    ) || (w(0) == "CREATE" && w(2) == "TABLE")
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        100.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}
