# store_redis_fencing: a proxy that stalls past its liveness TTL loses its stream to another
# proxy and never shows a client an event it could not commit. Two proxies on one Redis prefix;
# a client reads a stream through proxy A; A is SIGSTOPped for 4.5 s (its 3 s liveness key
# expires); meanwhile a second client resumes the same stream on proxy B, which follows it and
# takes it over once A's key is gone. A is then continued: its next commit of the stream is
# refused (fenced), it drops what it read meanwhile and follows the stream from Redis instead,
# so its client gets B's events. Both clients: every event exactly once, in order.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/bootstrap test installs it)"
N=20000

RPORT=$(free_port)
start_redis_server redis "$RPORT" --appendonly no
URL="redis://127.0.0.1:$RPORT?prefix=fence"

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime 120
listening upstream
ARGS=(--upstream "http://127.0.0.1:$PORT/events" --store "$URL" --reconnect-base 20ms --reconnect-cap 500ms)
start_proxy a "${ARGS[@]}"
A_PID=$PROXY_PID A_PORT=$PROXY_PORT
start_proxy b "${ARGS[@]}"
B_PORT=$PROXY_PORT B_ADMIN=$ADMIN_PORT

start client1 "$TESTKIT" client --url "http://127.0.0.1:$A_PORT/events?n=$N&size=100&rate=2000" --expect "$N" --timeout 60
client1=$LAST_PID
sleep 2
stream=$("$SSESTITCH" inspect "$URL" streams --json | jq -r '[.streams[] | select(.kind == "generic" and .state == "open")][0].stream')
[ -n "$stream" ] && [ "$stream" != null ] || fail "no open stream in Redis"
kill -STOP "$(real_pid "$A_PID")"
start client2 "$TESTKIT" client --url "http://127.0.0.1:$B_PORT/events" --last-event-id "$stream-100" \
  --expect $((N - 100)) --timeout 60
client2=$LAST_PID
sleep 4.5
grep -q "stream_taken_over.*stream=$stream" "$SCRATCH/b.log" || fail "B did not take the stream over: $(tail -n 5 "$SCRATCH/b.log")"
kill -CONT "$(real_pid "$A_PID")"
for c in 1 2; do
  rc=0
  pid=client$c
  wait "${!pid}" || rc=$?
  C_OUT=$(tail -n 1 "$SCRATCH/client$c.log")
  info "client$c: $C_OUT"
  want=$N
  [ "$c" = 2 ] && want=$((N - 100))
  expect_eq "$rc/$(field events)/$(field lost)/$(field duplicates)/$(field id_errors)" "0/$want/0/0/0" "client$c"
done
grep -q "stream_fenced.*stream=$stream" "$SCRATCH/a.log" || fail "A was not fenced: $(tail -n 5 "$SCRATCH/a.log")"
echo "store_redis_fencing: ok (A stalled 4.5 s, B took stream $stream over, A was fenced and followed; both clients exactly once)"
