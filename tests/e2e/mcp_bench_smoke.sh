# mcp_bench_smoke: `ssestitch bench --upstream URL`, the CI smoke test, against the official SDK
# server: with an event store every required check passes, directly and through the proxy with
# upstream drops injected under a 2,000-notification tool call. Without one (plain, stateless)
# the resumability check fails directly, and through drops the call gets the proxy's JSON-RPC
# error: the smoke test tells a server that survives drops from one that does not (exit 1).
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
    if [ "$mode" != --event-store ]; then
      expect_eq "$rc" 1 "server ${mode:-plain} ${via:-direct}: exit"
      if [ "$via" = --through-proxy ]; then
        jq -r '.checks[] | select(.name == "call notify") | .detail' "$SCRATCH/out" | grep -q 'cannot be resumed' ||
          fail "detail: $(jq -c '.checks[] | select(.name == "call notify")' "$SCRATCH/out")"
      else
        expect_eq "$(jq -r '.checks[] | select(.name == "resumability") | .status' "$SCRATCH/out")" fail "no event store: not resumable"
      fi
      continue
    fi
    expect_eq "$rc" 0 "bench exit (server ${mode:-plain} ${via:-direct}): $(cat "$SCRATCH/err")"
    expect_eq "$(jq -r '.checks[] | select(.name == "call notify") | .status' "$SCRATCH/out")" pass "streamed tool call"
    expect_eq "$(jq -r '.checks[] | select(.name == "buffering") | .status' "$SCRATCH/out")" pass "buffering (${via:-direct})"
  done
  stopped "$SERVER_PID" "server exit"
done
echo "mcp_bench_smoke: ok"
