# mcp_several_instances: three proxies share one Redis store (--store redis://..., one prefix)
# behind HAProxy balancing round robin without affinity, in front of the official SDK server.
# The official SDK client initializes through HAProxy and makes 100 tool calls, `echo` and
# `ask` in turn: every call is answered, the session id never changes, and the calls land on all
# three proxies (the two that did not see the initialize adopt the session from Redis; the
# server's sampling requests reach the client on the session's GET stream, followed from Redis
# by the proxy its GET landed on). A tool call streaming 20,000
# notifications has the client's connection cut twice (a relay in front of HAProxy): the SDK
# resumes through HAProxy on other proxies, which follow the stream from Redis while its proxy
# reads it: every notification exactly once, in order, and the result. Then a tool call streams 20,000
# notifications through HAProxy and the proxy serving it is SIGKILLed after 5,000 of them are
# in Redis: the client (the SDK's own reconnection on) resumes through HAProxy, another proxy
# refuses (503 + Retry-After) until the dead one's liveness key expires, then takes the stream
# over: the client gets all 20,000 exactly once, in order, and the result. Last, a new session's
# calls go on through the two proxies left (HAProxy redispatches a refused connection). In
# between, Redis is SIGKILLed during a 20,000-notification call and restarted (appendonly): the
# proxies hold the stream and the call completes exactly once.
# With REDIS_CLUSTER=1 (mcp_several_instances_cluster.sh) the store is a three-master Redis
# Cluster instead of one server: the 100 calls and the proxy's death, which must find the data
# spread over all three masters; the cuts and the Redis kill are single-server steps.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/bootstrap test installs it)"
command -v haproxy >/dev/null || fail "haproxy is not installed (scripts/bootstrap test installs it)"

CLUSTER=${REDIS_CLUSTER:-0}
if [ "$CLUSTER" = 1 ]; then
  start_redis_cluster 3
  RPORT=${CLUSTER_PORTS[0]}
else
  RPORT=$(free_port)
  start_redis() { start_redis_server "redis$1" "$RPORT" --appendonly yes --appendfsync everysec; }
  start_redis 0
fi
redis() { redis-cli -c -p "$RPORT" "$@"; }  # -c: follows a cluster's redirects
STORE="redis://127.0.0.1:$RPORT?prefix=e2e"

start_server server --event-store
UP="http://127.0.0.1:$SERVER_PORT/mcp"
PIDS=() PORTS=() ADMINS=()
for i in 1 2 3; do
  start_proxy "proxy$i" --upstream "$UP" --store "$STORE"
  PIDS+=("$PROXY_PID") PORTS+=("$PROXY_PORT") ADMINS+=("$ADMIN_PORT")
done

start_haproxy "${PORTS[@]}"

requests() { curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk '$1 == "ssestitch_requests_total" { print $2 }'; }
sdk_client calls "http://127.0.0.1:$HPORT/mcp" --calls 100 --interval-ms 5 --timeout 20
expect_eq "$C_RC/$(jq -r '"\(.ok)/\(.same_session)"' <<<"$C_OUT")/$(jq -c .errors <<<"$C_OUT")" "0/100/true/[]" \
  "100 calls through three proxies"
for i in 0 1 2; do
  n=$(requests "${ADMINS[$i]}")
  info "proxy$((i + 1)): $n requests"
  [ "${n:-0}" -ge 20 ] || fail "proxy$((i + 1)) served only ${n:-0} requests: the calls did not spread"
done
adopted=$(cat "$SCRATCH"/proxy[123].log | grep -c 'session_adopted' || true)
[ "$adopted" -ge 2 ] || fail "the session was adopted by $adopted proxies (want 2)"
# Every other call is `ask`: the server's sampling request travels on the session's GET stream,
# which the proxy that received `initialized` opened; the client's GET landed on another proxy,
# which follows that stream from Redis.
get_followed=$(cat "$SCRATCH"/proxy[123].log | grep 'get_stream_taken_over' | grep -c 'followed.\{1,3\}true' || true)
[ "$get_followed" -ge 1 ] || fail "no proxy followed the session's GET stream from Redis"

if [ "$CLUSTER" = 0 ]; then
  # The client's connection is cut twice during a streamed call.
  start relay "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$HPORT" --cut-every 400KiB --max-cuts 2 --lifetime "$LIFETIME"
  RELAY_PORT=$(port_in_log relay 's/.*relay: listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p')
  sdk_client notify "http://127.0.0.1:$RELAY_PORT/mcp" --count 20000 --retries 40 --timeout 60
  expect_eq "$C_RC/$(jq -r '"\(.result)/\(.unique)/\(.duplicates)/\(.missing)/\(.in_order)"' <<<"$C_OUT")" \
    "0/sent 20000/20000/0/0/true" "20,000 notifications across two cuts"
  cut_resumes=$(jq -r .reconnects <<<"$C_OUT")
  [ "$cut_resumes" -ge 2 ] || fail "the SDK resumed only $cut_resumes times"
  followed=0
  for i in 0 1 2; do followed=$((followed + $(curl -s --max-time 5 "http://127.0.0.1:${ADMINS[$i]}/metrics" |
    awk '$1 == "ssestitch_resumes_followed_total" { print $2 }'))); done
  [ "$followed" -ge 1 ] || fail "no resume was followed on another proxy"
