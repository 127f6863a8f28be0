# mcp_tls: an https upstream. The official SDK server over TLS, first HTTP/1.1 then HTTP/2 (ALPN),
# with a self-signed certificate made here: through the proxy with --cacert the SDK client gets
# the same results as directly (tools, 100 notifications in order, a subscription update on the
# GET stream, session deletion), and with --h2 the proxy's own requests reach the server over
# HTTP/2. Without --cacert the certificate is refused: 502 with the reason, and /healthz says
# so; --insecure accepts it.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || fail "openssl missing (scripts/bootstrap test installs it)"
TLS=$SCRATCH/tls
mkdir -p "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$TLS/key.pem" -out "$TLS/cert.pem" -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 >"$SCRATCH/openssl.log" 2>&1 || fail "openssl: $(tail -n 5 "$SCRATCH/openssl.log")"

for mode in "" --h2; do
  info "https upstream ${mode:-(HTTP/1.1)}"
  start_server "server$mode" --tls "$TLS" $mode --event-store
  start_proxy "proxy$mode" --upstream "https://127.0.0.1:$SERVER_PORT/mcp" --cacert "$TLS/cert.pem" --store "$SCRATCH/store$mode"
  NODE_EXTRA_CA_CERTS=$TLS/cert.pem sdk_client parity "https://127.0.0.1:$SERVER_PORT/mcp"
  expect_eq "$C_RC" 0 "direct run"
  direct=$C_OUT
  # The proxy is the only HTTP/2 client the server has (node's fetch speaks HTTP/1.1).
  grep -q 'HTTP/2.0 request' "$SCRATCH/server$mode.log" && fail "an HTTP/2 request before the proxy's"
  sdk_client parity "http://127.0.0.1:$PROXY_PORT/mcp"
  expect_eq "$C_RC" 0 "proxied run"
  expect_eq "$C_OUT" "$direct" "same results through the proxy"
  [ "$(jq -r .notifications <<<"$C_OUT")/$(jq -r .in_order <<<"$C_OUT")" = 100/true ] || fail "notifications: $C_OUT"
  expect_eq "$(jq -r .updated <<<"$C_OUT")" test://static "subscription update on the GET stream"
  if [ "$mode" = --h2 ]; then
    grep -q 'HTTP/2.0 request' "$SCRATCH/server$mode.log" || fail "the proxy did not use HTTP/2: $(grep HTTP/ "$SCRATCH/server$mode.log")"
  fi
  stopped "$PROXY_PID" "proxy exit"
  [ "$mode" = --h2 ] || stopped "$SERVER_PID" "server exit"
done

info "the certificate is refused without --cacert, accepted with --insecure"
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
start_proxy proxy-noca --upstream "https://127.0.0.1:$SERVER_PORT/mcp" --no-store
body=$(curl -s --max-time 20 -w '\n%{http_code}' -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' -d "$init" "http://127.0.0.1:$PROXY_PORT/mcp")
expect_eq "$(tail -n 1 <<<"$body")" 502 "initialize through an unverifiable upstream"
grep -qi 'certificate' <<<"$body" || fail "502 without the reason: $body"
health=$(curl -s --max-time 5 "http://127.0.0.1:$ADMIN_PORT/healthz")
grep -qi 'certificate' <<<"$health" || fail "healthz: $health"
stopped "$PROXY_PID" "proxy-noca exit"
start_proxy proxy-insecure --upstream "https://127.0.0.1:$SERVER_PORT/mcp" --insecure --no-store
sdk_client parity "http://127.0.0.1:$PROXY_PORT/mcp"
expect_eq "$C_RC" 0 "run through --insecure"
expect_eq "$C_OUT" "$direct" "same results through --insecure"
stopped "$PROXY_PID" "proxy-insecure exit"
stopped "$SERVER_PID" "server exit"
echo "mcp_tls: ok"
