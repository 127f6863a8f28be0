# mcp_inspector: the MCP Inspector's CLI mode (@modelcontextprotocol/inspector 0.15.0, the last
# release without a Node >= 22 requirement; Debian 12 ships Node 18) as a client of the SDK server,
# directly and through the proxy: the same answers for tools/list, a tool call with 200
# notifications, resources/list and resources/read.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
INSPECTOR=$E2E/node_modules/.bin/mcp-inspector
[ -x "$INSPECTOR" ] || fail "the Inspector is not installed"
start_server server --event-store
start_proxy proxy --upstream "http://127.0.0.1:$SERVER_PORT/mcp" --store "$SCRATCH/store"
# inspect URL ARGS...: one Inspector CLI call; its JSON answer on stdout.
inspect() {
  local url=$1; shift
  timeout -k 5 60 "$INSPECTOR" --cli "$url" --transport http "$@" 2>>"$SCRATCH/inspector.err"
}
for call in "--method tools/list" "--method tools/call --tool-name notify --tool-arg count=200" \
            "--method tools/call --tool-name echo --tool-arg text=hello" "--method resources/list" \
            "--method resources/read --uri test://static"; do
  direct=$(inspect "http://127.0.0.1:$SERVER_PORT/mcp" $call) || fail "direct $call: $(tail -n 5 "$SCRATCH/inspector.err")"
  proxied=$(inspect "http://127.0.0.1:$PROXY_PORT/mcp" $call) || fail "proxied $call: $(tail -n 5 "$SCRATCH/inspector.err")"
  expect_eq "$(jq -cS . <<<"$proxied")" "$(jq -cS . <<<"$direct")" "Inspector $call"
  info "$call: $(jq -c . <<<"$proxied" | head -c 120)"
done
echo "mcp_inspector: ok"
