# mcp_stateless: MCP 2026-07-28 through the proxy with the official SDK v2 (client and server
# 2.4.0, tests/e2e/modern): the revision has no resumption, so an upstream cut loses the
# request; the proxy hides it when that is safe (core/proxy/stateless_answer.h). A testkit
# relay between proxy and server cuts every open upstream connection on SIGUSR1:
#  1. the read-only tool `count` cut mid-answer: the client gets progress 1..100 once, in
#     order, and the result; the server ran it twice;
#  2. the tool `write` (no annotations) cut mid-answer: one JSON-RPC error, one execution;
#  3. subscriptions/listen cut 5 times: the client's subscription stays open, updates keep
#     coming, none twice, one acknowledgement;
#  4. a client that aborts its call (closing the stream is cancellation) cancels the server's
#     execution (bound 1 s; the figure is printed).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

start server node "$E2E/modern/server.mjs" --port 0 --lifetime "$LIFETIME"
listening server
SERVER_PORT=$PORT
start relay "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$SERVER_PORT" --lifetime "$LIFETIME"
listening relay
RELAY_PID=$LAST_PID
cut() { kill -USR1 "$(real_pid "$RELAY_PID")"; }
start_proxy proxy --upstream "http://127.0.0.1:$PORT/mcp" --store "$SCRATCH/store"
URL="http://127.0.0.1:$PROXY_PORT/mcp"
stats() { curl -s --max-time 5 "http://127.0.0.1:$SERVER_PORT/stats" | jq -r "$1"; }
# modern MODE ARGS...: the SDK v2 client in the background, its PID in MODERN (its JSON line in
# $SCRATCH/MODE.out).
modern() {
  local mode=$1; shift
  timeout -k 5 60 node "$E2E/modern/client.mjs" "$URL" "$mode" "$@" >"$SCRATCH/$mode.out" 2>>"$SCRATCH/modern.err" &
  MODERN=$!
}
# started TOOL N: waits until the server has started TOOL N times (at most 5 s).
started() {
  for _ in $(seq 1 100); do [ "$(stats ".executions.$1")" -ge "$2" ] && break; sleep 0.05; done
}

info "1. a read-only tool's answer cut mid-stream"
modern count --n 100 --delay-ms 10
started count 1
sleep 0.4  # ~40 progress values in
cut
wait "$MODERN" || true
C_OUT=$(cat "$SCRATCH/count.out")
info "count: $(jq -c '{protocol, result, error, progress: (.progress | length)}' <<<"$C_OUT")"
expect_eq "$(jq -r .protocol <<<"$C_OUT")" 2026-07-28 "protocol"
expect_eq "$(jq -r '"\(.result)/\(.error)"' <<<"$C_OUT")" "counted 100/null" "the call completed"
expect_eq "$(jq -c '.progress == [range(1; 101)]' <<<"$C_OUT")" true "progress 1..100, each once, in order"
expect_eq "$(stats .executions.count)" 2 "executions of count (cut, then re-issued)"
expect_eq "$(metric ssestitch_requests_reissued_total 'outcome="sent"')" 1 "one re-issue"
info "progress values not delivered twice: $(metric ssestitch_progress_suppressed_total)"

info "2. a tool without annotations cut mid-stream: an error, never a second execution"
modern write --n 100 --delay-ms 10
started write 1
sleep 0.4
cut
wait "$MODERN" || true
C_OUT=$(cat "$SCRATCH/write.out")
info "write: $(jq -c '{result, error, progress: (.progress | length)}' <<<"$C_OUT")"
grep -q 'not sent again' <<<"$(jq -r .error <<<"$C_OUT")" || fail "write: not the proxy's JSON-RPC error: $C_OUT"
sleep 0.3
expect_eq "$(stats .executions.write)" 1 "executions of write"

info "3. subscriptions/listen survives 5 cuts"
reissued=$(metric ssestitch_requests_reissued_total 'outcome="sent"')
requests=$(metric ssestitch_requests_total)
modern listen --listen-ms 4000
# Cut once the listen is open: the client's server/discover and subscriptions/listen passed.
for _ in $(seq 1 100); do [ "$(metric ssestitch_requests_total)" -ge $((requests + 2)) ] && break; sleep 0.05; done
sleep 0.3
for _ in 1 2 3 4 5; do cut; sleep 0.4; done
wait "$MODERN" || true
C_OUT=$(cat "$SCRATCH/listen.out")
info "listen: $C_OUT"
expect_eq "$(jq -r '"\(.closed)/\(.acks)/\(.seqs_increasing)"' <<<"$C_OUT")" "local/1/true" \
  "the subscription stayed open, one acknowledgement, no update twice"
[ "$(jq -r .updates <<<"$C_OUT")" -ge 20 ] || fail "too few updates: $C_OUT"
expect_eq "$(($(metric ssestitch_requests_reissued_total 'outcome="sent"') - reissued))" 5 "listen re-opened after each cut"

info "4. closing the client's stream cancels the call upstream"
cancelled=$(stats .cancelled)
modern cancel --after-ms 300
wait "$MODERN" || true
C_OUT=$(cat "$SCRATCH/cancel.out")
for _ in $(seq 1 20); do [ "$(stats .cancelled)" -gt "$cancelled" ] && break; sleep 0.05; done
[ "$(stats .cancelled)" -gt "$cancelled" ] || fail "the server's execution was not cancelled within 1 s: $C_OUT"
info "cancelled upstream $(($(stats .last_cancel_ms) - $(jq -r .aborted_at_ms <<<"$C_OUT"))) ms after the client aborted"
stopped "$PROXY_PID" "proxy stopped"
echo "mcp_stateless: ok"
