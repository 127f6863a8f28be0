# Shared helpers of the end-to-end tier (sourced after tests/integration/lib.sh): installs the
# pinned npm packages (package-lock.json) once, and runs the SDK server and client.
E2E=$ROOT/tests/e2e
command -v node >/dev/null || fail "node missing (scripts/bootstrap test installs nodejs)"

# npm ci when node_modules is missing or older than the lockfile; a lock (flock) keeps two
# flavours of scripts/test from installing at once.
npm_setup() {
  (
    flock -w 300 9 || exit 1
    if [ ! -d "$E2E/node_modules/@modelcontextprotocol/sdk" ] || [ "$E2E/package-lock.json" -nt "$E2E/node_modules/.package-lock.json" ]; then
      cd "$E2E" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >"$SCRATCH/npm.log" 2>&1
    fi
  ) 9>"$E2E/.npm-setup.lock" || fail "npm ci failed: $(tail -n 20 "$SCRATCH/npm.log" 2>/dev/null)"
}
npm_setup

# start_server NAME ARGS...: the SDK server on 127.0.0.1:0; sets SERVER_PORT.
start_server() {
  local name=$1; shift
  start "$name" node "$E2E/server.mjs" --port 0 --lifetime "$LIFETIME" "$@"
  SERVER_PID=$LAST_PID
  listening "$name"
  SERVER_PORT=$PORT
}

# sdk_client ARGS...: runs client.mjs in the foreground; sets C_OUT (its JSON line) and C_RC.
sdk_client() {
  C_RC=0
  C_OUT=$(timeout -k 5 300 node "$E2E/client.mjs" "$@" 2>>"$SCRATCH/sdk-client.err") || C_RC=$?
  info "client $* -> rc=$C_RC $C_OUT"
}
