#pragma once
// redis::Writer: RedisStore's writer thread, and its commits on the proxy's loop. Private to
// core/store. Files: redis_writer.cc (queue, thread, holds), redis_writer_pipeline.cc (a
// group's commands and replies), redis_writer_loop.cc (commits on the loop),
// redis_writer_retention.cc (the retention pass).
//
// The problem: an event may reach a client only after Redis acknowledged it together with the
// stream record whose cursor it advances, the proxy's loop must never wait for Redis, and one
// round trip per event would cap a stream at the round-trip rate.
//
// The approach: submit() appends the batch to a queue bounded by bytes; this thread takes the
// oldest batches queued, up to k_group_max_bytes, and sends them as ONE pipeline (sessions,
// index entries, then one script call per stream that appends the stream's events and rewrites
// its record atomically, retention included), reads every reply, then calls the callbacks in
// submission order. Stream records are cached here (this writer is the only one of the streams
// it writes: their `owner` field fences the others, see "Several writers" in redis_store.h), so
// the rules of every SessionStore (records.h: advance, upsert; writes only move forward) are
// applied in C++ exactly as MemoryStore applies them, and the script only appends, trims and
// counts.
// Why a cap on the group (2026-12-06, one stream of 200,000 events written one per upstream
// write, thr1, redis-server 7.0 appendonly everysec, two runs each): taking everything queued
// made ~8 commits of megabytes, each slower per event than a small one (Redis parses and the
// script walks megabytes of arguments while the queue grows again): 71-97k ev/s; capped at
// 1 MiB 130-141k, 256 KiB 125-149k, 128 KiB 157-184k, 64 KiB 141-151k, 16 KiB 118-132k. A failed round trip fails the whole group (store_unavailable),
// forgets the cache (reloaded from Redis on next use) and reconnects on the next group.
// The thread also renews this writer's liveness key and runs the idle/age retention pass once a
// second.
//
// Latency, measured on 2026-12-06 (peer-bench lat, one stream paced at 5,000/s, redis-server
// on 127.0.0.1): p50 147-151 us against 36 us with LMDB. Where it goes: a commit's round trip
// averages 138 us (ssestitch_store_commit_seconds, 5,443 commits for 20,000 events), of which
// the script is 40.5 us of Redis time per call (INFO commandstats: XADD 9.4, HMGET 2.0, HSET
// 0.5; the rest is EVALSHA's own Lua and redis.call overhead) and the network round trip about
// 31 us (redis-benchmark PING p50 during the same load; 39 us idle). The thread hand-offs are
// not the cost: rejected on that evidence, inline commits on the loop thread while this thread
// is idle, as LmdbStore does (one interleaved run, 2 rounds: lat p50 151 -> 147 us, per-write
// 1.13x -> 0.64x of direct, 100 paced streams p50 2.4 -> 25.5 ms: the loop blocks for each
// round trip). Next candidates: fewer redis.call per script call, and hiredis' async API on
// the loop (no blocking, pipelined across loop turns). Throughput was
// bounded by Redis itself (one XADD per event inside the script: about 10.7 us of Redis time
// per event). Events are now packed, up to 256 / 64 KiB to an entry (redis_records.h).
// Measured (peer-bench, 2 interleaved rounds, one run, redis-server 7.0 appendonly everysec on
// 127.0.0.1, 256-byte events; old = one entry per event): per-write (thr1) 52.1k -> 115.6k ev/s
// (0.38x -> 0.85x direct; nginx 1.31x; a second run 153.7k, 1.13x against nginx's 1.44x),
// bulk (thr) 46k -> 103k ev/s, paced p50 140 -> 145 us
// (unchanged: a paced commit holds one event). Entry size, thr1 alone: 64 KiB entries 120k
// ev/s, 8 KiB 102k, 2 KiB 63k (Redis' script time 2.9, 3.3 and 7.8 us per event; it is now
// mostly the trim, which unpacks the index of each evicted event, and the argument copies).
// Rejected: MULTI/EXEC per stream instead of a script (the trimming needs the sizes and ages of
// the oldest entries, which only a script can read and act on in the same atomic step).
//
// Where the paced latency really goes (2026-12-06, later): the script is not most of it. A
// build whose commits send PING instead of the script call (one interleaved peer-bench run,
// lat, 3 rounds, redis-server 7.0 appendonly everysec): p50 added over direct 104.4 us with
// PING against 135.2 us with the script and 23.8 us with LMDB; proxy CPU 90.0 vs 91.2 vs 34.8
// us per event. One call at a time from a small hiredis client paced like the bench (200 us
// apart, idle machine): PING p50 63.6 us, EVALSHA of `return 1` 64.7 us, the append script
// with one event 87.0 us (Redis time: its XADD 2.6 us, the whole call ~15 us). perf on the proxy
// at 5,000 paced events/s: the loop thread 0.38 cores, this thread 0.30 cores, 71 % of all
// samples in the kernel and 46 % in pvm_irq_enable under finish_task_switch (on this VM a
// context switch is the expensive thing). A paced commit costs four wake-ups of sleeping
// threads (loop -> this thread, Redis, this thread on the reply, the loop on the callback)
// against none for an inline LMDB commit. Hence the design below: Redis I/O on the proxy's loop
// (non-blocking, replies read when the socket is readable; two wake-ups per commit), this
// thread kept for what may block (loads of uncached records, retention passes, WAIT, holds,
// reconnects). What is left of a paced commit's added latency over LMDB's (98 us) is about one
// round trip of the append script on this VM (87 us idle, above).
//
// Commits on the loop (redis_writer_loop.cc), once the proxy attached its loop (loop_watch.h):
// a batch submitted on the loop thread while this thread is idle is staged there (the same
// stage() as below) on a second connection, non-blocking, and its replies are read when the
// socket is readable; the callbacks then run on the loop thread. Batches submitted while groups
// are in flight are sent behind them (below). Who may use the
// cache, the script sha and the loop's connection is decided by a turn (idle / writer / loop,
// under the mutex): the loop takes it only while this thread is idle with an empty queue, and
// hands it back, with every batch it holds, when a group cannot go that way (a stream not
// cached yet, any error or NOSCRIPT: this thread then commits the group from scratch, which is
// idempotent, with its holds and reconnects), when no reply came within timeout_ms, or when
// this thread asks for it (liveness renewal, maintenance due). Not on the loop: a cluster
// (routing and redirects stay blocking), --redis-replicas (WAIT), and batches over
// k_loop_max_bytes (bulk is bound by Redis' time per event, not by the round trip, and the
// writer thread's core then stages and writes it). The loop pipelines: a batch submitted while
// groups are in flight is sent behind them at once (up to k_loop_max_inflight groups; past that,
// or past k_loop_max_bytes queued, it waits for the oldest reply), and the replies are matched
// to the groups in order. Until 2026-12-07 the loop sent one group at a time and handed what
// queued behind it to this thread: at 5,000 paced events/s about 40 % of the commits then went
// through this thread (four wake-ups each; perf trace: 1,552 of its hand-backs to the loop in
// one second). Measured (one stream, 5 interleaved runs each; Redis on 127.0.0.1): paced p50
// 140-158 -> 136-148 us, proxy CPU 185-232 -> 159-194 ticks for 25,000 events; one write per
// event (3 runs each) 170-235k -> 216-275k ev/s; 100 paced streams p50 6-10 -> 10-18 ms (more,
// smaller script calls: that figure is bound by Redis' time per call, see below).
// Measured, one interleaved peer-bench run (3 rounds, lat, thr1, fan; one redis-server 7.0
// appendonly everysec on 127.0.0.1; run 20261206-223102; "before" = the writer thread only and
// groups uncapped): paced 5,000/s p50 added over direct 134.1 -> 122.3 us (LMDB 24.0, nginx
// 45.9), CPU 88.4 us/event both; per-write 81.1k -> 131.5k ev/s (nginx 134.5k, LMDB 241.5k);
// 100 paced streams p50 19.6 -> 24.4 ms, p99 138 -> 128 ms (nginx 0.3 / 3.1 ms): there the
// limit is Redis' time per script call (one call per stream and commit).
//
// What is left of a paced commit's latency (2026-12-07; one stream at 5,000/s, redis-server 7.0
// appendonly everysec, auto-aof-rewrite-percentage 0 (below), on 127.0.0.1, 2 vCPUs): peer-bench
// run 20261207-060748 (5 rounds) added 111.2 us over direct on Redis against 21.8 with LMDB,
// while the append script's own round trip from a small blocking client was 54-62 us (PING
// 24-38). The rest is not the proxy's code:
// 77 % of the proxy's CPU on this path is the kernel's, 43 % in pvm_irq_enable (this VM's cost of
// a context switch and of a wake-up), user space about 10 % (hiredis 2.3 %); and every process
// of the chain now sleeps while the commit is in flight, so each is woken from an idle core:
// perf sched timehist, scheduling delay p50 of the proxy, Redis and the sink 8-9 us against 2-3
// us on the LMDB path, where nothing waits. Measured and rejected: busy polling, the loop
// polling every descriptor instead of sleeping for up to 100-200 us while a reply is due
// (event_base_loop with EVLOOP_NONBLOCK; 6 interleaved runs of 25,000 events): p50 97-136 us
// against 124-142 without, gained in some runs only, for 1.6-1.9x the proxy's CPU (on two cores
// the polling thread takes the core Redis, the generator and the sink need); polling the Redis
// socket alone did no better (88-127 us).
// Redis' AOF rewrite (a forked child, automatic whenever the file doubled) halves what a stream
// gets while it runs: one stream of 200,000 events written one per upstream write, 3 runs each
// with a BGREWRITEAOF started at the run's start (391 MB of data) and without: 142-179k against
// 296-330k events/s, Redis' time per append call 542-737 us against 308-343 (INFO
// commandstats). Benchmarks of this store set auto-aof-rewrite-percentage 0 or they measure
// when the rewrite happens to run.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/store/loop_watch.h"
#include "core/store/redis_connection.h"
#include "core/store/redis_keys.h"
#include "core/store/redis_liveness.h"
#include "core/store/redis_options.h"

