# proxy_bad_input: hostile and malformed requests get their documented status, never a crash or
# a hang, and the proxy keeps serving afterwards. Also the security switches: Origin checks,
# --require-token, session ids bound to the client's principal, no secrets in logs or store.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
LIFE=180

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE
listening upstream
UP=$PORT
start_proxy proxy --upstream "http://127.0.0.1:$UP/mcp" --store "$SCRATCH/store" \
  --max-header-size 8KiB --max-body-size 64KiB --require-token s3cret-token --allow-origin http://good.example
P=$PROXY_PORT
M="http://127.0.0.1:$P/mcp"
AUTH=(-H 'Authorization: Bearer s3cret-token')

# raw TEXT: sends TEXT on a fresh connection, prints the status code of the answer ("none" when
# the proxy closed without one). Bounded by 5 s.
raw() {
  local out
  out=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "%b" "$2" >&3; cat <&3' _ "$P" "$1" 2>/dev/null | head -c 200 || true)
  if [[ $out =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]]; then echo "${BASH_REMATCH[1]}"; else echo none; fi
}
# A framing error is answered with a 4xx, or the connection is closed (evhttp's choice).
is_refusal() { [[ $1 =~ ^(4[0-9][0-9]|none)$ ]]; }
alive() { expect_eq "$(http_code "$M" "${AUTH[@]}" -d '{"jsonrpc":"2.0","id":1,"method":"ping"}')" 400 "proxy alive after $1"; }

info "HTTP framing"
expect_eq "$(raw 'GARBAGE\r\n\r\n')" 400 "garbage request line"
expect_eq "$(raw 'GET http://evil.example/mcp HTTP/1.1\r\nHost: x\r\n\r\n')" 400 "absolute-form target"
big=$(head -c 20000 /dev/zero | tr '\0' a)
code=$(raw "GET /mcp HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n")
is_refusal "$code" || fail "oversize headers: $code"
code=$(raw 'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
is_refusal "$code" || fail "Content-Length with Transfer-Encoding: $code"
code=$(raw 'POST /mcp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n')
is_refusal "$code" || fail "invalid chunk size: $code"
code=$(raw 'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 9\r\n\r\nabc')
is_refusal "$code" || fail "conflicting Content-Length: $code"
alive "framing errors"
# An oversize body is always answered with a readable 413, never a reset: the proxy reads and
# discards the rest of the body before it answers and closes. Stressed three ways, each several
# times: a client that blasts a body far larger than the socket buffers without waiting
# (Expect: off), one that waits for 100-continue, and a slow sender (rate-limited).
head -c 100000 /dev/zero | tr '\0' x >"$SCRATCH/big.json"
head -c 4000000 /dev/zero | tr '\0' x >"$SCRATCH/huge.json"
expect_eq "$(http_code "$M" "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary @"$SCRATCH/big.json")" 413 "oversize body"
for i in 1 2 3 4 5; do
  expect_eq "$(http_code "$M" "${AUTH[@]}" -H 'Expect:' -H 'Content-Type: application/json' --data-binary @"$SCRATCH/huge.json")" 413 "oversize body, no Expect ($i)"
done
for i in 1 2; do
  expect_eq "$(http_code "$M" "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary @"$SCRATCH/huge.json")" 413 "oversize body, Expect: 100-continue ($i)"
  expect_eq "$(http_code "$M" "${AUTH[@]}" -H 'Expect:' --limit-rate 2M -H 'Content-Type: application/json' --data-binary @"$SCRATCH/huge.json")" 413 "oversize body, slow sender ($i)"
