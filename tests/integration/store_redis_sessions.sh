# store_redis_sessions: an MCP session's life across two proxies on one Redis prefix (the
# testkit's MCP emulation upstream). Initialized through A, used through B (which adopts it from
# Redis), deleted through B: a later request through A, which set the session up and could set
# it up again when the server does not know it (core/proxy/reinit.h), is refused with 404 as
# the server answered, because Redis says the session was closed. B reaches Redis through a relay
# that holds Redis' replies back (300 ms): a proxy that recorded the close only after the
# server's answer left A a window in which its GET stream, cut by the server's DELETE, found the
# session still open in Redis and set it up again (seen as an ASan-only flake before the relay
# made it certain). Then a server that refuses DELETE (405): the session lives on, in Redis too.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/bootstrap test installs it)"

RPORT=$(free_port)
start_redis_server redis "$RPORT" --appendonly no
URL="redis://127.0.0.1:$RPORT?prefix=sessions"
start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime "$LIFETIME"
listening upstream
UPSTREAM_PORT=$PORT
ARGS=(--upstream "http://127.0.0.1:$PORT/mcp" --store "$URL")
start_proxy a "${ARGS[@]}"
A="http://127.0.0.1:$PROXY_PORT/mcp"
start slowlink "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$RPORT" --hold-ms 300 --lifetime "$LIFETIME"
listening slowlink
start_proxy b --upstream "http://127.0.0.1:$UPSTREAM_PORT/mcp" --store "redis://127.0.0.1:$PORT?prefix=sessions"
B="http://127.0.0.1:$PROXY_PORT/mcp"
B_PID=$PROXY_PID

rpc() {  # URL SID BODY [METHOD]: the status
  http_code "$1" -X "${4:-POST}" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    ${2:+-H "Mcp-Session-Id: $2"} ${3:+-d "$3"}
}
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"store_redis_sessions","version":"1"}}}'
ping='{"jsonrpc":"2.0","id":2,"method":"ping"}'

expect_eq "$(rpc "$A" "" "$init")" 200 "initialize through A"
SID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
[ -n "$SID" ] || fail "no session id"
expect_eq "$(rpc "$A" "$SID" '{"jsonrpc":"2.0","method":"notifications/initialized"}')" 202 "initialized through A"
expect_eq "$(rpc "$B" "$SID" "$ping")" 200 "ping through B (adopted)"
grep -q 'session_adopted' "$SCRATCH/b.log" || fail "B did not adopt the session"
expect_eq "$(rpc "$B" "$SID" "" DELETE)" 200 "DELETE through B"
expect_eq "$(rpc "$A" "$SID" "$ping")" 404 "ping through A after the DELETE"
grep -q 'upstream_session_lost' "$SCRATCH/a.log" && fail "A set the deleted session up again"
# B first, while its relay to Redis is up: stopped together at exit, B found Redis gone and held
# its last flush for the store's 60 s before giving up.
stop "$B_PID"

start upstream-keep "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime "$LIFETIME" --mcp-delete 0
listening upstream-keep
KURL="redis://127.0.0.1:$RPORT?prefix=keep"
start_proxy c --upstream "http://127.0.0.1:$PORT/mcp" --store "$KURL"
C="http://127.0.0.1:$PROXY_PORT/mcp"
expect_eq "$(rpc "$C" "" "$init")" 200 "initialize through C"
KSID=$(grep -i '^mcp-session-id:' "$SCRATCH/head" | awk '{print $2}' | tr -d '\r')
expect_eq "$(rpc "$C" "$KSID" "" DELETE)" 405 "DELETE refused by the server"
expect_eq "$("$SSESTITCH" inspect "$KURL" sessions --json | jq -r --arg s "$KSID" '.sessions[] | select(.id == $s) | .state')" \
  open "the refused DELETE's session in Redis"
expect_eq "$(rpc "$C" "$KSID" "$ping")" 200 "ping after the refused DELETE"
echo "store_redis_sessions: ok (initialized on A, adopted and deleted on B, refused on A; a refused DELETE keeps the session)"
