#!/usr/bin/env bash
# Benchmark of a request crossing nodes (DESIGN.md §7, issue #12): end-to-end POST /in/input req/s
# of the offline quickstart (input -> agent on llm mock -> output), in the same run:
#   memory  one process on the in-memory bus;
#   redis   node A (HTTP, `in`, `out`) and node B (`assistant`, `model`) over Redis Streams;
#   nats    the same two nodes over NATS JetStream.
# Runs alternate between the three (ROUNDS rounds) so load from elsewhere on the machine hits all
# alike. Each request is a one-shot (no session named). Prints req/s, p50/p99 latency, errors and
# the CPU time per request of the woodwork processes of each setup (utime + stime of every node over
# the run, divided by the requests; the broker's own CPU is not included), and each cross-node
# rate as a share of the single-process rate; target: cross-node >= 20 %.
#
#   scripts/bench-cluster.sh                      # 10 s per run, 64 connections, 2 rounds
#   DURATION=5 CONNS=16 ROUNDS=1 scripts/bench-cluster.sh
#   BUSES="redis" scripts/bench-cluster.sh        # only one broker next to the in-memory bus
#   BIN=/tmp/woodwork-actors scripts/bench-cluster.sh   # a given binary (e.g. an older build), no build
#
# Needs Redis on 127.0.0.1:6379 and NATS with JetStream on 127.0.0.1:4222 (REDIS_URL / NATS_URL to
# override; scripts/test.sh starts both), wrk, python3 (removes the run's NATS streams afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10}"
CONNS="${CONNS:-64}"
ROUNDS="${ROUNDS:-2}"
BUSES="${BUSES:-redis nats}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
export RUST_LOG="${RUST_LOG:-info}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
FILE=examples/quickstart/main.ww
NS="bench-cluster-$$"

. scripts/wrk.sh
install_wrk || { echo "error: install wrk (apt-get install wrk) and re-run" >&2; exit 1; }
need python3 || { echo "error: python3 is needed to remove the run's NATS streams: install it" >&2; exit 1; }

host_port() { echo "$1" | sed -E 's#^[a-z]+://##; s#/.*$##'; }
answers() { # host:port -> success when something accepts TCP there
  local hp="$1"
  (exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}") 2>/dev/null
}
for bus in $BUSES; do
  case "$bus" in
    redis) answers "$(host_port "$REDIS_URL")" || { echo "error: no Redis at $REDIS_URL: run scripts/test.sh (it starts it) or \`redis-server --port 6379 &\`" >&2; exit 1; } ;;
    nats) answers "$(host_port "$NATS_URL")" || { echo "error: no NATS at $NATS_URL: run scripts/test.sh (it starts it) or \`nats-server -js -p 4222 &\`" >&2; exit 1; } ;;
    *) echo "error: BUSES lists \`$bus\`: use redis and/or nats" >&2; exit 1 ;;
  esac
done

if [ -n "${BIN:-}" ]; then
  [ -x "$BIN" ] || { echo "error: BIN=$BIN is not an executable" >&2; exit 1; }
else
  echo "building (release)…" >&2
  cargo build --release --locked --bin woodwork-actors >&2
  BIN="$TARGET_DIR/release/woodwork-actors"
fi

WORK="$(mktemp -d)"
PIDS=()

# Removes everything the run's namespaces ($NS-redis, $NS-nats) left on the brokers: Redis keys
# ww:<ns>:*, NATS streams WW_<ns>_* and KV_WW_<ns>_* (JetStream API on a plain NATS connection).
purge() {
  if [[ " $BUSES " == *" redis "* ]] && need redis-cli; then
    redis-cli -u "$REDIS_URL" --scan --pattern "ww:$NS-redis:*" | xargs -r -n 500 redis-cli -u "$REDIS_URL" unlink >/dev/null || true
  fi
  if [[ " $BUSES " == *" nats "* ]]; then
    python3 - "$(host_port "$NATS_URL")" "$NS-nats" <<'PY' || echo "warning: NATS streams of $NS-nats not removed" >&2
import json, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
ns = sys.argv[2]
s = socket.create_connection((host, int(port)), timeout=10)
f = s.makefile("rb")
f.readline()  # INFO
s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":false}\r\nSUB _INBOX.purge 1\r\n')
def request(subject, payload=b""):
    s.sendall(b"PUB %s _INBOX.purge %d\r\n%s\r\n" % (subject.encode(), len(payload), payload))
    while True:
        line = f.readline().strip()
        if line.startswith(b"MSG"):
            size = int(line.split()[-1])
            body = f.read(size + 2)[:size]
            return json.loads(body)
        if line == b"PING":
            s.sendall(b"PONG\r\n")
        elif line.startswith(b"-ERR"):
            raise SystemExit(line.decode())
names, offset = [], 0
while True:
    page = request("$JS.API.STREAM.NAMES", json.dumps({"offset": offset}).encode())
    got = page.get("streams") or []
    names += got
    offset += len(got)
    if not got or offset >= page.get("total", 0):
        break
for name in names:
    if name.startswith(f"WW_{ns}_") or name.startswith(f"KV_WW_{ns}_"):
        request(f"$JS.API.STREAM.DELETE.{name}")
PY
  fi
}

stop_all() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_all
  purge
  rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME ARGS… -> starts a node, waits for its `listening on` line; sets LAST_PID and LAST_URL.
