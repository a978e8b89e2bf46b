#!/usr/bin/env bash
# The one test command: builds the workspace and runs every test (unit, property, corpus snapshots,
# integration tests that drive the real binary over real HTTP and real subprocesses).
# On a fresh machine it installs what the tests need (python3 for hook/pipe and tool workers, a venv
# with MCP servers and chromadb) and
# says exactly what is missing when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

if ! need cargo; then
  echo "error: cargo not found: install Rust from rustup (https://rustup.rs) and re-run" >&2
  exit 1
fi

if ! need python3; then
  echo "python3 not found: installing it (tests run real Python hook workers)" >&2
  if need apt-get; then
    (apt-get update -qq && apt-get install -y -qq python3) >&2 || {
      echo "error: could not install python3; install it and re-run" >&2; exit 1; }
  else
    echo "error: python3 is required by the tests; install it and re-run" >&2; exit 1
  fi
fi

# The dashboard's browser test drives Debian's headless Chromium through chromedriver.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "chromium/chromedriver not found: installing them (the /ui browser test drives them)" >&2
  if need apt-get; then
    (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) >&2 || {
      echo "error: could not install chromium chromium-driver; install them and re-run" >&2; exit 1; }
  else
    echo "error: the /ui browser test needs /usr/bin/chromium and /usr/bin/chromedriver" \
      "(Debian: apt-get install chromium chromium-driver); install them and re-run" >&2; exit 1
  fi
fi

# Brokers the broker tests talk to: Redis on 6379 and NATS with JetStream on 4222 (as on the
# development and CI machines). Started here when nothing answers, installed when missing.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ensure_service() { # port, binary, debian package, start command...
  local port=$1 bin=$2 pkg=$3; shift 3
  listening "$port" && return 0
  if ! need "$bin"; then
    echo "$bin not found: installing $pkg (the broker tests need it on 127.0.0.1:$port)" >&2
    if need apt-get; then
      (apt-get update -qq && apt-get install -y -qq "$pkg") >&2 || {
        echo "error: could not install $pkg; install it and start it on 127.0.0.1:$port" >&2; exit 1; }
    else
      echo "error: $bin is required on 127.0.0.1:$port; install $pkg and re-run" >&2; exit 1
    fi
  fi
  echo "starting $bin on 127.0.0.1:$port" >&2
  "$@" >/dev/null 2>&1 &
  for _ in $(seq 50); do listening "$port" && return 0; sleep 0.1; done
  echo "error: $bin did not start on 127.0.0.1:$port" >&2; exit 1
}
ensure_service 6379 redis-server redis-server redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no
ensure_service 4222 nats-server nats-server nats-server -js -a 127.0.0.1 -p 4222 -sd "${TMPDIR:-/tmp}/ww-test-nats"

# Real peers the tests talk to: MCP servers (mcp, mcp-server-time) and a Chroma server, in a
# project-local venv (created once; re-created when scripts/requirements-test.txt changes).
scripts/venv.sh

# Code health gates: canonical formatting and no clippy warning (the toolchain is pinned by
# rust-toolchain.toml, with clippy and rustfmt).
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# One build of every target first, so the test run below reports only test results.
cargo build --workspace --all-targets --locked
cargo test --workspace --locked --no-fail-fast -- --test-threads="${TEST_THREADS:-2}"
