# Shared helpers for integration and e2e scripts (sourced). scripts/test sets:
#   SSESTITCH (binary), TESTKIT (test tools), SCRATCH (an empty directory for this test; also
#   TMPDIR, so what the tools under test put in temporary files stays in it), ROOT (the
#   repository), FLAVOUR (release|asan).
# Every process started with `start` runs under `timeout` and is stopped by PID on exit;
# nothing else is ever killed.
set -euo pipefail
: "${SSESTITCH:?run through scripts/test}" "${SCRATCH:?run through scripts/test}"
TESTKIT=${TESTKIT:-}
LIFETIME=${LIFETIME:-300}
_pids=()

cleanup() {
  local p
  for p in "${_pids[@]:-}"; do [ -n "$p" ] && kill "$(signal_target "$p")" 2>/dev/null || true; done
  for p in "${_pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 125; }
info() { echo "-- $*" >&2; }

# start NAME CMD... : runs CMD in the background (under timeout), output in $SCRATCH/NAME.log;
# sets $LAST_PID.
start() {
  local name=$1; shift
  timeout -k 5 "$LIFETIME" "$@" >"$SCRATCH/$name.log" 2>&1 &
  LAST_PID=$!
  _pids+=("$LAST_PID")
}

# stop PID [SIGNAL]: signals one of our processes and waits for it; sets STOP_RC to its exit
# status. Call it in this shell, never in $(...): a subshell cannot wait for our children.
# For a process `start`ed under `timeout`, the signal goes to the command itself, not to
# `timeout`: `timeout` follows a SIGTERM it forwards with a SIGCONT, and in the ASan build a
# SIGCONT while LeakSanitizer's exit check attaches to the process (ptrace) discards the stop it
# waits for, so the check waits until the lifetime's SIGKILL (exit 137; seen in CI on a testkit
# relay, about 1 run in 65 under load). `timeout` then exits with the command's status.
stop() {
  local pid=$1 sig=${2:-TERM}
  STOP_RC=0
  kill -s "$sig" "$(signal_target "$pid")" 2>/dev/null || true
  wait "$pid" 2>/dev/null || STOP_RC=$?
}

# signal_target PID: what to signal to stop PID: the command itself for a process `start`ed
# under `timeout` (see stop), else PID.
signal_target() {
  case " ${_pids[*]:-} " in *" $1 "*) real_pid "$1" && return ;; esac
  echo "$1"
}

# waited PID: waits for one of our processes to end by itself; sets STOP_RC.
waited() { STOP_RC=0; wait "$1" 2>/dev/null || STOP_RC=$?; }

# stopped PID WHAT: stops one of our processes with SIGTERM and expects exit status 0.
stopped() { stop "$1"; expect_eq "$STOP_RC" 0 "$2"; }

