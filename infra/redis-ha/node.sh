#!/bin/sh
# A Redis data node of the ha profile (docker-compose.ha.yml): writes its configuration onto a tmpfs from the
# secrets (the ACL file; the password replicas log in to the primary with), then starts redis-server through the
# image's entrypoint, as the redis user. PRIMARY set: starts as a replica of that node; afterwards Sentinel decides.
set -eu
. /ha/resolve.sh
umask 077
mkdir -p /run/ha
{
  echo "aclfile /run/secrets/redis_ha_users_acl"
  echo "masteruser replication"
  echo "masterauth $(cat /run/secrets/redis_replication_password)"
  echo "appendonly yes"
  echo "appendfsync everysec"
  echo 'save ""'
  echo "dir /data"
  if [ -n "${PRIMARY:-}" ]; then echo "replicaof $(resolve "$PRIMARY") 6379"; fi
} > /run/ha/redis.conf
chown -R redis:redis /run/ha
exec docker-entrypoint.sh redis-server /run/ha/redis.conf
