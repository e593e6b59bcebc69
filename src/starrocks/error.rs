//! The one place where StarRocks failures are classified (starrocks-facts
//! §1.8): connection trouble (retriable), "busy" refusals while another
//! schema-change job runs on the table (retriable with backoff), and every
//! other refusal (fatal, with StarRocks' errno and message verbatim).

use thiserror::Error;

/// Substrings of StarRocks' refusals while the table is being altered
/// (`InvalidOlapTableStateException` and the older Doris-era text).
pub const BUSY_MARKERS: &[&str] = &[
    "schema change operation is in progress",
    "is being altered",
    "rollup index is being created",
    "is not normal",
];

/// What went wrong talking to StarRocks.
#[derive(Debug, Error)]
pub enum Error {
    /// The connection could not be made or broke (retriable).
    #[error("starrocks at {addr}: connection failed: {source}")]
    Connection {
        /// `host:port` of the FE query port.
        addr: String,
        /// The driver's error.
        #[source]
        source: Box<mysql_async::Error>,
    },
    /// StarRocks refused because the table is busy with another operation
    /// (retriable with backoff).
    #[error("starrocks refused `{statement}` while the table is busy (errno {code}): {message}")]
    Busy {
        /// MySQL errno (typically 1064).
        code: u16,
        /// StarRocks' message, verbatim.
        message: String,
        /// The statement or query refused.
        statement: String,
    },
    /// StarRocks refused the statement (fatal).
    #[error("starrocks refused `{statement}` (errno {code}): {message}")]
    Refused {
        /// MySQL errno.
        code: u16,
        /// StarRocks' message, verbatim.
        message: String,
        /// The statement or query refused.
        statement: String,
    },
    /// The configuration cannot be used (bad address, bad version override).
    #[error("starrocks configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// StarRocks answered something ddlsync cannot read.
    #[error("unexpected answer to `{query}`: {message}")]
    Unexpected {
        /// The query.
        query: String,
        /// What was wrong with the answer.
        message: String,
    },
}

/// Result alias of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether retrying (after a pause) may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(self, Error::Connection { .. } | Error::Busy { .. })
    }

    /// Whether StarRocks refused because the table is busy.
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::Busy { .. })
    }

    /// StarRocks' errno, when StarRocks answered with an error.
    pub fn code(&self) -> Option<u16> {
        match self {
            Error::Busy { code, .. } | Error::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Classifies a driver error for `statement` sent to `addr`.
    pub fn classify(source: mysql_async::Error, addr: &str, statement: &str) -> Self {
        match source {
            mysql_async::Error::Server(e) => classify_refusal(e.code, e.message, statement),
            mysql_async::Error::Url(e) => Error::Config {
                message: format!("{addr}: {e}"),
            },
            other => Error::Connection {
                addr: addr.to_string(),
                source: Box::new(other),
            },
        }
    }
}

/// Whether a refusal message says the table is busy (see [`BUSY_MARKERS`]).
pub fn is_busy_message(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    BUSY_MARKERS.iter().any(|m| lower.contains(m))
}

/// A StarRocks error packet as [`Error::Busy`] or [`Error::Refused`].
pub fn classify_refusal(code: u16, message: String, statement: &str) -> Error {
    if is_busy_message(&message) {
        Error::Busy {
            code,
            message,
            statement: statement.to_string(),
        }
    } else {
        Error::Refused {
            code,
            message,
            statement: statement.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_refusals_are_retriable() {
        for msg in [
            "A schema change operation is in progress on the table \"t\". Please wait until the current operation completes.",
            "The table \"t\" is being altered or having a materialized view built on it.",
            "A materialized view or rollup index is being created on the table \"t\".",
            "Table[t]'s state is not NORMAL. Do not allow doing ALTER ops",
            "Table[t]'s state(SCHEMA_CHANGE) is not NORMAL. Do not allow doing ALTER ops",
        ] {
            let e = classify_refusal(1064, msg.into(), "ALTER TABLE t ADD COLUMN c INT");
            assert!(e.is_busy(), "{msg}");
            assert!(e.is_retriable(), "{msg}");
            assert_eq!(e.code(), Some(1064));
        }
    }

    #[test]
    fn other_refusals_are_fatal_and_keep_the_message() {
        let e = classify_refusal(1064, "Can not change BIGINT to INT".into(), "ALTER ...");
        assert!(!e.is_retriable());
        assert!(e.to_string().contains("Can not change BIGINT to INT"));
        assert!(e.to_string().contains("errno 1064"));
    }

    #[test]
    fn driver_errors_are_connection_errors() {
        let e = Error::classify(
            mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed),
            "127.0.0.1:9030",
            "SELECT 1",
        );
        assert!(e.is_retriable());
        assert!(!e.is_busy());
        let e = Error::classify(
            mysql_async::Error::Server(mysql_async::ServerError {
                code: 1060,
                message: "Duplicate column name 'v2'".into(),
                state: "42S21".into(),
            }),
            "a:1",
            "ALTER ...",
        );
        assert_eq!(e.code(), Some(1060));
        assert!(!e.is_retriable());
    }
}