# ends PID WHAT [SECONDS]: one of our processes, already told to stop (e.g. a signal sent to its
# real_pid), must end by itself within SECONDS (default 30) with exit status 0. Use it rather
# than `stopped` once the process is on its way out.
ends() {
  local i
  for i in $(seq 1 $((${3:-30} * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && fail "$2: still running after ${3:-30} s"
  waited "$1"
  expect_eq "$STOP_RC" 0 "$2"
}

# listening NAME: sets PORT to the port that process NAME (started with `start NAME`, listening
# on 127.0.0.1:0) reports in its log: testkit tools print "listening on 127.0.0.1:P", the proxy
# logs "listening address=127.0.0.1:P". Port 0 avoids free_port's race with other processes'
# ephemeral ports (seen: EADDRINUSE on a port free_port had just chosen).
listening() {
  PORT=$(port_in_log "$1" 's/.*\(^\| \)listening \(on \|address=\)127\.0\.0\.1:\([0-9][0-9]*\).*/\3/p')
}

# port_in_log NAME SED: waits (up to 20 s) until SED (a `sed -n` script printing a port) finds
# one in $SCRATCH/NAME.log; prints it.
port_in_log() {
  local i p
  for i in $(seq 1 400); do
    p=$(sed -n "$2" "$SCRATCH/$1.log" | head -n 1)
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.05
  done
  fail "$1 reported no port: $(tail -n 20 "$SCRATCH/$1.log")"
}

# port_open PORT: whether something accepts connections on 127.0.0.1:PORT now.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: a TCP port on 127.0.0.1 nobody listens on right now (racy: prefer port 0 and
# `listening`; use this only for a port that must stay dead, or a server that cannot listen on
# port 0). It is chosen below the kernel's ephemeral range (ip_local_port_range), where port-0
# listeners and outgoing connections of the tests running alongside never land (seen: a
# server-everything port taken by a parallel test's port-0 listener).
free_port() {
  local p lo=32768 span
  read -r lo _ 2>/dev/null </proc/sys/net/ipv4/ip_local_port_range || true
  span=$((lo - 10000))
  [ "$span" -ge 1000 ] || span=0
  for _ in $(seq 1 200); do
    if [ "$span" -gt 0 ]; then p=$((10000 + RANDOM % span)); else p=$((20000 + RANDOM % 40000)); fi
    port_open "$p" || { echo "$p"; return 0; }
  done
  fail "no free port"
}

# wait_port PORT [SECONDS]: waits until something listens on 127.0.0.1:PORT.
wait_port() {
  local port=$1 secs=${2:-20} i
  for i in $(seq 1 $((secs * 20))); do
    port_open "$port" && return 0
    sleep 0.05
  done
  fail "nothing listens on port $port after ${secs}s"
}

# start_redis_server NAME PORT [ARGS...]: a redis-server (from apt) of this test on
# 127.0.0.1:PORT, no snapshots, its files in $SCRATCH/redis-PORT (the same after a restart on
# that port, so an appendonly server finds its log); waits until it listens. Sets REDIS_PID.
start_redis_server() {
  local name=$1 port=$2
  shift 2
  mkdir -p "$SCRATCH/redis-$port"
  start "$name" redis-server --port "$port" --bind 127.0.0.1 --save "" --dir "$SCRATCH/redis-$port" "$@"
  REDIS_PID=$LAST_PID
  wait_port "$port"
}

# start_redis_cluster N: a Redis Cluster of N masters (no replicas) on free ports of 127.0.0.1
# (each node's cluster bus on its port + 10000, both below the ephemeral port range, where an
# outgoing connection's port would make the bus' bind fail), formed by `redis-cli --cluster
# create` with the slots split evenly; returns once every node says cluster_state:ok. A node
# that cannot bind is started again on other ports. Sets CLUSTER_PORTS.
start_redis_cluster() {
  local n=$1 i p ok try lo=32768
  read -r lo _ 2>/dev/null </proc/sys/net/ipv4/ip_local_port_range || true
  [ "$lo" -gt 21000 ] || lo=32768
  CLUSTER_PORTS=()
  for i in $(seq 1 "$n"); do
    for try in 1 2 3 4 5; do
      p=$((10000 + RANDOM % (lo - 20000)))
      port_open "$p" || port_open $((p + 10000)) || [[ " ${CLUSTER_PORTS[*]} " == *" $p "* ]] && continue
      mkdir -p "$SCRATCH/cluster-$p"
      start "cluster-$p" redis-server --port "$p" --bind 127.0.0.1 --save "" --dir "$SCRATCH/cluster-$p" \
        --cluster-enabled yes --cluster-config-file nodes.conf
      for _ in $(seq 1 100); do port_open "$p" && break; kill -0 "$LAST_PID" 2>/dev/null || break; sleep 0.1; done
      port_open "$p" && break
      stop "$LAST_PID"
      p=
    done
    [ -n "$p" ] || fail "could not start a cluster node: $(tail -n 2 "$SCRATCH"/cluster-*.log)"
    CLUSTER_PORTS+=("$p")
  done
  timeout 60 redis-cli --cluster create $(printf '127.0.0.1:%s ' "${CLUSTER_PORTS[@]}") --cluster-replicas 0 \
    --cluster-yes >"$SCRATCH/cluster-create.log" 2>&1 || fail "redis-cli --cluster create: $(tail -n 3 "$SCRATCH/cluster-create.log")"
  for i in $(seq 1 200); do
    ok=0
    for p in "${CLUSTER_PORTS[@]}"; do
      redis-cli -p "$p" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' && ok=$((ok + 1))
    done
    [ "$ok" = "$n" ] && return 0
    sleep 0.1
  done
  fail "the Redis Cluster on ${CLUSTER_PORTS[*]} did not reach cluster_state:ok within 20 s"
}

# start_haproxy PORT...: HAProxy (from apt) on a free port, balancing HTTP round robin without
# affinity over 127.0.0.1:PORT...; a refused connection is sent to the next server. Sets HPORT.
start_haproxy() {
  HPORT=$(free_port)
  {
    printf '%s\n' 'global' '  maxconn 1000' 'defaults' '  mode http' '  timeout connect 2s' '  timeout client 60s' \
      '  timeout server 60s' '  retries 3' '  option redispatch 1' 'frontend front' "  bind 127.0.0.1:$HPORT" \
      '  default_backend proxies' 'backend proxies' '  balance roundrobin'
    local i=0 p
    for p in "$@"; do
      i=$((i + 1))
      echo "  server p$i 127.0.0.1:$p"
    done
  } >"$SCRATCH/haproxy.cfg"
  start haproxy haproxy -db -f "$SCRATCH/haproxy.cfg"
  wait_port "$HPORT"
}

# client ARGS...: runs the testkit's verifying SSE client in the foreground; sets C_OUT (its
# JSON summary line) and C_RC (0 ok, 1 verification failed, 2 usage, 3 connection failure).
client() {
  C_RC=0
  C_OUT=$("$TESTKIT" client "$@" 2>>"$SCRATCH/client.err") || C_RC=$?
  info "client $* -> rc=$C_RC $C_OUT"
}
# field NAME: a field of the last client summary.
field() { jq -r ".$1" <<<"$C_OUT"; }

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

# start_proxy NAME ARGS...: starts `ssestitch proxy --listen $LISTEN --admin 127.0.0.1:0
# ARGS...` (LISTEN defaults to 127.0.0.1:0; set it to restart on the same port); sets PROXY_PID,
# PROXY_PORT, ADMIN_PORT.
start_proxy() {
  local name=$1; shift
  start "$name" "$SSESTITCH" proxy --listen "${LISTEN:-127.0.0.1:0}" --admin 127.0.0.1:0 "$@"
  PROXY_PID=$LAST_PID
  listening "$name"
  PROXY_PORT=$PORT
  ADMIN_PORT=$(port_in_log "$name" 's/.*admin_listening address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p')
}

# metric NAME [LABELS]: the value of one sample of the proxy's /metrics (0 when absent), e.g.
# metric ssestitch_upstream_reconnects_total 'outcome="resumed"'.
metric() {
  local sel=$1${2:+\{$2\}}
  curl -s --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" |
    awk -v s="$sel" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }'
}

# http_code ARGS...: curl's status code for a request (body in $SCRATCH/body, headers in
# $SCRATCH/head), with a 10 s bound.
http_code() {
  curl -s -o "$SCRATCH/body" -D "$SCRATCH/head" -w '%{http_code}' --max-time 10 "$@" || true
}

# real_pid PID: the process `start` runs under `timeout` (PID is timeout's); for kill -9 and
# /proc readings.
real_pid() { pgrep -P "$1" | head -n 1; }
