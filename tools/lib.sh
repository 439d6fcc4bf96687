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

# free_port_range N: prints a port P such that P..P+N-1 are all free.
free_port_range() {
  python3 - "$1" <<'EOP'
import socket, sys
n = int(sys.argv[1])
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p + n - 1 < 65536 and all(free(p + i) for i in range(n)):
        print(p); break
EOP
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
  if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    # Already running (an earlier session's cluster in this state folder): reuse it as it is.
    port=$(sed -n 4p "$dir/postmaster.pid")
    PG_REUSED=1
  else
    # A stale postmaster.pid from a killed run would block the start.
    rm -f "$dir/postmaster.pid"
    if ! runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400" start >/dev/null; then
      log "PostgreSQL did not start; its log says:"; tail -5 "$dir/server.log" >&2
      return 1
    fi
    PG_REUSED=0
  fi
  # Local clients connect through the Unix-domain socket in $dir: on one machine it costs less
  # CPU per round trip than loopback TCP (17–18 µs against 24 µs, docs/benchmarks.md). TCP on
  # 127.0.0.1:$port stays open for tools that want it (PG_TCP_URL). The path is URL-encoded.
  local host; host=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$dir")
  export DATABASE_URL="postgresql://app@$host:$port/postgres"
  export PG_TCP_URL="postgresql://app@127.0.0.1:$port/postgres"
  PG_PORT=$port
}

