# proxy_reinit: sessions carried over a restart of the upstream (core/proxy/reinit.h), against
# the testkit's MCP emulation restarted on the same port (it forgets its sessions):
#  1. a server that answers unknown sessions with 400 "No valid session ID provided" (the SDK's
#     example servers): the next request of the session is answered, same proxy session id,
#     the upstream sees a second initialize, and the session's GET stream goes on with the
#     same client connection and seq numbering;
#  2. a request while nothing listens waits for the server (--retry-connect) instead of a 502;
#  3. a 400 that does not name the session is passed on as it came;
#  4. no answer at all (the connection reset mid status line): a ping is sent again, a
#     tools/call is not (502);
#  5. --no-reinit: the client gets the server's answer and the session expires (404 after).
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime "$LIFETIME" --mcp-unknown-session-400 --get-interval-ms 50
listening upstream
UP=$PORT
UPSTREAM_PID=$LAST_PID
kill_upstream() {
  kill -9 "$(real_pid "$UPSTREAM_PID")" 2>/dev/null
  waited "$UPSTREAM_PID"
}
start_upstream() {  # on the same port: it knows no session
  RESTARTS=$((${RESTARTS:-0} + 1))
  start "upstream-$RESTARTS" "$TESTKIT" upstream --listen "127.0.0.1:$UP" --lifetime "$LIFETIME" --mcp-unknown-session-400 --get-interval-ms 50
  UPSTREAM_PID=$LAST_PID
  for _ in $(seq 1 100); do port_open "$UP" && break; sleep 0.05; done
}
restart_upstream() { kill_upstream; start_upstream; }
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"proxy_reinit","version":"1"}}}'
rpc() {  # URL SID BODY: the status
  http_code "$1" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    ${2:+-H "Mcp-Session-Id: $2"} -d "$3"
}
ping='{"jsonrpc":"2.0","id":2,"method":"ping"}'

start_proxy proxy --upstream "http://127.0.0.1:$UP/mcp" --store "$SCRATCH/store"
M="http://127.0.0.1:$PROXY_PORT/mcp"
expect_eq "$(rpc "$M" "" "$init")" 200 "initialize"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
# Answered whole (and at once: the proxy holds it only until its early GET is answered).
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' -H "Mcp-Session-Id: $SID" \
  -H 'Accept: application/json, text/event-stream' -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$M") ||
  fail "initialized: no complete answer within 5 s (got '$code')"
expect_eq "$code" 202 "initialized"
start getstream "$TESTKIT" client --url "$M" --header "Mcp-Session-Id: $SID" --timeout 20
get_pid=$LAST_PID
sleep 0.5

info "1. restart: the session carries over"
restart_upstream
expect_eq "$(rpc "$M" "$SID" "$ping")" 200 "ping after the restart"
expect_eq "$(jq -c .result "$SCRATCH/body")" '{}' "ping result"
expect_eq "$(metric ssestitch_session_reinits_total 'outcome="ok"')" 1 "one re-initialisation"
info "re-sent: $(metric ssestitch_requests_resent_total) (0 when the GET stream noticed the restart first)"
sleep 1
events_before=$(metric ssestitch_events_forwarded_total)

info "2. a request while the server is down waits for it"
kill_upstream
curl -s -o "$SCRATCH/down.body" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $SID" -d "$ping" "$M" >"$SCRATCH/down.code" &
curl_pid=$!
sleep 0.5
start_upstream
wait "$curl_pid" || true
expect_eq "$(cat "$SCRATCH/down.code")" 200 "ping sent while nothing listened"
[ "$(metric ssestitch_requests_retried_total 'reason="refused"')" -ge 1 ] || fail "no connect retry counted"
expect_eq "$(metric ssestitch_session_reinits_total 'outcome="ok"')" 2 "second re-initialisation"
sleep 1
[ "$(metric ssestitch_events_forwarded_total)" -gt "$events_before" ] || fail "the GET stream did not go on after the restarts"
stop "$get_pid"
C_OUT=$(tail -n 1 "$SCRATCH/getstream.log")
info "GET stream: $C_OUT"
# (its `k` starts over with each new server: the client counts those as duplicates; our ids
# <stream>-<seq> go on without a jump)
expect_eq "$(field id_errors)" 0 "one GET stream, seq numbering unbroken"
[ "$(field reconnects)" = 0 ] || fail "the client's GET connection was broken: $C_OUT"

info "3. a 400 for another reason passes through"
expect_eq "$(rpc "$M" "$SID" 'not json')" 400 "malformed body"
expect_eq "$(metric ssestitch_session_reinits_total 'outcome="ok"')" 2 "no re-initialisation for it"

info "4. no answer at all: a retry-safe request is sent again, a tools/call is not"
# Relays that reset the first connection after 10 bytes of its answer (an incomplete status
# line: no answer), then pass everything through.
for r in safe unsafe; do
  start "relay-$r" "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$UP" --cut-every 10 --cut-mode rst --max-cuts 1 --lifetime "$LIFETIME"
  listening "relay-$r"
  eval "RELAY_${r^^}=$PORT"
done
start_proxy cut-safe --upstream "http://127.0.0.1:$RELAY_SAFE/mcp" --no-store
expect_eq "$(rpc "http://127.0.0.1:$PROXY_PORT/mcp" "" "$ping")" 400 "ping without a session: the server's own answer, after one retry"
expect_eq "$(metric ssestitch_requests_retried_total 'reason="no_answer"')" 1 "the ping was sent again"
start_proxy cut-unsafe --upstream "http://127.0.0.1:$RELAY_UNSAFE/mcp" --no-store
call='{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"stream","arguments":{"count":1}}}'
expect_eq "$(rpc "http://127.0.0.1:$PROXY_PORT/mcp" "" "$call")" 502 "tools/call without an answer: 502, never sent twice"
expect_eq "$(metric ssestitch_requests_retried_total 'reason="no_answer"')" 0 "no retry of a tools/call"

info "5. --no-reinit"
start_proxy plain --upstream "http://127.0.0.1:$UP/mcp" --no-store --no-reinit
P="http://127.0.0.1:$PROXY_PORT/mcp"
expect_eq "$(rpc "$P" "" "$init")" 200 "initialize"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
restart_upstream
expect_eq "$(rpc "$P" "$SID" "$ping")" 400 "the server's answer"
echo "proxy_reinit: ok"
