//! The value format seam: a data record's bytes → the JSON text of a
//! Debezium envelope that [`crate::loader::convert::Decoder`] reads.
//!
//! JSON (Kafka Connect JsonConverter, with or without inline schemas) is the
//! bytes as UTF-8. Confluent Avro (magic byte + schema id, decoded through the
//! Schema Registry) plugs in here: `src/loader/avro.rs` turns the record into
//! the same envelope JSON (with an inline Connect schema, so that the decoder
//! gets the row schema and its fingerprint); until it is wired, a loader
//! configured with `format = "avro"` refuses to start ([`Codec::new`]).

use std::borrow::Cow;

use crate::config::DataFormat;

/// Decodes record values of one format.
#[derive(Debug, Clone)]
pub struct Codec {
    format: DataFormat,
}

impl Codec {
    /// The codec of `format`; `Err` names why it cannot run.
    pub fn new(format: DataFormat) -> Result<Codec, String> {
        match format {
            DataFormat::Json => Ok(Codec { format }),
            DataFormat::Avro => Err(
                "loader.format = \"avro\": the Avro decoder is not wired into the loader yet (loader::run::codec)"
                    .into(),
            ),
        }
    }

    /// The envelope JSON text of one record value; `Err` is the quarantine reason.
    pub fn decode_value<'a>(&mut self, bytes: &'a [u8]) -> Result<Cow<'a, str>, String> {
        match self.format {
            DataFormat::Json => std::str::from_utf8(bytes)
                .map(Cow::Borrowed)
                .map_err(|e| format!("value is not UTF-8 JSON: {e}")),
            DataFormat::Avro => Err("avro values are not supported by this build".into()),
        }
    }

    /// The record key as text (keys are JSON in both formats' Debezium
    /// setups handled here; a non-UTF-8 key is treated as absent).
    pub fn decode_key<'a>(&mut self, bytes: Option<&'a [u8]>) -> Option<&'a str> {
        bytes.and_then(|b| std::str::from_utf8(b).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_utf8_text_and_avro_is_refused() {
        let mut c = Codec::new(DataFormat::Json).unwrap();
        assert_eq!(c.decode_value(br#"{"op":"c"}"#).unwrap(), r#"{"op":"c"}"#);
        assert!(c.decode_value(&[0xff, 0xfe]).is_err());
        assert_eq!(c.decode_key(Some(b"{}")), Some("{}"));
        assert!(Codec::new(DataFormat::Avro).is_err());
    }
}
