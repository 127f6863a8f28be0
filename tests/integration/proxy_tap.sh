# proxy_tap: `proxy --tap PATH|-` (core/proxy/tap.h) and `--record` with `inspect STORE
# messages` (core/proxy/recorder.h, core/tape/reader.h), against the testkit's MCP emulation:
#  1. an MCP session through the proxy (--tap -, piped through jq): the tap has every message, both directions, in order,
#     with kinds, methods, ids, latencies of responses, the stream and seq of SSE events, the
#     proxy's own refusal, as documented in ssestitch-proxy(1) TAP FORMAT; `inspect messages`
#     shows exactly the same lines from the store; --record metadata keeps no bodies, --record
#     off nothing; the message counters in /metrics agree;
#  2. a tap whose reader never reads (a FIFO held open): forwarding goes on (50,000 events reach
#     the client), the lines that do not fit are dropped and counted, a paced call's latency is
#     printed beside a proxy's without a tap, the proxy stops promptly.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime "$LIFETIME" --get-interval-ms 100000
listening upstream
UP=$PORT
H=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
TAP=$SCRATCH/tap.ndjson
# --tap -: the lines go to standard output, here the same file as the log on stderr (each line is
# one write below PIPE_BUF: they do not interleave); they are the lines that start with {"time_ms"
start_proxy proxy --upstream "http://127.0.0.1:$UP/mcp" --store "$SCRATCH/store" --tap -
M="http://127.0.0.1:$PROXY_PORT/mcp"

info "1. a session, message by message"
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"proxy_tap","version":"1"}}}'
expect_eq "$(http_code "$M" "${H[@]}" -d "$init")" 200 "initialize"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
S=(-H "Mcp-Session-Id: $SID")
expect_eq "$(http_code "$M" "${H[@]}" "${S[@]}" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}')" 202 "initialized"
expect_eq "$(http_code "$M" "${H[@]}" "${S[@]}" -d '{"jsonrpc":"2.0","id":"t","method":"tools/list"}')" 200 "tools/list"
curl -s -N --max-time 10 "${H[@]}" "${S[@]}" -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stream","arguments":{"count":2}}}' "$M" >/dev/null
expect_eq "$(http_code "$M" -X DELETE "${S[@]}")" 200 "DELETE"
# (refused: recorded without the session it claims, which is not its to write into)
expect_eq "$(http_code "$M" "${H[@]}" "${S[@]}" -d '{"jsonrpc":"2.0","id":3,"method":"ping"}')" 404 "the ended session"
sleep 0.3  # the writer thread
grep '^{"time_ms"' "$SCRATCH/proxy.log" | jq -c . >"$TAP"
# (the proxy's own GET stream of the session carries nothing: --get-interval-ms is long)
got=$(jq -c '[.direction, (.session != null), .http_method, .status, .kind, .method, .id, (.latency_ms != null), .stream != null, .from_proxy]' "$TAP")
want='["client_to_server",false,"POST",null,"request","initialize",1,false,false,false]
["server_to_client",true,null,200,"response",null,1,true,false,false]
["client_to_server",true,"POST",null,"notification","notifications/initialized",null,false,false,false]
["server_to_client",true,null,202,null,null,null,false,false,false]
["client_to_server",true,"POST",null,"request","tools/list","t",false,false,false]
["server_to_client",true,null,200,"response",null,"t",true,false,false]
["client_to_server",true,"POST",null,"request","tools/call",2,false,false,false]
["server_to_client",true,null,200,null,null,null,false,true,false]
["server_to_client",true,null,null,"notification","notifications/progress",null,false,true,false]
["server_to_client",true,null,null,"notification","notifications/progress",null,false,true,false]
["server_to_client",true,null,null,"response",null,2,true,true,false]
["client_to_server",true,"DELETE",null,null,null,null,false,false,false]
["server_to_client",true,null,200,null,null,null,false,false,false]
["client_to_server",false,"POST",null,"request","ping",3,false,false,false]
["server_to_client",false,null,404,"error",null,null,false,false,true]'
[ "$got" = "$want" ] || fail "tap: $(diff <(echo "$want") <(echo "$got"))"
expect_eq "$(jq -r 'select(.kind == "response" and .id == 2) | "\(.message.result.content[0].text) \(.seq)"' "$TAP")" "done 2 3" \
  "the tool's answer, whole, where the log keeps it"
expect_eq "$(jq -s '[.[].session | select(. != null)] | unique | [length, (.[0] == "'"$SID"'")]' -c "$TAP")" "[1,true]" \
  "one session, the client's (none yet for initialize)"
expect_eq "$(metric ssestitch_mcp_client_messages_total 'kind="request"')/$(metric ssestitch_mcp_client_messages_total 'kind="notification"')/$(metric ssestitch_mcp_client_messages_total 'kind="none"')" \
  4/1/1 "client messages by kind (the DELETE has no body)"
