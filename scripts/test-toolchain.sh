#!/usr/bin/env bash
# Does this host have what `make test-native` needs besides PostgreSQL and Redis? Prints the missing pieces on one
# line and exits 1 when any is missing, 0 when none is. `make test` runs natively when none is, else in the test
# container (make test-docker).
#   Node 24: on PATH, in scripts/node24.sh's cache, or fetchable by it (npm on PATH);
#   nginx, openssl, wrk, redis-server: on PATH; chromium: CHROMIUM_PATH or /usr/bin/chromium (the console's test);
#   promtool (the alert rules' tests): on PATH or extracted into the cache (scripts/promtool.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
missing=()
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
node_home="${NODE24_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/authstack/node24}"
if ! { command -v node >/dev/null 2>&1 && [ "$(node_major node)" = 24 ]; } &&
  ! { [ -x "$node_home/bin/node" ] && [ "$(node_major "$node_home/bin/node")" = 24 ]; } &&
  ! { command -v npm >/dev/null 2>&1 && [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; }; then
  missing+=("Node 24")
fi
for tool in nginx openssl wrk redis-server; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=("chromium (${CHROMIUM_PATH:-/usr/bin/chromium})")
bash scripts/promtool.sh >/dev/null 2>&1 || missing+=("promtool (bash scripts/promtool.sh --install)")
command -v mtail >/dev/null 2>&1 || missing+=("mtail") # the gateway-log sidecar's program is tested with Debian's mtail
if [ ${#missing[@]} -gt 0 ]; then
  (IFS=','; echo "${missing[*]}" | sed 's/,/, /g')
  exit 1
fi
