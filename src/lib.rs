//! ddlsync keeps StarRocks in step with the operational databases that feed it
//! through Debezium and Kafka.
//!
//! # Layout
//! * `model`: the source model — tables, columns with their native types, and
//!   the versioned history with column identity through renames (pure).
//! * `source`: decoding of Debezium messages (schema-change topic values,
//!   data-change values with inline schemas, `kcat -J` lines) and analysis of
//!   the `ddl` statements they carry (pure).
//! * `types`: StarRocks types, the one source → StarRocks mapping table and the
//!   type-conversion matrix (pure).
//! * `catalog`: the target model and the parsers of StarRocks `SHOW CREATE`
//!   output, including which base columns each materialized view reads (pure).
//! * `diff`: typed changes between a source table and its target (pure).
//! * `policy`: rule files and the decision (apply, queue, ignore, halt) for each
//!   change (pure).
//! * `plan`: ordered steps that respect StarRocks' ALTER rules, per target
//!   capabilities (pure).
//! * `capabilities`: what each StarRocks version can do, as methods (pure).
//! * `ddl`: the StarRocks statement AST, identifier quoting and SQL rendering (pure).
//! * `pipeline`: the one planning path (histories + catalog + rules + config →
//!   plan) shared by `ddlsync plan` and the agent (pure).
//! * `config`: the configuration file, validated at start-up.
//! * `watch`: reads the schema-change topics from the beginning to rebuild the
//!   source history (rdkafka; bad records are reported and skipped).
//! * `kafka`: ddlsync's Kafka client code (rdkafka).
//! * `loader`: the data path — Debezium value conversion and batching (pure),
//!   Stream Load labels, retry classification and the Stream Load client.
//! * `store`: the embedded SQLite store — source history seen, plans, decisions,
//!   approvals and rejections, applied steps, audit log — with its own schema
//!   versioning.
//! * `metrics`: the Prometheus metric set, recorded through typed methods.
//! * `http`: the agent's HTTP server — health, readiness, metrics, the approval
//!   API and page.
//! * `starrocks`: the StarRocks edge — mysql_async client, introspection
//!   (`information_schema` into a `catalog::Catalog`), schema-change jobs and
//!   the classification of StarRocks errors.
//! * `gate`: the per-table gate where the agent and the loader meet.
//! * `executor`: runs a table's plan steps against StarRocks, idempotently
//!   (re-reads the target before each step, awaits running jobs).
//!
//! * `agent`: the schema agent behind `ddlsync run` (follow, plan, record,
//!   apply, gates).
//!
//! The core (`model`, `source`, `types`, `catalog`, `diff`, `policy`, `plan`,
//! `ddl`) does no I/O and reads no clock; files, services and the terminal are
//! handled by the binary's `cli` module.

pub mod agent;
pub mod capabilities;
pub mod catalog;
pub mod config;
pub mod ddl;
pub mod diff;
pub mod executor;
pub mod gate;
pub mod http;
pub mod kafka;
pub mod loader;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod source;
pub mod starrocks;
pub mod store;
pub mod types;
pub mod watch;