done
# A client that writes its whole body before it reads anything.
blast=$(timeout 20 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf "POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\nContent-Length: 4000000\r\n\r\n" >&3
  cat "$2" >&3 2>/dev/null; head -c 100 <&3' _ "$P" "$SCRATCH/huge.json" 2>/dev/null | head -n 1 || true)
[[ $blast =~ ^HTTP/1\.1\ 413 ]] || fail "oversize body written before reading: got '${blast%$'\r'}'"
expect_eq "$(http_code -X BREW "$M" "${AUTH[@]}")" 501 "unknown method"

info "security: token, Origin"
expect_eq "$(http_code "$M" -d '{}')" 401 "no token"
grep -qi '^www-authenticate: bearer' "$SCRATCH/head" || fail "401 without WWW-Authenticate"
expect_eq "$(http_code "$M" -H 'Authorization: Bearer wrong' -d '{}')" 401 "wrong token"
expect_eq "$(http_code "$M" "${AUTH[@]}" -H 'Origin: http://evil.example' -d '{}')" 403 "foreign Origin"
# DNS rebinding: a loopback listener answers loopback names only; its own origin and loopback
# origins (local tools) pass without --allow-origin.
expect_eq "$(http_code "$M" "${AUTH[@]}" -H 'Host: evil.example' -d '{}')" 403 "foreign Host"
expect_eq "$(http_code "$M" "${AUTH[@]}" -H "Host: evil.example:$P" -H "Origin: http://127.0.0.1:$P" -d '{}')" 403 "foreign Host, own Origin"
expect_eq "$(http_code "$M" "${AUTH[@]}" -H "Host: localhost:$P" -d '{"jsonrpc":"2.0","id":1,"method":"ping"}')" 400 "loopback Host"
expect_eq "$(http_code "$M" "${AUTH[@]}" -H "Origin: http://127.0.0.1:$P" -d '{"jsonrpc":"2.0","id":1,"method":"ping"}')" 400 "own Origin"
expect_eq "$(http_code "$M" "${AUTH[@]}" -H 'Origin: http://localhost:6274' -d '{"jsonrpc":"2.0","id":1,"method":"ping"}')" 400 "loopback Origin"
expect_eq "$(http_code "$M" "${AUTH[@]}" -H 'Origin: http://127.0.0.1.evil.example' -d '{}')" 403 "look-alike Origin"
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bad","version":"1"}}}'
expect_eq "$(http_code "$M" "${AUTH[@]}" -H 'Origin: http://good.example' -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' -d "$init")" 200 "allowed Origin"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')

info "MCP input"
post() { http_code "$M" "${AUTH[@]}" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' "$@"; }
expect_eq "$(post -H "Mcp-Session-Id: $SID" -d '{"jsonrpc":"2.0","id":2,"method":"ping"}')" 200 "valid ping"
# Invalid JSON is forwarded untouched (the proxy is not a validator): whatever the upstream
# answers, as long as the proxy answers and lives.
code=$(post -H "Mcp-Session-Id: $SID" -d '{not json')
[[ $code =~ ^[24] ]] || fail "invalid JSON: $code"
code=$(post -H "Mcp-Session-Id: $SID" -d '[1,2,3]')
[[ $code =~ ^[24] ]] || fail "not JSON-RPC: $code"
huge_id=$(head -c 5000 /dev/zero | tr '\0' 9)
code=$(post -H "Mcp-Session-Id: $SID" -d "{\"jsonrpc\":\"2.0\",\"id\":$huge_id,\"method\":\"ping\"}")
[[ $code =~ ^[24] ]] || fail "huge id: $code"
expect_eq "$(post -H "Mcp-Session-Id: $SID$SID" -d '{"jsonrpc":"2.0","id":3,"method":"ping"}')" 404 "unknown (long) session"
expect_eq "$(post -H "Mcp-Session-Id: ../../etc" -d '{"jsonrpc":"2.0","id":3,"method":"ping"}')" 404 "path-like session"
expect_eq "$(post -H "Mcp-Session-Id: has space" -d '{"jsonrpc":"2.0","id":3,"method":"ping"}')" 400 "malformed session"
expect_eq "$(http_code "$M" "${AUTH[@]}" -H "Mcp-Session-Id: $SID" -H 'Last-Event-ID: 1-')" 400 "malformed Last-Event-ID"
expect_eq "$(http_code "$M" "${AUTH[@]}" -H "Mcp-Session-Id: $SID" -H 'Last-Event-ID: 0-0')" 400 "zero Last-Event-ID"
alive "MCP input"

info "secrets stay out of logs, metrics and the store"
kill -TERM "$(real_pid "$PROXY_PID")"
ends "$PROXY_PID" "proxy exit"
! grep -rqa 's3cret-token' "$SCRATCH/store" "$SCRATCH/proxy.log" || fail "the token leaked into the store or the log"
expect_eq "$(stat -c %a "$SCRATCH/store")" 700 "store directory mode"
for f in "$SCRATCH"/store/*.mdb; do expect_eq "$(stat -c %a "$f")" 600 "mode of $(basename "$f")"; done
info "a session id is bound to the principal (Authorization) that created it"
start_proxy proxy2 --upstream "http://127.0.0.1:$UP/mcp" --no-store
M2="http://127.0.0.1:$PROXY_PORT/mcp"
expect_eq "$(http_code "$M2" -H 'Authorization: Bearer alice' -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' -d "$init")" 200 "alice initializes"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
ping='{"jsonrpc":"2.0","id":4,"method":"ping"}'
expect_eq "$(http_code "$M2" -H 'Authorization: Bearer alice' -H "Mcp-Session-Id: $SID" -d "$ping")" 200 "alice uses it"
expect_eq "$(http_code "$M2" -H 'Authorization: Bearer bob' -H "Mcp-Session-Id: $SID" -d "$ping")" 404 "bob cannot"
expect_eq "$(http_code "$M2" -H "Mcp-Session-Id: $SID" -d "$ping")" 404 "nor can an anonymous client"
echo "proxy_bad_input: ok"
