# inspect_replay: `ssestitch inspect` and `ssestitch replay` on a real store, as the man pages
# describe them: summary, sessions, streams and events as tables, JSON and NDJSON; replay as SSE
# and NDJSON with exact counts after a seq or an id; --follow next to a running proxy; --serve
# as the upstream of another proxy; and the documented exit codes for what cannot be read.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
command -v jq >/dev/null || skip "jq missing"
LIFE=180

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE --get-interval-ms 50
listening upstream
UP=$PORT
STORE=$SCRATCH/store
# (--record off: the counts below are the events' alone; proxy_tap covers `inspect messages`)
start_proxy proxy --upstream "http://127.0.0.1:$UP/mcp" --store "$STORE" --record off
P="http://127.0.0.1:$PROXY_PORT"

info "record: one MCP session with a 300-event tool stream, and a generic stream of 1000 events"
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
expect_eq "$(http_code "$P/mcp" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d "$init")" 200 "initialize"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
client --url "$P/mcp" --method POST --header "Mcp-Session-Id: $SID" \
  --body '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stream","arguments":{"count":300}}}' --timeout 30
expect_eq "$C_RC/$(field events)" 0/300 "tool stream"
MCP_STREAM=$(field last_id); MCP_STREAM=${MCP_STREAM%-*}
client --url "$P/events?n=1000&size=80" --timeout 30
expect_eq "$C_RC/$(field events)" 0/1000 "generic stream"
GEN=$(field last_id); GEN=${GEN%-*}

info "inspect: summary, sessions, streams, events"
"$SSESTITCH" inspect "$STORE" --json >"$SCRATCH/summary.json"
expect_eq "$(jq -c '{format_version, sessions, streams, events}' "$SCRATCH/summary.json")" \
  '{"format_version":3,"sessions":1,"streams":2,"events":1301}' "summary"
"$SSESTITCH" inspect "$STORE" | grep -q '^events: *1301$' || fail "summary table: $("$SSESTITCH" inspect "$STORE")"
expect_eq "$("$SSESTITCH" inspect "$STORE" sessions --ndjson | jq -r '"\(.id) \(.protocol_version) \(.state) \(.streams)"')" \
  "$SID 2025-06-18 open 1" "sessions"
"$SSESTITCH" inspect "$STORE" sessions | head -n 1 | grep -q '^ID  *UPSTREAM_ID' || fail "sessions table header"
expect_eq "$("$SSESTITCH" inspect "$STORE" streams --json | jq -c '[.streams[] | {stream, kind, state, events, last_seq}]')" \
  "[{\"stream\":$MCP_STREAM,\"kind\":\"post\",\"state\":\"completed\",\"events\":301,\"last_seq\":301},{\"stream\":$GEN,\"kind\":\"generic\",\"state\":\"completed\",\"events\":1000,\"last_seq\":1000}]" "streams"
expect_eq "$("$SSESTITCH" inspect "$STORE" streams --session "$SID" --ndjson | wc -l)" 1 "streams of the session"
expect_eq "$("$SSESTITCH" inspect "$STORE" events --stream "$GEN" --after 990 --ndjson | jq -r .id | tr '\n' ' ')" \
  "$GEN-991 $GEN-992 $GEN-993 $GEN-994 $GEN-995 $GEN-996 $GEN-997 $GEN-998 $GEN-999 $GEN-1000 " "events after 990"
expect_eq "$("$SSESTITCH" inspect "$STORE" events --limit 5 --json | jq '.events | length')" 5 "--limit"
"$SSESTITCH" inspect "$STORE" events --stream "$GEN" --limit 2 | tail -n 1 | grep -q "^$GEN  *2  *$GEN-2 " || fail "events table"

info "replay: SSE and NDJSON, after a seq and after an id"
"$SSESTITCH" replay "$STORE" --stream "$GEN" >"$SCRATCH/all.sse"
expect_eq "$(grep -c '^id: ' "$SCRATCH/all.sse")" 1000 "replay all as SSE"
expect_eq "$(head -n 1 "$SCRATCH/all.sse")" "id: $GEN-1" "first id"
expect_eq "$("$SSESTITCH" replay "$STORE" --stream "$GEN" --after 5 --format ndjson | wc -l)" 995 "after 5"
expect_eq "$("$SSESTITCH" replay "$STORE" --after-id "$GEN-998" --format ndjson | jq -r .data | jq -r .k | tr '\n' ' ')" \
  "999 1000 " "after an id, data piped into jq"
