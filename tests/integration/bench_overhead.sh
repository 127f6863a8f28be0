# bench_overhead: `ssestitch bench` in overhead mode, small: every scenario against direct and
# the proxy (store on and --no-store), JSON with 0 lost and 0 duplicated everywhere, an HTML
# report; a usage error for an unknown scenario. No timing thresholds: figures are bench's job.
# run alone: it keeps both cores busy (scripts/test runs other tests three at a time).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
out=$SCRATCH/bench.json
timeout -k 5 240 "$SSESTITCH" bench --events 2000 --duration 1 --no-store-target --json --report "$SCRATCH/r.html" \
  >"$out" 2>"$SCRATCH/bench.err" || fail "bench exit $? ($(tail -n 5 "$SCRATCH/bench.err"))"
jq -e . "$out" >/dev/null || fail "not JSON: $(head -c 300 "$out")"
expect_eq "$(jq '.results | length' "$out")" 24 "8 scenarios x 3 targets"
expect_eq "$(jq '[.results[] | select(.ok | not)] | length' "$out")" 0 "every run clean"
expect_eq "$(jq '[.results[] | .lost + .duplicated] | add' "$out")" 0 "lost + duplicated"
for s in bulk per-write paced fan fanmax reconnect; do
  n=$(jq --arg s "$s" '[.results[] | select(.scenario == $s and .target == "ssestitch") | .events] | first' "$out")
  [ "$n" -gt 0 ] || fail "$s: no events through the proxy"
done
expect_eq "$(jq '[.results[] | select(.scenario == "resume") | .events] | unique' -c "$out")" '[1999]' "resume replays the rest"
[ "$(jq '[.results[] | select(.scenario == "paced" and .target == "ssestitch") | .latency_us.p50] | first' "$out" | cut -d. -f1)" -gt 0 ] ||
  fail "no latency measured"
# Time to first event, for the paced and fan scenarios of each of the 3 targets.
expect_eq "$(jq '[.results[] | select(.scenario == "paced" or .scenario == "fan") | select(.first_event_us > 0)] | length' "$out")" \
  6 "time to first event measured (paced, fan x 3 targets)"
grep -q '<svg' "$SCRATCH/r.html" || fail "HTML report without charts"
if command -v nginx >/dev/null; then
  # --against with the wrapper the man page shows: nginx is measured like any other target.
  timeout -k 5 120 "$SSESTITCH" bench --scenarios bulk,per-write,reconnect --events 2000 --json \
    --against "$ROOT/scripts/against-nginx {port} {upstream} {dir}" >"$SCRATCH/nginx.json" 2>"$SCRATCH/nginx.err" ||
    fail "bench --against nginx exit $? ($(tail -n 5 "$SCRATCH/nginx.err"))"
  expect_eq "$(jq -c '[.results[] | select(.target == "against1") | [.scenario, .events, .lost, .duplicated]]' "$SCRATCH/nginx.json")" \
    '[["bulk",2000,0,0],["per-write",2000,0,0],["reconnect",2000,0,0]]' "nginx through --against"
else
  info "nginx not installed: --against scripts/against-nginx not exercised"
fi
# --micro: every figure present and positive (values are bench's job, not this test's).
timeout -k 5 120 "$SSESTITCH" bench --micro --json >"$SCRATCH/micro.json" 2>"$SCRATCH/micro.err" ||
  fail "bench --micro exit $? ($(tail -n 5 "$SCRATCH/micro.err"))"
expect_eq "$(jq -c '[.micro[] | .name]' "$SCRATCH/micro.json")" \
  '["sse_parse","tracker_observe","tracker_observe_numeric","store_append_none","store_append_batch","store_append_always","store_commit_single","store_replay_10k"]' \
  "micro-benchmarks"
expect_eq "$(jq '[.micro[] | select(.value > 0)] | length' "$SCRATCH/micro.json")" 8 "positive micro figures"
rc=0
"$SSESTITCH" bench --scenarios warp >/dev/null 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc" 2 "unknown scenario"
grep -q 'unknown scenario' "$SCRATCH/err" || fail "message: $(cat "$SCRATCH/err")"
echo "bench_overhead: ok"
