#!/bin/sh
# CI look-alike of the official redis image's entrypoint: runs redis-server as the redis user, protected mode off
# unless a config file given first says otherwise (the config file stays the first argument, as upstream keeps it).
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = 'redis-server' ]; then
  shift
  config=
  if [ -f "${1:-}" ]; then config="$1"; shift; fi
  if [ -n "$config" ] && grep -q '^protected-mode' "$config"; then
    set -- redis-server "$config" "$@"
  elif [ -n "$config" ]; then
    set -- redis-server "$config" --protected-mode no "$@"
  else
    set -- redis-server --protected-mode no "$@"
  fi
  if [ "$(id -u)" = '0' ]; then
    find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
