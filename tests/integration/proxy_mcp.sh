# proxy_mcp: MCP Streamable HTTP through the real proxy, against the testkit's MCP emulation:
# proxy-minted sessions mapped to the upstream's, 404 for unknown sessions, DELETE, POST streams
# cut upstream and stitched, a non-resumable server's pending request answered with a JSON-RPC
# error, client resume from the proxy's log, isolation between sessions, the 2026-07-28 era,
# and sessions surviving a kill -9 of the proxy.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
LIFE=240

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE --get-interval-ms 50
listening upstream
UP=$PORT
start upstream-nr "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE --mcp-resumable 0
listening upstream-nr
UP_NR=$PORT
start relay "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$UP_NR" --cut-every 20000 --max-cuts 1 --lifetime $LIFE
listening relay
RELAY_NR=$PORT

STORE=$SCRATCH/store
start_proxy proxy --upstream "http://127.0.0.1:$UP/mcp" --store "$STORE" --reconnect-base 20ms
M="http://127.0.0.1:$PROXY_PORT/mcp"
PROXY1_PID=$PROXY_PID PROXY1_PORT=$PROXY_PORT ADMIN1=$ADMIN_PORT

init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"proxy_mcp","version":"1"}}}'
# initialize URL: sets SID to the session id the proxy minted.
initialize() {
  expect_eq "$(http_code "$1" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d "$init")" 200 "initialize"
  SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
}
# rpc URL SID BODY: POSTs one JSON-RPC message; prints the status.
rpc() {
  http_code "$1" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    ${2:+-H "Mcp-Session-Id: $2"} -d "$3"
}
call() { # ID COUNT [DROP_EVERY]
  printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"stream","arguments":{"count":%s,"size":100,"drop_every":%s}}}' "$1" "$2" "${3:-0}"
}

info "sessions: the proxy mints its own id, 128-bit random, mapped to the upstream's"
initialize "$M"
A=$SID
[[ $A =~ ^[0-9a-f]{32}$ ]] || fail "proxy session id: '$A'"
expect_eq "$(jq -r .result.protocolVersion "$SCRATCH/body")" 2025-11-25 "protocolVersion passes through"
initialize "$M"
B=$SID
[ "$A" != "$B" ] || fail "two sessions got the same id"
expect_eq "$(rpc "$M" "$A" '{"jsonrpc":"2.0","method":"notifications/initialized"}')" 202 "notification"
expect_eq "$(rpc "$M" "$A" '{"jsonrpc":"2.0","id":2,"method":"ping"}')" 200 "ping via the mapping"
expect_eq "$(jq -c .result "$SCRATCH/body")" '{}' "ping result"
expect_eq "$(rpc "$M" 0123456789abcdef0123456789abcdef '{"jsonrpc":"2.0","id":2,"method":"ping"}')" 404 "unknown session"
expect_eq "$(jq -r .error.code "$SCRATCH/body")" -32001 "unknown session: JSON-RPC error body"
expect_eq "$(rpc "$M" 'bad id!' '{"jsonrpc":"2.0","id":2,"method":"ping"}')" 400 "malformed session id"

info "a POST stream cut by the server every 400 events is stitched: 4000 events, one response"
client --url "$M" --method POST --header "Mcp-Session-Id: $A" --body "$(call 10 4000 400)" --timeout 60
expect_eq "$C_RC/$(field events)/$(field response)/$(field lost)/$(field duplicates)/$(field reconnects)" 0/4000/true/0/0/0 "stitched POST stream"
LAST=$(field last_id)
[[ $LAST =~ ^[0-9]+-[0-9]+$ ]] || fail "downstream id: $LAST"
STREAM=${LAST%-*}
[ "$(metric ssestitch_upstream_reconnects_total 'outcome="resumed"')" -ge 9 ] || fail "resumes not counted"
[ "$(metric ssestitch_priming_events_total)" -ge 1 ] || fail "2025-11-25 priming events not counted"

