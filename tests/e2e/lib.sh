# Shared helpers of the end-to-end tier (sourced after tests/integration/lib.sh): installs the
# pinned npm packages (package-lock.json) once, puts the pinned Node first on PATH (setup-node:
# Debian 12's own Node is too old for them), and runs the SDK server and client.
E2E=$ROOT/tests/e2e
node_bin=$("$E2E/setup-node" 2>"$SCRATCH/setup-node.err") || fail "$(cat "$SCRATCH/setup-node.err")"
PATH=$node_bin:$PATH
info "$(tail -n 1 "$SCRATCH/setup-node.err")"

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
