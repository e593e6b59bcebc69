//! Confluent-framed Avro records of Debezium topics (magic byte `0`, a 4-byte
//! big-endian schema id, the Avro binary datum) into the Kafka Connect JSON
//! shape the JSON path reads: `{"schema": <Connect schema>, "payload": <value>}`,
//! exactly what `JsonConverter` with `schemas.enable=true` writes for the same
//! record, so [`crate::loader::convert::Decoder`] and
//! [`crate::source::decode_value`] take it unchanged. Keys and values alike.
//!
//! Edge module (HTTP to the Schema Registry). Schemas are fetched by id with
//! `schema_registry_converter` (URL and optional basic auth from
//! [`RegistryConfig`]) and decoded with `apache-avro`; each id's Connect schema
//! is built once and kept, so a record whose id was seen before does no I/O.
//! The mapping itself is [`connect`] (pure).
//!
//! Errors ([`AvroError`]) say what failed and where: the framing (with the
//! byte count or the first byte), the schema id, the registry URL, the field
//! path. [`AvroError::is_retriable`] tells a registry that could not be reached
//! (retry later) from a record that will never decode (quarantine it).
//! Unknown ids are not remembered as failures: a later call asks again.

pub mod connect;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use apache_avro::reader::datum::GenericDatumReader;
use schema_registry_converter::async_impl::avro::AvroDecoder as SrDecoder;
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::RawError;
use serde_json::{json, Value};

use crate::config::RegistryConfig;

pub use connect::{AvroJsonSchema, MapError};

/// Timeout of one registry request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Confluent's error code for a schema id the registry does not have.
const SCHEMA_NOT_FOUND: u32 = 40403;

/// Why a record could not be turned into Connect JSON.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AvroError {
    /// The bytes are not Confluent wire format.
    #[error("not a Confluent Avro record: {reason}")]
    Framing {
        /// What is wrong with the first bytes.
        reason: String,
    },
    /// The registry does not know the record's schema id.
    #[error("schema id {id}: not found in the schema registry at {url}")]
    UnknownSchemaId {
        /// The id from the record.
        id: u32,
        /// The registry asked.
        url: String,
    },
    /// The registry could not be reached or answered 502/503 (retry later).
    #[error("schema id {id}: schema registry at {url} unavailable: {reason}")]
    RegistryUnavailable {
        /// The id from the record.
        id: u32,
        /// The registry asked.
        url: String,
        /// The client's error.
        reason: String,
    },
    /// The registry answered with an error, or with a schema that is not usable Avro.
    #[error("schema id {id}: schema registry at {url}: {reason}")]
    Registry {
        /// The id from the record.
        id: u32,
        /// The registry asked.
        url: String,
        /// The client's error.
        reason: String,
    },
    /// The Avro binary does not decode with the writer schema.
    #[error("schema id {id}: avro data does not decode: {reason}")]
    Data {
        /// The id from the record.
        id: u32,
        /// The Avro library's error.
        reason: String,
    },
    /// The schema or value has no Kafka Connect equivalent.
    #[error("schema id {id}: {source}")]
    Mapping {
        /// The id from the record (0 when mapping a schema text).
        id: u32,
        /// Field path and reason.
        #[source]
        source: MapError,
    },
    /// The registry settings are unusable (bad URL, client construction).
    #[error("schema registry settings: {reason}")]
    Settings {
        /// Why.
        reason: String,
    },
}

impl AvroError {
    /// Whether retrying later may succeed (the registry was unreachable).
    pub fn is_retriable(&self) -> bool {
        matches!(self, AvroError::RegistryUnavailable { .. })
    }

    /// The schema id the error is about, when the framing was readable.
    pub fn schema_id(&self) -> Option<u32> {
        match self {
            AvroError::UnknownSchemaId { id, .. }
            | AvroError::RegistryUnavailable { id, .. }
            | AvroError::Registry { id, .. }
            | AvroError::Data { id, .. }
            | AvroError::Mapping { id, .. } => Some(*id),
            AvroError::Framing { .. } | AvroError::Settings { .. } => None,
        }
    }
}

