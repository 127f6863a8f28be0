# mcp_bench_smoke: `ssestitch bench --upstream URL`, the CI smoke test, against the official SDK
# server (resumable and not, and stateless): every required check passes directly; through the
# proxy with upstream drops injected under a 2,000-notification tool call, the resumable server
# passes and the non-resumable ones (no event store, stateless) fail that call with the proxy's
# JSON-RPC error (exit 1):
# the smoke test tells a server that survives drops from one that does not.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
for mode in --event-store "" --stateless; do
  start_server "server$mode" $mode
  U="http://127.0.0.1:$SERVER_PORT/mcp"
  for via in "" --through-proxy; do
    rc=0
    timeout -k 5 120 "$SSESTITCH" bench --upstream "$U" $via --call notify --args '{"count":2000}' --call echo \
      --args '{"text":"hi"}' --json >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
    info "server ${mode:-plain} ${via:-direct}: $(jq -c '[.checks[] | "\(.name)=\(.status)"]' "$SCRATCH/out")"
    if [ "$mode" != --event-store ] && [ "$via" = --through-proxy ]; then
      expect_eq "$rc" 1 "non-resumable server through drops"
      jq -r '.checks[] | select(.name == "call notify") | .detail' "$SCRATCH/out" | grep -q 'cannot be resumed' ||
        fail "detail: $(jq -c '.checks[] | select(.name == "call notify")' "$SCRATCH/out")"
      continue
    fi
    expect_eq "$rc" 0 "bench exit (server ${mode:-plain} ${via:-direct}): $(cat "$SCRATCH/err")"
    expect_eq "$(jq -r '.checks[] | select(.name == "call notify") | .status' "$SCRATCH/out")" pass "streamed tool call"
  done
  stopped "$SERVER_PID" "server exit"
done
echo "mcp_bench_smoke: ok"
