#!/bin/sh
# CI look-alike of the official nginx image's entrypoint: runs /docker-entrypoint.d/*.sh, then the command.
set -e
if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
  for f in /docker-entrypoint.d/*.sh; do
    [ -x "$f" ] || [ -f "$f" ] || continue
    echo "$0: running $f"; sh "$f"
  done
fi
exec "$@"
