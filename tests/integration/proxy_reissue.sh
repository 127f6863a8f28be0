# proxy_reissue: requests whose answer stream broke and cannot be resumed (DESIGN.md guarantee
# 12, core/proxy/reissue.h), against the testkit's MCP emulation:
#  2026-07-28 (stateless, no resumption):
#  1. a read-only tool (annotated in tools/list) cut twice mid-stream: the client gets every
#     progress value once, in order, and one answer with its own id; the server ran it 3 times,
#     each attempt with the client's Mcp-Method / Mcp-Name headers, which agree with the body;
#  2. a tool without annotations cut once: one JSON-RPC error, never a second execution;
#     --retry-tools names it: re-issued; --no-retry: the read-only one is not;
#  3. subscriptions/listen cut every 3 messages: the client's one stream survives >= 5 cuts,
#     one acknowledgement, the server's counter strictly increasing (nothing twice, no gap);
#  4. a client that closes its stream cancels the upstream request (at once; bound 1 s);
#  2025-11-25 (sessions), the server SIGKILLed and restarted mid-answer:
#  5. a read-only tool's call is re-issued on the re-initialised session and completes, no
#     progress value twice; a tool without annotations gets one JSON-RPC error;
#  6. a ping whose JSON answer is cut mid-body is sent again: the client gets the whole answer.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime "$LIFETIME" --get-interval-ms 20 --listen-drop-every 3
listening upstream
UP=$PORT
UPSTREAM_PID=$LAST_PID
stats() { curl -s --max-time 5 "http://127.0.0.1:$UP/stats" | jq -r ".$1"; }
H=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
NEW=(-H 'MCP-Protocol-Version: 2026-07-28')
# post URL OUT BODY [curl args...]: the SSE or JSON answer in OUT (bounded: never hangs).
post() {
  local url=$1 out=$2 body=$3; shift 3
  curl -s -N --max-time 20 "${H[@]}" "$@" -d "$body" "$url" >"$out" || true
}
# The JSON-RPC messages of an answer (SSE events, or one JSON body), one per line.
messages() { if [ "$(head -c 1 "$1")" = "{" ]; then cat "$1"; else sed -n 's/^data: //p' "$1"; fi; }
progress_of() { messages "$1" | jq -r 'select(.method == "notifications/progress") | .params.progress' | paste -sd, -; }
seq_csv() { seq -s, 1 "$1"; }
call() {  # ID TOOL COUNT DROP_EVERY DROPS [INTERVAL_MS]
  printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":{"count":%s,"drop_every":%s,"drops":%s,"interval_ms":%s},"_meta":{"progressToken":"t-%s"}}}' \
    "$1" "$2" "$3" "$4" "$5" "${6:-0}" "$RANDOM$RANDOM"
}
list='{"jsonrpc":"2.0","id":"l","method":"tools/list"}'

start_proxy proxy --upstream "http://127.0.0.1:$UP/mcp" --no-store
M="http://127.0.0.1:$PROXY_PORT/mcp"
MAIN_ADMIN=$ADMIN_PORT

info "1. 2026-07-28: a read-only tool cut twice"
post "$M" "$SCRATCH/list" "$list" "${NEW[@]}"
expect_eq "$(messages "$SCRATCH/list" | jq -c '[.result.tools[].annotations.readOnlyHint]')" '[null,true]' "tools/list"
calls0=$(stats tool_calls)
# (with the routing headers: the testkit answers 400 when they disagree with the body)
post "$M" "$SCRATCH/ro" "$(call '"ro"' read_stream 250 100 2)" "${NEW[@]}" -H 'Mcp-Method: tools/call' -H 'Mcp-Name: read_stream'
post "$M" "$SCRATCH/mismatch" "$(call 0 read_stream 1 0 0)" "${NEW[@]}" -H 'Mcp-Name: stream'
expect_eq "$(jq -c .error.code "$SCRATCH/mismatch")" -32020 "routing headers checked by the upstream"
expect_eq "$(progress_of "$SCRATCH/ro")" "$(seq_csv 250)" "progress 1..250, each once"
expect_eq "$(messages "$SCRATCH/ro" | jq -c 'select(.result) | [.id, .result.content[0].text]')" '["ro","done 250"]' "one answer, the client's id"
expect_eq "$(($(stats tool_calls) - calls0))" 3 "executions (2 cut, 1 complete)"
expect_eq "$(metric ssestitch_requests_reissued_total 'outcome="sent"')" 2 "re-issues"
expect_eq "$(metric ssestitch_progress_suppressed_total)" 200 "progress already delivered, not again"

info "2. a tool without annotations: one error, never a second execution"
calls0=$(stats tool_calls)
post "$M" "$SCRATCH/rw" "$(call 7 stream 250 100 1)" "${NEW[@]}"
expect_eq "$(messages "$SCRATCH/rw" | jq -c 'select(.id) | [.id, .error.code]')" '[7,-32000]' "one JSON-RPC error for id 7"
expect_eq "$(($(stats tool_calls) - calls0))" 1 "executions"
expect_eq "$(metric ssestitch_answers_lost_total)" 1 "answers lost"
start_proxy named --upstream "http://127.0.0.1:$UP/mcp" --no-store --retry-tools stream
post "http://127.0.0.1:$PROXY_PORT/mcp" "$SCRATCH/named" "$(call 8 stream 50 20 1)" "${NEW[@]}"
expect_eq "$(progress_of "$SCRATCH/named"),$(messages "$SCRATCH/named" | jq -r 'select(.id) | .id')" "$(seq_csv 50),8" \
  "--retry-tools stream: re-issued"