namespace ssestitch::store::redis {

class Writer {
 public:
  // Groups larger than this go through the writer thread even when the loop could send them
  // (see "Commits on the loop").
  static constexpr std::size_t k_loop_max_bytes = 64 * 1024;
  // Groups the loop sends before the first is answered; later batches wait for one.
  static constexpr std::size_t k_loop_max_inflight = 4;
  // A group holds the oldest batches queued up to this many bytes (at least one batch).
  static constexpr std::size_t k_group_max_bytes = 128 * 1024;
  // Stream records cached before the cache is dropped.
  static constexpr std::size_t k_cache_max = 10'000;

  // Connects, sets its liveness key and starts the thread. `raise_next_stream(n)` is called with
  // every stream number a batch uses. Errors: store_unavailable.
  static util::Result<std::unique_ptr<Writer>> start(const RedisOptions& options,
                                                     std::function<void(std::uint64_t)> raise_next_stream);
  // Commits everything queued, deletes the liveness key, stops the thread.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  util::Result<void> submit(Batch batch, CommitCallback done);
  // Blocks until every batch submitted before has committed; on the loop thread it first reads
  // the replies of the loop's groups in flight itself (shutdown).
  util::Result<void> flush();
  // Called on the loop thread (see "Commits on the loop"); an empty `make` detaches.
  void attach_loop(LoopWatchFactory make);
  StoreMetrics metrics() const;
  // This writer's token: the `owner` of the streams it writes.
  const std::string& token() const noexcept { return m_liveness.token(); }

