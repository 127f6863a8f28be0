# testkit_selfcheck: proves the test tools themselves (upstream, client, relay) before any proxy
# test relies on them: exact delivery directly and through a cutting relay, a checker that can
# fail (duplicates from a non-resumable upstream), the MCP emulation, and every fault endpoint.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
command -v jq >/dev/null || skip "jq missing"
command -v curl >/dev/null || skip "curl missing"
LIFE=120

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE --get-interval-ms 50
up_pid=$LAST_PID
listening upstream
up_port=$PORT
U="http://127.0.0.1:$up_port"

start relay "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$up_port" --cut-every 100000 --lifetime $LIFE
relay_pid=$LAST_PID
listening relay
relay_port=$PORT
R="http://127.0.0.1:$relay_port"

info "direct: 10,000 events exactly"
client --url "$U/events?n=10000" --timeout 30
expect_eq "$C_RC" 0 "direct rc"
expect_eq "$(field events)" 10000 "direct events"
expect_eq "$(field lost)/$(field duplicates)/$(field id_errors)" 0/0/0 "direct lost/dups/id_errors"
expect_eq "$(field first_k)-$(field last_k)" 1-10000 "direct k range"

info "through the relay (cut every 100000 bytes), resumable upstream: exactly once"
client --url "$R/events?n=10000" --reconnect --timeout 30
expect_eq "$C_RC" 0 "relay rc"
expect_eq "$(field events)" 10000 "relay events"
expect_eq "$(field lost)/$(field duplicates)" 0/0 "relay lost/dups"
[ "$(field reconnects)" -gt 0 ] || fail "the relay cut nothing (reconnects 0)"

info "through the relay with opaque ids, keepalives and a 409 on the first resume"
client --url "$R/events?n=5000&ids=opaque&resumable=409&size=200" --reconnect --timeout 30
expect_eq "$C_RC" 0 "opaque rc"
expect_eq "$(field events)/$(field lost)/$(field duplicates)" 5000/0/0 "opaque events/lost/dups"
[[ $(field last_id) == ev-5000-* ]] || fail "opaque last_id: $(field last_id)"

info "SIGUSR1 makes the relay cut every open connection at once"
relay_tool_pid=$(sed -n 's/^relay: listening on .* pid \([0-9][0-9]*\)$/\1/p' "$SCRATCH/relay.log")
"$TESTKIT" client --url "$R/events?rate=1000&size=10" --reconnect --expect 400 --timeout 10 --verbose \
  >"$SCRATCH/usr1.out" 2>"$SCRATCH/usr1.err" &
usr1_client=$!
# Cut once events flow (a fixed 0.2 s sleep cut nothing when the client started late, under ASan).
for _ in $(seq 1 200); do grep -q '^client: event' "$SCRATCH/usr1.err" && break; sleep 0.05; done
kill -USR1 "$relay_tool_pid"
rc=0; wait "$usr1_client" || rc=$?
C_OUT=$(cat "$SCRATCH/usr1.out")
expect_eq "$rc/$(field events)/$(field lost)/$(field duplicates)" 0/400/0/0 "SIGUSR1 cut"
[ "$(field reconnects)" -ge 1 ] || fail "SIGUSR1 cut nothing: $C_OUT"

info "non-resumable upstream through the relay: the checker must report duplicates"
client --url "$R/events?n=10000&resumable=0" --reconnect --max-reconnects 3 --expect 10000 --timeout 30
[ "$C_RC" != 0 ] || fail "resumable=0 passed verification"
[ "$(field duplicates)" -gt 0 ] || fail "resumable=0: no duplicates reported"

info "ids=none: a resume restarts at 1 (duplicates), and a forward jump is counted as lost"
client --url "$U/events?n=100&ids=none&drop_every=40" --reconnect --max-reconnects 1 --expect 100 --timeout 10
[ "$(field duplicates)" -gt 0 ] || fail "ids=none: no duplicates reported"
client --url "$U/events?n=20" --last-event-id 5 --first-k 3 --timeout 10
expect_eq "$C_RC/$(field lost)/$(field first_k)" 1/3/6 "lost detection"