/// The schema id and the Avro datum of a Confluent-framed record.
pub fn split_framing(bytes: &[u8]) -> Result<(u32, &[u8]), AvroError> {
    match bytes {
        [0, a, b, c, d, rest @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), rest)),
        [] => Err(AvroError::Framing {
            reason: "empty record (expected magic byte 0 and a 4-byte schema id)".into(),
        }),
        [first, ..] if *first != 0 => Err(AvroError::Framing {
            reason: format!(
                "first byte is {first:#04x}, expected the magic byte 0x00 (is this topic written by the JSON converter?)"
            ),
        }),
        short => Err(AvroError::Framing {
            reason: format!(
                "{} bytes, shorter than the 5-byte header (magic byte and schema id)",
                short.len()
            ),
        }),
    }
}

/// The Connect schema of an Avro schema text (as the registry stores it).
pub fn connect_schema_of(avro_schema: &str) -> Result<Value, AvroError> {
    let raw: Value = serde_json::from_str(avro_schema).map_err(|e| AvroError::Mapping {
        id: 0,
        source: MapError {
            path: "$".into(),
            reason: format!("schema is not JSON: {e}"),
        },
    })?;
    AvroJsonSchema::new(raw)
        .and_then(|s| s.connect_schema())
        .map_err(|source| AvroError::Mapping { id: 0, source })
}

/// One schema id, ready: the parsed writer schema, its JSON and Connect schema.
#[derive(Debug)]
struct Prepared {
    writer: apache_avro::Schema,
    json: AvroJsonSchema,
    connect_schema: Value,
}

impl Prepared {
    /// From the registry's schema text (`writer` is that text parsed by apache-avro).
    fn new(id: u32, text: &str, writer: apache_avro::Schema) -> Result<Prepared, AvroError> {
        let raw: Value = serde_json::from_str(text).map_err(|e| AvroError::Data {
            id,
            reason: format!("schema text is not JSON: {e}"),
        })?;
        let json = AvroJsonSchema::new(raw).map_err(|source| AvroError::Mapping { id, source })?;
        let connect_schema = json
            .connect_schema()
            .map_err(|source| AvroError::Mapping { id, source })?;
        Ok(Prepared {
            writer,
            json,
            connect_schema,
        })
    }

    /// Decodes one datum (the record without its 5-byte header).
    fn to_connect_json(&self, id: u32, mut datum: &[u8]) -> Result<Value, AvroError> {
        let value = GenericDatumReader::builder(&self.writer)
            .build()
            .and_then(|r| r.read_value(&mut datum))
            .map_err(|e| AvroError::Data {
                id,
                reason: e.to_string(),
            })?;
        let payload = self
            .json
            .connect_value(&value)
            .map_err(|source| AvroError::Mapping { id, source })?;
        Ok(json!({ "schema": self.connect_schema, "payload": payload }))
    }
}

/// Decodes Confluent Avro records into Connect JSON, fetching schemas from the
/// registry by id and keeping them (see the module doc). Cheap to share
/// behind an `Arc`; all methods take `&self`.
pub struct AvroDecoder {
    url: String,
    registry: SrDecoder,
    prepared: RwLock<HashMap<u32, Arc<Prepared>>>,
}

impl std::fmt::Debug for AvroDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroDecoder")
            .field("url", &self.url)
            .field("schemas", &self.cached_schemas())
            .finish_non_exhaustive()
    }
}