expect_eq "$("$SSESTITCH" replay "$STORE" --stream "$MCP_STREAM" --after 300 --format ndjson | jq -r '.data | fromjson | .result != null')" \
  true "the tool's result is the last event"

info "exit codes"
ec() { local rc=0; "$SSESTITCH" "$@" >/dev/null 2>"$SCRATCH/err" || rc=$?; echo "$rc"; }
expect_eq "$(ec replay "$STORE" --stream 999)" 5 "unknown stream"
expect_eq "$(ec replay "$STORE" --after-id "$GEN-5000")" 6 "event id beyond the stream"
expect_eq "$(ec replay "$STORE" --after-id nonsense)" 2 "malformed id"
expect_eq "$(ec replay "$STORE")" 2 "no stream"
expect_eq "$(ec inspect "$STORE" streams --stream 999)" 5 "inspect unknown stream"
expect_eq "$(ec inspect "$STORE" sessions --session nope)" 5 "inspect unknown session"
expect_eq "$(ec inspect "$SCRATCH/nothing-here")" 3 "missing store"
: >"$SCRATCH/plain-file"
expect_eq "$(ec inspect "$SCRATCH/plain-file")" 3 "store path is a file"
mkdir -p "$SCRATCH/empty-dir"
expect_eq "$(ec inspect "$SCRATCH/empty-dir")" 3 "a directory without a store"
expect_eq "$(ls -A "$SCRATCH/empty-dir")" "" "inspect created nothing"
expect_eq "$(ec inspect "$STORE" bogus)" 2 "unknown view"

info "evicted ids: a proxy that keeps 100 events per stream"
start_proxy proxy-small --upstream "http://127.0.0.1:$UP/mcp" --store "$SCRATCH/small" --retain-events 100
client --url "http://127.0.0.1:$PROXY_PORT/events?n=1000&size=50" --timeout 30
S=$(field last_id); S=${S%-*}
sleep 1.5  # eviction is incremental, in the writer's maintenance passes
expect_eq "$(ec replay "$SCRATCH/small" --after-id "$S-10")" 6 "evicted id"
[ "$("$SSESTITCH" replay "$SCRATCH/small" --stream "$S" --format ndjson | wc -l)" -le 200 ] || fail "retention not applied"
stopped "$PROXY_PID" "small proxy exit"

info "--follow next to the running proxy: a paced stream, printed as it is committed"
start slow "$TESTKIT" client --url "$P/events?n=400&rate=200&size=60" --timeout 30
slow_pid=$LAST_PID
for _ in $(seq 1 100); do
  FOLLOW=$("$SSESTITCH" inspect "$STORE" streams --json | jq -r '[.streams[] | select(.state == "open") | .stream] | first // empty')
  [ -n "$FOLLOW" ] && break
  sleep 0.05
done
[ -n "$FOLLOW" ] || fail "no open stream to follow"
timeout -k 5 30 "$SSESTITCH" replay "$STORE" --stream "$FOLLOW" --follow --poll 50ms --format ndjson >"$SCRATCH/follow.ndjson"
expect_eq "$(wc -l <"$SCRATCH/follow.ndjson")" 400 "--follow until the stream completed"
expect_eq "$(jq -r .seq "$SCRATCH/follow.ndjson" | sort -n | uniq | wc -l)" 400 "each once"
waited "$slow_pid"

info "--serve: the recording as the upstream of another proxy, cut every 300 events"
start serve "$SSESTITCH" replay "$STORE" --serve 127.0.0.1:0 --drop-every 300
listening serve
SERVE=$PORT
start_proxy proxy-replayed --upstream "http://127.0.0.1:$SERVE/streams/$GEN" --no-store --reconnect-base 20ms
client --url "http://127.0.0.1:$PROXY_PORT/streams/$GEN" --timeout 30
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)" 0/1000/0/0 "replayed upstream through cuts"
expect_eq "$(http_code "http://127.0.0.1:$SERVE/streams/$GEN" -H "Last-Event-ID: 999-1")" 400 "--serve: foreign id"
expect_eq "$(http_code "http://127.0.0.1:$SERVE/streams/4242")" 404 "--serve: unknown stream"
expect_eq "$(http_code -m 3 "http://127.0.0.1:$SERVE/streams/$GEN" -H "Last-Event-ID: $GEN-990")" 200 "--serve: resume"
expect_eq "$(grep -c '^id: ' "$SCRATCH/body")" 10 "--serve: the 10 events after 990"
echo "inspect_replay: ok"
