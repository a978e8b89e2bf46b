#!/usr/bin/env bash
# Benchmark of the OpenAI-compatible API (DESIGN.md §5, issue #11): POST /v1/chat/completions next
# to POST /in/input on the same server, the same offline quickstart pipeline (input -> agent on
# llm mock -> output) and the same user text, in the same run. Runs alternate between the two
# routes (ROUNDS rounds) so load from elsewhere on the machine hits both alike. Each request is a
# one-shot (no session named: a new session each, as an SDK without `user` does). Prints req/s,
# p50/p99 latency, errors and the server's CPU time per request (utime + stime of the server
# process over the run, divided by the requests: steadier than req/s on a machine busy with other
# work) per route, and the ratios; target: the OpenAI route >= 90 % of the input route's req/s.
#
#   scripts/bench-openai.sh                       # 10 s per run, 64 connections, 2 rounds
#   DURATION=5 CONNS=16 ROUNDS=1 scripts/bench-openai.sh
#   STREAM=1 scripts/bench-openai.sh              # both routes streamed (SSE) instead
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10}"
CONNS="${CONNS:-64}"
ROUNDS="${ROUNDS:-2}"
STREAM="${STREAM:-0}"
export RUST_LOG="${RUST_LOG:-info}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

. scripts/wrk.sh
install_wrk || { echo "error: install wrk (apt-get install wrk) and re-run" >&2; exit 1; }

echo "building (release)…" >&2
cargo build --release --locked --bin woodwork-actors >&2
BIN="$TARGET_DIR/release/woodwork-actors"

WORK="$(mktemp -d)"
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve examples/quickstart/main.ww --port 0 --session-ttl 5 >"$WORK/out" 2>"$WORK/log" &
PID=$!
for _ in $(seq 1 300); do
  grep -q '^listening on ' "$WORK/out" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { echo "server exited:" >&2; cat "$WORK/log" >&2; exit 1; }
  sleep 0.1
done
URL="$(grep -m1 '^listening on ' "$WORK/out" | sed 's/^listening on //')"
[ -n "$URL" ] || { echo "server did not start" >&2; exit 1; }

if [ "$STREAM" = 1 ]; then
  INPUT_BODY='{"input":"hello","stream":true}'
  CHAT_BODY='{"model":"in","stream":true,"messages":[{"role":"user","content":"hello"}]}'
else
  INPUT_BODY='{"input":"hello"}'
  CHAT_BODY='{"model":"in","messages":[{"role":"user","content":"hello"}]}'
fi
for name in input chat; do
  body="$INPUT_BODY"; [ "$name" = chat ] && body="$CHAT_BODY"
  cat >"$WORK/$name.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-dummy"
wrk.body = '$body'
LUA
done

# Sanity: both answer the same text before anything is measured.
a="$(curl -sf "$URL/in/input" -H 'content-type: application/json' -d '{"input":"hello"}')"
b="$(curl -sf "$URL/v1/chat/completions" -H 'content-type: application/json' -d "$CHAT_BODY" | head -c 4000)"
echo "input route: $a" >&2
echo "chat route:  ${b:0:300}" >&2

# Warm-up of both.
wrk -t2 -c"$CONNS" -d2s -s "$WORK/input.lua" "$URL/in/input" >/dev/null
wrk -t2 -c"$CONNS" -d2s -s "$WORK/chat.lua" "$URL/v1/chat/completions" >/dev/null

to_ms() { awk -v v="$1" 'BEGIN {
  if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
  else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
  else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
  else printf "?" }'; }

# Server CPU time so far, in clock ticks (utime + stime of /proc/PID/stat).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
TICK="$(getconf CLK_TCK)"

# run NAME URL -> "rps p50 p99 errors cpu_us_per_request"
run() {
  local out rps p50 p99 non2xx sock n c0 c1 threads=2
  [ "$CONNS" -lt 2 ] && threads=1
  c0="$(cpu_ticks)"
  out="$(wrk -t"$threads" -c"$CONNS" -d"${DURATION}s" --latency -s "$WORK/$1.lua" "$2")"
  c1="$(cpu_ticks)"
  n="$(echo "$out" | awk '/requests in/ {print $1}')"
  rps="$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')"
  p50="$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")"
  p99="$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")"
  non2xx="$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $NF}')"
  sock="$(echo "$out" | awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}')"
  echo "$rps $p50 $p99 $(( ${non2xx:-0} + ${sock:-0} )) $(awk -v c=$((c1 - c0)) -v t="$TICK" -v n="${n:-0}" \
    'BEGIN { if (n > 0) printf "%.1f", c * 1e6 / t / n; else print 0 }')"
}

echo
echo "POST /in/input vs POST /v1/chat/completions, quickstart (llm mock), one-shot sessions"
echo "machine: $(nproc) cores ($(uname -m)), load avg $(cut -d' ' -f1-3 /proc/loadavg), ${DURATION}s per run, ${CONNS} conns, wrk, loopback, stream=${STREAM}, RUST_LOG=$RUST_LOG"
echo
echo "round | input req/s  p50 ms  p99 ms  errs  cpu us/req | chat req/s  p50 ms  p99 ms  errs  cpu us/req | chat/input req/s"
SUM_I=0; SUM_C=0; ERRORS=0; CPU_I=0; CPU_C=0
for r in $(seq 1 "$ROUNDS"); do
  read -r i_rps i_p50 i_p99 i_err i_cpu <<<"$(run input "$URL/in/input")"
  read -r c_rps c_p50 c_p99 c_err c_cpu <<<"$(run chat "$URL/v1/chat/completions")"
  SUM_I=$((SUM_I + i_rps)); SUM_C=$((SUM_C + c_rps)); ERRORS=$((ERRORS + i_err + c_err))
  CPU_I="$(awk -v a="$CPU_I" -v b="$i_cpu" 'BEGIN { print a + b }')"
  CPU_C="$(awk -v a="$CPU_C" -v b="$c_cpu" 'BEGIN { print a + b }')"
  printf '%5s | %11s %7s %7s %5s %11s | %10s %7s %7s %5s %11s | %s\n' "$r" "$i_rps" "$i_p50" "$i_p99" "$i_err" "$i_cpu" \
    "$c_rps" "$c_p50" "$c_p99" "$c_err" "$c_cpu" \
    "$(awk -v a="$c_rps" -v b="$i_rps" 'BEGIN { if (b > 0) printf "%.0f%%", a * 100 / b; else print "?" }')"
done
echo
echo "all rounds: input $((SUM_I / ROUNDS)) req/s, chat $((SUM_C / ROUNDS)) req/s:" \
  "$(awk -v a="$SUM_C" -v b="$SUM_I" 'BEGIN { if (b > 0) printf "%.0f%%", a * 100 / b; else print "?" }') (target >= 90%)"
echo "server CPU per request: input $(awk -v a="$CPU_I" -v r="$ROUNDS" 'BEGIN { printf "%.1f", a / r }') us, chat" \
  "$(awk -v a="$CPU_C" -v r="$ROUNDS" 'BEGIN { printf "%.1f", a / r }') us: the chat route costs" \
  "$(awk -v a="$CPU_C" -v b="$CPU_I" 'BEGIN { if (b > 0) printf "%.0f%%", a * 100 / b; else print "?" }') of the input route's CPU"
echo "non-2xx + socket errors: $ERRORS"
[ "$ERRORS" -eq 0 ] || { echo "FAIL: errors under load" >&2; exit 1; }
