#!/bin/sh
# The gateway-log sidecar's entry point: creates the status log the gateway appends to (before the gateway starts:
# docker-compose.observability.yml), runs mtail on it, and keeps the file bounded by truncating it once it is past
# GATEWAY_STATUS_LOG_MAX_BYTES (checked every GATEWAY_STATUS_LOG_CHECK_SECONDS). nginx appends (O_APPEND), so its next
# line lands at the start of the emptied file, and mtail, which polls every 250 ms, sees the file shrink and reads it
# from the start: a truncation loses at most the lines written since mtail's last read.
# Exits when mtail does (compose restarts the container); SIGTERM stops mtail and then this script.
set -eu
LOG="${GATEWAY_STATUS_LOG_PATH:-/var/log/gateway/status.log}"
MAX="${GATEWAY_STATUS_LOG_MAX_BYTES:-8388608}"
EVERY="${GATEWAY_STATUS_LOG_CHECK_SECONDS:-2}"
PROGRAM="${MTAIL_PROGRAM:-/etc/mtail/gateway.mtail}"
PORT="${MTAIL_PORT:-3903}"
ADDRESS="${MTAIL_ADDRESS:-0.0.0.0}"
say() { echo "gateway-log: $*" >&2; }

# Mode 0660, owned by this user's group: the gateway, which runs with that group added, can append; this process can
# truncate. A file the gateway made first (root's, 0644) could not be truncated: stop with the reason instead.
umask 007
[ -e "$LOG" ] || : >"$LOG"
if [ ! -w "$LOG" ]; then
  say "$LOG is not writable by uid $(id -u) (did the gateway start before this sidecar and create it?); remove the volume and start again"
  exit 1
fi

mtail --progs "$PROGRAM" --logs "$LOG" --address "$ADDRESS" --port "$PORT" --emit_prog_label=false \
  --logtostderr &
mtail=$!
trap 'kill -TERM "$mtail" 2>/dev/null || true; wait "$mtail" || true; exit 0' TERM INT

while kill -0 "$mtail" 2>/dev/null; do
  size="$(stat -c %s "$LOG" 2>/dev/null || echo 0)"
  if [ "$size" -gt "$MAX" ]; then
    : >"$LOG"
    say "truncated $LOG at $size bytes (limit $MAX)"
  fi
  sleep "$EVERY" &
  wait $! || true
done
wait "$mtail"