 private:
  struct Pending {
    Batch batch;
    CommitCallback done;
    std::size_t bytes = 0;
  };
  // A group's pipeline as sent: `plain` commands (sessions, indexes, counter, meta), then one
  // append script call per stream; its replies are absorbed in that order.
  struct Staged {
    std::size_t plain = 0;
    std::vector<std::vector<std::string>> calls;
    std::vector<std::uint64_t> streams;  // the stream of each call
    std::uint64_t max_stream = 0;        // raised in next_stream by this pipeline
    std::int64_t now_ms = 0;
    std::size_t taken = 0;               // replies absorbed
    bool lost_script = false;            // a NOSCRIPT reply: the calls must be sent again
    util::Result<void> error = util::ok();  // the first error reply, fencing apart
    std::vector<std::uint64_t> fenced;   // streams another writer owns: nothing of them written
    std::size_t total() const noexcept { return plain + calls.size(); }
  };
  enum class Turn { idle, writer, loop };
  struct Cached {
    StreamRecord rec;
    std::uint64_t last_seq = 0;       // newest seq ever stored
    bool exists = false;              // Redis has a record for it (or the group being built does)
    bool indexed = false;             // it is in the streams index
    std::string indexed_session;      // the session index it is in ("" for none)
  };

  Writer(const RedisOptions& options, Connection conn, std::function<void(std::uint64_t)> raise);
  void run() noexcept;
  util::Result<void> connect();
  util::Result<void> commit_group(std::vector<Pending>& group);
  util::Result<void> load(const std::vector<std::uint64_t>& streams);
  // The streams a group's events and records belong to (repeats included).
  static std::vector<std::uint64_t> streams_of(const std::vector<Pending>& group);
  bool cached(const std::vector<Pending>& group) const;
  // Applies a loaded group to the cache and appends its pipeline to `conn`.
  void stage(const std::vector<Pending>& group, Connection& conn, Staged& s);
  void absorb(Staged& s, const redisReply* r);
  // After every reply: the first error, else what the pipeline changed is noted.
  util::Result<void> settle(const Staged& s);
  // The append script's arguments for stream `n` (see k_append_script in redis_writer.cc).
  std::vector<std::string> append_call(std::uint64_t n, std::string record,
                                       const std::vector<const EventRecord*>& events) const;
  util::Result<void> run_appends(Staged& s);
  void forget();  // drops what this thread believes Redis holds (after any failure)
  util::Result<void> wait_for_replicas();
  void note_append_reply(std::uint64_t stream, const redisReply* r);
  util::Result<void> maintenance(std::int64_t now_ms);
  void housekeeping();  // liveness renewal and maintenance, each when due
  bool housekeeping_due() const;
  void take_group(std::vector<Pending>& group);
  void prepare_loop_connection();
  // The loop's side (redis_writer_loop.cc; loop thread, while m_loop_busy).
  bool loop_may_send() const;
  void loop_send();
  void loop_io(int what);
  void loop_done();
  void loop_hand_over(const util::Error* error);
  void release_turn();
  void loop_drain();
  util::Result<void> hold(std::vector<Pending>& group, util::Error error);
  void finish(std::vector<Pending>& group, const util::Result<CommitInfo>& result);

