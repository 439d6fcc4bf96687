# Shared shell helpers for tools/dev, tools/test and tools/bench. Source it; do not run it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${DVC_STATE_DIR:-/tmp/dvc-identity-$(echo "$ROOT" | md5sum | cut -c1-8)}"
PG_BIN=/usr/lib/postgresql/15/bin

log() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0")" "$*" >&2; }

# Bazel 4 refuses relative --override_repository paths, so the two in-tree stand-ins are given
# absolute paths here, in a git-ignored file that .bazelrc imports.
write_bazelrc_paths() {
  cat > "$ROOT/.bazelrc.paths" <<EOP
common --override_repository=rules_cc=$ROOT/third_party/rules_cc
common --override_repository=remote_coverage_tools=$ROOT/third_party/coverage_tools
EOP
}

ensure_deps() {
  "$ROOT/tools/bootstrap"
  write_bazelrc_paths
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts a private PostgreSQL cluster owned by the postgres user (PostgreSQL refuses root) under
# STATE_DIR/pg. Exports DATABASE_URL (a maintenance URL; each service creates its own database).
pg_start() {
  local port="${1:-$(free_port)}"
  local dir="$STATE_DIR/pg"
  mkdir -p "$STATE_DIR"; chmod 755 "$STATE_DIR"
  if [ ! -f "$dir/PG_VERSION" ]; then
    rm -rf "$dir"; mkdir -p "$dir"; chown postgres:postgres "$dir"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$dir" -A trust -U app -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  # A stale postmaster.pid from a killed run would block the start.
  if [ -f "$dir/postmaster.pid" ] && ! runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    rm -f "$dir/postmaster.pid"
  fi
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off" start >/dev/null
  export DATABASE_URL="postgresql://app@127.0.0.1:$port/postgres"
  PG_PORT=$port
}

pg_stop() {
  local dir="$STATE_DIR/pg"
  [ -f "$dir/postmaster.pid" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}