expect_eq "$(metric ssestitch_mcp_answers_total 'class="2xx"')/$(metric ssestitch_mcp_answers_total 'class="4xx"')/$(metric ssestitch_mcp_proxy_messages_total)" \
  5/1/1 "answers by status class, the proxy's own"
stopped "$PROXY_PID" "proxy stopped"
"$SSESTITCH" inspect "$SCRATCH/store" messages --ndjson >"$SCRATCH/messages.ndjson" || fail "inspect messages"
jq -c . "$SCRATCH/messages.ndjson" >"$SCRATCH/messages.jq"
cmp -s "$TAP" "$SCRATCH/messages.jq" || fail "inspect messages differs from the tap: $(diff "$TAP" "$SCRATCH/messages.jq")"
"$SSESTITCH" inspect "$SCRATCH/store" messages --session "$SID" >"$SCRATCH/messages.txt" || fail "inspect messages table"
expect_eq "$(head -n 1 "$SCRATCH/messages.txt" | tr -s ' ')" "TIME_MS DIRECTION SESSION STATUS WHAT ID LATENCY_MS SIZE EVENT" "table header"
expect_eq "$(wc -l <"$SCRATCH/messages.txt")" 14 "table rows (the session's 13 messages)"
grep -q '<- .* 200 .*result .* 1 ' "$SCRATCH/messages.txt" || fail "the table shows no answer to initialize: $(cat "$SCRATCH/messages.txt")"
for mode in metadata off; do
  start_proxy "record-$mode" --upstream "http://127.0.0.1:$UP/mcp" --store "$SCRATCH/store-$mode" --record "$mode"
  expect_eq "$(http_code "http://127.0.0.1:$PROXY_PORT/mcp" "${H[@]}" -d "$init")" 200 "initialize (--record $mode)"
  stopped "$PROXY_PID" "proxy (--record $mode) stopped"
  "$SSESTITCH" inspect "$SCRATCH/store-$mode" messages --ndjson >"$SCRATCH/messages-$mode.ndjson"
done
expect_eq "$(jq -c '[.kind, has("message")]' "$SCRATCH/messages-metadata.ndjson" | paste -sd' ' -)" '["request",false] ["response",false]' \
  "--record metadata: kinds, no bodies"
expect_eq "$(wc -l <"$SCRATCH/messages-off.ndjson")" 0 "--record off: nothing"

info "2. a tap nobody reads"
FIFO=$SCRATCH/tap.fifo
mkfifo "$FIFO"
exec 3<>"$FIFO"  # held open, never read
start_proxy stalled --upstream "http://127.0.0.1:$UP/mcp" --no-store --tap "$FIFO"
M="http://127.0.0.1:$PROXY_PORT/mcp"
expect_eq "$(http_code "$M" "${H[@]}" -d "$init")" 200 "initialize"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
n=$(curl -s -N --max-time 60 "${H[@]}" -H "Mcp-Session-Id: $SID" \
  -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stream","arguments":{"count":50000,"size":256}}}' "$M" |
  grep -c '^data: .*notifications/progress')
expect_eq "$n" 50000 "events forwarded while the tap is stalled"
dropped=$(metric ssestitch_tap_dropped_total)
[ "$dropped" -gt 0 ] || fail "nothing dropped: the tap should have filled"
info "tap lines dropped: $dropped"
grep -q 'tap_dropping' "$SCRATCH/stalled.log" || fail "the drops were not said in the log"
# Paced latency with the stalled tap and without one (figures only: timing is bench's to judge;
# the note of issue 26 has interleaved rounds).
paced() {  # the proxy's MCP URL; sets PACED to "p50/p99" (us)
  local sid
  sid=$(curl -s --max-time 10 -D - -o /dev/null "$1" "${H[@]}" -d "$init" | awk 'tolower($1) == "mcp-session-id:" {print $2}' | tr -d '\r')
  client --url "$1" --method POST --header "Mcp-Session-Id: $sid" \
    --body '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stream","arguments":{"count":2000,"interval_ms":1}}}' --timeout 60
  expect_eq "$C_RC/$(field events)/$(field lost)" 0/2000/0 "paced events"
  PACED="$(field latency_us_p50)/$(field latency_us_p99)"
}
STALLED=$M
STALLED_PID=$PROXY_PID
start_proxy plain --upstream "http://127.0.0.1:$UP/mcp" --no-store
paced "$STALLED"
with_stalled=$PACED
paced "http://127.0.0.1:$PROXY_PORT/mcp"
info "paced p50/p99 us: stalled tap $with_stalled, no tap $PACED"
PROXY_PID=$STALLED_PID
t0=$(date +%s%N)
stopped "$PROXY_PID" "proxy stopped with a stalled tap"
info "stopped in $((($(date +%s%N) - t0) / 1000000)) ms"
exec 3<&-
echo "proxy_tap: ok"
