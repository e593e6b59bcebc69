//! The `ddlsync` binary.
fn main() {}
