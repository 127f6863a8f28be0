# store_disk_full: the store on a disk that fills up. A writer allocates data.mdb's blocks up to
# the map size before it uses them, so a full disk shows when the store opens or grows, never
# half-way through a commit. Here the store lives on a small tmpfs (a private mount namespace, so
# nothing outside this test sees it): a disk smaller than the first map refuses the open with a
# clear error; a disk that fills while the map grows lowers the store's limit, retention evicts
# against it, and every event still reaches its client exactly once.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
[ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs in a private mount namespace"
mkdir -p "$SCRATCH/probe"
unshare --mount sh -c "mount -t tmpfs -o size=1m none '$SCRATCH/probe'" 2>/dev/null ||
  skip "cannot mount a tmpfs in a private mount namespace here"

mkdir -p "$SCRATCH/disk"
# small_disk MB: sets DISK to a command prefix that runs the rest of its command line with
# $SCRATCH/disk a tmpfs of MB MiB, seen by that command only.
small_disk() {
  DISK=(unshare --mount sh -c "mount -t tmpfs -o size=${1}m none '$SCRATCH/disk' && exec \"\$0\" \"\$@\"")
}

info "a disk smaller than the first map (64 MiB): the open fails, no crash"
small_disk 32
LIFETIME=20 start tiny "${DISK[@]}" "$SSESTITCH" proxy --listen 127.0.0.1:0 --upstream http://127.0.0.1:9/ --store "$SCRATCH/disk/store"
waited "$LAST_PID"
expect_eq "$STOP_RC" 3 "exit status (store cannot be opened) of a proxy whose store does not fit on the disk"
grep -q "No space left on device" "$SCRATCH/tiny.log" || fail "no ENOSPC reason: $(cat "$SCRATCH/tiny.log")"
grep -q "store-max" "$SCRATCH/tiny.log" || fail "the error does not say what to do: $(cat "$SCRATCH/tiny.log")"

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime 200
listening upstream
UP=$PORT

info "a 100 MiB disk under a 1 GiB --store-max: 4 streams of 100,000 events (about 120 MB)"
small_disk 100
start proxy "${DISK[@]}" "$SSESTITCH" proxy --listen 127.0.0.1:0 --admin 127.0.0.1:0 --upstream "http://127.0.0.1:$UP/events" \
  --store "$SCRATCH/disk/store" --store-max 1GiB --log-level info
PROXY_PID=$LAST_PID
listening proxy
P="http://127.0.0.1:$PORT"
ADMIN_PORT=$(port_in_log proxy 's/.*admin_listening address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p')
for i in 1 2 3 4; do
  client --url "$P/events?n=100000&size=256" --timeout 120
  expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)" 0/100000/0/0 "stream $i on a filling disk"
done
kill -0 "$(real_pid "$PROXY_PID")" 2>/dev/null || fail "the proxy died: $(tail -n 20 "$SCRATCH/proxy.log")"
grep -q "store_limit_lowered" "$SCRATCH/proxy.log" || fail "the map grew past the disk without notice"
grep -q "store_evicting" "$SCRATCH/proxy.log" || fail "no eviction against the lowered limit"
[ "$(metric ssestitch_store_evictions_total)" != 0 ] || fail "ssestitch_store_evictions_total stayed 0"
expect_eq "$(http_code "http://127.0.0.1:$ADMIN_PORT/healthz")" 200 "healthz once the store lives within the disk"
stopped "$PROXY_PID" "SIGTERM after the disk filled"
echo "ok"
