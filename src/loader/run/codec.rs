//! The value format seam: a data record's bytes → the JSON text of a
//! Debezium envelope that [`crate::loader::convert::Decoder`] reads.
//!
//! JSON (Kafka Connect JsonConverter, with or without inline schemas) is the
//! bytes as UTF-8. Confluent Avro (magic byte + schema id) goes through
//! [`AvroDecoder`] (the Schema Registry of `[registry]`), which yields the same
//! envelope JSON with an inline Connect schema, so the decoder gets the row
//! schema and its fingerprint; keys likewise. A registry that cannot be
//! reached is [`DecodeError::Retry`] (the runtime holds the partition and
//! reads the record again after a backoff); anything else is
//! [`DecodeError::Bad`] (the record is quarantined).

use std::borrow::Cow;
use std::sync::Arc;

use crate::config::{DataFormat, RegistryConfig};
use crate::loader::avro::{AvroDecoder, AvroError};

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Try again later (the schema registry is unavailable).
    #[error("{0}")]
    Retry(String),
    /// The record will never decode: quarantine it.
    #[error("{0}")]
    Bad(String),
}

impl From<AvroError> for DecodeError {
    fn from(e: AvroError) -> DecodeError {
        if e.is_retriable() {
            DecodeError::Retry(e.to_string())
        } else {
            DecodeError::Bad(e.to_string())
        }
    }
}

/// Decodes records of one format (cheap to clone).
#[derive(Debug, Clone)]
pub struct Codec {
    format: DataFormat,
    avro: Option<Arc<AvroDecoder>>,
}

impl Codec {
    /// The codec of `format` (Avro needs the registry); `Err` names why it cannot run.
    pub fn new(format: DataFormat, registry: Option<&RegistryConfig>) -> Result<Codec, String> {
        match format {
            DataFormat::Json => Ok(Codec { format, avro: None }),
            DataFormat::Avro => {
                let reg = registry.ok_or_else(|| {
                    "loader.format = \"avro\" needs the [registry] section (Schema Registry URL)"
                        .to_string()
                })?;
                let avro = AvroDecoder::new(reg).map_err(|e| format!("loader avro: {e}"))?;
                Ok(Codec {
                    format,
                    avro: Some(Arc::new(avro)),
                })
            }
        }
    }

    /// The envelope JSON text of one record value.
    pub async fn decode_value<'a>(&self, bytes: &'a [u8]) -> Result<Cow<'a, str>, DecodeError> {
        match (&self.avro, self.format) {
            (Some(avro), DataFormat::Avro) => {
                Ok(Cow::Owned(avro.to_connect_json_text(bytes).await?))
            }
            _ => std::str::from_utf8(bytes)
                .map(Cow::Borrowed)
                .map_err(|e| DecodeError::Bad(format!("value is not UTF-8 JSON: {e}"))),
        }
    }

    /// The record key as JSON text. A JSON key that is not UTF-8, or an Avro
    /// topic's key that is not Confluent-framed (a plain string key), is
    /// treated as text or absent; a framed Avro key that does not decode is
    /// an error like a value's.
    pub async fn decode_key<'a>(
        &self,
        bytes: Option<&'a [u8]>,
    ) -> Result<Option<Cow<'a, str>>, DecodeError> {
        let Some(b) = bytes else { return Ok(None) };
        let text = || std::str::from_utf8(b).ok().map(Cow::Borrowed);
        match (&self.avro, self.format) {
            (Some(avro), DataFormat::Avro) => match avro.to_connect_json_text(b).await {
                Ok(t) => Ok(Some(Cow::Owned(t))),
                Err(AvroError::Framing { .. }) => Ok(text()),
                Err(e) => Err(match DecodeError::from(e) {
                    DecodeError::Bad(r) => DecodeError::Bad(format!("key: {r}")),
                    retry => retry,
                }),
            },
            _ => Ok(text()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn json_is_utf8_text_and_avro_needs_a_registry() {
        let c = Codec::new(DataFormat::Json, None).unwrap();
        assert_eq!(
            c.decode_value(br#"{"op":"c"}"#).await.unwrap(),
            r#"{"op":"c"}"#
        );
        assert!(matches!(
            c.decode_value(&[0xff, 0xfe]).await,
            Err(DecodeError::Bad(_))
        ));
        assert_eq!(
            c.decode_key(Some(b"{}")).await.unwrap().as_deref(),
            Some("{}")
        );
        assert_eq!(c.decode_key(Some(&[0xff])).await.unwrap(), None);
        assert!(Codec::new(DataFormat::Avro, None).is_err());
    }

    #[tokio::test]
    async fn avro_errors_split_into_retry_and_quarantine() {
        // Nothing listens on port 9: the registry is unavailable.
        let reg = RegistryConfig {
            url: "http://127.0.0.1:9".into(),
            username: None,
            password: None,
            poll_interval_ms: 1000,
        };
        let c = Codec::new(DataFormat::Avro, Some(&reg)).unwrap();
        assert!(matches!(
            c.decode_value(b"{\"op\":\"c\"}").await,
            Err(DecodeError::Bad(_))
        ));
        assert!(matches!(
            c.decode_value(&[0, 0, 0, 0, 7, 2]).await,
            Err(DecodeError::Retry(_))
        ));
        assert_eq!(
            c.decode_key(Some(b"plain")).await.unwrap().as_deref(),
            Some("plain")
        );
        assert!(matches!(
            c.decode_key(Some(&[0, 0, 0, 0, 7, 2])).await,
            Err(DecodeError::Retry(_))
        ));
    }
}