info "client drop: the proxy keeps logging; the client resumes from the log with our id"
client --url "$M" --method POST --header "Mcp-Session-Id: $A" --body "$(call 11 3000)" --disconnect-after 1000 --timeout 30
expect_eq "$(field events)" 1000 "events before the disconnect"
CUT=$(field last_id)
sleep 0.5
client --url "$M" --header "Mcp-Session-Id: $A" --last-event-id "$CUT" --timeout 30
expect_eq "$C_RC/$(field events)/$(field first_k)/$(field response)/$(field lost)/$(field duplicates)" 0/2000/1001/true/0/0 "resume from the log"

info "isolation: session B cannot resume session A's stream"
expect_eq "$(http_code "$M" -H "Mcp-Session-Id: $B" -H "Last-Event-ID: $CUT")" 404 "foreign Last-Event-ID"
grep -q '"k"' "$SCRATCH/body" && fail "foreign resume leaked events"
expect_eq "$(http_code "$M" -H "Mcp-Session-Id: $A" -H "Last-Event-ID: 99999-1")" 404 "nonexistent stream"
expect_eq "$(http_code "$M" -H "Mcp-Session-Id: $A" -H "Last-Event-ID: st1_5")" 400 "malformed Last-Event-ID"
expect_eq "$(http_code "$M" -H "Mcp-Session-Id: $A" -H "Last-Event-ID: 1-1%0d%0aX")" 400 "junk after a valid id"
expect_eq "$(http_code "$M" -H "Mcp-Session-Id: $A" -H "Last-Event-ID: 1-99999999999999999999999")" 400 "seq overflow"
[ "$(metric ssestitch_resumes_refused_total 'reason="unknown"')" -ge 2 ] || fail "refused resumes not counted"

info "A's GET stream, opened by the proxy at initialized: A's first GET gets it from its first event"
client --url "$M" --header "Mcp-Session-Id: $A" --timeout 1
expect_eq "$(field first_k)/$(field lost)/$(field duplicates)" 1/0/0 "early GET stream taken over from the start"
[ "$(field events)" -ge 5 ] || fail "early GET stream: $C_OUT"
expect_eq "$(metric ssestitch_get_streams_opened_early_total)" 1 "one early GET (A sent initialized, B did not)"

info "the GET stream of a session"
start getstream "$TESTKIT" client --url "$M" --header "Mcp-Session-Id: $B" --timeout 3
get_pid=$LAST_PID
sleep 1
expect_eq "$(metric ssestitch_streams_open 'kind="get"')" 2 "GET streams open: B's, and A's lingering"
expect_eq "$(metric ssestitch_streams_lingering)" 1 "A's GET stream lingers"
stop "$get_pid"
[ "$(tail -n 1 "$SCRATCH/getstream.log" | jq -r .events)" -ge 5 ] || fail "GET stream: $(tail -n 1 "$SCRATCH/getstream.log")"

info "DELETE ends the session"
expect_eq "$(http_code -X DELETE "$M" -H "Mcp-Session-Id: $B")" 200 "DELETE"
expect_eq "$(rpc "$M" "$B" '{"jsonrpc":"2.0","id":3,"method":"ping"}')" 404 "after DELETE"
expect_eq "$(rpc "$M" "$A" '{"jsonrpc":"2.0","id":3,"method":"ping"}')" 200 "the other session lives"

info "a server without a standalone GET stream: the client's GET gets its 405, as directly"
start upstream-noget "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE --mcp-get 0
listening upstream-noget
start_proxy proxy-noget --upstream "http://127.0.0.1:$PORT/mcp" --no-store
G="http://127.0.0.1:$PROXY_PORT/mcp"
initialize "$G"
expect_eq "$(rpc "$G" "$SID" '{"jsonrpc":"2.0","method":"notifications/initialized"}')" 202 "initialized"
expect_eq "$(http_code "$G" -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $SID")" 405 "GET without a standalone stream"
grep -qi '^allow: POST, DELETE' "$SCRATCH/head" || fail "the 405's Allow header: $(cat "$SCRATCH/head")"
expect_eq "$(metric ssestitch_get_streams_opened_early_total)/$(metric ssestitch_streams_open 'kind="get"')" 1/0 "early GET tried, no stream"

