#!/usr/bin/env bash
# Prints the path of the promtool `make test` uses (the alert rules' `promtool check rules` and `promtool test rules`,
# infra/test/alerts.promtool.test.ts): the one on PATH, else the one in the cache folder; exits 1 when there is none.
#   --install   when there is none, extract it first from Debian's `prometheus` package (bookworm: 2.42) into the cache
#               folder: `apt-get download` and `dpkg-deb -x`, so nothing is installed on the system and no Prometheus
#               daemon is started (the package's own install would start one on port 9090).
# The cache folder: PROMTOOL_HOME, default ${XDG_CACHE_HOME:-$HOME/.cache}/authstack/promtool.
set -euo pipefail
home="${PROMTOOL_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/authstack/promtool}"
find_promtool() {
  if command -v promtool >/dev/null 2>&1; then command -v promtool
  elif [ -x "$home/promtool" ]; then echo "$home/promtool"
  else return 1; fi
}
if find_promtool; then exit 0; fi
if [ "${1:-}" != --install ]; then
  echo "promtool: not on PATH nor in $home (bash scripts/promtool.sh --install extracts Debian's)" >&2
  exit 1
fi
command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 \
  || { echo "promtool: --install needs apt-get and dpkg-deb (Debian or Ubuntu); install promtool yourself" >&2; exit 1; }
echo "promtool: extracting it from Debian's prometheus package into $home" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current folder; as root it warns that the _apt user cannot write there.
(cd "$tmp" && apt-get download -q prometheus 2>&1 | grep -v 'unsandboxed as root' >&2 || true)
deb="$(ls "$tmp"/prometheus_*.deb 2>/dev/null | head -n1)"
[ -n "$deb" ] || { echo "promtool: apt-get download prometheus failed (run apt-get update?)" >&2; exit 1; }
dpkg-deb -x "$deb" "$tmp/root"
mkdir -p "$home"
install -m 0755 "$tmp/root/usr/bin/promtool" "$home/promtool"
"$home/promtool" --version >/dev/null || { echo "promtool: the extracted promtool does not run" >&2; exit 1; }
echo "$home/promtool"