fi

# notify_exactly_once NAME WHAT: waits for the background notify client NAME (started with
# `start NAME`, its PID in notify_pid) and expects its 20,000 notifications exactly once, in
# order, and the result; C_OUT is its summary.
notify_exactly_once() {
  waited "$notify_pid"
  C_OUT=$(tail -n 1 "$SCRATCH/$1.log")
  info "$1: $C_OUT"
  expect_eq "$STOP_RC/$(jq -r '"\(.result)/\(.unique)/\(.duplicates)/\(.missing)/\(.in_order)"' <<<"$C_OUT")" \
    "0/sent 20000/20000/0/0/true" "$2"
}

# The proxy serving a streamed tool call dies after 5,000 notifications.
# (a 20 ms pause every 100 notifications: at least 4 s in all, so the kill lands mid-stream)
start notify node "$E2E/client.mjs" notify "http://127.0.0.1:$HPORT/mcp" --count 20000 --pause-ms 20 --retries 40 \
  --timeout 90
notify_pid=$LAST_PID
victim=
for _ in $(seq 1 400); do
  stream=$("$SSESTITCH" inspect "$STORE" streams --json 2>/dev/null |
    jq -r '[.streams[] | select(.kind == "post" and .state == "open" and .events >= 5000)][0].stream // empty')
  if [ -n "$stream" ]; then
    owner_pid=$(redis HGET "e2e:st:{$stream}" owner | cut -d: -f2)
    for i in 0 1 2; do [ "$(real_pid "${PIDS[$i]}")" = "$owner_pid" ] && victim=$i; done
    break
  fi
  sleep 0.05
done
[ -n "$victim" ] || fail "no proxy found serving the notify call: $(tail -n 2 "$SCRATCH/notify.log")"
kill -9 "$(real_pid "${PIDS[$victim]}")"
waited "${PIDS[$victim]}"
info "killed proxy$((victim + 1)), the owner of stream $stream"
notify_exactly_once notify "20,000 notifications across the death of the proxy serving them"
grep -q "stream_taken_over stream=$stream" "$SCRATCH"/proxy[123].log || fail "no proxy took stream $stream over"
resumes=$(jq -r .reconnects <<<"$C_OUT")

if [ "$CLUSTER" = 1 ]; then
  for p in "${CLUSTER_PORTS[@]}"; do
    keys=$(redis-cli -p "$p" DBSIZE)
    info "cluster node $p: $keys keys"
    [ "$keys" -gt 0 ] || fail "cluster node $p holds no key: the store did not spread over the cluster"
  done
else
  # Redis itself SIGKILLed mid-call and restarted a second later (appendonly): the proxies hold
  # the stream (nothing is forwarded uncommitted) and the call completes exactly once.
  start notify2 node "$E2E/client.mjs" notify "http://127.0.0.1:$HPORT/mcp" --count 20000 --pause-ms 20 --retries 40 \
    --timeout 90
  notify_pid=$LAST_PID
  stored=0
  for _ in $(seq 1 400); do
    stored=$("$SSESTITCH" inspect "$STORE" streams --json 2>/dev/null |
      jq -r '[.streams[] | select(.kind == "post" and .state == "open" and .events >= 5000)][0].events // 0')
    [ "$stored" -gt 0 ] && break
    sleep 0.05
  done
  [ "$stored" -gt 0 ] || fail "the notify call's stream never reached 5,000 events: $(tail -n 2 "$SCRATCH/notify2.log")"
  kill -9 "$(real_pid "$REDIS_PID")" || fail "redis-server is not running"
  info "redis-server killed with $stored notifications of the call stored"
  waited "$REDIS_PID"
  sleep 1
  start_redis 1
  notify_exactly_once notify2 "20,000 notifications across a Redis kill -9 and restart"
  grep -q store_available_again "$SCRATCH"/proxy[123].log || fail "no proxy held through the Redis outage"
fi

# Calls of a new session go on through the two proxies left.
sdk_client calls "http://127.0.0.1:$HPORT/mcp" --calls 30 --interval-ms 5 --timeout 20
expect_eq "$C_RC/$(jq -r '"\(.ok)/\(.same_session)"' <<<"$C_OUT")" "0/30/true" "30 calls with one proxy dead"
if [ "$CLUSTER" = 1 ]; then
  echo "mcp_several_instances on a 3-master Redis Cluster: ok (100 calls over 3 proxies, $adopted adoptions; 20,000 notifications exactly once across the serving proxy's death, $resumes SDK resumes; 30 more calls)"
else
  echo "mcp_several_instances: ok (100 calls over 3 proxies, $adopted adoptions; 2 cuts: $cut_resumes resumes, $followed followed elsewhere; 20,000 notifications exactly once across the serving proxy's death, $resumes SDK resumes, and across a Redis kill; 30 more calls)"
fi