  const RedisOptions m_options;
  const Keys m_keys;
  const util::Clock& m_clock;
  const std::function<void(std::uint64_t)> m_raise_next_stream;
  Liveness m_liveness;
  std::optional<Connection> m_conn;     // writer thread only (after start)
  std::string m_append_sha;

  std::unordered_map<std::uint64_t, Cached> m_cache;  // writer thread only
  std::vector<std::uint64_t> m_fenced;  // writer thread: streams of its last group another writer owns
  std::int64_t m_next_maintenance_ns = 0;
  std::string m_session_cursor;         // maintenance windows: last visited session id
  std::uint64_t m_stream_cursor = 0;    // ... and stream number
  std::int64_t m_last_commit_written_ms = 0;
  std::optional<std::chrono::steady_clock::time_point> m_outage_since;  // the hold's start
  std::uint64_t m_raised_to = 0;        // next_stream is known to be at least this

  // The loop's commits. m_turn, m_writer_wants, m_attached, m_loop_thread: under m_mutex.
  // m_loop_conn, like m_cache and m_append_sha, belongs to whoever holds the turn. The rest:
  // loop thread only.
  Turn m_turn = Turn::idle;
  bool m_writer_wants = false;          // this thread waits for the loop to hand the turn back
  bool m_attached = false;
  std::thread::id m_loop_thread;
  std::optional<Connection> m_loop_conn;
  std::unique_ptr<LoopWatch> m_watch;
  // A group the loop sent, its replies awaited in order.
  struct LoopCommit {
    std::vector<Pending> group;
    Staged staged;
    std::int64_t t0_ns = 0;
  };
  bool m_loop_busy = false;             // the loop holds the turn
  bool m_loop_writing = false;          // the connection's output is not all written yet
  bool m_loop_in_io = false;            // in loop_io(): a group sent by a callback is written there
  std::deque<LoopCommit> m_loop_inflight;  // sent, oldest first
  std::vector<Pending> m_loop_queue;    // submitted, not sent: sent next, or handed to this thread
  // Batches this thread committed, freed by the loop's next submit (under m_mutex): memory goes
  // back to the thread that allocated it. Freed here, every event's strings crossed threads and
  // the loop's allocations missed glibc's per-thread cache (perf, thr1: a fifth of the proxy's
  // samples in malloc and free).
  std::vector<Pending> m_spent;

  mutable std::mutex m_mutex;  // queue, metrics
  std::condition_variable m_wake;
  std::condition_variable m_committed_cv;
  std::vector<Pending> m_queue;
  std::size_t m_queued_bytes = 0;
  std::uint64_t m_submitted = 0;
  std::uint64_t m_committed = 0;   // batches whose callbacks ran
  bool m_stopping = false;
  StoreMetrics m_metrics;
  std::thread m_thread;
};

}  // namespace ssestitch::store::redis