start_proxy noretry --upstream "http://127.0.0.1:$UP/mcp" --no-store --no-retry
post "http://127.0.0.1:$PROXY_PORT/mcp" /dev/null "$list" "${NEW[@]}"
post "http://127.0.0.1:$PROXY_PORT/mcp" "$SCRATCH/noretry" "$(call 9 read_stream 50 20 1)" "${NEW[@]}"
expect_eq "$(messages "$SCRATCH/noretry" | jq -c 'select(.id) | .error.code')" -32000 "--no-retry: the error"
ADMIN_PORT=$MAIN_ADMIN

info "3. subscriptions/listen survives the cuts"
listen='{"jsonrpc":"2.0","id":"sub-1","method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["test://counter"]}}}'
reissued0=$(metric ssestitch_requests_reissued_total 'outcome="sent"')
curl -s -N --max-time 1.5 "${H[@]}" "${NEW[@]}" -d "$listen" "$M" >"$SCRATCH/listen" || true
expect_eq "$(messages "$SCRATCH/listen" | jq -r 'select(.method == "notifications/subscriptions/acknowledged") | ._' | wc -l)" 1 \
  "one acknowledgement"
ks=$(messages "$SCRATCH/listen" | jq -r 'select(.method == "notifications/resources/updated") | .params.k' | paste -sd, -)
first=${ks%%,*} last=${ks##*,}
expect_eq "$ks" "$(seq -s, "$first" "$last")" "updates strictly increasing, without gaps or repeats"
cuts=$(($(metric ssestitch_requests_reissued_total 'outcome="sent"') - reissued0))
[ "$cuts" -ge 5 ] || fail "listen re-opened only $cuts times (updates $ks)"
[ "$(messages "$SCRATCH/listen" | jq -r 'select(.params._meta["io.modelcontextprotocol/subscriptionId"] != "sub-1") | .method' | wc -l)" = 0 ] ||
  fail "a notification with another subscription id"
info "listen: $cuts upstream cuts hidden, updates $first..$last"

info "4. closing the client's stream cancels the upstream request"
closed0=$(stats client_closed)
curl -s -N --max-time 0.5 "${H[@]}" "${NEW[@]}" -d "$(call 10 read_stream 100 0 0 100)" "$M" >/dev/null || true
closed_at=$(date +%s%3N)
for _ in $(seq 1 20); do [ "$(stats client_closed)" -gt "$closed0" ] && break; sleep 0.05; done
[ "$(stats client_closed)" -gt "$closed0" ] || fail "the upstream request was not cancelled within 1 s"
info "upstream saw the close $(($(stats last_client_closed_ms) - closed_at)) ms after the client's curl returned"

info "5. 2025-11-25: the server restarted mid-answer"
kill_upstream() {
  kill -9 "$(real_pid "$UPSTREAM_PID")" 2>/dev/null
  waited "$UPSTREAM_PID"
}
start_upstream() {  # on the same port: it knows no session
  RESTARTS=$((${RESTARTS:-0} + 1))
  start "upstream-$RESTARTS" "$TESTKIT" upstream --listen "127.0.0.1:$UP" --lifetime "$LIFETIME" --get-interval-ms 50
  UPSTREAM_PID=$LAST_PID
  for _ in $(seq 1 100); do port_open "$UP" && break; sleep 0.05; done
}
start_proxy sessions --upstream "http://127.0.0.1:$UP/mcp" --store "$SCRATCH/store"
S="http://127.0.0.1:$PROXY_PORT/mcp"
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"proxy_reissue","version":"1"}}}'
expect_eq "$(http_code "$S" "${H[@]}" -d "$init")" 200 "initialize"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
post "$S" "$SCRATCH/list2" "$list" -H "Mcp-Session-Id: $SID"
for tool in read_stream stream; do
  post "$S" "$SCRATCH/$tool" "$(call '"c"' "$tool" 40 0 0 50)" -H "Mcp-Session-Id: $SID" &
  curl_pid=$!
  sleep 0.6
  kill_upstream
  start_upstream
  wait "$curl_pid"
done
got=$(progress_of "$SCRATCH/read_stream")
expect_eq "$got" "$(seq_csv 40)" "read-only call across the restart: progress 1..40 once"
expect_eq "$(messages "$SCRATCH/read_stream" | jq -c 'select(.id) | [.id, .result.content[0].text]')" '["c","done 40"]' \
  "its answer"
expect_eq "$(messages "$SCRATCH/stream" | jq -c 'select(.id) | [.id, .error.code]')" '["c",-32000]' \
  "a call of a tool without annotations: one JSON-RPC error"
[ "$(metric ssestitch_session_reinits_total 'outcome="ok"')" -ge 2 ] || fail "no re-initialisations"

info "6. a retry-safe request's JSON answer cut mid-body"
expect_eq "$(http_code "$S" "${H[@]}" -d "$init")" 200 "initialize (after the restarts)"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
post "$S" "$SCRATCH/ping" '{"jsonrpc":"2.0","id":"p","method":"ping","params":{"cut_once":"k1"}}' -H "Mcp-Session-Id: $SID"
expect_eq "$(jq -c . "$SCRATCH/ping" 2>/dev/null)" '{"jsonrpc":"2.0","id":"p","result":{}}' "the ping's answer, whole"
echo "proxy_reissue: ok"
