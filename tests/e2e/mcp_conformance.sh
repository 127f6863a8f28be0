# mcp_conformance: the official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
# package-lock.json), directly and through ssestitch with default flags:
#  1. server scenarios (`--suite active`) against our fixture server (conformance/server.mjs on the
#     official SDK): every scenario passes directly, and then through the proxy, three runs in a
#     row (a stall such as the lost sampling request of issue 27 shows up as a failed scenario);
#  2. client scenarios (no auth) with our SDK client (conformance/client.mjs), directly and with a
#     fresh proxy in front of each scenario's server (conformance/via-proxy).
# Any scenario that passes directly and not through the proxy fails the test, and so does a
# scenario that fails directly (the fixture must stay complete).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
CONF=$E2E/node_modules/@modelcontextprotocol/conformance/dist/index.js
CLIENT_SCENARIOS="initialize tools_call elicitation-sep1034-client-defaults sse-retry"

start conf-server node "$E2E/conformance/server.mjs" --port 0 --lifetime "$LIFETIME"
listening conf-server
UP="http://127.0.0.1:$PORT/mcp"
cd "$SCRATCH" || fail "no scratch directory"  # the runner may write result files where it runs

# server_suite NAME URL: runs the active server suite; sets PASSED/FAILED (scenario names).
server_suite() {
  local out=$SCRATCH/$1.out rc=0
  timeout -k 5 600 node "$CONF" server --url "$2" --suite active >"$out" 2>&1 || rc=$?
  PASSED=$(sed -n 's/^✓ \([a-z0-9-]*\):.*/\1/p' "$out" | sort)
  FAILED=$(sed -n 's/^✗ \([a-z0-9-]*\):.*/\1/p' "$out" | sort)
  info "$1: rc=$rc, $(wc -w <<<"$PASSED") scenarios passed, failed: ${FAILED:-none}; $(grep '^Total:' "$out")"
  [ -n "$PASSED" ] || fail "$1: no scenario ran: $(tail -n 20 "$out")"
}

info "1. server scenarios, directly"
server_suite direct "$UP"
[ -z "$FAILED" ] || fail "the fixture server fails directly: $FAILED (see $SCRATCH/direct.out)"
DIRECT=$PASSED
start_proxy proxy --upstream "$UP" --store "$SCRATCH/store"
for run in 1 2 3; do
  info "1. server scenarios through the proxy, run $run"
  server_suite "proxied-$run" "http://127.0.0.1:$PROXY_PORT/mcp"
  [ -z "$FAILED" ] || fail "through the proxy (run $run), failed: $FAILED (see $SCRATCH/proxied-$run.out)"
  expect_eq "$PASSED" "$DIRECT" "the same scenarios pass through the proxy (run $run)"
done
stopped "$PROXY_PID" "proxy stopped"

for s in $CLIENT_SCENARIOS; do
  for how in direct proxied; do
    wrap=; [ "$how" = proxied ] && wrap="$E2E/conformance/via-proxy "
    rc=0
    SSESTITCH=$SSESTITCH timeout -k 5 120 node "$CONF" client --command "${wrap}node $E2E/conformance/client.mjs" \
      --scenario "$s" >"$SCRATCH/client-$s-$how.out" 2>&1 || rc=$?
    info "2. client scenario $s, $how: rc=$rc, $(grep -E '^Passed:' "$SCRATCH/client-$s-$how.out")"
    grep -q 'OVERALL: PASSED' "$SCRATCH/client-$s-$how.out" && [ "$rc" = 0 ] ||
      fail "client scenario $s ($how) failed: $(grep -v '^client:' "$SCRATCH/client-$s-$how.out" | tail -n 30)"
  done
done
echo "mcp_conformance: ok"