info "proxy-form ids (1-<k>) with a skipped event: one lost, one id error"
client --url "$U/events?n=100&ids=proxy&skip=50" --timeout 10
expect_eq "$C_RC/$(field events)/$(field lost)/$(field id_errors)/$(field last_id)" 1/99/1/1/1-100 "skip"
client --url "$U/events?n=100&ids=proxy" --last-event-id 1-60 --timeout 10
expect_eq "$C_RC/$(field events)/$(field first_k)/$(field id_errors)" 0/40/61/0 "proxy-form resume"

info "upstream drop_every with priming and retry: resumes continue at k+1"
client --url "$U/events?n=1000&drop_every=128&priming=1&retry=100" --reconnect --timeout 30
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)" 0/1000/0/0 "drop_every"
expect_eq "$(field reconnects)" 7 "drop_every reconnects"

info "paced stream (rate) with --expect, and --disconnect-after"
client --url "$U/events?rate=2000&keepalive=20" --expect 400 --timeout 10
expect_eq "$C_RC/$(field events)/$(field lost)" 0/400/0 "rate"
client --url "$U/events?n=3&rate=10&keepalive=40" --timeout 10
expect_eq "$C_RC/$(field events)" 0/3 "keepalive stream"
[ "$(field comments)" -ge 2 ] || fail "keepalive: $(field comments) comments"
curl -s --max-time 5 "$U/events?n=1&retry=250&priming=1" >"$SCRATCH/retry"
expect_eq "$(head -n 5 "$SCRATCH/retry" | tr '\n' '|')" "retry: 250||id: 0|data:||" "retry and priming lines"
client --url "$U/events" --disconnect-after 77 --timeout 10
expect_eq "$C_RC/$(field events)/$(field last_id)" 0/77/77 "disconnect-after"
client --url "$U/events?n=50" --last-event-id 77 --timeout 10
expect_eq "$C_RC/$(field events)" 0/0 "resume past the end"

info "client failures: refused, timeout, bad status, usage"
dead_port=$(free_port)
client --url "http://127.0.0.1:$dead_port/events" --timeout 5
expect_eq "$C_RC" 3 "connection refused rc"
client --url "$U/stall" --timeout 1
expect_eq "$C_RC/$(field events)" 3/1 "stall timeout"
client --url "$U/status/503" --timeout 5
expect_eq "$C_RC/$(field status)" 1/503 "status 503"
rc=0; "$TESTKIT" client --url "http://example.com/x" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "non-loopback url rc"

info "fault endpoints"
code() { curl -s -o "$SCRATCH/body" -D "$SCRATCH/head" -w '%{http_code}' --max-time "${2:-5}" "$U$1" || true; }
expect_eq "$(code /status/418)" 418 "/status/418"
expect_eq "$(code /status/99)" 400 "/status/99"
expect_eq "$(code /html)" 200 "/html"
grep -qi '^content-type: text/html' "$SCRATCH/head" || fail "/html content type"
expect_eq "$(code /redirect)" 302 "/redirect"
grep -qi '^location: /events' "$SCRATCH/head" || fail "/redirect location"
expect_eq "$(code /nope)" 404 "unknown path"
code /endless 1 >/dev/null
size=$(wc -c <"$SCRATCH/body")
[ "$size" -gt 65536 ] || fail "/endless sent only $size bytes in 1 s"
grep -qx '' "$SCRATCH/body" && fail "/endless sent a blank line"
grep -qi '^content-type: text/event-stream' "$SCRATCH/head" || fail "/endless content type"
code /stall 1 >/dev/null
expect_eq "$(grep -c '^data:' "$SCRATCH/body")" 1 "/stall events"
client --url "$U/big?size=3000000" --timeout 20
expect_eq "$C_RC/$(field events)/$(field first_k)-$(field last_k)" 0/2/1-2 "/big"
code "/big?size=100000" >/dev/null
expect_eq "$(sed -n 2p "$SCRATCH/body" | wc -c)" $((6 + 100000 + 1)) "/big first data line length"
t0=$(date +%s%N)
client --url "$U/drip?n=5" --timeout 10
t1=$(date +%s%N)
expect_eq "$C_RC/$(field events)" 0/5 "/drip"
[ $(((t1 - t0) / 1000000)) -ge 300 ] || fail "/drip was not dripping ($(((t1 - t0) / 1000000)) ms)"
client --url "$U/framing?n=30" --timeout 10
expect_eq "$C_RC/$(field events)/$(field lost)/$(field comments)" 0/30/0/30 "/framing (BOM, CR, CRLF, split writes)"
expect_eq "$(code /stats)" 200 "/stats"
jq -e '.events_sent > 10000 and .resumes > 0 and .aborts > 0' "$SCRATCH/body" >/dev/null || fail "/stats: $(cat "$SCRATCH/body")"

