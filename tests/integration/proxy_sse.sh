# proxy_sse: generic SSE through the real proxy, with exact counts: plain forwarding, upstream
# drops hidden by Last-Event-ID resumes (server-side drops and byte-level cuts in a relay),
# opaque ids, `retry:` and priming events, a burst to a fast reader next to a client that
# never reads, a reader slower than the stream, HTTP/1.0 clients, the upstream faults that must
# end a stream cleanly, and SIGTERM (also a burst of them) ending in exit 0.
. "$(dirname "$0")/lib.sh"
[ -n "$TESTKIT" ] || skip "TESTKIT not set"
LIFE=240

start upstream "$TESTKIT" upstream --listen 127.0.0.1:0 --lifetime $LIFE
listening upstream
UP=$PORT

# The relay cuts the proxy's upstream connection every 50 KB, mid-event and mid-chunk.
start relay "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$UP" --cut-every 50000 --lifetime $LIFE
listening relay
RELAY=$PORT

start_proxy proxy --upstream "http://127.0.0.1:$UP/events" --store "$SCRATCH/store" --log-level info \
  --reconnect-base 20ms --reconnect-cap 200ms
P="http://127.0.0.1:$PROXY_PORT"
ADMIN1=$ADMIN_PORT
start_proxy proxy-relay --upstream "http://127.0.0.1:$RELAY/events" --store "$SCRATCH/store-relay" \
  --log-level info --reconnect-base 20ms --reconnect-cap 200ms
PR="http://127.0.0.1:$PROXY_PORT"
RELAY_ADMIN=$ADMIN_PORT

ADMIN_PORT=$ADMIN1

info "listen queue: a burst of connecting clients fits (libevent's own backlog is 128)"
backlog=$(ss -ltnH "sport = :$(sed 's|.*:||' <<<"$P")" | awk '{print $3; exit}')
somaxconn=$(cat /proc/sys/net/core/somaxconn)
expect_eq "${backlog:-none}" "$(( somaxconn < 4096 ? somaxconn : 4096 ))" "listen backlog"

info "plain forwarding: 2000 events"
client --url "$P/events?n=2000&size=100" --timeout 30
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)/$(field id_errors)" 0/2000/0/0/0 "plain"
[[ $(field last_id) =~ ^[0-9]+-2000$ ]] || fail "downstream ids are <stream>-<seq>: $(field last_id)"

info "upstream drops every 300 events, resumable: the client sees one stream"
resumed0=$(metric ssestitch_upstream_reconnects_total 'outcome="resumed"')
client --url "$P/events?n=3000&drop_every=300&resumable=1&size=80" --timeout 60
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)/$(field reconnects)" 0/3000/0/0/0 "drop_every"
resumed=$(( $(metric ssestitch_upstream_reconnects_total 'outcome="resumed"') - resumed0 ))
[ "$resumed" -ge 9 ] || fail "expected >= 9 upstream resumes, saw $resumed"

info "byte-level cuts every 50 KB (mid-event, mid-chunk): 10000 events of 200 B"
client --url "$PR/events?n=10000&size=200&resumable=1" --timeout 120
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)/$(field reconnects)" 0/10000/0/0/0 "relay cuts"
ADMIN_PORT=$RELAY_ADMIN
cuts=$(metric ssestitch_upstream_reconnects_total 'outcome="resumed"')
[ "$cuts" -ge 30 ] || fail "expected >= 30 resumes through the relay, saw $cuts"

info "opaque upstream ids, retry: and a priming event"
start_proxy proxy2 --upstream "http://127.0.0.1:$UP/events" --no-store --reconnect-base 20ms
P2="http://127.0.0.1:$PROXY_PORT"
# With retry: the server's close is the polling pattern: the proxy waits and reconnects, so the
# stream does not end by itself; the client stops after the 1500th event.
client --url "$P2/events?n=1500&ids=opaque&drop_every=250&resumable=1&retry=30&priming=1" --expect 1500 --timeout 60
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)" 0/1500/0/0 "opaque ids + retry + priming"
# (A generic stream forwards the empty-data event as it is; only MCP streams treat it as priming.)

info "server starts over after a cut (ignores Last-Event-ID): what we have is dropped"
# One cut at 60 KB; the second connection re-sends 1..N, the dedup window (1000 ids) drops the
# ones already logged, so the client sees every id exactly once.
start relay1 "$TESTKIT" relay --listen 127.0.0.1:0 --to "127.0.0.1:$UP" --cut-every 60000 --max-cuts 1 --lifetime $LIFE
listening relay1
start_proxy proxy-nr --upstream "http://127.0.0.1:$PORT/events" --no-store --reconnect-base 20ms
client --url "http://127.0.0.1:$PROXY_PORT/events?n=1200&size=100&resumable=0" --timeout 30
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)" 0/1200/0/0 "non-resumable restart"
[ "$(metric ssestitch_events_deduplicated_total)" -gt 100 ] || fail "dedup not counted"

