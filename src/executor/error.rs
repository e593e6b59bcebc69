//! Errors of the executor: StarRocks' own (classified in
//! [`crate::starrocks::error`]) and the executor's (cancelled or lost jobs,
//! timeouts, a shadow that does not hold the table's rows).

use std::time::Duration;

use crate::model::TableId;
use crate::starrocks::{self, JobState};

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// StarRocks refused, or could not be reached within the retry budget.
    #[error(transparent)]
    StarRocks(#[from] starrocks::Error),
    /// The schema-change job ended CANCELLED.
    #[error("table {table}: schema-change job {job_id} was cancelled: {msg}")]
    JobCancelled {
        /// The table.
        table: TableId,
        /// StarRocks' job id.
        job_id: u64,
        /// StarRocks' `Msg`.
        msg: String,
    },
    /// The job did not finish in time (it keeps running in StarRocks).
    #[error("table {table}: schema-change job {job_id} still {state} after {waited:?}")]
    JobTimeout {
        /// The table.
        table: TableId,
        /// StarRocks' job id.
        job_id: u64,
        /// Its last state.
        state: JobState,
        /// How long the executor waited.
        waited: Duration,
    },
    /// The job is no longer listed by `SHOW ALTER TABLE COLUMN`.
    #[error("table {table}: schema-change job {job_id} is no longer listed")]
    JobMissing {
        /// The table.
        table: TableId,
        /// StarRocks' job id.
        job_id: u64,
    },
    /// The shadow table does not hold the rows of the table: not swapped.
    #[error("table {table}: shadow {shadow} has {shadow_rows} rows, the table {table_rows}; not swapped")]
    RowCountMismatch {
        /// The table rebuilt.
        table: TableId,
        /// The shadow table.
        shadow: TableId,
        /// Rows of the table.
        table_rows: u64,
        /// Rows of the shadow.
        shadow_rows: u64,
    },
}
