#!/usr/bin/env bash
# Peak memory of `ddlsync run` while one table is held for a minute under load.
#
# Needs the local stack (`scripts/stack up`); starts nothing else but one
# `ddlsync run` of its own (own store, HTTP port and consumer group). Two
# MariaDB tables get inserts for the whole run; after a warm-up one of them
# gets a DROP COLUMN, which the shipped rules queue, so the loader holds that
# table (Kafka is the buffer) while the other keeps loading. RSS is sampled
# every second; at the end the change is approved and both mirrors must catch
# up. Prints: peak RSS (VmHWM), RSS before / during the hold, rows loaded
# meanwhile per table.
#
#   benches/held_rss.sh [HOLD_SECONDS]        (default 60)
#   DDLSYNC=path/to/ddlsync benches/held_rss.sh
set -Eeuo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
HOLD="${1:-60}"
[ -f target/stack/env ] || { echo "skipped: the local stack is not up; run scripts/stack up"; exit 0; }
eval "$(scripts/stack env)"
if [ -z "${DDLSYNC:-}" ]; then
  cargo build --release --locked --quiet --bin ddlsync
  DDLSYNC="${CARGO_TARGET_DIR:-$ROOT/target}/release/ddlsync"
fi

work="$(mktemp -d)"
# Only the processes started here: `kill 0` would signal the caller's whole process group.
stop() { for p in "${AGENT:-}" "${WRITER:-}"; do [ -z "$p" ] || kill "$p" 2>/dev/null || true; done; }
trap 'stop; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT
suffix="$(date +%s)"
a="rss_held_$suffix"; b="rss_free_$suffix"
port=$(( 29000 + RANDOM % 500 ))
sed -e "s|^path = .*|path = \"$work/ddlsync.db\"|" \
    -e "s|^listen = .*|listen = \"127.0.0.1:$port\"|" \
    -e "s|^group_id = .*|group_id = \"rss-$suffix\"|" \
    -e "s|^topics = .*|topics = [\"$STACK_MARIADB_PREFIX.inventory.$a\", \"$STACK_MARIADB_PREFIX.inventory.$b\"]|" \
    "$STACK_DDLSYNC_CONFIG" > "$work/ddlsync.toml"
cat >> "$work/ddlsync.toml" <<EOF

[kafka.properties]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "1000"
EOF

maria() {
  local rest="${STACK_MARIADB_URL#mysql://}" userpass hostport
  userpass="${rest%%@*}"; rest="${rest#*@}"; hostport="${rest%%/*}"
  mariadb --protocol=tcp -h "${hostport%:*}" -P "${hostport#*:}" -u "${userpass%%:*}" \
    -p"${userpass#*:}" inventory -N -e "$1"
}
maria_stdin() {  # SQL from standard input (long statements do not fit in an argument)
  local rest="${STACK_MARIADB_URL#mysql://}" userpass hostport
  userpass="${rest%%@*}"; rest="${rest#*@}"; hostport="${rest%%/*}"
  mariadb --protocol=tcp -h "${hostport%:*}" -P "${hostport#*:}" -u "${userpass%%:*}" \
    -p"${userpass#*:}" inventory
}
starrocks() {
  mariadb --protocol=tcp -h "${STACK_STARROCKS%:*}" -P "${STACK_STARROCKS#*:}" -u root -N -e "$1" 2>/dev/null
}
rss() { awk '/^VmRSS/ {print $2}' "/proc/$AGENT/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$AGENT/status"; }
count() { starrocks "SELECT COUNT(*) FROM inventory.$1" || echo 0; }

for t in "$a" "$b"; do
  maria "CREATE TABLE $t (id BIGINT PRIMARY KEY, note VARCHAR(200), payload VARCHAR(1000))"
done
"$DDLSYNC" run --config "$work/ddlsync.toml" > "$work/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.5; done

