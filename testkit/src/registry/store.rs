//! The registry's state and rules: subjects, versions, global schema ids,
//! compatibility configuration, and the Confluent error each refusal maps to.
//!
//! Pure data in, data out (plus an optional JSON file written after each
//! change); the HTTP layer in `http.rs` only translates requests and answers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::compat::{self, Level};

/// The schema types the emulator accepts. Only AVRO is parsed and checked for
/// compatibility; JSON and PROTOBUF are stored as given.
pub const SCHEMA_TYPES: [&str; 3] = ["AVRO", "JSON", "PROTOBUF"];

mod error;

pub use error::Error;

/// `Result` of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A version selector from a URL: a number or `latest` (also `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSel {
    /// `latest` or `-1`.
    Latest,
    /// A version number, 1 or more.
    Number(u32),
}

impl VersionSel {
    /// Parses a URL segment, answering 42202 for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        if s == "latest" || s == "-1" {
            return Ok(Self::Latest);
        }
        match s.parse::<u32>() {
            Ok(n) if n >= 1 && n <= i32::MAX as u32 => Ok(Self::Number(n)),
            _ => Err(Error::invalid_version(s)),
        }
    }
}

/// A schema as submitted by a client.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Submitted {
    /// The schema text (a JSON document for AVRO).
    pub schema: String,
    /// `AVRO` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
    /// Schema references, stored and returned as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<serde_json::Value>,
}

impl Submitted {
    /// The schema type, upper-case, `AVRO` by default.
    pub fn kind(&self) -> String {
        self.schema_type
            .as_deref()
            .unwrap_or("AVRO")
            .to_ascii_uppercase()
    }
}

/// A schema stored under a global id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredSchema {
    /// Global id.
    pub id: u32,
    /// The schema text as first registered.
    pub schema: String,
    /// `AVRO`, `JSON` or `PROTOBUF`.
    pub schema_type: String,
    /// References as given.
    #[serde(default)]
    pub references: Vec<serde_json::Value>,
    /// Identity used to give the same schema the same id: compact JSON with
    /// sorted keys for JSON-based types, the text itself otherwise.
    pub fingerprint: String,
}

/// One version of a subject.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Version {
    /// Version number within the subject.
    pub version: u32,
    /// Global schema id.
    pub id: u32,
    /// Soft-deleted.
    #[serde(default)]
    pub deleted: bool,
}

/// One subject.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Subject {
    /// Versions in registration order (soft-deleted ones kept and flagged).
    pub versions: Vec<Version>,
    /// Subject-level compatibility, if configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<Level>,
}

impl Subject {
    fn live(&self) -> impl Iterator<Item = &Version> {
        self.versions.iter().filter(|v| !v.deleted)
    }

    fn is_soft_deleted(&self) -> bool {
        !self.versions.is_empty() && self.versions.iter().all(|v| v.deleted)
    }
}

/// Everything the registry knows; serialised as the `--data` file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// Global compatibility level.
    pub compatibility: Level,
    /// Schemas by id.
    pub schemas: BTreeMap<u32, StoredSchema>,
    /// Subjects by name.
    pub subjects: BTreeMap<String, Subject>,
    /// Last id handed out.
    pub next_id: u32,
}

impl Default for State {
    fn default() -> Self {
        Self {
            compatibility: Level::Backward,
            schemas: BTreeMap::new(),
            subjects: BTreeMap::new(),
            next_id: 0,
        }
    }
}

/// A version as answered by `GET /subjects/{s}/versions/{v}` and lookups.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    /// Subject name.
    pub subject: String,
    /// Version number.
    pub version: u32,
    /// Global id.
    pub id: u32,
    /// `AVRO` is omitted, as Confluent does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
    /// References, omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<serde_json::Value>,
    /// Schema text.
    pub schema: String,
}

/// The registry store, optionally backed by a JSON file.
#[derive(Debug, Default)]
pub struct Store {
    state: State,
    file: Option<PathBuf>,
}

