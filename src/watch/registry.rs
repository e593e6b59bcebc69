//! The Schema Registry as a source of table schemas: new versions of the
//! `<topic>-value` subjects of data topics, each turned into the same event an
//! inline schema gives ([`Event::DataChange`] with `schema: Some(SourceTable)`
//! built from the Avro `after` record, op `Read`, `before`/`after` null), so
//! the agent folds it into the table's history like any other.
//!
//! Edge module (HTTP, through `schema_registry_converter`). One
//! [`RegistryWatcher::poll`] lists the subjects, reads the latest version of
//! each watched one and, when it is new, every version not seen yet, oldest
//! first. Seen versions are remembered in memory ([`RegistryWatcher::seen`],
//! [`RegistryWatcher::mark_seen`] let the agent persist and restore them); a
//! poll that fails remembers nothing, so the next one yields the same events.
//!
//! Which subjects ([`SubjectFilter`]): those of the loader's data topics —
//! names, or `^regex` patterns as librdkafka takes them — so the agent learns
//! schemas of exactly the tables it loads. An empty topic list watches every
//! `-value` subject. `-key` subjects are not watched; the latest `<topic>-key`
//! version gives the primary key of each event (none when the subject is
//! missing, and the history then keeps the key it knew). Subjects whose
//! schema is not a Debezium envelope with a row record (the schema-change
//! topic's own subject) are skipped quietly and marked seen.
//!
//! Each event's position names the subject and version in `native`
//! (`registry:<subject>/versions/<n>`) and the topic in `topic`.
//! A registry that cannot be reached is [`RegistryError::Unavailable`]:
//! retriable, for the caller to log before polling again next interval.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use regex::Regex;
use schema_registry_converter::async_impl::schema_registry::{
    get_all_subjects, get_all_versions, get_schema_by_subject_and_version, SrSettings,
};
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::RegisteredSchema;
use serde_json::{json, Value};

use crate::config::RegistryConfig;
use crate::loader::avro::connect_schema_of;
use crate::source::{decode_value, Event, Located};

/// Why a poll failed (nothing of it is remembered as seen).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached or answered 5xx: retry next interval.
    #[error("schema registry at {url} unavailable ({what}): {reason}")]
    Unavailable {
        /// The registry.
        url: String,
        /// The request.
        what: String,
        /// The client's error.
        reason: String,
    },
    /// The registry answered a request with an error.
    #[error("schema registry at {url} ({what}): {reason}")]
    Registry {
        /// The registry.
        url: String,
        /// The request.
        what: String,
        /// The registry's answer.
        reason: String,
    },
    /// Unusable settings or topic patterns.
    #[error("schema registry watcher settings: {0}")]
    Settings(String),
}

impl RegistryError {
    /// Whether the next poll may succeed without a change of configuration.
    pub fn is_retriable(&self) -> bool {
        matches!(self, RegistryError::Unavailable { .. })
    }
}

/// Which `-value` subjects are watched, by the topic they belong to.
#[derive(Debug, Clone)]
pub struct SubjectFilter {
    names: BTreeSet<String>,
    patterns: Vec<Regex>,
}

impl SubjectFilter {
    /// Topics as the loader's config lists them: names, or regular
    /// expressions starting with `^`. An empty list watches every subject.
    pub fn from_topics(topics: &[String]) -> Result<SubjectFilter, RegistryError> {
        let mut names = BTreeSet::new();
        let mut patterns = Vec::new();
        for t in topics {
            if t.starts_with('^') {
                let re = Regex::new(t)
                    .map_err(|e| RegistryError::Settings(format!("topic pattern {t:?}: {e}")))?;
                patterns.push(re);
            } else {
                names.insert(t.clone());
            }
        }
        Ok(SubjectFilter { names, patterns })
    }

    /// Whether `topic` is watched.
    pub fn matches(&self, topic: &str) -> bool {
        (self.names.is_empty() && self.patterns.is_empty())
            || self.names.contains(topic)
            || self.patterns.iter().any(|p| p.is_match(topic))
    }
}

/// Polls the registry for new versions of watched subjects.
#[derive(Debug)]
pub struct RegistryWatcher {
    url: String,
    settings: SrSettings,
    filter: SubjectFilter,
    interval: Duration,
    seen: BTreeMap<String, BTreeSet<u32>>,
}

impl RegistryWatcher {
    /// A watcher of the registry of `cfg`, for the subjects `filter` admits.
    pub fn new(cfg: &RegistryConfig, filter: SubjectFilter) -> Result<Self, RegistryError> {
        let settings = crate::loader::avro::sr_settings(cfg)
            .map_err(|e| RegistryError::Settings(e.to_string()))?;
        Ok(RegistryWatcher {
            url: cfg.url.trim_end_matches('/').to_owned(),
            settings,
            filter,
            interval: Duration::from_millis(cfg.poll_interval_ms.max(1)),
            seen: BTreeMap::new(),
        })
    }

    /// The configured time between polls.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Versions seen so far, per subject (for the agent to persist).
    pub fn seen(&self) -> &BTreeMap<String, BTreeSet<u32>> {
        &self.seen
    }

    /// Marks a version as seen (restoring what the agent persisted).
    pub fn mark_seen(&mut self, subject: &str, version: u32) {
        self.seen
            .entry(subject.to_owned())
            .or_default()
            .insert(version);
    }

