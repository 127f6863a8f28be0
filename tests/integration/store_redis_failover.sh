# store_redis_failover: what a Redis failover loses. A primary and its replica (REPLICAOF, both
# on 127.0.0.1); a proxy on the primary streams events to a client flat out; mid-stream the
# replica is cut off and promoted (REPLICAOF NO ONE, as Sentinel does in a partition), the
# primary serves on for a second and is SIGKILLed. Every
# event the client received must be on the promoted replica with --redis-replicas 1 (each
# commit waits for the replica: WAIT). Without it replication is asynchronous: the events the
# client got that the replica lacks are counted and reported (not asserted: the count depends
# on the rate).
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/bootstrap test installs it)"
LIFE=120

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE
listening upstream
UP=$PORT

# failover NAME [PROXY ARGS...]: one primary/replica pair, one proxy, one kill; sets LOST (events
# the client received that the promoted replica does not have) and GOT (events received).
failover() {
  local name=$1
  shift
  local pport rport
  pport=$(free_port)
  rport=$(free_port)
  start_redis_server "$name-primary" "$pport" --appendonly no
  local primary=$REDIS_PID
  start_redis_server "$name-replica" "$rport" --appendonly no --replicaof 127.0.0.1 "$pport"  # its sync writes an RDB file
  local replica=$REDIS_PID
  for _ in $(seq 1 100); do
    redis-cli -p "$rport" INFO replication | grep -q 'master_link_status:up' && break
    sleep 0.05
  done
  redis-cli -p "$rport" INFO replication | grep -q 'master_link_status:up' || fail "$name: the replica did not link"
  start_proxy "$name-proxy" --upstream "http://127.0.0.1:$UP/events" --store "redis://127.0.0.1:$pport?prefix=fo" "$@"
  local proxy=$PROXY_PID
  grep -q 'store_redis_replication' "$SCRATCH/$name-proxy.log" || fail "$name: no replication line at start"
  start "$name-client" "$TESTKIT" client --url "http://127.0.0.1:$PROXY_PORT/events?n=1000000&size=100" --timeout 4
  local client=$LAST_PID
  # Until events flow (a second of it, 20 s at most under the sanitizers on a loaded machine).
  local key=""
  for _ in $(seq 1 200); do
    [ -n "$key" ] || key=$(redis-cli -p "$pport" --scan --pattern 'fo:st:*' | head -n 1)
    [ -n "$key" ] && [ "$(redis-cli -p "$pport" --raw HGET "$key" last_seq)" -ge 1000 ] 2>/dev/null && break
    sleep 0.1
  done
  sleep 1
  # A partition: the replica loses the primary and is promoted (as Sentinel does when the
  # primary is unreachable from its side) while the primary still serves the proxy for a
  # second; then the primary dies.
  redis-cli -p "$rport" REPLICAOF NO ONE >/dev/null
  sleep 1
  kill -9 "$(real_pid "$primary")" || fail "$name: the primary is not running"
  waited "$primary"
  waited "$client"
  C_OUT=$(tail -n 1 "$SCRATCH/$name-client.log")
  GOT=$(field events)
  local seen
  seen=$(field last_id | cut -d- -f2)
  [ -n "$seen" ] && [ "$GOT" -gt 0 ] || fail "$name: the client received nothing: $C_OUT"
  local kept
  kept=$("$SSESTITCH" inspect "redis://127.0.0.1:$rport?prefix=fo" streams --json |
    jq -r '[.streams[] | select(.kind == "generic")][0].last_seq // 0')
  LOST=$((seen > kept ? seen - kept : 0))
  info "$name: the client got $GOT events (last seq $seen); the promoted replica has up to seq $kept: $LOST lost"
  kill -9 "$(real_pid "$proxy")" 2>/dev/null  # the proxy itself: a KILL of its `timeout` would orphan it
  waited "$proxy"
  stop "$replica"
}

failover async
async_lost=$LOST async_got=$GOT
failover wait --redis-replicas 1
expect_eq "$LOST" 0 "events received by the client but missing on the promoted replica with --redis-replicas 1"
echo "store_redis_failover: ok (--redis-replicas 1: $GOT events received, 0 lost; asynchronous: $async_got received, $async_lost lost)"
