#!/usr/bin/env bash
# `make env`: writes .env from .env.example (configuration, no secret values) and the secret files in secrets/
# (random values), each only when it is missing. Never overwrites. Both stacks read the secrets from these files:
# the native one through the *_FILE variables in .env, the container one through Compose secrets.
# Upgrading from a .env that held secret values: those values are carried into the files, so nothing changes.
# A secret file that exists but is empty or shorter than its required length is refused, naming the file (delete
# it to have a new one made); a value that cannot be generated stops the script before anything is written.
# Random values come from openssl; without openssl on PATH the script runs itself in the tools container
# (scripts/tools-container.sh: the pinned Node image with Debian's openssl), so `make up` needs only Docker.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "env: FAILED: $*" >&2; exit 1; }
if ! command -v openssl >/dev/null 2>&1; then
  echo "env: openssl is not on PATH; making the secrets in the tools container" >&2
  exec bash scripts/tools-container.sh bash scripts/make-env.sh
fi
secret_dir=secrets
# The folder keeps the secrets private (mode 700); the files inside are readable (644) so that the containers'
# unprivileged users can read the bind-mounted files whatever the host user's uid.
mkdir -p "$secret_dir" && chmod 700 "$secret_dir"

old() { # a value a pre-secrets .env held, if any
  [ -f .env ] || return 0
  sed -n "s/^$1=\(..*\)$/\1/p" .env | tail -n 1
}
random_hex() { openssl rand -hex "$1"; }
random_base64() { openssl rand -base64 "$1"; }
# check NAME MIN: the file's first line is at least MIN characters long, or the script stops naming the file.
check() {
  local file="$secret_dir/$1" value
  value="$(sed -n '1p' "$file")"
  [ "${#value}" -ge "$2" ] || die "$file is empty or shorter than $2 characters ($((${#value})) found); delete it and run make env again to have a new one made"
}
# put NAME MIN VALUE: write secrets/<NAME> when missing; an existing file is checked, never overwritten.
put() {
  local file="$secret_dir/$1"
  if [ -e "$file" ]; then check "$1" "$2"; return 0; fi
  [ "${#3}" -ge "$2" ] || die "the value for $file is shorter than $2 characters; nothing written"
  (umask 022 && printf '%s\n' "$3" > "$file.tmp" && mv "$file.tmp" "$file")
  echo "env: wrote $file"
}
# make NAME MIN GENERATOR...: as put, with a value from GENERATOR (an old .env's value first when given as OLD=...).
# The value is made in an assignment, so a failing generator stops the script (set -e) instead of writing nothing.
make_secret() {
  local name="$1" min="$2" value; shift 2
  if [ -e "$secret_dir/$name" ]; then check "$name" "$min"; return 0; fi
  value="$("$@")" || die "could not generate $secret_dir/$name ($* failed); nothing written"
  put "$name" "$min" "$value"
}
get() { sed -n '1p' "$secret_dir/$1"; }
carried() { # NAME: an old .env's value for NAME, or fail (so make_secret falls back to the generator)
  local value; value="$(old "$1")"; [ -n "$value" ] && printf '%s' "$value"
}
either() { carried "$1" || { shift; "$@"; }; }

