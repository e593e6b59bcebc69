//! Benchmark placeholder; filled in with the planner.
fn main() {}
