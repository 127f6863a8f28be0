# proxy_kill9: SIGKILL the proxy at random points of a 100,000-event stream, 10 times, restarting
# it on the same store and port each time. The client reconnects with its Last-Event-ID (as an
# EventSource does) and must end with every event exactly once and in order: what a client saw
# was committed first, and the upstream resumes from the stored cursor.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
LIFE=240
N=${KILL9_EVENTS:-100000}
KILLS=${KILL9_KILLS:-10}
# events/s: the stream outlasts the kills (each kill waits 0.3-0.9 s while the stream flows, and
# the stream is still while the proxy restarts). At 10,000/s (10 s of stream) an ASan run in a
# fresh chroot delivered all of it before the 10th kill.
RATE=7000
[ "${FLAVOUR:-release}" = release ] || RATE=4000

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE
listening upstream
UP=$PORT
STORE=$SCRATCH/store
ARGS=(--upstream "http://127.0.0.1:$UP/events" --store "$STORE" --sync none --reconnect-base 20ms --reconnect-cap 500ms)

start_proxy proxy0 "${ARGS[@]}"
LISTEN=127.0.0.1:$PROXY_PORT
start client "$TESTKIT" client --url "http://127.0.0.1:$PROXY_PORT/events?n=$N&size=100&rate=$RATE" \
  --expect "$N" --reconnect --max-reconnects 1000 --reconnect-delay-ms 50 --timeout 180
client_pid=$LAST_PID

for i in $(seq 1 "$KILLS"); do
  sleep "0.$((3 + RANDOM % 7))"
  kill -0 "$client_pid" 2>/dev/null || fail "client ended early: $(cat "$SCRATCH/client.log")"
  kill -9 "$(real_pid "$PROXY_PID")" 2>/dev/null || fail "proxy $i is not running: $(tail -n 5 "$SCRATCH/proxy$((i - 1)).log")"
  stop "$PROXY_PID"
  expect_eq "$STOP_RC" 137 "kill -9 number $i"
  start_proxy "proxy$i" "${ARGS[@]}"
  info "kill $i done, restarted"
done

stop_rc=0
wait "$client_pid" || stop_rc=$?
C_OUT=$(tail -n 1 "$SCRATCH/client.log")
info "client: $C_OUT"
expect_eq "$stop_rc/$(field events)/$(field lost)/$(field duplicates)/$(field id_errors)" "0/$N/0/0/0" "after $KILLS kills"
[ "$(field reconnects)" -ge "$KILLS" ] || fail "the client reconnected only $(field reconnects) times"
stopped "$PROXY_PID" "last proxy exit"
echo "proxy_kill9: ok ($KILLS kills, $N events, $(field reconnects) client reconnects)"
