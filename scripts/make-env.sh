#!/usr/bin/env bash
# `make env`: writes .env from .env.example (configuration, no secret values) and the secret files in secrets/
# (random values), each only when it is missing. Never overwrites. Both stacks read the secrets from these files:
# the native one through the *_FILE variables in .env, the container one through Compose secrets.
# Upgrading from a .env that held secret values: those values are carried into the files, so nothing changes.
set -euo pipefail
cd "$(dirname "$0")/.."
secret_dir=secrets
# The folder keeps the secrets private (mode 700); the files inside are readable (644) so that the containers'
# unprivileged users can read the bind-mounted files whatever the host user's uid.
mkdir -p "$secret_dir" && chmod 700 "$secret_dir"

old() { # a value a pre-secrets .env held, if any
  [ -f .env ] || return 0
  sed -n "s/^$1=\(..*\)$/\1/p" .env | tail -n 1
}
random_hex() { openssl rand -hex "$1"; }
put() { # name value: write secrets/<name> when missing
  local file="$secret_dir/$1"
  [ -s "$file" ] && return 0
  (umask 022 && printf '%s\n' "$2" > "$file.tmp" && mv "$file.tmp" "$file")
  echo "env: wrote $file"
}
get() { sed -n '1p' "$secret_dir/$1"; }

pg="$(old POSTGRES_PASSWORD)"; put postgres_password "${pg:-$(random_hex 24)}"
put db_app_password "$(random_hex 24)"
put redis_password "$(random_hex 24)"
kek="$(old KEY_ENCRYPTION_KEY)"; put key_encryption_key "${kek:-$(openssl rand -base64 32)}"
admin="$(old BOOTSTRAP_ADMIN_PASSWORD)"; put bootstrap_admin_password "${admin:-$(random_hex 16)}"
pepper="$(old PASSWORD_PEPPER)"; put password_pepper "${pepper:-$(openssl rand -base64 32)}"
put grafana_admin_password "$(random_hex 16)" # the observability profile's Grafana (user admin)
# Derived files: the URLs the containers connect with, and Redis's ACL (the default user needs the password).
put database_owner_url "postgres://authstack:$(get postgres_password)@postgres:5432/authstack"
put database_url "postgres://authstack_app:$(get db_app_password)@postgres:5432/authstack"
put redis_url "redis://default:$(get redis_password)@redis:6379/0"
# Each service logs in to Redis as its own user, with only the commands and keys it uses (infra/redis/service-users.acl,
# {prefix} as REDIS_KEY_PREFIX); the default user (all commands) is for the Redis healthcheck and the operator.
put redis_auth_password "$(random_hex 24)"
put redis_resource_password "$(random_hex 24)"
put redis_auth_url "redis://auth:$(get redis_auth_password)@redis:6379/0"
put redis_resource_url "redis://resource:$(get redis_resource_password)@redis:6379/0"
key_prefix="$(old REDIS_KEY_PREFIX)"
service_users() {
  sed -e '/^#/d' -e '/^[[:space:]]*$/d' infra/redis/service-users.acl | while read -r name rules; do
    printf 'user %s on >%s %s\n' "$name" "$(get "redis_${name}_password")" "${rules//\{prefix\}/${key_prefix:-authstack:}}"
  done
}
put redis.acl "$(printf '%s\n' "user default on >$(get redis_password) ~* &* +@all" "$(service_users)")"
# The ha profile (docker-compose.ha.yml): replicas log in to the primary as `replication`, Sentinels to every data node
# as `sentinel` (the commands they need, after the Redis Sentinel documentation), clients to the Sentinels with theirs.
put redis_replication_password "$(random_hex 24)"
put redis_sentinel_node_password "$(random_hex 24)"
put redis_sentinel_password "$(random_hex 24)"
put redis_ha.acl "$(printf '%s\n' \
  "user default on >$(get redis_password) ~* &* +@all" \
  "$(service_users)" \
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
