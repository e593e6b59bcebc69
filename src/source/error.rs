//! Why a line could not be decoded: [`DecodeError`], every variant naming the
//! 1-based line (and the field, where one is wrong).

/// Why a line could not be decoded. Every variant names the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is not JSON (truncated line, stray characters, ...).
    #[error("line {line}: invalid json at column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column of the JSON error within the line.
        column: usize,
        /// The JSON parser's message.
        message: String,
    },
    /// Valid JSON that is not a Debezium message.
    #[error("line {line}: not a Debezium message: {reason}")]
    NotDebezium {
        /// 1-based line.
        line: usize,
        /// What is missing or wrong, naming the field.
        reason: String,
    },
    /// A Debezium message of a kind ddlsync does not read (transaction
    /// metadata, logical-decoding messages, Avro bytes, other connectors).
    #[error("line {line}: unsupported Debezium message: {reason}")]
    Unsupported {
        /// 1-based line.
        line: usize,
        /// What the message is and why it is not read.
        reason: String,
    },
    /// A Debezium message with a field of the wrong shape.
    #[error("line {line}: invalid field `{field}`: {reason}")]
    InvalidField {
        /// 1-based line.
        line: usize,
        /// Dotted path of the field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl DecodeError {
    /// The 1-based line the error applies to.
    pub fn line(&self) -> usize {
        match self {
            DecodeError::Json { line, .. }
            | DecodeError::NotDebezium { line, .. }
            | DecodeError::Unsupported { line, .. }
            | DecodeError::InvalidField { line, .. } => *line,
        }
    }

    /// True for messages that are well-formed Debezium output ddlsync merely
    /// does not read (the CLI may report them as warnings and go on).
    pub fn is_skippable(&self) -> bool {
        matches!(self, DecodeError::Unsupported { .. })
    }

    pub(crate) fn json(line: usize, err: &serde_json::Error) -> Self {
        let text = err.to_string();
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        DecodeError::Json {
            line,
            column: err.column(),
            message,
        }
    }
}
