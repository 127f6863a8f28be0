# mcp_several_instances: three proxies share one Redis store (--store redis://..., one prefix)
# behind HAProxy balancing round robin without affinity, in front of the official SDK server.
# The official SDK client initializes through HAProxy and makes 100 tool calls: every call is
# answered, the session id never changes, and the calls land on all three proxies (the two that
# did not see the initialize adopt the session from Redis). Then one proxy is killed (-9): a
# new session's calls go on through the other two (HAProxy redispatches a refused connection).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/bootstrap test installs it)"
command -v haproxy >/dev/null || fail "haproxy is not installed (scripts/bootstrap test installs it)"

RPORT=$(free_port)
mkdir -p "$SCRATCH/redis"
start redis redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
  --dir "$SCRATCH/redis"
wait_port "$RPORT"
STORE="redis://127.0.0.1:$RPORT?prefix=e2e"

start_server server --event-store
UP="http://127.0.0.1:$SERVER_PORT/mcp"
PIDS=() PORTS=() ADMINS=()
for i in 1 2 3; do
  start_proxy "proxy$i" --upstream "$UP" --store "$STORE"
  PIDS+=("$PROXY_PID") PORTS+=("$PROXY_PORT") ADMINS+=("$ADMIN_PORT")
done

HPORT=$(free_port)
cat >"$SCRATCH/haproxy.cfg" <<CFG
global
  maxconn 1000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch 1
frontend mcp
  bind 127.0.0.1:$HPORT
  default_backend proxies
backend proxies
  balance roundrobin
  server p1 127.0.0.1:${PORTS[0]}
  server p2 127.0.0.1:${PORTS[1]}
  server p3 127.0.0.1:${PORTS[2]}
CFG
start haproxy haproxy -db -f "$SCRATCH/haproxy.cfg"
wait_port "$HPORT"

requests() { curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk '$1 == "ssestitch_requests_total" { print $2 }'; }
sdk_client calls "http://127.0.0.1:$HPORT/mcp" --calls 100 --interval-ms 5 --echo-only --timeout 20
expect_eq "$C_RC/$(jq -r '"\(.ok)/\(.same_session)"' <<<"$C_OUT")/$(jq -c .errors <<<"$C_OUT")" "0/100/true/[]" \
  "100 calls through three proxies"
for i in 0 1 2; do
  n=$(requests "${ADMINS[$i]}")
  info "proxy$((i + 1)): $n requests"
  [ "${n:-0}" -ge 20 ] || fail "proxy$((i + 1)) served only ${n:-0} requests: the calls did not spread"
done
adopted=$(cat "$SCRATCH"/proxy[123].log | grep -c 'session_adopted' || true)
[ "$adopted" -ge 2 ] || fail "the session was adopted by $adopted proxies (want 2)"

# One proxy dies: HAProxy notices (its connection is refused) and the calls go on.
kill -9 "$(real_pid "${PIDS[0]}")"
waited "${PIDS[0]}"
sdk_client calls "http://127.0.0.1:$HPORT/mcp" --calls 30 --interval-ms 5 --echo-only --timeout 20
expect_eq "$C_RC/$(jq -r '"\(.ok)/\(.same_session)"' <<<"$C_OUT")" "0/30/true" "30 calls with one proxy dead"
echo "mcp_several_instances: ok (100 calls over 3 proxies, $adopted adoptions, 30 more with one proxy killed)"
