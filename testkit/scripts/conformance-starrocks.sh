#!/usr/bin/env bash
# Conformance session: the `mariadb` command-line client runs a StarRocks SQL session
# against `testkit starrocks` (create, alter, wait for the job, show create, insert,
# select, Stream Load, MV inactive -> active). Skips when `mariadb` is not installed.
#
# Usage: testkit/scripts/conformance-starrocks.sh [path/to/testkit-binary]
set -euo pipefail

if ! command -v mariadb >/dev/null 2>&1; then
    echo "conformance-starrocks: SKIPPED (the mariadb client is not installed; apt-get install -y mariadb-client)"
    exit 0
fi

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-}"
if [[ -z "$bin" ]]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
    cargo build -q -p testkit --manifest-path "$root/Cargo.toml"
    bin="$CARGO_TARGET_DIR/debug/testkit"
fi

work="$(mktemp -d)"
out="$work/ready"
"$bin" starrocks --query-port 0 --http-port 0 --be-http-port 0 --job-ms 300 >"$out" 2>"$work/log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
    grep -q "ready" "$out" 2>/dev/null && break
    sleep 0.1
done
line="$(cat "$out")"
qport="$(sed -E 's/.*query=[^:]+:([0-9]+).*/\1/' <<<"$line")"
hport="$(sed -E 's/.*http=[^:]+:([0-9]+).*/\1/' <<<"$line")"
echo "conformance-starrocks: $line"

passed=0
failed=0
sql() { mariadb --skip-ssl -h127.0.0.1 -P"$qport" -uroot --batch --skip-column-names "$@"; }
check() { # name expected actual
    if [[ "$2" == "$3" ]]; then
        passed=$((passed + 1)); echo "ok   $1"
    else
        failed=$((failed + 1)); echo "FAIL $1: expected [$2] got [$3]"
    fi
}
wait_job() { # table
    for _ in $(seq 1 300); do
        st="$(sql -e "USE demo; SHOW ALTER TABLE COLUMN WHERE TableName = \"$1\" ORDER BY CreateTime DESC LIMIT 1" | cut -f10)"
        [[ "$st" == "FINISHED" || "$st" == "CANCELLED" ]] && { echo "$st"; return; }
        sleep 0.1
    done
    echo "TIMEOUT"
}

check "version" "3.3.5" "$(sql -e 'SELECT current_version()' | cut -d- -f1)"
sql -e "CREATE DATABASE demo"
sql demo -e "CREATE TABLE orders (id INT NOT NULL, name VARCHAR(20), amount DECIMAL(10,2), payload JSON)
             PRIMARY KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES ('replication_num' = '1')"
sql demo -e "INSERT INTO orders VALUES (1, 'a', 1.50, '{\"st\":\"new\"}'), (2, 'b', 2.25, '{\"st\":\"paid\"}')"
sql demo -e "CREATE MATERIALIZED VIEW paid DISTRIBUTED BY HASH(id) REFRESH ASYNC AS
             SELECT id, get_json_string(payload, '\$.st') AS st FROM orders"
sql demo -e "ALTER TABLE orders ADD COLUMN note VARCHAR(100) DEFAULT ''"
check "add column job" "FINISHED" "$(wait_job orders)"
check "show create has new column" "1" "$(sql demo -e 'SHOW CREATE TABLE orders\G' | grep -c '`note` varchar(100) NULL DEFAULT ""')"
check "busy error" "1" "$(sql demo -e 'ALTER TABLE orders MODIFY COLUMN amount DECIMAL(12,2); ALTER TABLE orders DROP COLUMN note' 2>&1 | grep -c 'A schema change operation is in progress on the table "orders"')"
wait_job orders >/dev/null
check "select" "2	b	2.25" "$(sql demo -e 'SELECT id, name, amount FROM orders WHERE id = 2')"
check "mv still active" "true" "$(sql -e "SELECT IS_ACTIVE FROM information_schema.materialized_views WHERE TABLE_NAME = 'paid'")"
curl -sf --location-trusted -u root: -H 'label: conf1' -H 'format: json' -H 'strip_outer_array: true' -T - \
    "http://127.0.0.1:$hport/api/demo/orders/_stream_load" <<<'[{"id":3,"name":"c","payload":{"st":"new"}}]' >"$work/load.json"
check "stream load" "1" "$(grep -c '"Status": "Success"' "$work/load.json")"
check "count" "3" "$(sql demo -e 'SELECT COUNT(*) FROM orders')"
sql demo -e "ALTER TABLE orders DROP COLUMN payload"
wait_job orders >/dev/null
check "mv inactive" "false	base table schema changed for columns: payload" \
    "$(sql -e "SELECT IS_ACTIVE, INACTIVE_REASON FROM information_schema.materialized_views WHERE TABLE_NAME = 'paid'")"
check "active refused" "1" "$(sql demo -e 'ALTER MATERIALIZED VIEW paid ACTIVE' 2>&1 | grep -c 'Can not active materialized view \[paid\]')"
sql demo -e "ALTER TABLE orders ADD COLUMN payload JSON"
wait_job orders >/dev/null
sql demo -e "ALTER MATERIALIZED VIEW paid ACTIVE"
check "mv active again" "true" "$(sql -e "SELECT IS_ACTIVE FROM information_schema.materialized_views WHERE TABLE_NAME = 'paid'")"
check "unsupported sql" "1" "$(sql -e 'FROB x' 2>&1 | grep -c 'ERROR 1064')"

echo "conformance-starrocks: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
