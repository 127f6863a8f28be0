# readme_walkthrough: the README's "Five minutes with ssestitch" commands, run exactly as written
# (extracted from README.md), from the repository root: 20,000 notifications through the cuts,
# the store inspected, the stream replayed into jq, a resume from the log. Release pass only
# (it uses build/ as the README does); skipped when its fixed ports are taken.
. "$(dirname "$0")/lib.sh"
[ "${FLAVOUR:-release}" = release ] || skip "the README uses the release build in build/"
for p in 3000 3001 8080 9090; do
  port_open "$p" && skip "port $p is in use"
done
cd "$ROOT"
for f in ssestitch-store proxy.log events.txt; do [ -e "$f" ] && skip "$ROOT/$f exists; the walk-through would reuse it"; done
sed -n '/^## Five minutes/,/^## Pointing/p' README.md | awk '/^```sh/ {f = 1; next} /^```/ {f = 0} f' >"$SCRATCH/walk.sh"
[ "$(wc -l <"$SCRATCH/walk.sh")" -ge 15 ] || fail "walk-through not found in README.md"
# The walk-through runs in a session of its own (its jobs use job control); if this test is
# stopped (scripts/test's timeout), the trap stops the walk-through's processes, by parent PID,
# and removes what it left in the repository.
walk_pid=
stop_walk() {
  if [ -n "$walk_pid" ]; then
    pkill -TERM -P "$walk_pid" 2>/dev/null || true
    kill "$walk_pid" 2>/dev/null || true
    wait "$walk_pid" 2>/dev/null || true
    walk_pid=
  fi
  cp proxy.log "$SCRATCH/" 2>/dev/null || true
  rm -rf ssestitch-store proxy.log events.txt
}
trap 'stop_walk; cleanup' EXIT
trap 'exit 143' TERM INT
rc=0
setsid bash -c 'set -m; exec bash "$1"' _ "$SCRATCH/walk.sh" >"$SCRATCH/walk.out" 2>"$SCRATCH/walk.err" &
walk_pid=$!
wait "$walk_pid" || rc=$?
walk_pid=
stop_walk
cat "$SCRATCH/walk.out"
expect_eq "$rc" 0 "the walk-through's exit status ($(tail -n 3 "$SCRATCH/walk.err"))"
grep -qx 20000 "$SCRATCH/walk.out" || fail "20000 notifications not counted"
grep -q '"text":"done 20000"' "$SCRATCH/walk.out" || fail "no tool result"
grep -Eq 'reconnects_total\{outcome="resumed"\} [1-9]' "$SCRATCH/walk.out" || fail "no resume counted"
grep -q '^events: *20005$' "$SCRATCH/walk.out" || fail "inspect summary (20001 events and 4 recorded messages)"
grep -q '  ->  .*initialize' "$SCRATCH/walk.out" || fail "inspect messages"
grep -qx '{"id":"2-19991","data":19991}' "$SCRATCH/walk.out" || fail "replay into jq"
grep -qx 'id: 2-20001' "$SCRATCH/walk.out" || fail "resume from the log"
echo "readme_walkthrough: ok"