fn fingerprint(kind: &str, text: &str) -> Option<String> {
    if kind == "PROTOBUF" {
        return Some(text.trim().to_owned());
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut out = String::new();
    canonical_json(&v, &mut out);
    Some(out)
}

/// Compact JSON with object keys sorted, whatever serde_json's map order is
/// (the workspace may enable `preserve_order`).
fn canonical_json(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&map[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

impl Store {
    /// An empty store, persisted to `file` if given (loaded from it when it exists).
    pub fn open(file: Option<&Path>) -> std::io::Result<Self> {
        let mut store = Self {
            state: State::default(),
            file: file.map(Path::to_path_buf),
        };
        if let Some(path) = file {
            match std::fs::read(path) {
                Ok(bytes) => {
                    store.state = serde_json::from_slice(&bytes).map_err(|e| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("{}: {e}", path.display()),
                        )
                    })?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(store)
    }

    fn persist(&self) -> Result<()> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(&self.state).map_err(Error::store)?;
        std::fs::write(&tmp, bytes).map_err(Error::store)?;
        std::fs::rename(&tmp, path).map_err(Error::store)
    }

    fn subject(&self, name: &str, deleted: bool) -> Result<&Subject> {
        match self.state.subjects.get(name) {
            Some(s) if deleted || s.live().next().is_some() => Ok(s),
            _ => Err(Error::subject_not_found(name)),
        }
    }

    fn pick(&self, name: &str, sel: VersionSel, deleted: bool) -> Result<&Version> {
        let subject = self.subject(name, deleted)?;
        let mut candidates = subject.versions.iter().filter(|v| deleted || !v.deleted);
        let found = match sel {
            VersionSel::Latest => candidates.next_back(),
            VersionSel::Number(n) => candidates.find(|v| v.version == n),
        };
        found.ok_or_else(|| match sel {
            VersionSel::Latest => Error::subject_not_found(name),
            VersionSel::Number(n) => Error::version_not_found(n),
        })
    }

    fn view(&self, subject: &str, v: &Version) -> VersionView {
        let s = &self.state.schemas[&v.id];
        VersionView {
            subject: subject.to_owned(),
            version: v.version,
            id: v.id,
            schema_type: (s.schema_type != "AVRO").then(|| s.schema_type.clone()),
            references: s.references.clone(),
            schema: s.schema.clone(),
        }
    }

    /// Subject names, sorted; soft-deleted ones only when `deleted`.
    pub fn subjects(&self, deleted: bool) -> Vec<String> {
        self.state
            .subjects
            .iter()
            .filter(|(_, s)| deleted || s.live().next().is_some())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Version numbers of a subject.
    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<u32>> {
        let s = self.subject(subject, deleted)?;
        Ok(s.versions
            .iter()
            .filter(|v| deleted || !v.deleted)
            .map(|v| v.version)
            .collect())
    }

    /// One version of a subject.
    pub fn version(&self, subject: &str, sel: VersionSel, deleted: bool) -> Result<VersionView> {
        let v = self.pick(subject, sel, deleted)?;
        Ok(self.view(subject, v))
    }

    /// A schema by global id.
    pub fn schema_by_id(&self, id: u32) -> Result<&StoredSchema> {
        self.state
            .schemas
            .get(&id)
            .ok_or_else(|| Error::schema_not_found(Some(id)))
    }

    /// Subject/version pairs that use a schema id.
    pub fn id_usages(&self, id: u32, deleted: bool) -> Result<Vec<(String, u32)>> {
        self.schema_by_id(id)?;
        Ok(self
            .state
            .subjects
            .iter()
            .flat_map(|(name, s)| {
                s.versions
                    .iter()
                    .filter(move |v| v.id == id && (deleted || !v.deleted))
                    .map(move |v| (name.clone(), v.version))
            })
            .collect())
    }

    fn validate(&self, submitted: &Submitted) -> Result<(String, String)> {
        let kind = submitted.kind();
        if !SCHEMA_TYPES.contains(&kind.as_str()) {
            return Err(Error::invalid_schema(format!("unknown schema type {kind}")));
        }
        if kind == "AVRO" {
            compat::parse(&submitted.schema).map_err(Error::invalid_schema)?;
        }
        let fp = fingerprint(&kind, &submitted.schema)
            .ok_or_else(|| Error::invalid_schema("not a JSON document"))?;
        Ok((kind, fp))
    }

    fn find_in_subject(&self, subject: &Subject, kind: &str, fp: &str) -> Option<Version> {
        subject
            .live()
            .find(|v| {
                let s = &self.state.schemas[&v.id];
                s.schema_type == kind && s.fingerprint == fp
            })
            .cloned()
    }

    /// `POST /subjects/{s}`: the live version of `subject` holding this schema.
    pub fn lookup(
        &self,
        subject: &str,
        submitted: &Submitted,
        deleted: bool,
    ) -> Result<VersionView> {
        let s = self.subject(subject, deleted)?;
        let (kind, fp) = self.validate(submitted)?;
        let found = s
            .versions
            .iter()
            .filter(|v| deleted || !v.deleted)
            .find(|v| {
                let st = &self.state.schemas[&v.id];
                st.schema_type == kind && st.fingerprint == fp
            });
        found
            .map(|v| self.view(subject, v))
            .ok_or_else(|| Error::schema_not_found(None))
    }

    /// The compatibility level in force for a subject.
    pub fn level_for(&self, subject: &str) -> Level {
        self.state
            .subjects
            .get(subject)
            .and_then(|s| s.compatibility)
            .unwrap_or(self.state.compatibility)
    }

    /// Incompatibility messages of `submitted` against the given versions of
    /// `subject`, under the subject's level (empty = compatible).
    fn check_against(
        &self,
        subject: &str,
        submitted: &Submitted,
        against: &[&Version],
    ) -> Result<Vec<String>> {
        let level = self.level_for(subject);
        if submitted.kind() != "AVRO" || level == Level::None {
            return Ok(Vec::new());
        }
        let new = compat::parse(&submitted.schema).map_err(Error::invalid_schema)?;
        let mut messages = Vec::new();
        for v in against {
            let old = &self.state.schemas[&v.id];
            if old.schema_type != "AVRO" {
                continue;
            }
            let old_schema = compat::parse(&old.schema).map_err(Error::store)?;
            for m in compat::check(level, &new, &old_schema) {
                messages.push(format!("{{version: {}, {m}}}", v.version));
            }
        }
        Ok(messages)
    }

    /// `POST /compatibility/subjects/{s}/versions[/{v}]`: messages of incompatibility (empty = compatible).
    pub fn compatibility(
        &self,
        subject: &str,
        sel: Option<VersionSel>,
        submitted: &Submitted,
    ) -> Result<Vec<String>> {
        self.validate(submitted)?;
        let against: Vec<&Version> = match sel {
            Some(sel) => vec![self.pick(subject, sel, false)?],
            None => match self.state.subjects.get(subject) {
                None => return Ok(Vec::new()),
                Some(s) => select_for_level(s, self.level_for(subject)),
            },
        };
        self.check_against(subject, submitted, &against)
    }

    /// `POST /subjects/{s}/versions`: registers (or finds) the schema; returns its global id.
    pub fn register(&mut self, subject: &str, submitted: &Submitted) -> Result<u32> {
        let (kind, fp) = self.validate(submitted)?;
        if let Some(s) = self.state.subjects.get(subject) {
            if let Some(v) = self.find_in_subject(s, &kind, &fp) {
                return Ok(v.id);
            }
            let against = select_for_level(s, self.level_for(subject));
            let messages = self.check_against(subject, submitted, &against)?;
            if !messages.is_empty() {
                return Err(Error::incompatible(subject, &messages));
            }
        }
        let existing = self
            .state
            .schemas
            .values()
            .find(|s| s.schema_type == kind && s.fingerprint == fp)
            .map(|s| s.id);
        let id = match existing {
            Some(id) => id,
            None => {
                self.state.next_id += 1;
                let id = self.state.next_id;
                self.state.schemas.insert(
                    id,
                    StoredSchema {
                        id,
                        schema: submitted.schema.clone(),
                        schema_type: kind,
                        references: submitted.references.clone(),
                        fingerprint: fp,
                    },
                );
                id
            }
        };
        let s = self.state.subjects.entry(subject.to_owned()).or_default();
        let version = s.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
        s.versions.push(Version {
            version,
            id,
            deleted: false,
        });
        self.persist()?;
        Ok(id)
    }

    /// `DELETE /subjects/{s}[?permanent=true]`: the versions deleted.
    pub fn delete_subject(&mut self, subject: &str, permanent: bool) -> Result<Vec<u32>> {
        let s = self
            .state
            .subjects
            .get(subject)
            .ok_or_else(|| Error::subject_not_found(subject))?;
        let out = if permanent {
            if !s.is_soft_deleted() {
                return Err(Error::subject_not_soft_deleted(subject));
            }
            let out = s.versions.iter().map(|v| v.version).collect();
            self.state.subjects.remove(subject);
            out
        } else {
            if s.is_soft_deleted() {
                return Err(Error::subject_soft_deleted(subject));
            }
            let s = self.state.subjects.get_mut(subject).expect("checked above");
            let out: Vec<u32> = s.live().map(|v| v.version).collect();
            s.versions.iter_mut().for_each(|v| v.deleted = true);
            out
        };
        self.persist()?;
        Ok(out)
    }

    /// `DELETE /subjects/{s}/versions/{v}[?permanent=true]`: the version deleted.
    pub fn delete_version(
        &mut self,
        subject: &str,
        sel: VersionSel,
        permanent: bool,
    ) -> Result<u32> {
        let version = self.pick(subject, sel, permanent)?.clone();
        let s = self.state.subjects.get_mut(subject).expect("picked above");
        if permanent {
            if !version.deleted {
                return Err(Error::version_not_soft_deleted(subject, version.version));
            }
            s.versions.retain(|v| v.version != version.version);
            if s.versions.is_empty() {
                self.state.subjects.remove(subject);
            }
        } else if let Some(v) = s.versions.iter_mut().find(|v| v.version == version.version) {
            v.deleted = true;
        }
        self.persist()?;
        Ok(version.version)
    }

    /// Global compatibility level.
    pub fn global_level(&self) -> Level {
        self.state.compatibility
    }

    /// Sets the global level.
    pub fn set_global_level(&mut self, level: Level) -> Result<()> {
        self.state.compatibility = level;
        self.persist()
    }

    /// Subject-level compatibility, if set.
    pub fn subject_level(&self, subject: &str) -> Option<Level> {
        self.state
            .subjects
            .get(subject)
            .and_then(|s| s.compatibility)
    }

    /// Sets a subject's level (the subject need not have versions yet).
    pub fn set_subject_level(&mut self, subject: &str, level: Level) -> Result<()> {
        self.state
            .subjects
            .entry(subject.to_owned())
            .or_default()
            .compatibility = Some(level);
        self.persist()
    }

    /// Removes a subject's level; returns what it was.
    pub fn clear_subject_level(&mut self, subject: &str) -> Result<Level> {
        let s = self
            .state
            .subjects
            .get_mut(subject)
            .ok_or_else(|| Error::subject_not_found(subject))?;
        let old = s
            .compatibility
            .take()
            .ok_or_else(|| Error::subject_config_not_found(subject))?;
        if s.versions.is_empty() {
            self.state.subjects.remove(subject);
        }
        self.persist()?;
        Ok(old)
    }
}

/// The live versions a level compares against: all of them for the
/// transitive levels, the latest one otherwise.
fn select_for_level(subject: &Subject, level: Level) -> Vec<&Version> {
    let live: Vec<&Version> = subject.live().collect();
    if level.is_transitive() {
        live
    } else {
        live.last().copied().into_iter().collect()
    }
}

#[cfg(test)]
mod tests;
