# mcp_tape: record once, replay in CI (core/proxy/recorder.h, core/tape, cmd/replay_mock.h), with
# the official SDK client and server (client.mjs tape: tools/list, a call with 30 progress
# notifications, prompts/get, completion/complete, resources/read, a call whose tool samples the
# client on its own stream, DELETE):
#  1. through the proxy: `inspect messages` shows every message of the session, in order, with
#     the latencies of the answers;
#  2. the exported tape, everything else stopped, served by `replay TAPE --serve`: the same
#     client gets the same results; the mock exits 0 (every request matched);
#  3. a call the tape lacks: a clear JSON-RPC error to the client, and the mock exits 1;
#  4. the mock's stream cut mid-answer (a relay between client and mock): the SDK client resumes
#     with Last-Event-ID and gets the rest exactly once.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

start_server server
start_proxy proxy --upstream "http://127.0.0.1:$SERVER_PORT/mcp" --store "$SCRATCH/store"

info "1. record a session through the proxy"
sdk_client tape "http://127.0.0.1:$PROXY_PORT/mcp" --timeout 30
expect_eq "$C_RC" 0 "the recorded run"
RECORDED=$C_OUT
expect_eq "$(jq -c '[.steps[] | select(.error)] | length' <<<"$RECORDED")" 0 "no step failed: $RECORDED"
expect_eq "$(jq -c '.progress == [range(1; 31)]' <<<"$RECORDED")" true "progress 1..30"
stopped "$PROXY_PID" "proxy stopped"
kill "$(real_pid "$SERVER_PID")" 2>/dev/null; waited "$SERVER_PID"
SID=$("$SSESTITCH" inspect "$SCRATCH/store" sessions --ndjson | jq -r .id)
"$SSESTITCH" inspect "$SCRATCH/store" messages --session "$SID" --ndjson >"$SCRATCH/messages.ndjson"
methods=$(jq -r 'select(.method) | "\(.direction[0:1]) \(.method)"' "$SCRATCH/messages.ndjson" | grep -v 'notifications/progress' | paste -sd, -)
info "messages: $methods"
for m in "c initialize" "c notifications/initialized" "c tools/list" "c tools/call" "c prompts/get" \
  "c completion/complete" "c resources/read" "s sampling/createMessage"; do
  grep -q "$m" <<<"$methods" || fail "inspect messages lacks $m: $methods"
done
expect_eq "$(jq -r 'select(.method == "notifications/progress")' "$SCRATCH/messages.ndjson" | jq -s length)" 30 "the progress notifications"
expect_eq "$(jq -r 'select(.http_method == "DELETE") | .direction' "$SCRATCH/messages.ndjson")" client_to_server "the DELETE"
expect_eq "$(jq -r 'select(.direction == "client_to_server" and .kind == "response") | .id' "$SCRATCH/messages.ndjson" | wc -l)" 1 \
  "the client's answer to the sampling request"
answers=$(jq -s '[.[] | select(.kind == "response" and .direction == "server_to_client")] | length' "$SCRATCH/messages.ndjson")
with_latency=$(jq -s '[.[] | select(.kind == "response" and .direction == "server_to_client" and .latency_ms != null)] | length' "$SCRATCH/messages.ndjson")
expect_eq "$with_latency" "$answers" "every answer has its latency"
"$SSESTITCH" inspect "$SCRATCH/store" --export-session "$SID" >"$SCRATCH/tape.ndjson" || fail "export"
expect_eq "$(head -n 1 "$SCRATCH/tape.ndjson" | jq -r '"\(.ssestitch_tape) \(.session)"')" "1 $SID" "tape header"
rm -rf "$SCRATCH/store"  # the tape is self-contained
count_stream=$(jq -r 'select(.method == "notifications/progress") | .stream' "$SCRATCH/messages.ndjson" | head -n 1)
expect_eq "$("$SSESTITCH" replay "$SCRATCH/tape.ndjson" --stream "$count_stream" --format ndjson | jq -r '.data | fromjson | .params.progress // empty' | wc -l)" \
  30 "replay TAPE --stream N: the tool's progress, from the tape alone"

info "2. the tape as the server"
start mock "$SSESTITCH" replay "$SCRATCH/tape.ndjson" --serve 127.0.0.1:0
listening mock
MOCK_PID=$LAST_PID
sdk_client tape "http://127.0.0.1:$PORT/mcp" --timeout 30
expect_eq "$C_RC" 0 "the replayed run"
expect_eq "$(jq -S -c 'del(.reconnects)' <<<"$C_OUT")" "$(jq -S -c 'del(.reconnects)' <<<"$RECORDED")" "the same results"
stopped "$MOCK_PID" "the mock: every request matched"
grep -q 'replay: not recorded:' "$SCRATCH/mock.log" && fail "unmatched requests: $(cat "$SCRATCH/mock.log")"

info "3. a call the tape lacks"
start mock-extra "$SSESTITCH" replay "$SCRATCH/tape.ndjson" --serve 127.0.0.1:0 --speed 0
listening mock-extra
MOCK_PID=$LAST_PID
sdk_client tape "http://127.0.0.1:$PORT/mcp" --extra --timeout 30
jq -r '.steps[] | select(.name | startswith("tools/call echo")) | .error' <<<"$C_OUT" | grep -q 'no (more) answer for tools/call' ||
  fail "no clear error for the extra call: $C_OUT"
stop "$MOCK_PID"
expect_eq "$STOP_RC" 1 "the mock's exit status with a request not recorded"
grep -q 'not recorded: tools/call {"arguments":{"text":"new"},"name":"echo"}' "$SCRATCH/mock-extra.log" ||
  fail "the mock did not say what was not recorded: $(cat "$SCRATCH/mock-extra.log")"

info "4. resume mid-answer from the mock"
start mock-resume "$SSESTITCH" replay "$SCRATCH/tape.ndjson" --serve 127.0.0.1:0 --speed 0.5
listening mock-resume
MOCK=$PORT
MOCK_PID=$LAST_PID
start relay "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$MOCK" --lifetime "$LIFETIME"
listening relay
RELAY_PID=$LAST_PID
node "$E2E/client.mjs" tape "http://127.0.0.1:$PORT/mcp" --retries 3 --timeout 30 >"$SCRATCH/resume.out" 2>>"$SCRATCH/sdk-client.err" &
client_pid=$!
for _ in $(seq 1 200); do grep -q 'answer .*: tools/call, 3[0-9] events' "$SCRATCH/mock-resume.log" && break; sleep 0.05; done
sleep 0.2  # ~10 of the 30 progress values sent
kill -USR1 "$(real_pid "$RELAY_PID")"
wait "$client_pid" || true
C_OUT=$(cat "$SCRATCH/resume.out")
info "resumed run: $(jq -c '{progress: (.progress | length), reconnects}' <<<"$C_OUT")"
expect_eq "$(jq -c '.progress == [range(1; 31)]' <<<"$C_OUT")" true "progress 1..30 exactly once across the cut"
[ "$(jq -r .reconnects <<<"$C_OUT")" -ge 1 ] || fail "the client did not resume (no GET with Last-Event-ID): $C_OUT"
expect_eq "$(jq -S -c 'del(.reconnects)' <<<"$C_OUT")" "$(jq -S -c 'del(.reconnects)' <<<"$RECORDED")" "the same results after the resume"
stopped "$MOCK_PID" "the mock after the resume"
echo "mcp_tape: ok"