info "non-resumable server, upstream cut mid-stream: the pending request gets a JSON-RPC error"
start_proxy proxy-nr --upstream "http://127.0.0.1:$RELAY_NR/mcp" --no-store
N="http://127.0.0.1:$PROXY_PORT/mcp"
initialize "$N"
client --url "$N" --method POST --header "Mcp-Session-Id: $SID" --body "$(call '"q"' 2000)" --timeout 30
expect_eq "$C_RC/$(field response)/$(field response_error)" 0/true/true "JSON-RPC error for the lost request"
[ "$(field events)" -gt 0 ] && [ "$(field events)" -lt 2000 ] || fail "events before the cut: $(field events)"
expect_eq "$(metric ssestitch_pending_errors_sent_total)" 1 "pending errors counted"

info "MCP 2026-07-28: no session; a client disconnect cancels the upstream request"
start_proxy proxy-new --upstream "http://127.0.0.1:$UP/mcp" --no-store
X="http://127.0.0.1:$PROXY_PORT/mcp"
client --url "$X" --method POST --header 'MCP-Protocol-Version: 2026-07-28' --body "$(call 5 100000)" --disconnect-after 100 --timeout 30
expect_eq "$(field events)" 100 "events before the disconnect"
for _ in $(seq 1 50); do [ "$(metric ssestitch_upstream_transfers)" = 0 ] && break; sleep 0.1; done
expect_eq "$(metric ssestitch_upstream_transfers)" 0 "upstream request closed with the client"

info "kill -9: sessions and the log survive; the stream resumes after a restart"
ADMIN_PORT=$ADMIN1
client --url "$M" --method POST --header "Mcp-Session-Id: $A" --body "$(call 12 2000)" --disconnect-after 500 --timeout 30
CUT=$(field last_id)
sleep 0.3
kill -9 "$(real_pid "$PROXY1_PID")"
stop "$PROXY1_PID"
expect_eq "$STOP_RC" 137 "proxy killed"
LISTEN=127.0.0.1:$PROXY1_PORT \
start_proxy proxy-after --upstream "http://127.0.0.1:$UP/mcp" --store "$STORE" --reconnect-base 20ms
expect_eq "$(rpc "$M" "$A" '{"jsonrpc":"2.0","id":20,"method":"ping"}')" 200 "session A after kill -9"
expect_eq "$(rpc "$M" "$B" '{"jsonrpc":"2.0","id":20,"method":"ping"}')" 404 "deleted session B stays deleted"
client --url "$M" --header "Mcp-Session-Id: $A" --last-event-id "$CUT" --timeout 30
expect_eq "$C_RC/$(field events)/$(field first_k)/$(field response)/$(field lost)/$(field duplicates)" 0/1500/501/true/0/0 "resume after kill -9"

info "inspect next to the running proxy: the session, its negotiated revision, its streams"
"$SSESTITCH" inspect "$STORE" sessions --json >"$SCRATCH/sessions.json"
expect_eq "$(jq -r --arg a "$A" '.sessions[] | select(.id == $a) | .protocol_version' "$SCRATCH/sessions.json")" 2025-11-25 "negotiated revision"
expect_eq "$(jq -r --arg b "$B" '.sessions[] | select(.id == $b) | .state' "$SCRATCH/sessions.json")" closed "deleted session"
"$SSESTITCH" inspect "$STORE" streams --session "$A" --ndjson >"$SCRATCH/streams.ndjson"
[ "$(wc -l <"$SCRATCH/streams.ndjson")" -ge 3 ] || fail "streams of A: $(cat "$SCRATCH/streams.ndjson")"
! grep -q "$B" "$SCRATCH/streams.ndjson" || fail "session B's streams listed under A"
echo "proxy_mcp: ok"
