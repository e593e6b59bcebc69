//! Reading the files a command is pointed at: the configuration, the rule
//! files (or the defaults built into the binary) and plain input files — each
//! error naming the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ddlsync::config::Config;
use ddlsync::policy::{DEFAULT_RULES, DEFAULT_RULES_FILE};

/// Reads a whole text file.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Reads and validates the configuration file (`${VAR}` from the process environment).
pub(crate) fn read_config(path: &Path) -> Result<Config> {
    let text = read_text(path)?;
    let file = path.display().to_string();
    Ok(Config::parse(&file, &text, &|var| std::env::var(var).ok())?)
}

/// The rule files to use, as `(file name, text)`: `*.toml` in `dir` (sorted by
/// name) when given, otherwise the defaults built into the binary.
pub(crate) fn read_rules(dir: Option<&Path>) -> Result<Vec<(String, String)>> {
    let Some(dir) = dir else {
        return Ok(vec![(
            DEFAULT_RULES_FILE.to_owned(),
            DEFAULT_RULES.to_owned(),
        )]);
    };
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read rules directory", dir.display()))?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("{}: cannot list", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "toml") {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        anyhow::bail!("{}: no *.toml rule files", dir.display());
    }
    paths
        .into_iter()
        .map(|p| Ok((p.display().to_string(), read_text(&p)?)))
        .collect()
}

/// The rules directory: the flag, else the config's `rules_dir` (relative to
/// the config file), else none (built-in defaults).
pub(crate) fn rules_dir(
    flag: Option<&Path>,
    config: Option<&Config>,
    config_path: Option<&Path>,
) -> Option<PathBuf> {
    if let Some(f) = flag {
        return Some(f.to_path_buf());
    }
    let dir = config?.rules_dir.as_ref()?;
    let base = config_path.and_then(Path::parent).unwrap_or(Path::new("."));
    Some(base.join(dir))
}
