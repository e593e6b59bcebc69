//! testkit: emulators that speak the real protocols of services ddlsync talks to
//! but that cannot be installed on the test machines.
//!
//! # Layout
//! * `starrocks`: a StarRocks FE/BE emulator (MySQL wire protocol for SQL,
//!   HTTP for Stream Load) following `docs/starrocks-facts` behaviour.
//! * `registry`: a Confluent Schema Registry emulator (REST API, Avro
//!   compatibility checks).
//!
//! testkit never ships inside the `ddlsync` binary.

pub mod registry;
pub mod starrocks;
