//! The Confluent error the registry answers with: HTTP status, `error_code`
//! and `message`, one constructor per refusal.

/// A Confluent error: HTTP status, `error_code` and `message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    /// Confluent's `error_code` (the HTTP status is its first three digits).
    pub code: u32,
    /// Confluent's `message`.
    pub message: String,
}

impl Error {
    pub(super) fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// HTTP status of this error (40401 -> 404, 409 -> 409).
    pub fn status(&self) -> u16 {
        let mut c = self.code;
        while c >= 1000 {
            c /= 10;
        }
        c as u16
    }

    pub(crate) fn subject_not_found(subject: &str) -> Self {
        Self::new(40401, format!("Subject '{subject}' not found."))
    }

    pub(crate) fn version_not_found(version: impl std::fmt::Display) -> Self {
        Self::new(40402, format!("Version {version} not found."))
    }

    pub(crate) fn schema_not_found(id: Option<u32>) -> Self {
        match id {
            Some(id) => Self::new(40403, format!("Schema {id} not found")),
            None => Self::new(40403, "Schema not found"),
        }
    }

    pub(crate) fn subject_soft_deleted(subject: &str) -> Self {
        Self::new(
            40404,
            format!(
                "Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
            ),
        )
    }

    pub(crate) fn subject_not_soft_deleted(subject: &str) -> Self {
        Self::new(
            40405,
            format!("Subject '{subject}' was not deleted first before being permanently deleted"),
        )
    }

    pub(crate) fn version_not_soft_deleted(subject: &str, version: u32) -> Self {
        Self::new(
            40407,
            format!(
                "Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
            ),
        )
    }

    pub(crate) fn subject_config_not_found(subject: &str) -> Self {
        Self::new(
            40408,
            format!("Subject '{subject}' does not have subject-level compatibility configured"),
        )
    }

    pub(crate) fn incompatible(subject: &str, details: &[String]) -> Self {
        Self::new(
            409,
            format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                details.join(", ")
            ),
        )
    }

    pub(crate) fn invalid_schema(detail: impl std::fmt::Display) -> Self {
        Self::new(42201, format!("Invalid schema: {detail}"))
    }

    pub(crate) fn invalid_version(version: &str) -> Self {
        Self::new(
            42202,
            format!(
                "The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
            ),
        )
    }

    pub(crate) fn invalid_compatibility(level: &str) -> Self {
        Self::new(
            42203,
            format!(
                "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive: {level}"
            ),
        )
    }

    pub(crate) fn store(detail: impl std::fmt::Display) -> Self {
        Self::new(50001, format!("Error in the backend data store: {detail}"))
    }
}
