//! The configuration file (`ddlsync.toml`): raw TOML → validated [`Config`].
//!
//! Owns parsing (unknown keys are errors, reported with file and line),
//! `${ENV}` expansion of secrets, cross-field validation and the table mapping
//! (which source table goes to which StarRocks table, with which targets).
//! Code past start-up takes only `&Config`. The file is read by the caller;
//! the environment is passed in, so this module stays testable.

use std::collections::BTreeMap;
use std::fmt;

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use crate::model::TableId;
use crate::types::{MappingOptions, WideDecimal};

mod loader;

pub use loader::{DataFormat, LoaderConfig, TruncateMode};

/// Errors of reading or validating a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML does not parse or has an unknown key / wrong type.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// File name as given.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A value is not valid.
    #[error("{file}: {key}: {message}")]
    Invalid {
        /// File name as given.
        file: String,
        /// Dotted key path.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A `${VAR}` reference names a variable that is not set.
    #[error("{file}: {key}: environment variable {var} is not set")]
    MissingEnv {
        /// File name as given.
        file: String,
        /// Dotted key path.
        key: String,
        /// The variable.
        var: String,
    },
}

/// A secret value: never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Directory of policy rule files.
    rules_dir: Option<String>,
    #[serde(default)]
    mapping: RawMapping,
    starrocks: Option<RawStarRocks>,
    kafka: Option<RawKafka>,
    registry: Option<RawRegistry>,
    store: Option<RawStore>,
    http: Option<RawHttp>,
    loader: Option<loader::RawLoader>,
    #[serde(default)]
    tables: Vec<RawTable>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    tinyint1_as_boolean: Option<bool>,
    wide_decimal: Option<WideDecimal>,
    default_bytes_per_char: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStarRocks {
    query: String,
    http: Option<String>,
    #[serde(default = "default_user")]
    user: String,
    #[serde(default)]
    password: String,
    version: Option<String>,
    #[serde(default = "default_replication_num")]
    replication_num: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKafka {
    bootstrap_servers: String,
    #[serde(default = "default_group")]
    group_id: String,
    #[serde(default)]
    schema_change_topics: Vec<String>,
    #[serde(default)]
    properties: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    url: String,
    username: Option<String>,
    password: Option<String>,
    #[serde(default = "default_poll_ms")]
    poll_interval_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    path: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: String,
    token: Option<String>,
    #[serde(default)]
    open_api: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    source: String,
    target: Option<String>,
    target_database: Option<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default = "default_targets")]
    targets: Vec<TargetKind>,
}

fn default_user() -> String {
    "root".to_owned()
}
fn default_replication_num() -> u32 {
    1
}
fn default_group() -> String {
    "ddlsync".to_owned()
}
fn default_poll_ms() -> u64 {
    5_000
}
fn default_targets() -> Vec<TargetKind> {
    vec![TargetKind::Mirror]
}

/// What ddlsync maintains in StarRocks for a source table.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// The PRIMARY KEY mirror table (current state, kept by upsert/delete).
    Mirror,
    /// The raw change-log table `<table>_cdc_raw` (DUPLICATE KEY, every event).
    Raw,
    /// The ddlsync-managed current-state MV over the raw table.
    CurrentStateMv,
}

/// StarRocks connection settings.
#[derive(Debug, Clone)]
pub struct StarRocksConfig {
    /// `host:port` of the FE MySQL-protocol port.
    pub query: String,
    /// `host:port` of the FE HTTP port (Stream Load).
    pub http: Option<String>,
    /// User name.
    pub user: String,
    /// Password (from `${ENV}` where given so).
    pub password: Secret,
    /// Version override (otherwise read from the server).
    pub version: Option<String>,
    /// `replication_num` for tables ddlsync creates.
    pub replication_num: u32,
}

/// Kafka settings; `properties` are passed to librdkafka unchanged (SASL/SSL).
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Consumer group.
    pub group_id: String,
    /// Debezium schema-change topics (MySQL-family `topic.prefix`).
    pub schema_change_topics: Vec<String>,
    /// Extra librdkafka properties (values may be secrets: never logged).
    pub properties: BTreeMap<String, Secret>,
}

impl KafkaConfig {
    /// The librdkafka properties of a client: `properties` (secrets exposed,
    /// for the client only), `bootstrap.servers`, and `group.id` =
    /// `<group_id><group_suffix>`.
    pub fn client_properties(&self, group_suffix: &str) -> BTreeMap<String, String> {
        let mut p: BTreeMap<String, String> = self
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_owned()))
            .collect();
        p.insert("bootstrap.servers".into(), self.bootstrap_servers.clone());
        p.insert(
            "group.id".into(),
            format!("{}{group_suffix}", self.group_id),
        );
        p
    }
}

