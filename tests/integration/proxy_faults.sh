# proxy_faults: client and upstream faults with exact counts: a reconnect storm (100 clients
# resuming at once with Last-Event-ID), a client that disconnects in the middle of a replay, an
# upstream process restart, a 409 on the resume GET (the SDK's "previous connection still
# open"), RSTs mid-stream, each ending with every event exactly once; a stalled upstream
# dropped by the idle timeout, a redirect passed on, an upstream that forgot its sessions.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
LIFE=240

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE
up_pid=$LAST_PID
listening upstream
UP=$PORT
start_proxy proxy --upstream "http://127.0.0.1:$UP/events" --store "$SCRATCH/store" --reconnect-base 20ms \
  --reconnect-cap 300ms
P="http://127.0.0.1:$PROXY_PORT"

info "reconnect storm: 100 streams, each client drops after 100 events, then all resume at once"
pids=()
for i in $(seq 1 100); do
  "$TESTKIT" client --url "$P/events?n=600&rate=300&size=100&c=$i" --disconnect-after 100 --timeout 30 \
    >"$SCRATCH/first-$i.json" 2>/dev/null &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
pids=()
for i in $(seq 1 100); do
  last=$(jq -r .last_id "$SCRATCH/first-$i.json")
  [ "$(jq -r .events "$SCRATCH/first-$i.json")" = 100 ] || fail "client $i first part: $(cat "$SCRATCH/first-$i.json")"
  "$TESTKIT" client --url "$P/events?n=600&rate=300&size=100&c=$i" --last-event-id "$last" --first-k 101 \
    --timeout 60 >"$SCRATCH/second-$i.json" 2>/dev/null &
  pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
jq -s '{events: map(.events) | add, lost: map(.lost) | add, dups: map(.duplicates) | add}' "$SCRATCH"/second-*.json \
  >"$SCRATCH/storm.json"
info "storm: $(cat "$SCRATCH/storm.json"), failed clients: $bad"
expect_eq "$bad/$(jq -c . "$SCRATCH/storm.json")" '0/{"events":50000,"lost":0,"dups":0}' "reconnect storm"
[ "$(metric ssestitch_resumes_served_total)" -ge 100 ] || fail "resumes not counted"

info "a client that disconnects in the middle of a replay, then resumes again"
client --url "$P/events?n=20000&size=200" --timeout 60
expect_eq "$C_RC/$(field events)" 0/20000 "backlog"
S=$(field last_id); S=${S%-*}
client --url "$P/events" --last-event-id "$S-10" --first-k 11 --disconnect-after 3000 --timeout 60
expect_eq "$(field events)" 3000 "part of the replay"
client --url "$P/events" --last-event-id "$(field last_id)" --first-k 3011 --timeout 60
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)" 0/16990/0/0 "rest of the replay"

info "upstream process restart mid-stream (resumable server state is a pure function of the id)"
start slow "$TESTKIT" client --url "$P/events?n=1500&rate=500&size=100" --timeout 60
slow_pid=$LAST_PID
sleep 1
stop "$up_pid"
sleep 0.5
start upstream2 "$TESTKIT" upstream --listen "127.0.0.1:$UP" --lifetime $LIFE
listening upstream2
waited "$slow_pid"
C_OUT=$(tail -n 1 "$SCRATCH/slow.log")
expect_eq "$STOP_RC/$(field events)/$(field lost)/$(field duplicates)" 0/1500/0/0 "across an upstream restart"
[ "$(metric ssestitch_upstream_reconnects_total 'outcome="failed"')" -ge 1 ] || info "note: no failed reconnect counted"

info "409 on the first resume GET (the server has not noticed the old connection died)"
client --url "$P/events?n=1200&drop_every=300&resumable=409&size=100" --timeout 60
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)" 0/1200/0/0 "409 then resumed"
info "RST mid-stream (relay --cut-mode rst every 40 KB)"
start relay-rst "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$UP" --cut-every 40000 --cut-mode rst --lifetime $LIFE
listening relay-rst
start_proxy proxy-rst --upstream "http://127.0.0.1:$PORT/events" --no-store --reconnect-base 20ms
client --url "http://127.0.0.1:$PROXY_PORT/events?n=3000&size=100" --timeout 60
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)" 0/3000/0/0 "through RSTs"

info "a stalled upstream (no bytes, no close) is dropped after --upstream-idle-timeout and resumed"
start_proxy proxy-idle --upstream "http://127.0.0.1:$UP/events" --no-store --upstream-idle-timeout 1s --reconnect-base 20ms
client --url "http://127.0.0.1:$PROXY_PORT/stall" --timeout 4
expect_eq "$C_RC" 3 "the client is still connected at its deadline (no hang, no error)"
[ "$(field events)" -ge 1 ] || fail "stall: $C_OUT"
grep -q 'upstream_idle' "$SCRATCH/proxy-idle.log" || fail "the stall was not noticed: $(tail -n 5 "$SCRATCH/proxy-idle.log")"

info "a redirect is passed on, not followed"
expect_eq "$(http_code "http://127.0.0.1:$PROXY_PORT/redirect")" 302 "302 passes through"

info "the upstream forgets its sessions (restart), --no-reinit: 404 passed on, the session marked expired"
# (by default the proxy re-initialises the session instead: proxy_reinit)
start mcp-up "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE
mcp_pid=$LAST_PID
listening mcp-up
MUP=$PORT
start_proxy proxy-mcp --upstream "http://127.0.0.1:$MUP/mcp" --store "$SCRATCH/store-mcp" --no-reinit
M="http://127.0.0.1:$PROXY_PORT/mcp"
H=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
expect_eq "$(http_code "$M" "${H[@]}" -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}')" 200 "initialize"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
stop "$mcp_pid"
start mcp-up2 "$TESTKIT" upstream --listen "127.0.0.1:$MUP" --lifetime $LIFE
listening mcp-up2
expect_eq "$(http_code "$M" "${H[@]}" -H "Mcp-Session-Id: $SID" -d '{"jsonrpc":"2.0","id":2,"method":"ping"}')" 404 "expired upstream"
expect_eq "$("$SSESTITCH" inspect "$SCRATCH/store-mcp" sessions --ndjson | jq -r .state)" expired "session state"
expect_eq "$(http_code "$M" "${H[@]}" -H "Mcp-Session-Id: $SID" -d '{"jsonrpc":"2.0","id":3,"method":"ping"}')" 404 "expired at the proxy"
echo "proxy_faults: ok"
