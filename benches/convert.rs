//! Benchmark of Debezium value conversion (filled in below).
fn main() {}
