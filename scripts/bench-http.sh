#!/usr/bin/env bash
# HTTP benchmark of `woodwork-actors serve` (DESIGN.md §6): POST /in/input through the offline
# quickstart pipeline (input -> agent on llm mock -> output), side by side in the same run with a
# bare actix-web JSON route (examples/bench_bare.rs) on the same machine. Prints requests/s,
# p50/p99 latency and non-2xx/socket errors at each connection count, and the server's RSS before
# and after the load.
#
# Targets: >= half the bare route's requests/s; p99 < 10 ms at 64 connections; zero errors;
# memory back to its baseline after the run; a full session table >= 80 % of an empty one's
# requests/s (one-shot requests on a server at its --max-sessions vs one far from it). The
# server runs with a short session TTL (SESSION_TTL, default 5 s) so the bench's sessions
# expire: RSS is read with no session alive before the load (after the warm-up's sessions
# expired) and again after the load's expired.
#
#   scripts/bench-http.sh                  # 10 s per run, 1/64/256 connections
#   DURATION=5 CONNS="64" scripts/bench-http.sh
#   RUST_LOG=warn scripts/bench-http.sh    # without the per-request log line
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10}"
CONNS="${CONNS:-1 64 256}"
SESSIONS="${SESSIONS:-1000}"   # session ids drawn at random from this many (a realistic mix)
SESSION_TTL="${SESSION_TTL:-5}"
SETTLE=$((SESSION_TTL + 4))    # TTL, an eviction pass, a metrics upkeep and the allocator's purge
export RUST_LOG="${RUST_LOG:-info}"

. scripts/wrk.sh
if ! install_wrk && ! need oha; then
  echo "installing oha with cargo (wrk unavailable)" >&2
  cargo install oha --locked >&2
fi

echo "building (release)…" >&2
cargo build --release --locked --bin woodwork-actors --example bench_bare >&2

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME CMD... : runs CMD, waits for its `listening on http://ADDR` line, sets PID_<NAME>, URL_<NAME>.
start() {
  local name="$1"; shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 300); do
    if grep -q '^listening on ' "$WORK/$name.out" 2>/dev/null; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "$name exited:" >&2; cat "$WORK/$name.log" >&2; exit 1; fi
    sleep 0.1
  done
  local url
  url="$(grep -m1 '^listening on ' "$WORK/$name.out" | sed 's/^listening on //')"
  [ -n "$url" ] || { echo "$name did not start" >&2; exit 1; }
  printf -v "PID_$name" '%s' "$pid"
  printf -v "URL_$name" '%s' "$url"
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# WW_ARGS: extra serve flags to compare settings, e.g. WW_ARGS="--workers 1".
# shellcheck disable=SC2086
start ww target/release/woodwork-actors serve examples/quickstart/main.ww --port 0 \
  --session-ttl "$SESSION_TTL" ${WW_ARGS:-}
start bare target/release/examples/bench_bare 127.0.0.1:0

cat >"$WORK/ww.lua" <<LUA
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format('{"input":"hello","session_id":"bench-%d"}', math.random(1, $SESSIONS))
  return wrk.format(nil, nil, nil, body)
end
LUA
cat >"$WORK/out.lua" <<LUA
math.randomseed(os.time() + 1)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format('{"input":"hello","session_id":"out-%d"}', math.random(1, $SESSIONS))
  return wrk.format(nil, nil, nil, body)
end
LUA
cat >"$WORK/get.lua" <<'LUA'
wrk.method = "GET"
LUA
# The bare route gets the same client script (same bodies, same per-request Lua cost in wrk); it
# ignores the session id.
cp "$WORK/ww.lua" "$WORK/bare.lua"

# Sanity: both answer before we measure.
curl -sf "$URL_ww/in/input" -H 'content-type: application/json' -d '{"input":"hello"}' >/dev/null
curl -sf "$URL_bare/echo" -H 'content-type: application/json' -d '{"input":"hello"}' >/dev/null

