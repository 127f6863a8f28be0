#!/usr/bin/env bash
# store_concurrent_readers: store-writer appends 100,000 events while two read-only
# store-check --follow-seconds processes re-check the store over and over. Readers never block
# the writer, never see an event without its cursor (or a torn one), and never see last_seq go
# back; the map starts at 1 MiB, so the readers also live through several map resizes
# (MDB_MAP_RESIZED in another process).
source "$(dirname "$0")/lib.sh"
[ -x "${TESTKIT:-}" ] || skip "no ssestitch-testkit"
command -v jq >/dev/null || skip "jq missing"

store=$SCRATCH/store
events=100000
# The writer is paced to take a few seconds; the readers follow for longer than that.
if [ "${FLAVOUR:-release}" = asan ]; then follow=12; else follow=6; fi

start writer "$TESTKIT" store-writer --store "$store" --events "$events" --batch 50 --pause-us 1000 \
  --sync batch --initial-map-mib 1
writer=$LAST_PID
start reader1 "$TESTKIT" store-check --store "$store" --follow-seconds "$follow"
reader1=$LAST_PID
start reader2 "$TESTKIT" store-check --store "$store" --follow-seconds "$follow"
reader2=$LAST_PID

wait "$writer" || fail "writer failed: $(tail -n 5 "$SCRATCH/writer.log")"
grep -q "store_map_grown" "$SCRATCH/writer.log" || fail "the map never grew (no resize was exercised)"
for r in reader1 reader2; do
  pid=${!r}
  wait "$pid" || fail "$r failed: $(cat "$SCRATCH/$r.log")"
  out=$(grep '^{' "$SCRATCH/$r.log")
  expect_eq "$(jq -r .ok <<<"$out")" true "$r ok"
  passes=$(jq -r .passes <<<"$out")
  [ "$passes" -ge 5 ] || fail "$r made only $passes passes"
  info "$r: $out"
done
out=$("$TESTKIT" store-check --store "$store" --expect-last "$events") || fail "final check: $out"
expect_eq "$(jq -r .events <<<"$out")" "$events" "events at the end"
