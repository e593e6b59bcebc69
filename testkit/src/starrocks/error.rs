//! Errors answered to clients: StarRocks' MySQL errno plus its message text.

/// MySQL errno StarRocks uses for analysis and DDL errors.
pub const ER_PARSE: u16 = 1064;
/// `Duplicate column name '<c>'`.
pub const ER_DUP_FIELDNAME: u16 = 1060;
/// `Unknown database '<db>'`.
pub const ER_BAD_DB: u16 = 1049;
/// `Table '<t>' already exists`.
pub const ER_TABLE_EXISTS: u16 = 1050;
/// `Can't create database '<db>'; database exists`.
pub const ER_DB_CREATE_EXISTS: u16 = 1007;
/// `Can't drop database '<db>'; database doesn't exist`.
pub const ER_DB_DROP_EXISTS: u16 = 1008;
/// `Unknown table '<t>'`.
pub const ER_BAD_TABLE: u16 = 1051;
/// Access denied.
pub const ER_ACCESS_DENIED: u16 = 1045;
/// No database selected.
pub const ER_NO_DB: u16 = 1046;

/// An error as a StarRocks FE would answer it on the MySQL protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("({code}) {message}")]
pub struct SrError {
    /// MySQL errno.
    pub code: u16,
    /// Message text, verbatim.
    pub message: String,
}

impl SrError {
    /// An errno-1064 error with the given text.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            code: ER_PARSE,
            message: message.into(),
        }
    }

    /// An error with an explicit errno.
    pub fn with_code(code: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `Getting analyzing error. Detail message: <detail>.` as StarRocks' analyzer answers.
    pub fn analyze(detail: impl std::fmt::Display) -> Self {
        Self::new(format!(
            "Getting analyzing error. Detail message: {detail}."
        ))
    }

    /// The error for SQL the emulator does not understand.
    pub fn unsupported(what: impl std::fmt::Display) -> Self {
        Self::new(format!(
            "testkit StarRocks emulator: unsupported SQL: {what}"
        ))
    }

    /// `Unknown database '<db>'`.
    pub fn unknown_db(db: &str) -> Self {
        Self::with_code(ER_BAD_DB, format!("Unknown database '{db}'"))
    }

    /// `Unknown table '<db>.<t>'`, errno 1051... StarRocks answers analysis errors with 1064.
    pub fn unknown_table(db: &str, table: &str) -> Self {
        Self::analyze(format!("Table '{db}.{table}' does not exist"))
    }
}

/// Result alias of the emulator.
pub type Result<T, E = SrError> = std::result::Result<T, E>;
