//! The `[loader]` section: which data topics the loader consumes, their
//! format, batch limits, time zone, quarantine and truncate handling.

use std::time::Duration;

use serde::Deserialize;

/// `[loader]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLoader {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    format: DataFormat,
    batch_rows: Option<usize>,
    batch_bytes: Option<usize>,
    batch_age_ms: Option<u64>,
    #[serde(default = "utc")]
    time_zone: String,
    quarantine_topic: Option<String>,
    plans_topic: Option<String>,
    #[serde(default)]
    truncate: TruncateMode,
    #[serde(default = "default_in_flight")]
    max_in_flight_per_table: usize,
    gzip_min_bytes: Option<usize>,
}

fn yes() -> bool {
    true
}
fn utc() -> String {
    "UTC".to_owned()
}
fn default_in_flight() -> usize {
    4
}

/// How data topics are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// Kafka Connect JsonConverter, with or without inline schemas.
    #[default]
    Json,
    /// Confluent Avro (magic byte + schema id) through the Schema Registry.
    Avro,
}

/// What the loader does with a source `TRUNCATE` (`op: t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TruncateMode {
    /// Record it in the raw table only; the mirror keeps its rows (counted and logged).
    #[default]
    Skip,
    /// Truncate the mirror in stream order (rows before it loaded, rows after it kept).
    /// The agent then plans no `truncate_table` of its own for the table.
    Apply,
}

/// The validated `[loader]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct LoaderConfig {
    /// Run the loader inside `ddlsync run` (default true when `[loader]` is present).
    pub enabled: bool,
    /// Data topics: names, or librdkafka regular expressions starting with `^`.
    pub topics: Vec<String>,
    /// Encoding of the data topics.
    pub format: DataFormat,
    /// Flush a table's batch at this many rows.
    pub batch_rows: usize,
    /// ... or this many body bytes.
    pub batch_bytes: usize,
    /// ... or when its oldest row is this old.
    pub batch_age: Duration,
    /// Zone of `ZonedTimestamp` values (`UTC`, `+08:00`).
    pub time_zone: String,
    /// Dead-letter topic for messages that cannot be loaded (default `<group_id>.quarantine`).
    pub quarantine_topic: Option<String>,
    /// Topic keeping the planned batch boundaries (default `<group_id>.plans`).
    pub plans_topic: Option<String>,
    /// Source truncates.
    pub truncate: TruncateMode,
    /// Sealed batches of one table loading at once.
    pub max_in_flight_per_table: usize,
    /// Stream Load bodies at least this large are sent gzipped (`None`:
    /// never; config `gzip_min_bytes = 0`). Default 1 MiB: it pays across a
    /// network, not when StarRocks is on the same host.
    pub gzip_min_bytes: Option<usize>,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        LoaderConfig {
            enabled: true,
            topics: Vec::new(),
            format: DataFormat::Json,
            batch_rows: 100_000,
            batch_bytes: 64 << 20,
            batch_age: Duration::from_millis(2_000),
            time_zone: utc(),
            quarantine_topic: None,
            plans_topic: None,
            truncate: TruncateMode::Skip,
            max_in_flight_per_table: default_in_flight(),
            gzip_min_bytes: Some(1 << 20),
        }
    }
}

impl RawLoader {
    /// Validates; `Err((key, message))`.
    pub(super) fn validate(self) -> Result<LoaderConfig, (String, String)> {
        let d = LoaderConfig::default();
        let cfg = LoaderConfig {
            enabled: self.enabled,
            topics: self.topics,
            format: self.format,
            batch_rows: self.batch_rows.unwrap_or(d.batch_rows),
            batch_bytes: self.batch_bytes.unwrap_or(d.batch_bytes),
            batch_age: self
                .batch_age_ms
                .map(Duration::from_millis)
                .unwrap_or(d.batch_age),
            time_zone: self.time_zone,
            quarantine_topic: self.quarantine_topic,
            plans_topic: self.plans_topic,
            truncate: self.truncate,
            max_in_flight_per_table: self.max_in_flight_per_table,
            gzip_min_bytes: match self.gzip_min_bytes {
                None => d.gzip_min_bytes,
                Some(0) => None,
                Some(n) => Some(n),
            },
        };
        if cfg.batch_rows == 0 {
            return Err(("loader.batch_rows".into(), "must be at least 1".into()));
        }
        if !(1024..=(100 << 20)).contains(&cfg.batch_bytes) {
            return Err((
                "loader.batch_bytes".into(),
                format!(
                    "must be 1 KiB to 100 MiB (StarRocks' JSON body limit), got {}",
                    cfg.batch_bytes
                ),
            ));
        }
        if cfg.batch_age.is_zero() {
            return Err(("loader.batch_age_ms".into(), "must be at least 1".into()));
        }
        if cfg.max_in_flight_per_table == 0 {
            return Err((
                "loader.max_in_flight_per_table".into(),
                "must be at least 1".into(),
            ));
        }
        if cfg.enabled && cfg.topics.is_empty() {
            return Err((
                "loader.topics".into(),
                "name at least one data topic (or a `^regex`), or set enabled = false".into(),
            ));
        }
        crate::loader::convert::TimeZone::parse(&cfg.time_zone)
            .map_err(|e| ("loader.time_zone".to_owned(), e.to_string()))?;
        Ok(cfg)
    }
}
