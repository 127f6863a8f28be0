# mcp_upstream_restart: the official SDK server is killed (-9) and restarted on the same port
# while an official SDK client works through the proxy (core/proxy/reinit.h):
#  1. 100 tool calls (`echo`, and `ask`, whose sampling request travels on the GET stream) across
#     5 restarts, each made while no call is in flight (the client pauses; the first call after
#     the pause may find the server still starting): every call answered, no error, the
#     client's session id never changes; the
#     resource update the server announces after each (replayed) subscribe reaches the client on
#     its GET stream after every restart;
#  2. --no-reinit (control): the client sees the server's 404 after the first restart;
#  3. a long streaming call in flight during a restart ends with a JSON-RPC error soon after the
#     server is back, not a hang; a read-only tool's call (annotated so in tools/list) in the same
#     situation is sent again by the proxy and completes, no progress value delivered twice.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

# Resumable servers (event ids): a broken stream is resumed, so a restart shows up as "unknown
# session" to the resume (without ids a broken POST stream ends at once, restart or not).
start_server server --event-store
UP="http://127.0.0.1:$SERVER_PORT/mcp"
# restart_server [GO]: kill -9, then a new server on the same port; appends a line to GO (the
# client's signal to go on) as soon as the new server is starting, before it listens.
restart_server() {
  kill -9 "$(real_pid "$SERVER_PID")" 2>/dev/null
  waited "$SERVER_PID"
  RESTARTS=$((${RESTARTS:-0} + 1))
  start "server-$RESTARTS" node "$E2E/server.mjs" --port "$SERVER_PORT" --lifetime "$LIFETIME" --event-store
  SERVER_PID=$LAST_PID
  [ -z "${1:-}" ] || echo go >>"$1"
  listening "server-$RESTARTS"
}

info "1. 100 calls across 5 server restarts"
start_proxy proxy --upstream "$UP" --store "$SCRATCH/store"
PAUSES=$SCRATCH/pauses
: >"$PAUSES"
: >"$PAUSES.go"
start client node "$E2E/client.mjs" calls "http://127.0.0.1:$PROXY_PORT/mcp" --calls 100 --interval-ms 20 \
  --pause-every 17 --pause-file "$PAUSES" --timeout 20
client_pid=$LAST_PID
for r in 1 2 3 4 5; do
  for _ in $(seq 1 600); do [ "$(wc -l <"$PAUSES")" -ge "$r" ] && break; sleep 0.05; done
  [ "$(wc -l <"$PAUSES")" -ge "$r" ] || fail "the client never paused for restart $r: $(tail -n 3 "$SCRATCH/client.log")"
  restart_server "$PAUSES.go"
done
waited "$client_pid"
C_OUT=$(tail -n 1 "$SCRATCH/client.log")
info "client: $C_OUT"
if [ "$(jq -c .errors <<<"$C_OUT")" != "[]" ]; then
  # Seen once (ASan, fresh chroot, 2026-12-07: the first call after restart 3 timed out) and not
  # reproduced since: what the proxy did around the restarts, for whoever meets it next.
  grep -E 'session_|upstream_|reinit' "$SCRATCH/proxy.log" | tail -n 20 | sed 's/^/   proxy: /' >&2
fi
expect_eq "$STOP_RC/$(jq -r '"\(.ok)/\(.same_session)"' <<<"$C_OUT")/$(jq -c .errors <<<"$C_OUT")" \
  "0/100/true/[]" "every call answered across the restarts"
updates=$(jq -r .updates <<<"$C_OUT")
[ "$updates" -ge 6 ] || fail "resource updates on the GET stream: $updates, want one per subscribe (1 + 5 replayed)"
expect_eq "$(metric ssestitch_session_reinits_total 'outcome="ok"')" 5 "one re-initialisation per restart"
[ "$(metric ssestitch_requests_resent_total)" -ge 1 ] || fail "no request was re-sent"
info "re-sent: $(metric ssestitch_requests_resent_total), connect retries: $(metric ssestitch_requests_retried_total 'reason="refused"')"
stopped "$PROXY_PID" "proxy stopped"

info "2. --no-reinit: the client sees the restart"
start_proxy plain --upstream "$UP" --no-store --no-reinit
: >"$PAUSES"
: >"$PAUSES.go"
start client-plain node "$E2E/client.mjs" calls "http://127.0.0.1:$PROXY_PORT/mcp" --calls 30 --interval-ms 20 \
  --pause-every 10 --pause-file "$PAUSES" --timeout 20
client_pid=$LAST_PID
for _ in $(seq 1 600); do [ -s "$PAUSES" ] && break; sleep 0.05; done
restart_server "$PAUSES.go"
echo go >>"$PAUSES.go"  # the second pause: no restart
waited "$client_pid"
C_OUT=$(tail -n 1 "$SCRATCH/client-plain.log")
info "client: $C_OUT"
[ "$(jq '.errors | length' <<<"$C_OUT")" -ge 1 ] || fail "--no-reinit hid the restart: $C_OUT"
grep -q '404\|Session not found' <<<"$C_OUT" || fail "--no-reinit: not the server's 404: $C_OUT"
stopped "$PROXY_PID" "proxy (--no-reinit) stopped"

info "3. a streaming call in flight during a restart gets an error, not a hang"
start_proxy proxy3 --upstream "$UP" --store "$SCRATCH/store3"
start notify node "$E2E/client.mjs" notify "http://127.0.0.1:$PROXY_PORT/mcp" --count 100000 --size 500 --timeout 60
notify_pid=$LAST_PID
for _ in $(seq 1 100); do [ "$(metric ssestitch_events_received_total)" -ge 1000 ] && break; sleep 0.05; done
restart_server
back=$(date +%s%N)
waited "$notify_pid"
elapsed_ms=$((($(date +%s%N) - back) / 1000000))
C_OUT=$(tail -n 1 "$SCRATCH/notify.log")
info "notify client: $(jq -c '{result, error, received}' <<<"$C_OUT") ${elapsed_ms} ms after the server was back"
grep -q 'restarted' <<<"$(jq -r .error <<<"$C_OUT")" || fail "the lost call's error does not say the server restarted: $C_OUT"
[ "$elapsed_ms" -lt 5000 ] || fail "the lost call took ${elapsed_ms} ms to fail"
received=$(metric ssestitch_events_received_total)
start progress node "$E2E/client.mjs" progress "http://127.0.0.1:$PROXY_PORT/mcp" --n 100 --delay-ms 10 --timeout 30
progress_pid=$LAST_PID
# Restart once the call's progress flows (~20 values in).
for _ in $(seq 1 200); do [ "$(metric ssestitch_events_received_total)" -ge $((received + 20)) ] && break; sleep 0.05; done
restart_server
waited "$progress_pid"
C_OUT=$(tail -n 1 "$SCRATCH/progress.log")
info "read-only call across the restart: $(jq -c '{result, error, progress: (.progress | length)}' <<<"$C_OUT")"
expect_eq "$(jq -r '"\(.result)/\(.error)"' <<<"$C_OUT")" "counted 100/null" "the read-only call completed"
expect_eq "$(jq -c '.progress == [range(1; 101)]' <<<"$C_OUT")" true "progress 1..100, each once, in order"
[ "$(metric ssestitch_requests_reissued_total 'outcome="sent"')" -ge 1 ] || fail "the call was not re-issued"
info "progress values not delivered twice: $(metric ssestitch_progress_suppressed_total)"
stopped "$PROXY_PID" "proxy stopped"
echo "mcp_upstream_restart: ok"
