#!/usr/bin/env bash
# Grafana's community k6 dashboard ("k6 Prometheus", grafana.com ID 19665) beside the project's own, for a machine
# that can reach grafana.com. make observe runs it before bringing the profile up.
#
# It downloads the dashboard from grafana.com's API, has scripts/k6-dashboard.ts replace the export's data source
# inputs (${DS_PROMETHEUS}) by the provisioned Prometheus data source and check that the result is a dashboard with
# panels and a testid variable, and moves it into place with one rename:
# infra/observability/grafana/dashboards/vendor/k6-prometheus.json (git-ignored: third-party content is not
# committed here). Grafana's dashboard provider reads the dashboards folder and its subfolders, so it shows in the
# authstack folder beside the project's own k6 dashboard.
#
# Revision 3 is pinned (the revision public configurations pin; grafana.com could not be read from where this was
# written to confirm a newer one): a pinned revision does not change under you. K6_DASHBOARD_REVISION=<n> or
# K6_DASHBOARD_REVISION=latest (whatever grafana.com serves as newest) takes another; `--refresh` downloads again.
#
# Never fails: offline, or on any failure, it prints one line (the project's k6 dashboard is there; how to import
# 19665 by ID) and exits 0, leaving nothing behind. Already downloaded: does nothing.
#
# Usage: scripts/k6-dashboard.sh [--refresh]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 0

ID=19665
REVISION="${K6_DASHBOARD_REVISION:-3}"
VENDOR=infra/observability/grafana/dashboards/vendor
DEST="$VENDOR/k6-prometheus.json"

refresh=false
case "${1:-}" in
  "") ;;
  --refresh) refresh=true ;;
  *) echo "usage: scripts/k6-dashboard.sh [--refresh]" >&2; exit 2 ;;
esac

if [ -f "$DEST" ] && [ "$refresh" = false ]; then exit 0; fi

tmp=""
skip() {
  echo "k6 dashboard: grafana.com's 19665 not added ($1); the project's own k6 dashboard is in Grafana (folder authstack); to add 19665: Dashboards > New > Import, ID 19665, data source Prometheus (docs/operations.md)"
  [ -n "$tmp" ] && rm -rf "$tmp"
  exit 0
}

case "$REVISION" in
  latest | [1-9] | [1-9][0-9] | [1-9][0-9][0-9]) ;;
  *) skip "K6_DASHBOARD_REVISION must be a number or latest" ;;
esac
URL="https://grafana.com/api/dashboards/$ID/revisions/$REVISION/download"

tmp="$(mktemp -d)" || skip "no temporary folder"
trap '[ -n "$tmp" ] && rm -rf "$tmp"' EXIT

if command -v curl >/dev/null 2>&1; then
  curl -fsSL --proto '=https' --proto-redir '=https' --connect-timeout 5 --max-time 30 --max-filesize 10000000 \
    -o "$tmp/download.json" "$URL" 2>/dev/null || skip "could not download $URL"
elif command -v wget >/dev/null 2>&1; then
  wget -q --https-only --timeout=10 --tries=1 -O "$tmp/download.json" "$URL" 2>/dev/null ||
    skip "could not download $URL"
else
  skip "neither curl nor wget is installed"
fi

# Node 24 (scripts/node24.sh puts it first on PATH); the rewrite uses only Node's built-in modules.
# shellcheck source=scripts/node24.sh
. scripts/node24.sh >/dev/null 2>&1 || skip "no Node.js 24 to prepare it"
why="$(node scripts/k6-dashboard.ts "$tmp/download.json" "$tmp/k6-prometheus.json" 2>&1)" ||
  skip "grafana.com's answer refused: ${why//$'\n'/ }"

mkdir -p "$VENDOR" || skip "cannot create $VENDOR"
# Copied next to its place under a name Grafana does not read (not *.json), then renamed: Grafana never sees half a
# file, and a failed copy leaves nothing.
staged="$VENDOR/.k6-prometheus.json.$$"
if ! cp "$tmp/k6-prometheus.json" "$staged" || ! mv -f "$staged" "$DEST"; then
  rm -f "$staged"
  skip "cannot write $DEST"
fi
echo "k6 dashboard: grafana.com's 19665 (revision $REVISION) added as $DEST (Grafana, folder authstack)"
