//! End-to-end tests on the local stack (`scripts/stack up`): DDL and DML on the
//! real sources, Debezium in Kafka Connect, and assertions on what arrives in
//! Kafka (read with `ddlsync::kafka`) and in the registry emulator.
//!
//! Without a running stack every test is skipped with a message on stderr
//! (set `STACK_REQUIRED=1` to make that a failure, as `.ci/run` does). With a
//! stack, nothing is skipped. Each test uses its own tables, so the tests are
//! independent and can be re-run against a stack that stays up.

mod e2e {
    // Finding the stack, clients for the sources, reading topics.
    pub mod stack;

    // PostgreSQL: data events carry the new inline schema after each ALTER.
    mod postgres;

    // MariaDB: schema-change events with `ddl` and `tableChanges`.
    mod mariadb;

    // The Avro setup: new subject versions in the registry after an ALTER.
    mod avro;

    // `ddlsync plan --config`: topics and the StarRocks emulator read online.
    mod plan;

    // `ddlsync run`: the agent applies, queues, rebuilds, survives kill -9.
    mod agent;

    // `ddlsync run`: views, bad input, SIGTERM, dry run.
    mod agent_more;

    // The loader in `ddlsync run`: workloads, holds, kill -9, StarRocks faults, quarantine.
    mod workload;
}
