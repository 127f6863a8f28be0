# mcp_parity: the official SDK client against the official SDK server, directly and through the
# proxy: the same results (tools, echo, 100 notifications in order, resources, a subscription
# update on the GET stream, ping, session deletion), resumable and not, stateless, and with
# plain JSON answers to POSTs (the SDK's enableJsonResponse: no SSE on the POST, so no
# notifications during the call).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

for mode in --event-store "" --stateless --json; do
  info "server ${mode:-without event store}"
  start_server "server$mode" $mode
  start_proxy "proxy$mode" --upstream "http://127.0.0.1:$SERVER_PORT/mcp" --store "$SCRATCH/store$mode"
  sdk_client parity "http://127.0.0.1:$SERVER_PORT/mcp"
  expect_eq "$C_RC" 0 "direct run"
  direct=$C_OUT
  sdk_client parity "http://127.0.0.1:$PROXY_PORT/mcp"
  expect_eq "$C_RC" 0 "proxied run"
  expect_eq "$C_OUT" "$direct" "same results through the proxy"
  expect_eq "$(jq -r .notify <<<"$C_OUT")" "sent 100" "notify tool result"
  if [ "$mode" = --json ]; then
    expect_eq "$(jq -r .notifications <<<"$C_OUT")" 0 "notifications with JSON answers"
  else
    [ "$(jq -r .notifications <<<"$C_OUT")/$(jq -r .in_order <<<"$C_OUT")" = 100/true ] || fail "notifications: $C_OUT"
  fi
  if [ "$mode" != --stateless ]; then
    expect_eq "$(jq -r .updated <<<"$C_OUT")" test://static "subscription update on the GET stream"
  fi
  stopped "$PROXY_PID" "proxy exit"
  stopped "$SERVER_PID" "server exit"
done
echo "mcp_parity: ok"