# Required lengths: what make env writes (hex of 24 bytes is 48 characters, of 16 bytes 32; base64 of 32 bytes 44).
make_secret postgres_password 48 either POSTGRES_PASSWORD random_hex 24
make_secret db_app_password 48 random_hex 24
make_secret redis_password 48 random_hex 24
make_secret key_encryption_key 44 either KEY_ENCRYPTION_KEY random_base64 32
make_secret bootstrap_admin_password 32 either BOOTSTRAP_ADMIN_PASSWORD random_hex 16
make_secret password_pepper 44 either PASSWORD_PEPPER random_base64 32
make_secret grafana_admin_password 32 random_hex 16 # the observability profile's Grafana (user admin)
# Derived files: the URLs the containers connect with, and Redis's ACL (the default user needs the password). Each
# must hold the secret it is made from; one that does not (empty, or made from an older secret) is refused.
derived() { # NAME SOURCE VALUE
  local file="$secret_dir/$1" secret; secret="$(get "$2")"
  put "$1" "$((${#secret} + 1))" "$3"
  grep -qF -- "$secret" "$file" || die "$file does not hold the value of $secret_dir/$2 (empty, or made from an older one); delete it and run make env again"
}
derived database_owner_url postgres_password "postgres://authstack:$(get postgres_password)@postgres:5432/authstack"
derived database_url db_app_password "postgres://authstack_app:$(get db_app_password)@postgres:5432/authstack"
derived redis_url redis_password "redis://default:$(get redis_password)@redis:6379/0"
# Each service logs in to Redis as its own user, with only the commands and keys it uses (infra/redis/service-users.acl,
# {prefix} as REDIS_KEY_PREFIX); the default user (all commands) is for the Redis healthcheck and the operator.
make_secret redis_auth_password 48 random_hex 24
make_secret redis_resource_password 48 random_hex 24
derived redis_auth_url redis_auth_password "redis://auth:$(get redis_auth_password)@redis:6379/0"
derived redis_resource_url redis_resource_password "redis://resource:$(get redis_resource_password)@redis:6379/0"
# The key prefix as the services will read it: the environment's, else .env's (compose reads the shell too).
key_prefix="${REDIS_KEY_PREFIX:-$(old REDIS_KEY_PREFIX)}"
service_users() {
  sed -e '/^#/d' -e '/^[[:space:]]*$/d' infra/redis/service-users.acl | while read -r name rules; do
    [ -s "$secret_dir/redis_${name}_password" ] || { echo "env: no secrets/redis_${name}_password for the Redis user $name" >&2; exit 1; }
    printf 'user %s on >%s %s\n' "$name" "$(get "redis_${name}_password")" "${rules//\{prefix\}/${key_prefix:-authstack:}}"
  done
}
users="$(service_users)" || die "could not make the Redis users from infra/redis/service-users.acl"
# The ACL files hold no secret of their own: they follow the rules and the key prefix, so they are written again
# whenever what they would hold differs (a changed rule or prefix reaches an existing checkout).
acl() { # NAME SOURCE VALUE
  local file="$secret_dir/$1"
  if [ -e "$file" ] && [ "$(cat "$file")" != "$3" ]; then
    (umask 022 && printf '%s\n' "$3" > "$file.tmp" && mv "$file.tmp" "$file")
    echo "env: wrote $file again (the Redis users' rules or the key prefix changed)"
  fi
  derived "$1" "$2" "$3"
}
acl redis.acl redis_password "$(printf '%s\n' "user default on >$(get redis_password) ~* &* +@all" "$users")"
# The ha profile (docker-compose.ha.yml): replicas log in to the primary as `replication`, Sentinels to every data node
# as `sentinel` (the commands they need, after the Redis Sentinel documentation), clients to the Sentinels with theirs.
make_secret redis_replication_password 48 random_hex 24
make_secret redis_sentinel_node_password 48 random_hex 24
make_secret redis_sentinel_password 48 random_hex 24
acl redis_ha.acl redis_sentinel_node_password "$(printf '%s\n' \
  "user default on >$(get redis_password) ~* &* +@all" \
  "$users" \
  "user replication on >$(get redis_replication_password) -@all +psync +replconf +ping" \
  "user sentinel on >$(get redis_sentinel_node_password) allchannels -@all +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill")"

if [ -f .env ]; then
  # An .env from an older version: point each secret it lacks at its file; every value it has is kept.
  for pair in KEY_ENCRYPTION_KEY:key_encryption_key PASSWORD_PEPPER:password_pepper \
    BOOTSTRAP_ADMIN_PASSWORD:bootstrap_admin_password; do
    var="${pair%%:*}"
    if ! grep -Eq "^${var}(_FILE)?=.+" .env; then
      printf '%s_FILE=%s/%s\n' "$var" "$secret_dir" "${pair#*:}" >> .env
      echo "env: .env exists; added ${var}_FILE"
    fi
  done
  echo "env: .env exists, left as it is otherwise"
else
  (umask 077 && cp .env.example .env)
  echo "env: wrote .env from .env.example (secrets are files in $secret_dir/)"
fi
