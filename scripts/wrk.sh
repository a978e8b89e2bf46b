# Sourced by the benchmark scripts: `need CMD` (is it on PATH?) and `install_wrk` (apt-get, when
# wrk is missing; true when wrk is there afterwards).
need() { command -v "$1" >/dev/null 2>&1; }

install_wrk() {
  need wrk && return 0
  echo "wrk not found: installing it" >&2
  if need apt-get; then
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    ($sudo apt-get install -y -qq wrk || ($sudo apt-get update -qq && $sudo apt-get install -y -qq wrk)) >&2 || true
  fi
  need wrk
}
