#!/bin/sh
# A Sentinel of the ha profile (docker-compose.ha.yml): monitors the primary `redis` as master group `authstack`,
# quorum 2 of 3, primary down after 5 s. Clients and the other Sentinels log in with the Sentinel password; the
# Sentinel logs in to the data nodes as the ACL user `sentinel`. Its configuration, which Sentinel rewrites as it
# learns, lives on a tmpfs: a restarted Sentinel starts again from `redis` and learns the current primary from it.
set -eu
. /ha/resolve.sh
umask 077
mkdir -p /run/ha
password="$(cat /run/secrets/redis_sentinel_password)"
{
  echo "port 26379"
  echo "dir /run/ha"
  echo "requirepass $password"
  echo "sentinel sentinel-pass $password"
  echo "sentinel monitor authstack $(resolve redis) 6379 2"
  echo "sentinel auth-user authstack sentinel"
  echo "sentinel auth-pass authstack $(cat /run/secrets/redis_sentinel_node_password)"
  echo "sentinel down-after-milliseconds authstack 5000"
  echo "sentinel failover-timeout authstack 20000"
  echo "sentinel parallel-syncs authstack 1"
} > /run/ha/sentinel.conf
chown -R redis:redis /run/ha
exec docker-entrypoint.sh redis-server /run/ha/sentinel.conf --sentinel