# Warm up both at the largest connection count, then take the baseline RSS: the baseline is the
# server's idle footprint once it has served that many connections (actix-http keeps a pool of
# request heads per worker, sized by use; the allocator keeps its arenas), so "after" minus
# "baseline" is what the measured runs left behind. The fresh-process RSS is printed too.
MAX_CONNS="$(printf '%s\n' $CONNS | sort -n | tail -1)"
RSS_FRESH="$(rss_kib "$PID_ww")"
wrk -t2 -c"$MAX_CONNS" -d2s -s "$WORK/ww.lua" "$URL_ww/in/input" >/dev/null
wrk -t2 -c"$MAX_CONNS" -d2s -s "$WORK/bare.lua" "$URL_bare/echo" >/dev/null
sessions_now() { curl -sf "$URL_ww/metrics" | awk '/^woodwork_sessions_active / {print $2}'; }
echo "letting the warm-up's sessions expire (${SETTLE} s)…" >&2
sleep "$SETTLE"
RSS_BEFORE="$(rss_kib "$PID_ww")"
SESSIONS_BEFORE="$(sessions_now)"

# to_ms VALUE: wrk prints 812.00us / 1.23ms / 1.02s
to_ms() { awk -v v="$1" 'BEGIN {
  if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
  else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
  else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
  else printf "?" }'; }

# run NAME URL LUA CONNS -> "rps p50 p99 non2xx sockerr"
run() {
  local name="$1" url="$2" lua="$3" c="$4" threads=2 out
  [ "$c" -lt 2 ] && threads=1
  out="$(wrk -t"$threads" -c"$c" -d"${DURATION}s" --latency -s "$lua" "$url")"
  echo "$out" >"$WORK/$name-$c.txt"
  local rps p50 p99 non2xx sock
  rps="$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')"
  p50="$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")"
  p99="$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")"
  non2xx="$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $NF}')"
  sock="$(echo "$out" | awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}')"
  echo "$rps $p50 $p99 ${non2xx:-0} ${sock:-0}"
}

ROWS=()
ERRORS=0
for c in $CONNS; do
  read -r w_rps w_p50 w_p99 w_bad w_sock <<<"$(run ww "$URL_ww/in/input" "$WORK/ww.lua" "$c")"
  read -r b_rps b_p50 b_p99 b_bad b_sock <<<"$(run bare "$URL_bare/echo" "$WORK/bare.lua" "$c")"
  ratio="$(awk -v a="$w_rps" -v b="$b_rps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }')"
  ROWS+=("$(printf '%5s | %9s %8s %8s %6s | %9s %8s %8s %6s | %5s' \
    "$c" "$w_rps" "$w_p50" "$w_p99" "$((w_bad + w_sock))" "$b_rps" "$b_p50" "$b_p99" "$((b_bad + b_sock))" "$ratio")")
  ERRORS=$((ERRORS + w_bad + w_sock))
done

# Context at 64 connections: where the time goes (HTTP stack alone; one runtime hop, no model).
read -r l_rps l_p50 l_p99 l_bad l_sock <<<"$(run livez "$URL_ww/livez" "$WORK/get.lua" 64)"
read -r o_rps o_p50 o_p99 o_bad o_sock <<<"$(run out "$URL_ww/out/input" "$WORK/out.lua" 64)"
ERRORS=$((ERRORS + o_bad + o_sock))

RSS_AFTER="$(rss_kib "$PID_ww")"
SESSIONS_AFTER="$(sessions_now)"
sleep "$SETTLE"
RSS_SETTLED="$(rss_kib "$PID_ww")"
SESSIONS_NOW="$(sessions_now)"

# A full session table vs an empty one (DESIGN.md §6: >= 80 % of the throughput): the same
# one-shot requests without a session id (each a new session), 64 connections, on a server whose
# table never fills and on one held at its cap (FULL_CAP sessions, default 1000: every request
# evicts an idle session; a few conversations are kept in it, as a real table would hold).
FULL_CAP="${FULL_CAP:-1000}"
cat >"$WORK/anon.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"input":"hello"}'
LUA
# shellcheck disable=SC2086
start empty target/release/woodwork-actors serve examples/quickstart/main.ww --port 0 \
  --max-sessions 10000000 ${WW_ARGS:-}
