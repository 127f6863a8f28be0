# mcp_restart_isolation: with the official SDK on both sides,
#  1. kill -9 of the proxy in the middle of a 20,000-notification call, restart on the same store
#     and port: the SDK client resumes (GET + Last-Event-ID) and gets the rest exactly once;
#  2. two sessions: the other session's Last-Event-ID is refused with a 4xx and no event of one
#     session reaches the other.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
N=${E2E_NOTIFICATIONS:-20000}

start_server server --event-store
STORE=$SCRATCH/store
start_proxy proxy --upstream "http://127.0.0.1:$SERVER_PORT/mcp" --store "$STORE" --reconnect-base 50ms
LISTEN=127.0.0.1:$PROXY_PORT
URL="http://127.0.0.1:$PROXY_PORT/mcp"

info "1. kill -9 mid-call; restart; the client resumes"
# 1 KB notifications at the SDK's pace take a few seconds: kill once about a third has passed.
start client node "$E2E/client.mjs" notify "$URL" --count "$N" --size 1000 --retries 20 --timeout 120
client_pid=$LAST_PID
for _ in $(seq 1 200); do
  n=$("$SSESTITCH" inspect "$STORE" streams --json 2>/dev/null | jq '[.streams[] | select(.kind == "post") | .events] | max // 0')
  [ "${n:-0}" -ge $((N / 3)) ] && break
  sleep 0.05
done
info "events logged before the kill: $n"
kill -9 "$(real_pid "$PROXY_PID")"
stop "$PROXY_PID"
expect_eq "$STOP_RC" 137 "proxy killed"
start_proxy proxy-after --upstream "http://127.0.0.1:$SERVER_PORT/mcp" --store "$STORE" --reconnect-base 50ms
waited "$client_pid"
C_OUT=$(tail -n 1 "$SCRATCH/client.log")
info "client: $C_OUT"
expect_eq "$STOP_RC/$(jq -r '"\(.received)/\(.duplicates)/\(.missing)/\(.in_order)/\(.result)"' <<<"$C_OUT")" \
  "0/$N/0/0/true/sent $N" "resumed across kill -9"
[ "$(jq -r .reconnects <<<"$C_OUT")" -ge 1 ] || fail "the client never resumed: $C_OUT"
ID_A=$(jq -r .last_event_id <<<"$C_OUT")
SID_A=$(jq -r .session <<<"$C_OUT")

info "2. isolation between two sessions"
sdk_client notify "$URL" --count 50 --retries 0
SID_B=$(jq -r .session <<<"$C_OUT")
ID_B=$(jq -r .last_event_id <<<"$C_OUT")
[ "$SID_A" != "$SID_B" ] || fail "two sessions share an id"
code=$(http_code "$URL" -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $SID_B" -H "Last-Event-ID: $ID_A")
[ "${code:0:1}" = 4 ] || fail "session B presenting A's Last-Event-ID: $code"
! grep -q '"i":' "$SCRATCH/body" || fail "A's events leaked to B"
code=$(http_code "$URL" -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $SID_A" -H "Last-Event-ID: $ID_B")
[ "${code:0:1}" = 4 ] || fail "session A presenting B's Last-Event-ID: $code"
[ "$(metric ssestitch_resumes_refused_total 'reason="unknown"')" -ge 2 ] || fail "refusals not counted"
echo "mcp_restart_isolation: ok"
