# mcp_everything: @modelcontextprotocol/server-everything in Streamable HTTP mode, used by the
# official SDK client directly and through the proxy: the same tools, echo, resources, prompts;
# and `ssestitch bench --upstream` (the CI smoke test) passes against it, directly and through
# injected drops.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
EV=$E2E/node_modules/@modelcontextprotocol/server-everything/dist/index.js
[ -f "$EV" ] || fail "server-everything not installed"
# server-everything listens on $PORT (0 is not reported back), so the port comes from free_port;
# if another process takes it first, Express 5 still logs "listening" and then "Failed to
# start": try another port.
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  PORT=$port start everything-$attempt node "$EV" streamableHttp
  log=$SCRATCH/everything-$attempt.log
  for _ in $(seq 1 200); do grep -q 'listening on port' "$log" && break; sleep 0.05; done
  grep -q 'listening on port' "$log" || fail "server-everything did not start: $(tail -n 5 "$log")"
  for _ in $(seq 1 100); do port_open "$port" && break; sleep 0.05; done
  kill -0 "$LAST_PID" 2>/dev/null && ! grep -q 'Failed to start' "$log" && break
  info "server-everything could not listen on $port: $(grep 'Failed to start' "$log" || tail -n 1 "$log")"
  port=""
done
[ -n "$port" ] || fail "server-everything found no port in 5 attempts"
start_proxy proxy --upstream "http://127.0.0.1:$port/mcp" --store "$SCRATCH/store"
sdk_client everything "http://127.0.0.1:$port/mcp"
expect_eq "$C_RC" 0 "direct"
direct=$C_OUT
sdk_client everything "http://127.0.0.1:$PROXY_PORT/mcp"
expect_eq "$C_RC" 0 "through the proxy"
expect_eq "$C_OUT" "$direct" "same results"
[ "$(jq '.tools | length' <<<"$C_OUT")" -ge 5 ] || fail "few tools: $C_OUT"
info "the CI smoke test against server-everything passes, directly and through drops"
for via in "" --through-proxy; do
  rc=0
  timeout -k 5 120 "$SSESTITCH" bench --upstream "http://127.0.0.1:$port/mcp" $via --call echo --args '{"message":"hi"}' \
    >"$SCRATCH/smoke" 2>&1 || rc=$?
  info "$(tr '\n' '|' <"$SCRATCH/smoke")"
  expect_eq "$rc" 0 "bench --upstream server-everything ${via}"
done
echo "mcp_everything: ok"
