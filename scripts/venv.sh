#!/usr/bin/env bash
# Creates (or refreshes) the project-local Python venv the tests use for real peers: MCP servers
# and a Chroma server. Idempotent: does nothing when .venv already matches requirements-test.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
req=scripts/requirements-test.txt
venv=.venv
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "python3 has no venv/ensurepip module: installing python3-venv" >&2
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq python3-venv) >&2 || {
      echo "error: could not install python3-venv; install it and re-run" >&2; exit 1; }
  else
    echo "error: python3's venv module is required; install it and re-run" >&2; exit 1
  fi
fi
echo "creating the test venv in $venv (MCP servers, chromadb)" >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