start() {
  local name="$1"; shift
  "$BIN" serve "$FILE" --port 0 --session-ttl 5 "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  for _ in $(seq 1 300); do
    grep -q '^listening on ' "$WORK/$name.out" 2>/dev/null && break
    kill -0 "$LAST_PID" 2>/dev/null || { echo "node $name exited:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  LAST_URL="$(grep -m1 '^listening on ' "$WORK/$name.out" | sed 's/^listening on //')"
  [ -n "$LAST_URL" ] || { echo "node $name did not start" >&2; cat "$WORK/$name.log" >&2; exit 1; }
}

declare -A URL NODES
start memory
URL[memory]="$LAST_URL"; NODES[memory]="$LAST_PID"
for bus in $BUSES; do
  bus_url="$REDIS_URL"; [ "$bus" = nats ] && bus_url="$NATS_URL"
  common=(--bus "$bus_url" --namespace "$NS-$bus")
  start "$bus-a" "${common[@]}" --node a --components in,out
  URL[$bus]="$LAST_URL"; NODES[$bus]="$LAST_PID"
  start "$bus-b" "${common[@]}" --node b --components assistant,model
  NODES[$bus]="${NODES[$bus]} $LAST_PID"
done

cat >"$WORK/input.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"input":"hello"}'
LUA

# Sanity: every setup answers the same text before anything is measured (the cluster ones once
# node B has joined: retried for a while).
for setup in memory $BUSES; do
  ok=""
  for _ in $(seq 1 100); do
    a="$(curl -s --max-time 10 "${URL[$setup]}/in/input" -H 'content-type: application/json' -d '{"input":"hello"}' || true)"
    if [[ "$a" == *'"output":"echo: hello"'* ]]; then ok=1; break; fi
    sleep 0.2
  done
  [ -n "$ok" ] || { echo "error: $setup does not answer: $a" >&2; for f in "$WORK"/*.log; do echo "== $f" >&2; tail -20 "$f" >&2; done; exit 1; }
  echo "$setup: $a" >&2
  wrk -t2 -c"$CONNS" -d2s -s "$WORK/input.lua" "${URL[$setup]}/in/input" >/dev/null
done

to_ms() { awk -v v="$1" 'BEGIN {
  if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
  else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
  else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
  else printf "?" }'; }

# CPU time of the given processes so far, in clock ticks (utime + stime of /proc/PID/stat).
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
TICK="$(getconf CLK_TCK)"

# run SETUP -> "rps p50 p99 errors cpu_us_per_request"
run() {
  local out rps p50 p99 non2xx sock n c0 c1 threads=2
  # shellcheck disable=SC2086 # a list of pids
  local pids=(${NODES[$1]})
  [ "$CONNS" -lt 2 ] && threads=1
  c0="$(cpu_ticks "${pids[@]}")"
  out="$(wrk -t"$threads" -c"$CONNS" -d"${DURATION}s" --latency -s "$WORK/input.lua" "${URL[$1]}/in/input")"
  c1="$(cpu_ticks "${pids[@]}")"
  n="$(echo "$out" | awk '/requests in/ {print $1}')"
  rps="$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')"
  p50="$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")"
  p99="$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")"
  non2xx="$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $NF}')"
  sock="$(echo "$out" | awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}')"
  echo "$rps $p50 $p99 $(( ${non2xx:-0} + ${sock:-0} )) $(awk -v c=$((c1 - c0)) -v t="$TICK" -v n="${n:-0}" \
    'BEGIN { if (n > 0) printf "%.1f", c * 1e6 / t / n; else print 0 }')"
}

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", a * 100 / b; else print "?" }'; }

echo
echo "POST /in/input, quickstart (input -> agent on llm mock -> output), one-shot sessions:"
echo "one process (in-memory bus) vs node A (in, out) + node B (assistant, model) over each broker"
echo "machine: $(nproc) cores ($(uname -m)), load avg $(cut -d' ' -f1-3 /proc/loadavg), ${DURATION}s per run, ${CONNS} conns, wrk, loopback, RUST_LOG=$RUST_LOG"
echo
printf '%5s | %-6s | %9s %8s %8s %5s %11s | %s\n' round setup "req/s" "p50 ms" "p99 ms" errs "cpu us/req" "of memory"
declare -A SUM CPU
ERRORS=0
for setup in memory $BUSES; do SUM[$setup]=0; CPU[$setup]=0; done
for r in $(seq 1 "$ROUNDS"); do
  mem_rps=0
  for setup in memory $BUSES; do
    read -r rps p50 p99 err cpu <<<"$(run "$setup")"
    [ "$setup" = memory ] && mem_rps="$rps"
    SUM[$setup]=$((SUM[$setup] + rps)); ERRORS=$((ERRORS + err))
    CPU[$setup]="$(awk -v a="${CPU[$setup]}" -v b="$cpu" 'BEGIN { print a + b }')"
    printf '%5s | %-6s | %9s %8s %8s %5s %11s | %s\n' "$r" "$setup" "$rps" "$p50" "$p99" "$err" "$cpu" "$(pct "$rps" "$mem_rps")"
  done
done
echo
mem_avg=$((SUM[memory] / ROUNDS))
echo "all rounds: memory $mem_avg req/s, $(awk -v a="${CPU[memory]}" -v r="$ROUNDS" 'BEGIN { printf "%.1f", a / r }') us CPU/req"
for bus in $BUSES; do
  avg=$((SUM[$bus] / ROUNDS))
  echo "            $bus $avg req/s = $(pct "$avg" "$mem_avg") of memory (target >= 20%)," \
    "$(awk -v a="${CPU[$bus]}" -v r="$ROUNDS" 'BEGIN { printf "%.1f", a / r }') us CPU/req (both nodes, broker not counted)"
done
echo "non-2xx + socket errors: $ERRORS"
[ "$ERRORS" -eq 0 ] || { echo "FAIL: errors under load" >&2; exit 1; }
