# readme_walkthrough: the README's walk-throughs, run exactly as written (extracted from
# README.md), from the repository root. "Five minutes with ssestitch": 20,000 notifications
# through the cuts, the store inspected, the stream replayed into jq, a resume from the log.
# "Record once, replay in CI": a recorded session, exported as a tape, served by the mock, the
# same answers, exit 0. "Several instances": three proxies on one Redis prefix behind HAProxy,
# calls spread over them, a stream across its proxy's kill -9. Release pass only
# (it uses build/ as the README does); skipped when its fixed ports are taken.
. "$(dirname "$0")/lib.sh"
[ "${FLAVOUR:-release}" = release ] || skip "the README uses the release build in build/"
for p in 3000 3001 6380 8080 8081 8082 8083 9090 9091 9092 9093; do
  port_open "$p" && skip "port $p is in use"
done
for c in redis-server haproxy; do
  command -v "$c" >/dev/null || fail "$c is not installed (scripts/bootstrap test installs it)"
done
cd "$ROOT"
for f in ssestitch-store proxy.log events.txt rec-store tape.ndjson recorded.txt replayed.txt replay.log \
  proxy1.log proxy2.log proxy3.log haproxy.cfg client.json; do
  [ -e "$f" ] && skip "$ROOT/$f exists; the walk-through would reuse it"
done
# walk NAME FIRST LAST FILES...: runs the ```sh blocks of the README section from the heading
# FIRST to the heading LAST, exactly as written, from the repository root; its output in
# $SCRATCH/NAME.out, its exit status in WALK_RC; FILES are what it leaves in the repository.
# It runs in a session of its own (its jobs use job control); if this test is stopped
# (scripts/test's timeout), the trap stops its processes, by parent PID, and removes FILES.
walk_pid=
walk_files=()
stop_walk() {
  if [ -n "$walk_pid" ]; then
    # The walk leads a process group of its own (setsid): TERM to all of it, KILL to what is
    # left after 2 s, so that nothing it started outlives the test.
    pkill -TERM -P "$walk_pid" 2>/dev/null || true
    kill -TERM -- "-$walk_pid" 2>/dev/null || true
    local i
    for i in $(seq 1 20); do
      kill -0 -- "-$walk_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$walk_pid" 2>/dev/null || true
    wait "$walk_pid" 2>/dev/null || true
    walk_pid=
  fi
  cp proxy.log replay.log proxy[123].log "$SCRATCH/" 2>/dev/null || true
  rm -rf "${walk_files[@]:-}"
}
trap 'stop_walk; cleanup' EXIT
trap 'exit 143' TERM INT
walk() {
  local name=$1 first=$2 last=$3
  shift 3
  walk_files=("$@")
  sed -n "/^## $first/,/^## $last/p" README.md | awk '/^```sh/ {f = 1; next} /^```/ {f = 0} f' >"$SCRATCH/$name.sh"
  [ "$(wc -l <"$SCRATCH/$name.sh")" -ge 10 ] || fail "walk-through \"$first\" not found in README.md"
  WALK_RC=0
  setsid bash -c 'set -m; exec bash "$1"' _ "$SCRATCH/$name.sh" >"$SCRATCH/$name.out" 2>"$SCRATCH/$name.err" &
  walk_pid=$!
  wait "$walk_pid" || WALK_RC=$?
  walk_pid=
  stop_walk
  cat "$SCRATCH/$name.out"
  expect_eq "$WALK_RC" 0 "the walk-through's exit status ($(tail -n 3 "$SCRATCH/$name.err"))"
}

info "Five minutes with ssestitch"
walk five "Five minutes" "Pointing" ssestitch-store proxy.log events.txt
O=$SCRATCH/five.out
grep -qx 20000 "$O" || fail "20000 notifications not counted"
grep -q '"text":"done 20000"' "$O" || fail "no tool result"
grep -Eq 'reconnects_total\{outcome="resumed"\} [1-9]' "$O" || fail "no resume counted"
grep -q '^events: *20005$' "$O" || fail "inspect summary (20001 events and 4 recorded messages)"
grep -q '  ->  .*initialize' "$O" || fail "inspect messages"
grep -qx '{"id":"2-19991","data":19991}' "$O" || fail "replay into jq"
grep -qx 'id: 2-20001' "$O" || fail "resume from the log"

info "Record once, replay in CI"
walk tapes "Record once" "Hacking" rec-store tape.ndjson recorded.txt replayed.txt replay.log
O=$SCRATCH/tapes.out
grep -Eq '<- .* result +3 +[0-9]+ ' "$O" || fail "inspect messages: the tool's answer, with its latency"
grep -qx 'the same answers' "$O" || fail "the mock's answers differ from the recorded ones"
grep -qx 'every request matched' "$O" || fail "the mock did not exit 0"
grep -q 'replay: 3 requests, 3 matched, 0 not recorded' "$SCRATCH/replay.log" || fail "the mock's report: $(cat "$SCRATCH/replay.log")"
info "Several instances"
walk several "Several instances" "Smoke-testing" proxy1.log proxy2.log proxy3.log haproxy.cfg client.json
O=$SCRATCH/several.out
grep -q 'not ready' "$O" && fail "the set-up did not come up: $(cat "$O"; tail -n 3 "$SCRATCH"/proxy[123].log)"
[ "$(grep -cx 1 "$O")" -ge 7 ] || fail "calls through three proxies (six answers and a take-over)"
grep -qx 2 "$O" || fail "the session was not adopted by the two other proxies"
grep -q '^killed proxy [123]$' "$O" || fail "no proxy read the stream"
grep -qx '{"events":20000,"lost":0,"duplicates":0,"reconnects":[1-9][0-9]*}' "$O" || fail "the stream across the kill"
echo "readme_walkthrough: ok"
