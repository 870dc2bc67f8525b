# Sourced by node.sh and sentinel.sh. Addresses, not names, between the Redis nodes and the Sentinels: the name of a
# stopped container no longer resolves, and on the internal backend network the failed lookup takes seconds during
# which Redis and Sentinel block (a Sentinel then enters TILT mode and fails over late, if at all). So each node
# resolves the names it needs once, when it starts (compose starts it after the ones it names are healthy).
resolve() {
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    address="$(getent hosts "$1" | awk '{ print $1; exit }')"
    if [ -n "$address" ]; then echo "$address"; return 0; fi
    sleep 1
  done
  echo "cannot resolve $1" >&2
  return 1
}