info "a burst to a fast reader next to a client that never reads"
start_proxy proxy3 --upstream "http://127.0.0.1:$UP/events" --store "$SCRATCH/store3" --client-buffer 64KiB
P3="http://127.0.0.1:$PROXY_PORT"
# A client that connects and never reads (curl with a rate limit of 1 byte/s is close enough:
# its socket buffers fill, then the proxy's backlog does).
# A client that never reads on an endless paced stream (3 MB/s): curl at 1 byte/s fills its
# socket buffers, then the proxy stops live writes to it; the fast reader next to it must get
# its burst complete and the proxy's memory must stay bounded.
start never curl -s --limit-rate 1 --max-time 60 -o /dev/null "$P3/events?n=0&size=1000&rate=3000"
never_pid=$LAST_PID
sleep 2
client --url "$P3/events?n=20000&size=500" --timeout 60
expect_eq "$C_RC/$(field events)/$(field lost)/$(field duplicates)" 0/20000/0/0 "fast reader during a burst"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$(real_pid "$PROXY_PID")/status" 2>/dev/null || echo 0)
behind=$(metric ssestitch_clients_fell_behind_total)
info "proxy RSS with a stalled client: ${rss_kb} kB (LMDB pages included); clients fell behind: $behind"
[ "$behind" -ge 1 ] || fail "the stalled client never fell behind"
stop "$never_pid"

info "a reader slower than the stream: chunks the socket takes only in part stay whole and in order"
# 8 MB produced at 8 MB/s, read at 2 MB/s: the proxy's direct writes meet a full socket (EAGAIN or
# a partial writev) and queue the rest, already framed; curl decodes the chunked body.
curl -s --limit-rate 2M --max-time 60 -o "$SCRATCH/slow.sse" "$P/events?n=4000&size=2000&rate=4000" ||
  fail "slow reader: curl exit $?"
expect_eq "$(grep -c '^id: ' "$SCRATCH/slow.sse")" 4000 "slow reader: events"
expect_eq "$(grep '^id: ' "$SCRATCH/slow.sse" | awk -F- '$2 != NR { bad++ } END { print bad + 0 }')" 0 \
  "slow reader: events out of order"

info "upstream faults end the stream with a clear status, never a hang"
expect_eq "$(http_code "$P/status/503")" 503 "5xx forwarded"
expect_eq "$(http_code "$P/status/404")" 404 "404 forwarded"
expect_eq "$(http_code "$P/html")" 200 "html passes through"
grep -qi '^content-type: text/html' "$SCRATCH/head" || fail "html content type"
code=$(http_code "$P/endless")
[ "$code" = 200 ] || [ "$code" = 502 ] || fail "/endless: $code"
code=$(http_code "$P/big?size=10000000")
expect_eq "$code" 200 "10 MB event"
[ "$(stat -c %s "$SCRATCH/body")" -gt 10000000 ] || fail "10 MB event truncated"
client --url "$P/drip?n=50" --timeout 30
expect_eq "$C_RC/$(field events)" 0/50 "one byte at a time"
client --url "$P/framing?n=30" --timeout 10
expect_eq "$C_RC/$(field events)/$(field lost)" 0/30/0 "BOM, CR, CRLF, split writes"

info "HTTP/1.0 clients: a stream (not chunked: the connection closes at its end) and a 4xx reply"
# evhttp closes such a connection inside the call that ends the response; the proxy used to
# free the request twice there (segfault at the stream's end, or later at SIGTERM).
start_proxy proxy-h10 --upstream "http://127.0.0.1:$UP/events" --store "$SCRATCH/store-h10"
PH="http://127.0.0.1:$PROXY_PORT"
expect_eq "$(curl -s --http1.0 --max-time 30 "$PH/events?n=300&size=100" | grep -c '^id: ')" 300 "HTTP/1.0 stream"
expect_eq "$(curl -s --http1.0 --max-time 10 -o /dev/null -w '%{http_code}' -H 'Last-Event-ID: 99999-1' "$PH/events")" \
  404 "HTTP/1.0 client, unknown Last-Event-ID"
client --url "$PH/events?n=50" --timeout 30
expect_eq "$C_RC/$(field events)" 0/50 "a client after the HTTP/1.0 ones"
stopped "$PROXY_PID" "proxy exit after HTTP/1.0 clients"

info "upstream unreachable: 502 and /healthz says so"
start_proxy proxy-dead --upstream "http://127.0.0.1:$(free_port)/events" --no-store --connect-timeout 2s
expect_eq "$(http_code "http://127.0.0.1:$PROXY_PORT/events")" 502 "dead upstream"
expect_eq "$(http_code "http://127.0.0.1:$ADMIN_PORT/healthz")" 503 "healthz on dead upstream"

info "SIGTERM: clean exit 0"
stopped "$PROXY_PID" "proxy-dead exit"
# `timeout` sends SIGTERM to the proxy and again to its process group; a burst of them killed
# the proxy with 143 in about 15 runs of 20 while it tore its signal watcher down.
info "a burst of SIGTERMs: still a clean exit 0"
for i in 1 2 3; do
  start_proxy proxy-term$i --upstream "http://127.0.0.1:$(free_port)/events" --store "$SCRATCH/term-store$i"
  real=$(real_pid "$PROXY_PID")
  for _ in $(seq 1 200); do kill -TERM "$real" 2>/dev/null || break; done
  ends "$PROXY_PID" "proxy exit after a burst of SIGTERMs (run $i)"
done
echo "proxy_sse: ok"