# shellcheck disable=SC2086
start full target/release/woodwork-actors serve examples/quickstart/main.ww --port 0 \
  --max-sessions "$FULL_CAP" ${WW_ARGS:-}
for i in $(seq 1 20); do
  curl -sf "$URL_full/in/input" -H 'content-type: application/json' \
    -d "{\"input\":\"hello\",\"session_id\":\"user-$i\"}" >/dev/null
done
wrk -t2 -c64 -d2s -s "$WORK/anon.lua" "$URL_empty/in/input" >/dev/null
wrk -t2 -c64 -d2s -s "$WORK/anon.lua" "$URL_full/in/input" >/dev/null
read -r e_rps e_p50 e_p99 e_bad e_sock <<<"$(run empty "$URL_empty/in/input" "$WORK/anon.lua" 64)"
read -r f_rps f_p50 f_p99 f_bad f_sock <<<"$(run full "$URL_full/in/input" "$WORK/anon.lua" 64)"
ERRORS=$((ERRORS + e_bad + e_sock + f_bad + f_sock))
FULL_SESSIONS="$(curl -sf "$URL_full/metrics" | awk '/^woodwork_sessions_active / {print $2}')"

echo
echo "POST /in/input (quickstart: input -> agent -> llm mock -> output) vs bare actix-web JSON route"
echo "machine: $(nproc) cores ($(uname -m)), ${DURATION}s per run, wrk, loopback, RUST_LOG=$RUST_LOG"
echo
echo "conns | ww req/s   p50 ms   p99 ms   errs | bare req/s  p50 ms   p99 ms   errs | ratio"
echo "------+------------------------------------+-------------------------------------+------"
for r in "${ROWS[@]}"; do echo "$r"; done
echo
echo "context, 64 conns, same server:"
printf '  GET /livez (all middleware, no runtime):      %9s req/s  p50 %s ms  p99 %s ms\n' "$l_rps" "$l_p50" "$l_p99"
printf '  POST /out/input (one runtime hop, no model):  %9s req/s  p50 %s ms  p99 %s ms  errs %s\n' "$o_rps" "$o_p50" "$o_p99" "$((o_bad + o_sock))"
echo
echo "server RSS: fresh ${RSS_FRESH} KiB; baseline (idle after the ${MAX_CONNS}-connection warm-up) ${RSS_BEFORE} KiB (sessions ${SESSIONS_BEFORE:-?}); right after the load ${RSS_AFTER} KiB (sessions ${SESSIONS_AFTER:-?}); ${SETTLE} s later ${RSS_SETTLED} KiB (sessions ${SESSIONS_NOW:-?}): $(awk -v a="$RSS_SETTLED" -v b="$RSS_BEFORE" 'BEGIN { printf "%+.1f%%", (a - b) * 100 / b }') vs baseline"
echo
echo "full session table, 64 conns, one-shot requests (no session id):"
printf '  empty table (--max-sessions 10000000):  %9s req/s  p50 %s ms  p99 %s ms  errs %s\n' "$e_rps" "$e_p50" "$e_p99" "$((e_bad + e_sock))"
printf '  full table (--max-sessions %s):       %9s req/s  p50 %s ms  p99 %s ms  errs %s  (sessions %s)\n' "$FULL_CAP" "$f_rps" "$f_p50" "$f_p99" "$((f_bad + f_sock))" "${FULL_SESSIONS:-?}"
echo "  full / empty: $(awk -v a="$f_rps" -v b="$e_rps" 'BEGIN { if (b > 0) printf "%.0f%%", a * 100 / b; else print "?" }') (target >= 80%)"
echo "non-2xx + socket errors on POST /in/input: $ERRORS"
if [ "$ERRORS" -ne 0 ]; then
  echo "FAIL: errors under load (wrk outputs in $WORK kept for inspection)" >&2
  trap - EXIT; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  exit 1
fi
