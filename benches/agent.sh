#!/usr/bin/env bash
# Agent benchmarks against the local stack (issue 5): DDL propagation latency
# (benches/agent_latency.rs) and online `plan --config` for 1,000 tables
# (benches/plan_online.rs). Brings nothing up: checks that the stack is up,
# then runs both and prints their figures. See docs/benchmarks.md.
# Usage: benches/agent.sh [latency|plan]   (default: both)
# Knobs: AGENT_BENCH_* and PLAN_BENCH_* (see the benches' headers).
set -euo pipefail
cd "$(dirname "$0")/.."

env_file="${STACK_DIR:-target/stack}/env"
if [[ ! -f "$env_file" ]]; then
    echo "agent.sh: the local stack is not up (no $env_file); run scripts/stack up" >&2
    exit 1
fi
kafka="$(sed -n 's/^STACK_KAFKA=//p' "$env_file")"
if [[ -z "$kafka" ]] || ! (exec 3<>"/dev/tcp/${kafka%:*}/${kafka##*:}") 2>/dev/null; then
    echo "agent.sh: $env_file names Kafka at '${kafka}', which does not answer; check scripts/stack status" >&2
    exit 1
fi

which="${1:-both}"
case "$which" in
    latency) benches=(agent_latency) ;;
    plan) benches=(plan_online) ;;
    both) benches=(agent_latency plan_online) ;;
    *) echo "usage: benches/agent.sh [latency|plan]" >&2; exit 2 ;;
esac
echo "agent.sh: stack up (Kafka $kafka); load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
for b in "${benches[@]}"; do
    echo "== cargo bench --bench $b"
    cargo bench --bench "$b"
done
