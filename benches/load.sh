#!/usr/bin/env bash
# Loader throughput against the local stack (see benches/load.rs).
# Usage: benches/load.sh [events]   (default 50000)
set -euo pipefail
cd "$(dirname "$0")/.."
export LOAD_BENCH_EVENTS="${1:-50000}"
exec cargo bench --bench load