pg_stop() {
  local dir="$STATE_DIR/pg"
  [ -f "$dir/postmaster.pid" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------------------------
# The stack: PostgreSQL, the Kafka dev broker, the test PKI's OCSP/CRL servers, the provider
# simulators and the six services.
# Every process started here is recorded in $STATE_DIR/pids and stopped by stack_stop.

SERVICES=(registration auth otp idv_gateway sigverify accounts)
declare -A DEFAULT_PORT=([registration]=50051 [auth]=50052 [otp]=50053 [idv_gateway]=50054
                         [sigverify]=50055 [accounts]=50056)

record_pid() { echo "$1 $2" >> "$STATE_DIR/pids"; }

# wait_for_line FILE REGEX TIMEOUT_S: waits until a line matching REGEX appears in FILE.
wait_for_line() {
  local file=$1 re=$2 t=${3:-30} i=0
  while [ $i -lt $((t * 10)) ]; do
    grep -qE "$re" "$file" 2>/dev/null && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}

wait_for_http() {
  local url=$1 t=${2:-30} i=0
  while [ $i -lt $((t * 10)) ]; do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}

# stack_start MODE: MODE=dev uses the documented default ports; MODE=test picks free ports.
# Writes $STATE_DIR/stack.env with every address (sourced by tests and tools/bench).
stack_start() {
  local mode=$1
  mkdir -p "$STATE_DIR/logs"; : > "$STATE_DIR/pids"
  local envf="$STATE_DIR/stack.env"; : > "$envf"

  if [ -z "${DATABASE_URL:-}" ]; then
    if [ "$mode" = dev ]; then pg_start 55432 || return 1; else pg_start || return 1; fi
    log "PostgreSQL          $DATABASE_URL  (TCP: $PG_TCP_URL; data: $STATE_DIR/pg)"
    [ "$PG_REUSED" = 0 ] && echo "STACK_OWNS_PG=1" >> "$envf"
  else
    log "PostgreSQL          $DATABASE_URL  (given)"
  fi
  echo "DATABASE_URL=$DATABASE_URL" >> "$envf"

  if [ -z "${KAFKA_BROKERS:-}" ]; then
    local kctl; kctl=$(free_port)
    "$ROOT/bazel-bin/tools/kafka_mock/kafka_mock" --control_port="$kctl" \
      --topics=dvc.accounts.v1:3 > "$STATE_DIR/logs/kafka_mock.out" 2> "$STATE_DIR/logs/kafka_mock.log" &
    record_pid $! kafka_mock
    wait_for_line "$STATE_DIR/logs/kafka_mock.out" '^KAFKA_BROKERS=' 20 || { log "Kafka dev broker did not start"; return 1; }
    KAFKA_BROKERS=$(grep -m1 '^KAFKA_BROKERS=' "$STATE_DIR/logs/kafka_mock.out" | cut -d= -f2)
    echo "KAFKA_CONTROL_URL=http://127.0.0.1:$kctl" >> "$envf"
    log "Kafka dev broker    $KAFKA_BROKERS  (control http://127.0.0.1:$kctl)"
  else
    log "Kafka               $KAFKA_BROKERS  (given)"
  fi
  export KAFKA_BROKERS
  echo "KAFKA_BROKERS=$KAFKA_BROKERS" >> "$envf"

  # The real interpreter (not a pyenv shim), so that $! is the process that holds the ports.
  local py; py=$(python3 -c 'import sys; print(sys.executable)')

  # The test PKI (tools/pki, docs/simulators.md "Test PKI"): CAs, certificates, SoftHSM2 tokens,
  # regenerated on every start; its OCSP responders and CRL server run until stack_stop.
  PKI_DIR="$STATE_DIR/pki"
  local ocsp_base=18090 crl_port=18089
  [ "$mode" = test ] && { ocsp_base=$(free_port_range 3); crl_port=$(free_port); }
  if ! "$ROOT/tools/pki/gen" --out "$PKI_DIR" --ocsp_port_base "$ocsp_base" --crl_port "$crl_port" \
      > "$STATE_DIR/logs/pki_gen.log" 2>&1; then
    log "test PKI generation failed:"; tail -20 "$STATE_DIR/logs/pki_gen.log" >&2; return 1
  fi
  "$py" "$ROOT/tools/pki/serve" "$PKI_DIR" > "$STATE_DIR/logs/pki.out" 2> "$STATE_DIR/logs/pki.log" &
  record_pid $! pki
  if ! wait_for_line "$STATE_DIR/logs/pki.out" '^PKI_OCSP_READY=1' 30; then
    log "test PKI OCSP/CRL servers did not start:"; tail -5 "$STATE_DIR/logs/pki.log" >&2; return 1
  fi
  export PKI_DIR SOFTHSM2_CONF="$PKI_DIR/softhsm2.conf"
  { echo "PKI_DIR=$PKI_DIR"; echo "PKI_MANIFEST=$PKI_DIR/manifest.json"; echo "SOFTHSM2_CONF=$SOFTHSM2_CONF"; } >> "$envf"
  log "Test PKI            $PKI_DIR/manifest.json  (SoftHSM2: SOFTHSM2_CONF=$SOFTHSM2_CONF)"
  log "OCSP responders    $(sed -n 's/^PKI_OCSP \([^ ]*\) \(.*\)$/ \1 \2/p' "$STATE_DIR/logs/pki.out" | tr -d '\n')"
  log "CRLs                $(grep -m1 '^PKI_CRL_URL=' "$STATE_DIR/logs/pki.out" | cut -d= -f2-)/<ca>.crl"

  local simports="--telco_port=18081 --population_port=18082 --sms_port=18083 --mssp_port=18084 --smartca_port=18085"
  [ "$mode" = test ] && simports="--telco_port=0 --population_port=0 --sms_port=0 --mssp_port=0 --smartca_port=0"
  "$py" "$ROOT/tools/sim/simulators.py" $simports --pki_manifest="$PKI_DIR/manifest.json" \
    > "$STATE_DIR/logs/sim.out" 2> "$STATE_DIR/logs/sim.log" &
  record_pid $! simulators
  wait_for_line "$STATE_DIR/logs/sim.out" '^SIM_READY=1' 20 || {
    log "simulators did not start:"; tail -5 "$STATE_DIR/logs/sim.log" >&2; return 1; }
  grep '^SIM_' "$STATE_DIR/logs/sim.out" >> "$envf"
  # shellcheck disable=SC1090
  source <(grep '^SIM_' "$STATE_DIR/logs/sim.out")
  log "Telco simulator     $SIM_TELCO_URL"
  log "Population sim      $SIM_POPULATION_URL"
  log "SMS sink            $SIM_SMS_URL   (last OTP: $SIM_SMS_URL/v1/otp/last?to=PHONE)"
  log "MSSP (SIM sign.)    ${SIM_MSSP_URL:-?}"
  log "VNPT SmartCA sim    ${SIM_SMARTCA_URL:-?}"

  declare -A port
  for s in "${SERVICES[@]}"; do
    if [ "$mode" = dev ]; then port[$s]=${DEFAULT_PORT[$s]}; else port[$s]=$(free_port); fi
    psql -q "$DATABASE_URL" -tc "SELECT 1 FROM pg_database WHERE datname='dvc_$s'" | grep -q 1 \
      || psql -q "$DATABASE_URL" -c "CREATE DATABASE dvc_$s" >/dev/null
  done
  local dburl_base="${DATABASE_URL%/*}"
  local keys="$STATE_DIR/keys"; mkdir -p "$keys"; chmod 700 "$keys"
  for k in otp_hmac_key captcha_hmac_key pii_key token_hmac_key; do
    [ -s "$keys/$k" ] || head -c 32 /dev/urandom | base64 > "$keys/$k"
  done
  local dev_flags=""
  [ "$mode" = test ] && dev_flags="--dev_expose_captcha=true"
  [ "$mode" = dev ] && dev_flags="--dev_expose_captcha=${DEV_EXPOSE_CAPTCHA:-false}"
  for s in "${SERVICES[@]}"; do
    local bin="$ROOT/bazel-bin/services/$s/$s"
    [ -x "$bin" ] || { log "missing binary $bin"; return 1; }
    local mport=$(( port[$s] + 1000 )); [ "$mode" = test ] && mport=$(free_port)
    local args=(--grpc_port="${port[$s]}" --metrics_port="$mport" --database_url="$dburl_base/dvc_$s")
    case $s in
      accounts) args+=(--kafka_brokers="$KAFKA_BROKERS" --pii_key_file="$keys/pii_key") ;;
      otp) args+=(--sms_url="$SIM_SMS_URL" --otp_hmac_key_file="$keys/otp_hmac_key" --pii_key_file="$keys/pii_key")
           [ "$mode" = test ] && args+=(--otp_ttl=6s --otp_resend_cooldown=3s --sms_timeout=2s --otp_phone_limit=100 --otp_subject_limit=100) ;;
      idv_gateway) args+=(--telco_url="$SIM_TELCO_URL" --population_url="$SIM_POPULATION_URL") ;;
      # The test PKI's trusted roots, and the real public Vietnamese roots when the shared folder
      # is beside the checkout.
      sigverify) local ts="$PKI_DIR/trust" gov="$PKI_DIR/ca/gov-root/ca.pem"
                 if [ -d "$ROOT/../shared/pki/real" ]; then
                   ts="$ROOT/../shared/pki/real,$ts"; gov="$ROOT/../shared/pki/real/gov-rootca-g2.pem,$gov"
                 fi
                 # The simulators' default provider credentials (tools/sim/simulators.py).
                 [ -s "$keys/mssp_ap_password" ] || echo "dvc-ap-secret" > "$keys/mssp_ap_password"
                 [ -s "$keys/smartca_sp_password" ] || echo "dvc-sp-secret" > "$keys/smartca_sp_password"
                 args+=(--trust_store="$ts" --government_anchors="$gov"
                        --mssp_url="$SIM_MSSP_URL/soap" --mssp_ap_id=dvc-ap --mssp_ap_password_file="$keys/mssp_ap_password"
                        --smartca_url="$SIM_SMARTCA_URL" --smartca_sp_id=dvc-sp --smartca_sp_password_file="$keys/smartca_sp_password")
                 [ "$mode" = test ] && args+=(--remote_timeout=20s --trust_store_reload_interval=2s) ;;
      registration) args+=(--accounts_addr="127.0.0.1:${port[accounts]}" --otp_addr="127.0.0.1:${port[otp]}"
                           --idv_addr="127.0.0.1:${port[idv_gateway]}" --captcha_hmac_key_file="$keys/captcha_hmac_key"
                           --pii_key_file="$keys/pii_key" --sigverify_addr="127.0.0.1:${port[sigverify]}"
                           --auth_addr="127.0.0.1:${port[auth]}" $dev_flags)
                    [ "$mode" = test ] && args+=(--flow_ttl=15s) ;;
      auth) args+=(--accounts_addr="127.0.0.1:${port[accounts]}" --otp_addr="127.0.0.1:${port[otp]}"
                   --captcha_hmac_key_file="$keys/captcha_hmac_key" --token_hmac_key_file="$keys/token_hmac_key"
                   --signing_key_dir="$STATE_DIR/signing_keys" --signing_key_autogenerate=true --trusted_proxies=127.0.0.1
                   --kafka_brokers="$KAFKA_BROKERS" --sigverify_addr="127.0.0.1:${port[sigverify]}" $dev_flags) ;;
    esac
    "$bin" "${args[@]}" > "$STATE_DIR/logs/$s.log" 2>&1 &
    record_pid $! "$s"
    local up=$(echo "$s" | tr a-z A-Z)
    echo "${up}_ADDR=127.0.0.1:${port[$s]}" >> "$envf"
    echo "${up}_METRICS_URL=http://127.0.0.1:$mport/metrics" >> "$envf"
  done
  for s in "${SERVICES[@]}"; do
    local up=$(echo "$s" | tr a-z A-Z)
    local murl; murl=$(grep "^${up}_METRICS_URL=" "$envf" | cut -d= -f2-)
    if ! wait_for_http "${murl%/metrics}/healthz" 60; then
      log "$s did not become healthy; last log lines:"; tail -20 "$STATE_DIR/logs/$s.log" >&2; return 1
    fi
    log "$(printf '%-19s' "$s") grpc $(grep "^${up}_ADDR=" "$envf" | cut -d= -f2)   metrics $murl"
  done
}

stack_stop() {
  if [ -f "$STATE_DIR/pids" ]; then
    # Reverse order: services first, then simulators, the PKI servers and the broker.
    tac "$STATE_DIR/pids" | while read -r pid name; do
      kill -TERM "$pid" 2>/dev/null || true
    done
    for _ in $(seq 1 100); do
      local alive=0
      while read -r pid name; do kill -0 "$pid" 2>/dev/null && alive=1; done < "$STATE_DIR/pids"
      [ $alive -eq 0 ] && break; sleep 0.1
    done
    while read -r pid name; do kill -KILL "$pid" 2>/dev/null || true; done < "$STATE_DIR/pids"
    rm -f "$STATE_DIR/pids"
  fi
  if grep -q '^STACK_OWNS_PG=1' "$STATE_DIR/stack.env" 2>/dev/null; then pg_stop; fi
}