    /// One round: an event per new version of each watched subject (oldest
    /// first within a subject, subjects in name order).
    pub async fn poll(&mut self) -> Result<Vec<Located<Event>>, RegistryError> {
        let subjects = get_all_subjects(&self.settings)
            .await
            .map_err(|e| self.error("GET /subjects", &e))?;
        let all: BTreeSet<&str> = subjects.iter().map(String::as_str).collect();
        let mut events = Vec::new();
        let mut newly_seen: Vec<(String, u32)> = Vec::new();
        for subject in &all {
            let Some(topic) = subject.strip_suffix("-value") else {
                continue;
            };
            if !self.filter.matches(topic) {
                continue;
            }
            let latest = self.fetch(subject, None).await?;
            let seen = self.seen.get(*subject);
            let latest_version = latest.version.unwrap_or_default();
            if seen.is_some_and(|s| s.contains(&latest_version)) {
                continue;
            }
            let mut versions = get_all_versions(&self.settings, (*subject).to_owned())
                .await
                .map_err(|e| self.error(&format!("GET /subjects/{subject}/versions"), &e))?;
            versions.sort_unstable();
            versions.retain(|v| !seen.is_some_and(|s| s.contains(v)));
            let key_subject = format!("{topic}-key");
            let key = if all.contains(key_subject.as_str()) {
                let k = self.fetch(&key_subject, None).await?;
                connect_schema_of(&k.schema).ok()
            } else {
                None
            };
            for version in versions {
                let registered = if version == latest_version {
                    latest.clone()
                } else {
                    self.fetch(subject, Some(version)).await?
                };
                newly_seen.push(((*subject).to_owned(), version));
                match event_of(topic, subject, version, &registered, key.as_ref()) {
                    Ok(Some(event)) => {
                        tracing::info!(
                            subject = *subject,
                            version,
                            schema_id = registered.id,
                            "New schema version in the registry."
                        );
                        events.push(event);
                    }
                    Ok(None) => tracing::debug!(
                        subject = *subject,
                        version,
                        "Registry subject is not a row envelope; skipped."
                    ),
                    Err(reason) => tracing::warn!(
                        subject = *subject,
                        version,
                        schema_id = registered.id,
                        %reason,
                        "Registry schema version could not be read; skipped."
                    ),
                }
            }
        }
        for (subject, version) in newly_seen {
            self.mark_seen(&subject, version);
        }
        Ok(events)
    }

    async fn fetch(
        &self,
        subject: &str,
        version: Option<u32>,
    ) -> Result<RegisteredSchema, RegistryError> {
        get_schema_by_subject_and_version(&self.settings, subject, version)
            .await
            .map_err(|e| {
                let v = version.map_or_else(|| "latest".to_owned(), |v| v.to_string());
                self.error(&format!("GET /subjects/{subject}/versions/{v}"), &e)
            })
    }

    fn error(&self, what: &str, e: &SRCError) -> RegistryError {
        let reason = match &e.cause {
            Some(c) => format!("{}: {c}", e.error),
            None => e.error.clone(),
        };
        let url = self.url.clone();
        let what = what.to_owned();
        if e.retriable || e.error.contains("failed with status 5") {
            RegistryError::Unavailable { url, what, reason }
        } else {
            RegistryError::Registry { url, what, reason }
        }
    }
}

/// The event of one subject version, `None` when its schema has no row record.
fn event_of(
    topic: &str,
    subject: &str,
    version: u32,
    registered: &RegisteredSchema,
    key_schema: Option<&Value>,
) -> Result<Option<Located<Event>>, String> {
    let schema = connect_schema_of(&registered.schema).map_err(|e| e.to_string())?;
    let has_row = schema["fields"].as_array().is_some_and(|fields| {
        fields
            .iter()
            .any(|f| (f["field"] == "after" || f["field"] == "before") && f["type"] == "struct")
    });
    if !has_row {
        return Ok(None);
    }
    let connector = connector_of(&schema);
    let key = key_schema.map(|k| json!({ "schema": k, "payload": null }));
    let record = json!({
        "topic": topic,
        "partition": 0,
        "offset": 0,
        "key": key,
        "payload": {
            "schema": schema,
            "payload": {"op": "r", "before": null, "after": null, "source": {"connector": connector}},
        },
    });
    let decoded = decode_value(&record, 0).map_err(|e| e.to_string())?;
    let Some(mut located) = decoded else {
        return Ok(None);
    };
    match &located.value {
        Event::DataChange(dc) if dc.schema.is_some() => {}
        _ => return Ok(None),
    }
    located.position.partition = None;
    located.position.offset = None;
    located.position.line = None;
    located.position.native = Some(format!("registry:{subject}/versions/{version}"));
    Ok(Some(located))
}

/// `source.connector` from the envelope's `source` struct name
/// (`io.debezium.connector.<connector>.Source`); MySQL when unknown.
fn connector_of(envelope: &Value) -> String {
    envelope["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["field"] == "source")
        .and_then(|f| f["name"].as_str())
        .and_then(|n| n.strip_prefix("io.debezium.connector."))
        .and_then(|n| n.strip_suffix(".Source"))
        .unwrap_or("mysql")
        .to_owned()
}
