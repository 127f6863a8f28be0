# mcp_cuts: the acceptance runs of the proxy with the official SDK on both sides.
#  1. Resumable server (OrderedEventStore in server.mjs, on the SDK's EventStore interface), the
#     proxy's upstream connection cut every ~200 KB: the client (SDK reconnection off) gets all
#     20,000 notifications once, in order, and the result, without a single reconnect of its own.
#  2. Server without an event store, the client's own connection to the proxy cut twice
#     mid-stream: the SDK client resumes from the proxy's log (GET + Last-Event-ID) and gets
#     everything exactly once; directly against that server the same resume is impossible.
#  3. Server without an event store, the proxy's upstream connection cut: the pending call gets a
#     JSON-RPC error from the proxy instead of hanging.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
N=${E2E_NOTIFICATIONS:-20000}

info "1. resumable server, upstream cut every 200 KB"
start_server server-es --event-store
start relay-up "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$SERVER_PORT" --cut-every 200KiB --lifetime "$LIFETIME"
relay_up_pid=$LAST_PID
listening relay-up
start_proxy proxy1 --upstream "http://127.0.0.1:$PORT/mcp" --store "$SCRATCH/store1" --reconnect-base 50ms
sdk_client notify "http://127.0.0.1:$PROXY_PORT/mcp" --count "$N" --size 64 --retries 0
expect_eq "$C_RC" 0 "client exit"
expect_eq "$(jq -r '"\(.received)/\(.duplicates)/\(.missing)/\(.in_order)/\(.reconnects)/\(.result)"' <<<"$C_OUT")" \
  "$N/0/0/true/0/sent $N" "20,000 notifications through upstream cuts"
resumed=$(metric ssestitch_upstream_reconnects_total 'outcome="resumed"')
stop "$relay_up_pid"
cuts=$(tail -n 1 "$SCRATCH/relay-up.log" | jq -r .cuts)
info "relay cuts: $cuts, proxy resumes: $resumed"
[ "$cuts" -ge 10 ] && [ "$resumed" -ge "$cuts" ] || fail "expected >= 10 cuts, each resumed (cuts $cuts, resumed $resumed)"

info "2. server without an event store, the client's connection cut twice"
start_server server-nes
start_proxy proxy2 --upstream "http://127.0.0.1:$SERVER_PORT/mcp" --store "$SCRATCH/store2"
start relay-down "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$PROXY_PORT" --cut-every 600KiB --max-cuts 2 --lifetime "$LIFETIME"
relay_down_pid=$LAST_PID
listening relay-down
sdk_client notify "http://127.0.0.1:$PORT/mcp" --count "$N" --size 64 --retries 5
expect_eq "$C_RC" 0 "client exit"
expect_eq "$(jq -r '"\(.received)/\(.duplicates)/\(.missing)/\(.in_order)/\(.result)"' <<<"$C_OUT")" \
  "$N/0/0/true/sent $N" "client resumed from the proxy's log"
[ "$(jq -r .reconnects <<<"$C_OUT")" -ge 2 ] || fail "the client should have resumed twice: $C_OUT"
[ "$(metric ssestitch_resumes_served_total)" -ge 2 ] || fail "resumes not counted"
stop "$relay_down_pid"
info "   (directly, the same server cannot resume: GET with Last-Event-ID is refused)"
code=$(http_code "http://127.0.0.1:$SERVER_PORT/mcp" -H 'Accept: text/event-stream' \
  -H "Mcp-Session-Id: 00000000-0000-0000-0000-000000000000" -H 'Last-Event-ID: x')
[ "${code:0:1}" = 4 ] || fail "direct resume without an event store: $code"

info "3. server without an event store, upstream cut: a JSON-RPC error, not a hang"
start relay-nr "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$SERVER_PORT" --cut-every 100KiB --max-cuts 1 --lifetime "$LIFETIME"
listening relay-nr
start_proxy proxy3 --upstream "http://127.0.0.1:$PORT/mcp" --no-store
sdk_client notify "http://127.0.0.1:$PROXY_PORT/mcp" --count "$N" --size 64 --retries 0 --timeout 60
expect_eq "$C_RC" 0 "client exit"
expect_eq "$(jq -r .error_code <<<"$C_OUT")" -32000 "JSON-RPC error from the proxy"
grep -q 'cannot be resumed' <<<"$C_OUT" || fail "error message: $C_OUT"
[ "$(jq -r .elapsed_ms <<<"$C_OUT")" -lt 60000 ] || fail "took the whole timeout: $C_OUT"
echo "mcp_cuts: ok"
