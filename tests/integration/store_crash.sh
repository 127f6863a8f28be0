#!/usr/bin/env bash
# store_crash: store-writer (--sync none) is SIGKILLed at random points, again and again. After
# every kill the store must be consistent (store-check: contiguous events, cursor = last event,
# no torn event), must not have lost what an earlier check saw, and the next run must continue
# exactly after the last committed event. A final run completes the target.
source "$(dirname "$0")/lib.sh"
[ -x "${TESTKIT:-}" ] || skip "no ssestitch-testkit"
command -v jq >/dev/null || skip "jq missing"

store=$SCRATCH/store
runs=${STORE_CRASH_RUNS:-24}
# Writers are paced at about 50,000 events/s (20 us per event, slept once per batch) so that
# every run is killed while writing, never after the end; the final run is not paced.
if [ "${FLAVOUR:-release}" = asan ]; then target=300000; else target=400000; fi

prev=0
killed_mid_write=0
for i in $(seq 1 "$runs"); do
  batch=$((RANDOM % 128 + 1))
  log=$SCRATCH/writer-$i.log
  # Not under `timeout`: SIGKILL must reach the writer itself. It ends by itself at $target.
  "$TESTKIT" store-writer --store "$store" --events "$target" --batch "$batch" --sync none \
    --pause-us "$((batch * 20))" 2>"$log" &
  pid=$!
  _pids+=("$pid")
  # The random kill point counts from the first write, not from the start of the process: a
  # slow start (ASan, a busy machine) must not turn a run into a kill before the store exists.
  for _ in $(seq 1 600); do
    grep -q 'writing seq' "$log" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.05
  done
  sleep "0.$(printf '%03d' $((RANDOM % 250 + 30)))"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null && rc=0 || rc=$?
  if start_line=$(grep -m1 'writing seq' "$log"); then
    first=$(sed -E 's/.*writing seq ([0-9]+)\.\..*/\1/' <<<"$start_line")
    expect_eq "$first" "$((prev + 1))" "run $i resumed at"
  fi
  out=$("$TESTKIT" store-check --store "$store") || fail "run $i (batch $batch): store-check: $out"
  last=$(jq -r .last_seq <<<"$out")
  events=$(jq -r .events <<<"$out")
  expect_eq "$events" "$last" "run $i: events retained from seq 1"
  [ "$last" -ge "$prev" ] || fail "run $i: last_seq went back from $prev to $last"
  [ "$rc" = 137 ] && [ "$last" -lt "$target" ] && killed_mid_write=$((killed_mid_write + 1))
  info "run $i: batch $batch, exit $rc, last_seq $last (+$((last - prev)))"
  prev=$last
done
[ "$killed_mid_write" -ge 20 ] || fail "only $killed_mid_write runs were killed mid-write (want >= 20)"

"$TESTKIT" store-writer --store "$store" --events "$target" --sync none 2>"$SCRATCH/writer-final.log" ||
  fail "final run: $(tail -n 3 "$SCRATCH/writer-final.log")"
grep -q "writing seq $((prev + 1))\.\." "$SCRATCH/writer-final.log" || fail "final run did not resume at $((prev + 1))"
out=$("$TESTKIT" store-check --store "$store" --expect-last "$target") || fail "final store-check: $out"
expect_eq "$(jq -r .events <<<"$out")" "$target" "events at the end"
info "$killed_mid_write runs killed mid-write; $target events at the end: $out"
