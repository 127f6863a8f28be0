# store_redis: the proxy on `--store redis://...` (a redis-server of its own on 127.0.0.1).
# SIGKILL the proxy three times during a 20,000-event stream and restart it on the same Redis
# prefix: the client, resuming with Last-Event-ID, gets every event exactly once and in order
# (commit-before-forward through Redis; the restarted proxy takes the dead one's streams over
# once its liveness key expires and resumes the upstream from the cursor in Redis). A second
# proxy on the same prefix shares it: a client resuming there a stream the first one reads gets
# the first one's events from Redis, live, exactly once and in order. Then SIGKILL Redis itself (appendonly,
# appendfsync always) during a stream and restart it: the proxy holds the stream (nothing is
# forwarded uncommitted, /readyz says 503) and the client still gets every event exactly once.
# inspect and replay read the same URL, and a Redis that is not there or a malformed URL fail
# with a clear message and the documented exit codes.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/bootstrap test installs it)"
LIFE=240
N=20000
KILLS=3
RATE=4000  # events/s: 5 s of stream, during which the follow step and the kills happen
# Under the sanitizers (and other tests running beside) the follow step alone once took over
# 5 s: the stream ended before the first kill. 1,000/s there: 20 s of stream.
[ "${FLAVOUR:-release}" = release ] || RATE=1000

RPORT=$(free_port)
start_redis() { start_redis_server "redis$1" "$RPORT" --appendonly yes --appendfsync always; }
start_redis 0
URL="redis://127.0.0.1:$RPORT/0?prefix=it"

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE
listening upstream
UP=$PORT
ARGS=(--upstream "http://127.0.0.1:$UP/events" --store "$URL" --reconnect-base 20ms --reconnect-cap 500ms)

start_proxy proxy0 "${ARGS[@]}"
LISTEN=127.0.0.1:$PROXY_PORT
grep -q 'store_redis_durability' "$SCRATCH/proxy0.log" || fail "no durability line at start: $(head -n 5 "$SCRATCH/proxy0.log")"


start client "$TESTKIT" client --url "http://127.0.0.1:$PROXY_PORT/events?n=$N&size=100&rate=$RATE" \
  --expect "$N" --reconnect --max-reconnects 1000 --reconnect-delay-ms 50 --timeout 180
client_pid=$LAST_PID

# A second proxy on the same prefix: a client resuming there the first one's stream follows it
# from Redis (replay, then live) while the first keeps reading the upstream.
sleep 0.5
FIRST_PORT=$PROXY_PORT FIRST_PID=$PROXY_PID FIRST_ADMIN=$ADMIN_PORT
LISTEN= start_proxy second "${ARGS[@]}"
stream=$("$SSESTITCH" inspect "$URL" streams --json | jq -r '[.streams[] | select(.kind == "generic" and .state == "open")][0].stream')
client --url "http://127.0.0.1:$PROXY_PORT/events" --last-event-id "$stream-100" --expect 3000 --timeout 30
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)/$(field id_errors)/$(field first_k)" "0/3000/0/0/0/101" \
  "a resume on the second proxy follows the first one's stream"
[ "$(metric ssestitch_resumes_followed_total)" = 1 ] || fail "the second proxy did not follow the stream"
stopped "$PROXY_PID" "second proxy exit"
PROXY_PORT=$FIRST_PORT PROXY_PID=$FIRST_PID ADMIN_PORT=$FIRST_ADMIN
for i in $(seq 1 "$KILLS"); do
  sleep "0.$((5 + RANDOM % 5))"
  kill -0 "$client_pid" 2>/dev/null || fail "client ended early: $(cat "$SCRATCH/client.log")"
  kill -9 "$(real_pid "$PROXY_PID")" 2>/dev/null || fail "proxy $i is not running: $(tail -n 5 "$SCRATCH/proxy$((i - 1)).log")"
  stop "$PROXY_PID"
  expect_eq "$STOP_RC" 137 "kill -9 number $i"
  start_proxy "proxy$i" "${ARGS[@]}"
  info "kill $i done, restarted"
