#!/usr/bin/env bash
# The laptop overlay's Secrets, from the files `make env` and `make certs` write (git-ignored secrets/ and certs/):
#   bash deploy/k8s/laptop-secrets.sh        (needs kubectl pointed at the laptop cluster)
# Values go from those files to the API server through kubectl's standard input; none is printed or written here.
# For production, create the same Secrets (names and keys below) from your own secret store instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/make-env.sh
bash infra/certs/make-certs.sh
kubectl apply -f deploy/k8s/base/namespace.yaml

secret() { # name --from-file=key=path ...
  local name="$1"
  shift
  kubectl -n authstack create secret generic "$name" "$@" --dry-run=client -o yaml | kubectl apply -f -
}
secret authstack-database --from-file=database_url=secrets/database_url \
  --from-file=database_owner_url=secrets/database_owner_url
# each service's own Redis user (infra/redis/service-users.acl); the stateless resource has none
secret authstack-redis-auth --from-file=redis_url=secrets/redis_auth_url
secret authstack-redis-resource --from-file=redis_url=secrets/redis_resource_url
secret authstack-keys --from-file=key_encryption_key=secrets/key_encryption_key \
  --from-file=password_pepper=secrets/password_pepper \
  --from-file=bootstrap_admin_password=secrets/bootstrap_admin_password
# the laptop's own PostgreSQL and Redis servers
secret authstack-postgres --from-file=postgres_password=secrets/postgres_password
# (the Redis's ACL, and the default user's URL for its probes)
secret authstack-redis-server --from-file=redis_users.acl=secrets/redis.acl --from-file=redis_url=secrets/redis_url
# the gateway's certificate (keys tls.crt and tls.key)
kubectl -n authstack create secret tls authstack-gateway-tls --cert=certs/server.crt --key=certs/server.key \
  --dry-run=client -o yaml | kubectl apply -f -