# The writer: 200-row INSERTs into both tables, as fast as MariaDB takes them.
(
  i=0
  pad=$(printf 'x%.0s' $(seq 1 900))
  while true; do
    for t in "$a" "$b"; do
      values=""
      for k in $(seq 1 200); do values+="($((i * 200 + k)), '$pad'),"; done
      echo "INSERT INTO $t (id, payload) VALUES ${values%,}" | maria_stdin > /dev/null 2>&1 \
        || echo "insert into $t failed" >&2
    done
    i=$((i + 1))
  done
) &
WRITER=$!

sleep 15
echo "warm-up: rss $(( $(rss) / 1024 )) MiB; mirrors $a=$(count "$a") $b=$(count "$b")"
before=$(rss)
maria "ALTER TABLE $a DROP COLUMN note"
for _ in $(seq 1 60); do
  "$DDLSYNC" pending --config "$work/ddlsync.toml" | grep -q "$a/drop_column/note" && break
  sleep 0.5
done
a0=$(count "$a"); b0=$(count "$b"); peak=0
for s in $(seq 1 "$HOLD"); do
  r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
  sleep 1
done
a1=$(count "$a"); b1=$(count "$b")
kill "$WRITER"; wait "$WRITER" 2>/dev/null || true; WRITER=""
echo "hold of ${HOLD}s: rss before $(( before / 1024 )) MiB, peak during $(( peak / 1024 )) MiB, VmHWM $(( $(hwm) / 1024 )) MiB"
echo "rows loaded during the hold: held $a +$((a1 - a0)), free $b +$((b1 - b0))"
echo "source rows: $a $(maria "SELECT COUNT(*) FROM $a"), $b $(maria "SELECT COUNT(*) FROM $b")"
want_a=$(maria "SELECT COUNT(*) FROM $a"); want_b=$(maria "SELECT COUNT(*) FROM $b")
# Debezium runs behind a writer this fast: wait until the free table has all its rows (Debezium
# has then written the held table's too: the writer alternates), so that the catch-up below
# times the loader alone.
drained=$(date +%s)
until [ "$(count "$b")" = "$want_b" ]; do
  [ $(( $(date +%s) - drained )) -lt 300 ] || { echo "free table did not catch up (log kept: $work/agent.log)"; KEEP=1; exit 1; }
  sleep 1
done
backlog=$(( want_a - $(count "$a") ))
echo "Debezium and the free table drained $(( $(date +%s) - drained )) s after the writer stopped; held backlog $backlog rows"
"$DDLSYNC" approve "inventory.$a/drop_column/note" --by bench --config "$work/ddlsync.toml" > /dev/null
# The loader's lag (records between its committed offset and the high watermark) tells a
# loader that is behind from a Debezium that has not yet written the rows.
lag() {
  curl -sf "http://127.0.0.1:$port/metrics" | awk -v t="$1" \
    '$1 ~ /^ddlsync_loader_lag_records/ && index($1, t) { s += $2 } END { print s + 0 }'
}
start=$(date +%s)
while true; do
  ca=$(count "$a"); cb=$(count "$b")
  [ "$ca" != "$want_a" ] || [ "$cb" != "$want_b" ] || break
  t=$(( $(date +%s) - start ))
  [ "$t" -lt 300 ] || { echo "did not catch up: $a $ca/$want_a, $b $cb/$want_b (log kept: $work/agent.log)"; KEEP=1; exit 1; }
  echo "  +${t}s: held $ca/$want_a (loader lag $(lag "$a")), free $cb/$want_b (loader lag $(lag "$b"))"
  sleep 1
done
took=$(( $(date +%s) - start ))
echo "after approval both mirrors equal their sources in $took s ($(( backlog / (took > 0 ? took : 1) )) rows/s for the held backlog, approval and ALTER included)"
echo "final: $a $want_a rows, $b $want_b rows; VmHWM $(( $(hwm) / 1024 )) MiB"