info "MCP emulation"
M="$U/mcp"
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"selfcheck","version":"1"}}}'
status=$(curl -s -o "$SCRATCH/init" -D "$SCRATCH/init.head" -w '%{http_code}' --max-time 5 "$M" \
  -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d "$init")
expect_eq "$status" 200 "initialize status"
sid=$(grep -i '^mcp-session-id:' "$SCRATCH/init.head" | awk '{print $2}' | tr -d '\r')
[[ $sid =~ ^[0-9a-f]{32}$ ]] || fail "session id: '$sid'"
expect_eq "$(jq -r .result.protocolVersion "$SCRATCH/init")" 2025-11-25 "protocolVersion echo"
post() { curl -s -o "$SCRATCH/post" -w '%{http_code}' --max-time 5 "$M" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' "$@"; }
expect_eq "$(post -H "Mcp-Session-Id: $sid" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}')" 202 "notification"
expect_eq "$(post -H "Mcp-Session-Id: $sid" -d '{"jsonrpc":"2.0","id":2,"method":"ping"}')" 200 "ping"
expect_eq "$(jq -c .result "$SCRATCH/post")" '{}' "ping result"
expect_eq "$(post -d '{"jsonrpc":"2.0","id":2,"method":"ping"}')" 400 "missing session"
expect_eq "$(post -H 'Mcp-Session-Id: 0123' -d '{"jsonrpc":"2.0","id":2,"method":"ping"}')" 404 "unknown session"
call='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"stream","arguments":{"count":2000,"size":100}}}'
client --url "$M" --method POST --header "Mcp-Session-Id: $sid" --body "$call" --timeout 20
expect_eq "$C_RC/$(field events)/$(field response)/$(field lost)/$(field duplicates)" 0/2000/true/0/0 "tools/call stream"
stream_id=${C_OUT#*\"last_id\":\"}; stream_id=${stream_id%%_*}
expect_eq "$(post -H "Mcp-Session-Id: $sid" -d '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"stream","arguments":{"count":2}}}')" 200 "small call"
expect_eq "$(head -n 2 "$SCRATCH/post" | tr '\n' '|')" "id: st2_0|data:|" "priming event (2025-11-25)"
info "MCP resume of a finished stream replays the tail and the response"
client --url "$M" --header "Mcp-Session-Id: $sid" --last-event-id "${stream_id}_1990" --timeout 10
expect_eq "$C_RC/$(field events)/$(field first_k)/$(field response)" 0/10/1991/true "replay"
info "MCP drop_every through the cutting relay, resumed with GET + Last-Event-ID"
call='{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"stream","arguments":{"count":2000,"size":300,"drop_every":500}}}'
client --url "$R/mcp" --method POST --header "Mcp-Session-Id: $sid" --body "$call" --reconnect --timeout 30
expect_eq "$C_RC/$(field events)/$(field response)/$(field lost)/$(field duplicates)" 0/2000/true/0/0 "drop_every stream"
[ "$(field reconnects)" -ge 4 ] || fail "expected at least 4 reconnects, got $(field reconnects)"
info "MCP standalone GET stream: one per session"
start standalone "$TESTKIT" client --url "$M" --header "Mcp-Session-Id: $sid" --timeout 20 --verbose
sa_pid=$LAST_PID
# Open once events arrive: wait for two (a fixed 0.3 s sleep assumed a quick start).
for _ in $(seq 1 200); do [ "$(grep -c '^client: event' "$SCRATCH/standalone.log")" -ge 2 ] && break; sleep 0.05; done
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$M" -H "Mcp-Session-Id: $sid")" 409 "second GET stream"
stopped "$sa_pid" "standalone client stopped"
[ "$(tail -n 1 "$SCRATCH/standalone.log" | jq -r .events)" -ge 2 ] || fail "standalone: $(cat "$SCRATCH/standalone.log")"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X DELETE "$M" -H "Mcp-Session-Id: $sid")" 200 "DELETE"
expect_eq "$(post -H "Mcp-Session-Id: $sid" -d '{"jsonrpc":"2.0","id":2,"method":"ping"}')" 404 "after DELETE"

info "MCP without resumability: no ids, resumes answered 405"
start upstream-nr "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE --mcp-resumable 0
nr_pid=$LAST_PID
listening upstream-nr
N="http://127.0.0.1:$PORT/mcp"
curl -s -o /dev/null -D "$SCRATCH/nr.head" --max-time 5 "$N" -d "$init"
nsid=$(grep -i '^mcp-session-id:' "$SCRATCH/nr.head" | awk '{print $2}' | tr -d '\r')
call='{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"stream","arguments":{"count":500}}}'
client --url "$N" --method POST --header "Mcp-Session-Id: $nsid" --body "$call" --timeout 10
expect_eq "$C_RC/$(field events)/$(field response)/$(field last_id)" 0/500/true/ "non-resumable stream"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$N" -H "Mcp-Session-Id: $nsid" \
  -H 'Last-Event-ID: st1_3')" 405 "non-resumable resume"
stopped "$nr_pid" "non-resumable upstream exit"

info "relay: stall after 2000 bytes keeps the connection open"
start relay-stall "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$up_port" --stall-after 2000 --lifetime $LIFE
stall_pid=$LAST_PID
listening relay-stall
stall_port=$PORT
client --url "http://127.0.0.1:$stall_port/events?n=1000" --timeout 1
expect_eq "$C_RC" 3 "stalled client times out"
[ "$(field events)" -gt 0 ] && [ "$(field events)" -lt 1000 ] || fail "stall: $(field events) events"
info "relay: RST cuts"
start relay-rst "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$up_port" --cut-every 30000 \
  --cut-mode rst --max-cuts 3 --lifetime $LIFE
rst_pid=$LAST_PID
listening relay-rst
rst_port=$PORT
client --url "http://127.0.0.1:$rst_port/events?n=3000" --reconnect --timeout 20
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)/$(field reconnects)" 0/3000/0/0/3 "rst cuts"

info "clean exits on SIGTERM with a totals line"
stopped "$rst_pid" "rst relay exit"
expect_eq "$(tail -n 1 "$SCRATCH/relay-rst.log" | jq -r .cuts)" 3 "rst relay cuts"
stopped "$stall_pid" "stall relay exit"
expect_eq "$(tail -n 1 "$SCRATCH/relay-stall.log" | jq -r .stalls)" 1 "stall relay stalls"
stopped "$relay_pid" "relay exit"
jq -e '.cuts > 0 and .connections > 1' <(tail -n 1 "$SCRATCH/relay.log") >/dev/null || fail "relay totals"
stopped "$up_pid" "upstream exit"
jq -e '.events_sent > 0' <(tail -n 1 "$SCRATCH/upstream.log") >/dev/null || fail "upstream totals"
info "ok"