/// Schema Registry settings.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Base URL.
    pub url: String,
    /// Basic-auth user.
    pub username: Option<String>,
    /// Basic-auth password.
    pub password: Option<Secret>,
    /// How often subjects are polled.
    pub poll_interval_ms: u64,
}

/// The agent's HTTP server.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `host:port` to listen on.
    pub listen: String,
    /// Bearer token of the approval API.
    pub token: Option<Secret>,
    /// Explicitly allow approve/reject without a token.
    pub open_api: bool,
}

/// One table-mapping entry.
#[derive(Debug, Clone)]
pub struct TableMapping {
    /// The source pattern as written (`db.table`, globs allowed).
    pub source: String,
    matcher: GlobMatcher,
    target: Option<TableId>,
    target_database: Option<String>,
    /// Kafka data topic, when it is not `<prefix>.<db>.<table>`.
    pub topic: Option<String>,
    /// What to maintain.
    pub targets: Vec<TargetKind>,
}

/// A validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Policy rules directory.
    pub rules_dir: Option<String>,
    /// Type-mapping options.
    pub mapping: MappingOptions,
    /// StarRocks connection.
    pub starrocks: Option<StarRocksConfig>,
    /// Kafka.
    pub kafka: Option<KafkaConfig>,
    /// Schema Registry.
    pub registry: Option<RegistryConfig>,
    /// Path of the embedded store.
    pub store_path: Option<String>,
    /// HTTP server.
    pub http: Option<HttpConfig>,
    /// The data-path loader (`None`: no `[loader]` section, the agent runs alone).
    pub loader: Option<LoaderConfig>,
    /// Table mapping, in file order (first match wins).
    pub tables: Vec<TableMapping>,
}

/// Where a source table goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The StarRocks table.
    pub target: TableId,
    /// What ddlsync maintains for it.
    pub targets: Vec<TargetKind>,
}

