# mcp_standalone_get: a server's request on the session's GET stream is not lost behind the
# proxy, and GET streams lingering without a client never hold up live requests (issue 27;
# core/proxy/standalone_get.h). `ask` is a tool whose sampling request names no client request,
# so the SDK server sends it on the session's GET stream, or drops it when none is open.
#  1. --get-stream client (the proxy opens a GET only when the client does) and a client that
#     opens its GET 300 ms late: the server asks before anyone listens, every call times out.
#     This is the conformance suite's stall (tools-call-sampling, tools-call-elicitation,
#     elicitation-sep1034-defaults), made deterministic.
#  2. Default flags, the same late client: the proxy opened the GET at initialized and logged
#     the request; the client's GET receives it and every call completes.
#  3. The SDK's own pattern (GET not awaited, tool called at once), with the earlier sessions'
#     GET streams lingering without a client: every call completes; the metrics count them.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

start_server server
UP="http://127.0.0.1:$SERVER_PORT/mcp"

info "1. --get-stream client, GET 300 ms late: the server's request is lost"
start_proxy late --upstream "$UP" --store "$SCRATCH/store-late" --get-stream client
sdk_client ask "http://127.0.0.1:$PROXY_PORT/mcp" --sessions 2 --late-get 300 --timeout 2
expect_eq "$C_RC/$(field answered)" "0/0" "--get-stream client: the request sent before the GET is lost"
expect_eq "$(metric ssestitch_get_streams_opened_early_total)" 0 "no early GET with --get-stream client"
stopped "$PROXY_PID" "proxy (--get-stream client) stopped"

info "2. default: the proxy's early GET keeps it"
start_proxy proxy --upstream "$UP" --store "$SCRATCH/store"
URL="http://127.0.0.1:$PROXY_PORT/mcp"
sdk_client ask "$URL" --sessions 10 --late-get 300 --timeout 10
expect_eq "$C_RC/$(field answered)/$(jq -c .errors <<<"$C_OUT")" "0/10/[]" "late GET: every request reached the client"

info "3. at once, with lingering GET streams"
sdk_client ask "$URL" --sessions 20 --timeout 10
expect_eq "$C_RC/$(field answered)/$(jq -c .errors <<<"$C_OUT")" "0/20/[]" "GET not awaited: every request reached the client"
expect_eq "$(metric ssestitch_get_streams_opened_early_total)" 30 "one early GET per session"
lingering=$(metric ssestitch_streams_lingering)
[ "$lingering" -ge 30 ] || fail "the departed clients' GET streams should linger: $lingering"
info "lingering GET streams: $lingering"
stopped "$PROXY_PID" "proxy stopped"
echo "mcp_standalone_get: ok"