done
rc=0
wait "$client_pid" || rc=$?
C_OUT=$(tail -n 1 "$SCRATCH/client.log")
info "client: $C_OUT"
expect_eq "$rc/$(field events)/$(field lost)/$(field duplicates)/$(field id_errors)" "0/$N/0/0/0" "after $KILLS kills"
reconnects=$(field reconnects)
# A restarted proxy claims the stream at start (store_recovered) or when its retry finds the dead
# owner's key gone (stream_taken_over): either way store_stream_claimed.
grep -q "store_stream_claimed stream=$stream " "$SCRATCH"/proxy[1-9].log || fail "no restarted proxy took the stream over"

# inspect and replay read the same URL while the proxy runs.
"$SSESTITCH" inspect "$URL" --json >"$SCRATCH/summary.json" || fail "inspect: $(cat "$SCRATCH/summary.json")"
stream=$("$SSESTITCH" inspect "$URL" streams --json | jq -r '[.streams[] | select(.kind == "generic")][0].stream')
[ -n "$stream" ] && [ "$stream" != null ] || fail "inspect streams found no generic stream"
events=$("$SSESTITCH" inspect "$URL" streams --json | jq -r "[.streams[] | select(.stream == $stream)][0].events")
expect_eq "$events" "$N" "events of stream $stream in Redis"
got=$("$SSESTITCH" replay "$URL" --after-id "$stream-$((N - 3))" --format ndjson | wc -l)
expect_eq "$got" 3 "replay after the third-last event"

# Redis SIGKILLed mid-stream and restarted a second later.
start client2 "$TESTKIT" client --url "http://127.0.0.1:$PROXY_PORT/events?n=$N&size=100&rate=$RATE" \
  --expect "$N" --reconnect --max-reconnects 1000 --reconnect-delay-ms 50 --timeout 180
client_pid=$LAST_PID
sleep 1.5
kill -9 "$(real_pid "$REDIS_PID")"
stop "$REDIS_PID"
sleep 0.5
ready=$(http_code "http://127.0.0.1:$ADMIN_PORT/readyz")
expect_eq "$ready" 503 "/readyz while Redis is down"
sleep 0.5
start_redis 1
rc=0
wait "$client_pid" || rc=$?
C_OUT=$(tail -n 1 "$SCRATCH/client2.log")
info "client2: $C_OUT"
expect_eq "$rc/$(field events)/$(field lost)/$(field duplicates)/$(field id_errors)" "0/$N/0/0/0" "across a Redis restart"
grep -q 'store_unavailable_holding' "$SCRATCH/proxy$KILLS.log" || fail "the proxy did not hold during the outage"
grep -q 'store_available_again' "$SCRATCH/proxy$KILLS.log" || fail "the proxy did not resume after the outage"
expect_eq "$(http_code "http://127.0.0.1:$ADMIN_PORT/readyz")" 200 "/readyz after Redis returned"
stopped "$PROXY_PID" "proxy exit"

# Redis gone: the store cannot open (exit 3, the URL in the message); a bad URL is a usage error.
stop "$REDIS_PID"
rc=0
timeout 20 "$SSESTITCH" proxy --listen 127.0.0.1:0 --upstream "http://127.0.0.1:$UP/events" --store "$URL" \
  >"$SCRATCH/down.log" 2>&1 || rc=$?
expect_eq "$rc" 3 "proxy with Redis down"
grep -q "redis://127.0.0.1:$RPORT" "$SCRATCH/down.log" || fail "no URL in: $(cat "$SCRATCH/down.log")"
rc=0
"$SSESTITCH" proxy --listen 127.0.0.1:0 --upstream "http://127.0.0.1:$UP/events" --store "redis://127.0.0.1:99999" \
  >"$SCRATCH/bad.log" 2>&1 || rc=$?
expect_eq "$rc" 2 "malformed Redis URL"
grep -q 'PORT must be 1..65535' "$SCRATCH/bad.log" || fail "bad URL message: $(cat "$SCRATCH/bad.log")"
echo "store_redis: ok ($KILLS proxy kills with $reconnects client reconnects and a Redis kill, $N events exactly once each)"
