#!/bin/sh
# The test container's entrypoint: starts as root only to hand the named volumes (node_modules, npm's cache) to the
# host user (TEST_UID:TEST_GID, the owner of the checkout), then runs the command as that user, so every file the
# suite writes into the bind-mounted checkout belongs to the user who ran `make test`. Installs the dependencies
# (npm ci) when node_modules was not made from this package-lock.json, and never otherwise.
set -eu
uid="${TEST_UID:?TEST_UID: the uid that owns the checkout}"
gid="${TEST_GID:?TEST_GID: its gid}"
mkdir -p /tmp/home "$PWD/node_modules" /cache/npm
for dir in /tmp/home "$PWD/node_modules" /cache/npm; do
  [ "$(stat -c %u:%g "$dir")" = "$uid:$gid" ] || chown -R "$uid:$gid" "$dir"
done
# Behind a TLS-intercepting proxy the host's CA bundle arrives as a secret (BUILD_CA_FILE, as for the image builds).
if [ -s /run/secrets/build_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build_ca; fi
run() { setpriv --reuid="$uid" --regid="$gid" --clear-groups env HOME=/tmp/home "$@"; }
want="$(cat package.json package-lock.json | sha256sum | cut -c1-16)"
if [ "$(cat node_modules/.authstack-installed 2>/dev/null || true)" != "$want" ]; then
  echo "test-container: npm ci (package-lock.json changed or node_modules is new; npm's cache is kept in a volume)"
  run npm ci --no-audit --no-fund
  echo "$want" | run tee node_modules/.authstack-installed >/dev/null
  run touch node_modules/.package-lock.json
else
  echo "test-container: node_modules is current (made from this package-lock.json)"
fi
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups env HOME=/tmp/home "$@"
