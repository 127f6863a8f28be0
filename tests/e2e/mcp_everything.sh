# mcp_everything: @modelcontextprotocol/server-everything in Streamable HTTP mode, used by the
# official SDK client directly and through the proxy: the same tools, echo, resources, prompts;
# and `ssestitch bench --upstream` (the CI smoke test) passes against it, directly and through
# injected drops.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
EV=$E2E/node_modules/@modelcontextprotocol/server-everything/dist/index.js
[ -f "$EV" ] || fail "server-everything not installed"
port=$(free_port)
PORT=$port start everything node "$EV" streamableHttp
for _ in $(seq 1 200); do grep -q 'listening on port' "$SCRATCH/everything.log" && break; sleep 0.05; done
grep -q 'listening on port' "$SCRATCH/everything.log" || fail "server-everything did not start: $(tail -n 5 "$SCRATCH/everything.log")"
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