impl Config {
    /// Parses and validates `text` (the content of `file`); `env` resolves `${VAR}`.
    pub fn parse(
        file: &str,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_owned(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            message: e.message().trim().to_owned(),
        })?;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            file: file.to_owned(),
            key: key.to_owned(),
            message,
        };
        let secret = |key: &str, value: &str| -> Result<Secret, ConfigError> {
            expand_env(value, env)
                .map(Secret)
                .map_err(|var| ConfigError::MissingEnv {
                    file: file.to_owned(),
                    key: key.to_owned(),
                    var,
                })
        };
        let defaults = MappingOptions::default();
        let mapping = MappingOptions {
            tinyint1_as_boolean: raw
                .mapping
                .tinyint1_as_boolean
                .unwrap_or(defaults.tinyint1_as_boolean),
            wide_decimal: raw.mapping.wide_decimal.unwrap_or(defaults.wide_decimal),
            default_bytes_per_char: raw
                .mapping
                .default_bytes_per_char
                .unwrap_or(defaults.default_bytes_per_char),
            ..defaults
        };
        if !(1..=4).contains(&mapping.default_bytes_per_char) {
            return Err(invalid(
                "mapping.default_bytes_per_char",
                format!("must be 1 to 4, got {}", mapping.default_bytes_per_char),
            ));
        }
        let starrocks = match raw.starrocks {
            None => None,
            Some(s) => {
                check_host_port("starrocks.query", &s.query)
                    .map_err(|m| invalid("starrocks.query", m))?;
                if let Some(h) = &s.http {
                    check_host_port("starrocks.http", h)
                        .map_err(|m| invalid("starrocks.http", m))?;
                }
                if let Some(v) = &s.version {
                    v.parse::<crate::capabilities::StarRocksVersion>()
                        .map_err(|e| invalid("starrocks.version", e.to_string()))?;
                }
                Some(StarRocksConfig {
                    password: secret("starrocks.password", &s.password)?,
                    query: s.query,
                    http: s.http,
                    user: s.user,
                    version: s.version,
                    replication_num: s.replication_num,
                })
            }
        };
        let kafka = match raw.kafka {
            None => None,
            Some(k) => {
                let mut properties = BTreeMap::new();
                for (key, value) in &k.properties {
                    properties.insert(
                        key.clone(),
                        secret(&format!("kafka.properties.{key}"), value)?,
                    );
                }
                Some(KafkaConfig {
                    bootstrap_servers: k.bootstrap_servers,
                    group_id: k.group_id,
                    schema_change_topics: k.schema_change_topics,
                    properties,
                })
            }
        };
        let registry = match raw.registry {
            None => None,
            Some(r) => Some(RegistryConfig {
                password: r
                    .password
                    .as_deref()
                    .map(|p| secret("registry.password", p))
                    .transpose()?,
                url: r.url,
                username: r.username,
                poll_interval_ms: r.poll_interval_ms,
            }),
        };
        let http = match raw.http {
            None => None,
            Some(h) => {
                check_host_port("http.listen", &h.listen).map_err(|m| invalid("http.listen", m))?;
                Some(HttpConfig {
                    token: h
                        .token
                        .as_deref()
                        .map(|t| secret("http.token", t))
                        .transpose()?,
                    listen: h.listen,
                    open_api: h.open_api,
                })
            }
        };
        let loader = raw
            .loader
            .map(loader::RawLoader::validate)
            .transpose()
            .map_err(|(key, message)| invalid(&key, message))?;
        let mut tables = Vec::new();
        for (i, t) in raw.tables.into_iter().enumerate() {
            let key = format!("tables[{i}]");
            if t.source.split('.').count() != 2 {
                return Err(invalid(
                    &key,
                    format!(
                        "source {:?} must be `database.table` (globs allowed)",
                        t.source
                    ),
                ));
            }
            let matcher = Glob::new(&t.source)
                .map_err(|e| invalid(&key, format!("source {:?}: {e}", t.source)))?
                .compile_matcher();
            let is_glob = t.source.contains(['*', '?', '[', '{']);
            let target = match &t.target {
                None => None,
                Some(s) => {
                    if is_glob {
                        return Err(invalid(
                            &key,
                            "`target` names one table; with a glob source use `target_database`"
                                .into(),
                        ));
                    }
                    let (db, table) = s.split_once('.').ok_or_else(|| {
                        invalid(&key, format!("target {s:?} must be `database.table`"))
                    })?;
                    Some(TableId::new(db, table))
                }
            };
            if t.target.is_some() && t.target_database.is_some() {
                return Err(invalid(
                    &key,
                    "give `target` or `target_database`, not both".into(),
                ));
            }
            if t.targets.is_empty() {
                return Err(invalid(
                    &key,
                    "`targets` must name at least one of mirror, raw, current_state_mv".into(),
                ));
            }
            if t.targets.contains(&TargetKind::CurrentStateMv)
                && !t.targets.contains(&TargetKind::Raw)
            {
                return Err(invalid(
                    &key,
                    "`current_state_mv` is built over the raw table: add `raw` to `targets`".into(),
                ));
            }
            tables.push(TableMapping {
                source: t.source,
                matcher,
                target,
                target_database: t.target_database,
                topic: t.topic,
                targets: t.targets,
            });
        }
        Ok(Config {
            rules_dir: raw.rules_dir,
            mapping,
            starrocks,
            kafka,
            registry,
            store_path: raw.store.map(|s| s.path),
            http,
            loader,
            tables,
        })
    }

    /// Where `source` goes. With no `[[tables]]` at all, every table maps to the
    /// same-named StarRocks table (mirror); otherwise only tables that match an
    /// entry are synced (first match wins) and others give `None`.
    pub fn route(&self, source: &TableId) -> Option<Route> {
        if self.tables.is_empty() {
            return Some(Route {
                target: source.clone(),
                targets: default_targets(),
            });
        }
        let name = source.to_string();
        self.tables
            .iter()
            .find(|t| t.matcher.is_match(&name))
            .map(|t| Route {
                target: t.target.clone().unwrap_or_else(|| {
                    TableId::new(
                        t.target_database
                            .clone()
                            .unwrap_or_else(|| source.database.clone()),
                        source.table.clone(),
                    )
                }),
                targets: t.targets.clone(),
            })
    }
}

/// Replaces every `${VAR}` in `value`; `Err(var)` names the first unset one.
fn expand_env(value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let var = &after[..end];
                out.push_str(&env(var).ok_or_else(|| var.to_owned())?);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn check_host_port(key: &str, value: &str) -> Result<(), String> {
    match value.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!("{key} must be `host:port`, got {value:?}")),
    }
}

/// 1-based line of byte offset `at` in `text`.
pub fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests;
