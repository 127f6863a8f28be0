# store_redis_kills: three proxies on one Redis prefix behind HAProxy (round robin, no affinity)
# carry 20 generic SSE streams while the proxies are SIGKILLed round robin every 10 s for a
# minute, each restarted on its port a second later. Every client resumes through HAProxy with
# Last-Event-ID wherever it lands: the proxy there follows the stream from Redis while its owner
# lives and takes it over once the dead owner's liveness key expires, resuming the upstream from
# the cursor in Redis. Every client gets every event exactly once, in order.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/bootstrap test installs it)"
command -v haproxy >/dev/null || fail "haproxy is not installed (scripts/bootstrap test installs it)"
LIFE=240
CLIENTS=20
RATE=200     # events/s per stream
N=14000      # 70 s per stream: every kill lands while all streams run
KILLS=6
EVERY=10
if [ "${FLAVOUR:-release}" != release ]; then
  # The sanitizer pass looks for memory errors, not for the acceptance's minute: 3 kills, 5 s
  # apart, during 25 s streams (the suite stays well under CI's time budget).
  KILLS=3 EVERY=5 N=5000
fi

RPORT=$(free_port)
start_redis_server redis "$RPORT" --appendonly yes --appendfsync everysec
URL="redis://127.0.0.1:$RPORT?prefix=kills"

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE
listening upstream
ARGS=(--upstream "http://127.0.0.1:$PORT/events" --store "$URL" --reconnect-base 20ms --reconnect-cap 500ms)

PIDS=() PORTS=()
for i in 0 1 2; do
  start_proxy "proxy$i.0" "${ARGS[@]}"
  PIDS+=("$PROXY_PID") PORTS+=("$PROXY_PORT")
done

start_haproxy "${PORTS[@]}"

CPIDS=()
for c in $(seq 1 "$CLIENTS"); do
  start "client$c" "$TESTKIT" client --url "http://127.0.0.1:$HPORT/events?n=$N&size=100&rate=$RATE" \
    --expect "$N" --reconnect --max-reconnects 1000 --reconnect-delay-ms 100 --timeout 180
  CPIDS+=("$LAST_PID")
done

for k in $(seq 1 "$KILLS"); do
  sleep "$EVERY"
  i=$(((k - 1) % 3))
  for c in "${CPIDS[@]}"; do kill -0 "$c" 2>/dev/null || fail "a client ended early: $(tail -n 1 "$SCRATCH"/client*.log | head -n 20)"; done
  kill -9 "$(real_pid "${PIDS[$i]}")" 2>/dev/null || fail "proxy$i is not running: $(tail -n 5 "$SCRATCH"/proxy$i.*.log)"
  stop "${PIDS[$i]}"
  expect_eq "$STOP_RC" 137 "kill -9 number $k (proxy$i)"
  sleep 1
  LISTEN="127.0.0.1:${PORTS[$i]}" start_proxy "proxy$i.$k" "${ARGS[@]}"
  PIDS[$i]=$PROXY_PID
  info "kill $k: proxy$i killed and restarted"
done

bad=0 reconnects=0
for c in $(seq 1 "$CLIENTS"); do
  rc=0
  wait "${CPIDS[$((c - 1))]}" || rc=$?
  C_OUT=$(tail -n 1 "$SCRATCH/client$c.log")
  got="$rc/$(field events)/$(field lost)/$(field duplicates)/$(field id_errors)"
  if [ "$got" != "0/$N/0/0/0" ]; then
    info "client$c: $C_OUT"
    bad=$((bad + 1))
  fi
  reconnects=$((reconnects + $(field reconnects)))
done
[ "$bad" = 0 ] || fail "$bad of $CLIENTS clients did not get $N events exactly once, in order (rc/events/lost/duplicates/id_errors)"
taken=$(cat "$SCRATCH"/proxy*.log | grep -c 'stream_taken_over' || true)
followed=$(cat "$SCRATCH"/proxy*.log | grep -c 'resume_served' || true)
[ "$taken" -ge 1 ] || fail "no proxy took a dead proxy's stream over"
echo "store_redis_kills: ok ($CLIENTS clients x $N events exactly once, in order, across $KILLS proxy kills: $reconnects client reconnects, $taken take-overs, $followed resumes served)"
