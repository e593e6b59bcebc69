#!/usr/bin/env bash
# Loader throughput against the local stack (see benches/load.rs).
# Usage: benches/load.sh [events]   (default 100000; LOAD_BENCH_RUNS runs, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
export LOAD_BENCH_EVENTS="${1:-100000}"
exec cargo bench --bench load