/// Registry client settings from the config (shared with the registry watcher).
pub(crate) fn sr_settings(cfg: &RegistryConfig) -> Result<SrSettings, AvroError> {
    let url = cfg.url.trim_end_matches('/').to_owned();
    let mut builder = SrSettings::new_builder(url);
    builder.set_timeout(REQUEST_TIMEOUT);
    if let Some(user) = &cfg.username {
        builder.set_basic_authorization(user, cfg.password.as_ref().map(|p| p.expose()));
    }
    builder.build().map_err(|e| AvroError::Settings {
        reason: e.to_string(),
    })
}

impl AvroDecoder {
    /// A decoder for the registry of `cfg` (nothing is fetched yet).
    pub fn new(cfg: &RegistryConfig) -> Result<AvroDecoder, AvroError> {
        Ok(AvroDecoder {
            url: cfg.url.trim_end_matches('/').to_owned(),
            registry: SrDecoder::new(sr_settings(cfg)?),
            prepared: RwLock::new(HashMap::new()),
        })
    }

    /// The record (a key or a value) as `{"schema": ..., "payload": ...}`.
    /// Does I/O only for a schema id not seen before.
    pub async fn to_connect_json(&self, bytes: &[u8]) -> Result<Value, AvroError> {
        let (id, datum) = split_framing(bytes)?;
        self.prepared(id).await?.to_connect_json(id, datum)
    }

    /// [`Self::to_connect_json`] serialized, for [`crate::loader::convert::Record`]'s text fields.
    pub async fn to_connect_json_text(&self, bytes: &[u8]) -> Result<String, AvroError> {
        Ok(self.to_connect_json(bytes).await?.to_string())
    }

    /// The Connect schema of schema id `id` (fetched once, then kept).
    pub async fn connect_schema(&self, id: u32) -> Result<Value, AvroError> {
        Ok(self.prepared(id).await?.connect_schema.clone())
    }

    /// How many schema ids are kept.
    pub fn cached_schemas(&self) -> usize {
        self.prepared.read().map(|m| m.len()).unwrap_or_default()
    }

    async fn prepared(&self, id: u32) -> Result<Arc<Prepared>, AvroError> {
        if let Some(p) = self.prepared.read().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(p);
        }
        let fetched = match self.registry.get_schema(id).await {
            Ok(s) => s,
            Err(e) => {
                let error = self.classify(id, &e);
                if matches!(error, AvroError::UnknownSchemaId { .. }) {
                    // Not remembered: the id may be registered (or the registry restored) later.
                    self.registry.remove_errors_from_cache();
                }
                tracing::warn!(schema_id = id, registry = %self.url, %error, "Schema fetch failed.");
                return Err(error);
            }
        };
        let prepared = Arc::new(
            Prepared::new(id, &fetched.raw, fetched.parsed.clone()).map_err(|e| match e {
                AvroError::Mapping { .. } => e,
                other => AvroError::Registry {
                    id,
                    url: self.url.clone(),
                    reason: other.to_string(),
                },
            })?,
        );
        tracing::debug!(schema_id = id, registry = %self.url, "Fetched an Avro schema.");
        if let Ok(mut m) = self.prepared.write() {
            m.insert(id, prepared.clone());
        }
        Ok(prepared)
    }

    fn classify(&self, id: u32, e: &SRCError) -> AvroError {
        let url = self.url.clone();
        let reason = match &e.cause {
            Some(c) => format!("{}: {c}", e.error),
            None => e.error.clone(),
        };
        // 502/503 and transport failures are retriable for the client; any 5xx is for us.
        if e.retriable || e.error.contains("failed with status 5") {
            return AvroError::RegistryUnavailable { id, url, reason };
        }
        let code = std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<RawError>())
            .map(|r| r.error_code);
        if code == Some(SCHEMA_NOT_FOUND)
            || e.cause
                .as_deref()
                .is_some_and(|c| c.contains(&SCHEMA_NOT_FOUND.to_string()))
        {
            return AvroError::UnknownSchemaId { id, url };
        }
        AvroError::Registry { id, url, reason }
    }
}

#[cfg(test)]
mod tests;
