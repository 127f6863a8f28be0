# soak_short: the 60-second version of scripts/soak (30 s under ASan; 100 clients, 1,000 events/s,
# upstream cuts and client drops with resumes): 0 lost, 0 duplicated, file descriptors flat, and
# memory flat (judged in the release build only: ASan keeps freed memory in its quarantine).
# run alone: it keeps both cores busy (scripts/test runs other tests three at a time).
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
command -v jq >/dev/null || skip "jq missing"
rc=0
check=1 minutes=1
# ASan's quarantine keeps freed memory (not a leak): memory is judged in the release build, and
# the ASan pass (looking for memory errors and leaks at exit) runs half as long.
[ "${FLAVOUR:-release}" = asan ] && check=0 minutes=0.5
out=$(SOAK_MEMORY_CHECK=$check SSESTITCH=$SSESTITCH TESTKIT=$TESTKIT TMPDIR=$SCRATCH "$ROOT/scripts/soak" --minutes "${SOAK_MINUTES:-$minutes}" --clients 100) || rc=$?
echo "$out"
[ $rc = 0 ] || fail "soak failed"
