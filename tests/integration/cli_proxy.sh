# cli_proxy: the command line of `ssestitch` and `ssestitch proxy` as a new user meets it: help
# and version, usage errors (exit 2) with a message, store problems (exit 3), configuration
# precedence and --print-config, and a second proxy refused on a store that is in use.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"

# run ARGS...: runs the binary with a 20 s bound; sets RC, OUT (stdout) and ERR (stderr).
run() {
  RC=0
  timeout -k 5 20 "$SSESTITCH" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || RC=$?
  OUT=$(cat "$SCRATCH/out") ERR=$(cat "$SCRATCH/err")
}
expect_rc() { # CODE WHAT ARGS...
  local code=$1 what=$2; shift 2
  run "$@"
  [ "$RC" = "$code" ] || fail "$what: exit $RC, expected $code (stderr: $ERR)"
  if [ "$code" != 0 ]; then
    grep -q 'error' <<<"$ERR" || fail "$what: no error message on stderr"
    [ -z "$OUT" ] || fail "$what: stdout must stay empty on errors, got: $OUT"
  fi
}
U=http://127.0.0.1:9/mcp

info "help and version"
expect_rc 0 "--version" --version
[[ $OUT =~ ^ssestitch\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "--version: $OUT"
for sub in "" proxy inspect replay bench; do
  expect_rc 0 "$sub --help" $sub --help
  grep -q 'Usage' <<<"$OUT" || fail "$sub --help prints no usage"
done

info "usage errors: exit 2"
expect_rc 2 "no subcommand"
expect_rc 2 "unknown subcommand" frobnicate
expect_rc 2 "unknown option" proxy --upstream $U --frob
expect_rc 2 "missing --upstream" proxy --no-store
expect_rc 2 "upstream not a URL" proxy --upstream not-a-url --no-store
expect_rc 2 "upstream scheme" proxy --upstream ftp://127.0.0.1/x --no-store
expect_rc 2 "bad listen address" proxy --upstream $U --no-store --listen 127.0.0.1:99999
expect_rc 2 "bad duration" proxy --upstream $U --no-store --linger 5 parsecs
expect_rc 2 "negative duration" proxy --upstream $U --no-store --linger=-5s
expect_rc 2 "bad size" proxy --upstream $U --no-store --client-buffer lots
expect_rc 2 "bad sync mode" proxy --upstream $U --no-store --sync sometimes
expect_rc 2 "bad log level" --log-level loud proxy --upstream $U --no-store
SSESTITCH_LINGER=forever run proxy --upstream $U --no-store
expect_eq "$RC" 2 "bad SSESTITCH_LINGER"
printf 'upstream = "%s"\nlinger = "7s"\nno-such-key = 1\n' "$U" >"$SCRATCH/bad.toml"
expect_rc 2 "unknown config key" proxy --config "$SCRATCH/bad.toml" --no-store
expect_rc 2 "missing config file" proxy --config "$SCRATCH/nope.toml" --no-store

info "configuration: flags > environment > file > defaults; secrets redacted"
printf '[proxy]\nupstream = "%s"\nlinger = "7s"\nkeepalive = "9s"\nretain-events = 123\nrequire-token = "file-secret"\n' "$U" >"$SCRATCH/good.toml"
SSESTITCH_KEEPALIVE=11s run proxy --config "$SCRATCH/good.toml" --retain-events 456 --no-store --print-config
expect_eq "$RC" 0 "--print-config"
grep -Eq '^linger *= *"?7s' <<<"$OUT" || fail "file value: $OUT"
grep -Eq '^keepalive *= *"?11s' <<<"$OUT" || fail "env over file: $OUT"
grep -Eq '^retain-events *= *456' <<<"$OUT" || fail "flag over file: $OUT"
grep -q 'file-secret' <<<"$OUT$ERR" && fail "--print-config shows the token"
grep -Eq '^require-token' <<<"$OUT" || fail "--print-config hides that a token is set: $OUT"

info "store errors: exit 3"
: >"$SCRATCH/a-file"
expect_rc 3 "store path is a file" proxy --upstream $U --store "$SCRATCH/a-file"
mkdir -p "$SCRATCH/junk"
head -c 65536 /dev/urandom >"$SCRATCH/junk/data.mdb"
expect_rc 3 "not an ssestitch store" proxy --upstream $U --store "$SCRATCH/junk"
cmp -s <(head -c 65536 "$SCRATCH/junk/data.mdb") "$SCRATCH/junk/data.mdb" || fail "the foreign file was modified"
expect_rc 3 "uncreatable store" proxy --upstream $U --store /proc/ssestitch-no/store

info "a store in use by a running proxy: a second proxy refuses it"
start_proxy first --upstream $U --store "$SCRATCH/store"
expect_rc 3 "store locked" proxy --upstream $U --store "$SCRATCH/store" --listen 127.0.0.1:0
grep -qi 'lock\|in use' <<<"$ERR" || fail "locked store: unclear message: $ERR"
stopped "$PROXY_PID" "first proxy exit"

info "listen address in use: clear error"
start_proxy holder --upstream $U --no-store
run proxy --upstream $U --no-store --listen "127.0.0.1:$PROXY_PORT"
[ "$RC" != 0 ] && grep -qi 'address\|in use\|listen' <<<"$ERR" || fail "port in use: exit $RC, $ERR"
echo "cli_proxy: ok"
