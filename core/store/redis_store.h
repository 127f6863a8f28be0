#pragma once
// RedisStore: a SessionStore in Redis (`--store redis://HOST:PORT[/DB]` or `unix:///PATH`), so
// that sessions and event logs outlive any one proxy and can be read from another machine.
//
// Key layout, format version 1 (k_format_version), every key under a prefix P ("ssestitch"
// unless the URL says ?prefix=NAME):
//   P:meta              hash: magic "ssestitch-redis-store", format_version "1", created_ms,
//                             last_commit_ms (rewritten once a second at most)
//   P:writer            string: the writer lease (see below), value "host:pid:random"
//   P:next_stream       string: the highest stream number handed out (INCRBY in blocks of 64)
//   P:sessions          sorted set, score 0, member = session id (lexicographic = id order)
//   P:se:{ID}           string: SessionRecord, LmdbStore's value encoding (lmdb_store.h)
//   P:ss:{ID}           sorted set, score = member = stream number: the streams of session ID
//   P:streams           sorted set, score = member = stream number: every stream
//   P:st:{N}            hash: rec = StreamRecord (LmdbStore's value encoding; its retained
//                             counters are ignored), and the decimal fields last_seq (newest seq
//                             ever stored), first_seq, events, bytes, evicted (Retained)
//   P:ev:{N}            Redis Stream: entry id "SEQ-0", fields u (upstream id), t (event type),
//                             d (data), a (arrival ms, decimal); all four always present
// A stream's record and events share the hash tag {N}: one cluster slot, one atomic script.
// They are named by stream number, not by session, because a resuming client presents only
// `<stream>-<seq>` (one lookup, no session index first) and a record may move to another
// session (records.h); no operation needs a session's streams atomically.
// Opening: a P:meta without the magic: store_not_a_store; another format_version:
// store_version; a read-only open of a prefix without P:meta: store_open_failed ("no store");
// Redis unreachable or refusing (AUTH, wrong DB): store_unavailable. Messages name the URL.
//
// Writing (redis_writer.h has the design): one writer thread sends each group of queued batches
// as one pipeline; a stream's events and record are written by one Lua script call, so a reader
// never sees an event without the cursor that covers it. A batch's parts are sent in order on
// one connection (sessions, indexes, then streams), so Redis applies a prefix of them at
// worst (a failover can lose a suffix: see the man page). Callbacks run on the writer thread
// after every reply of the group arrived; a failed round trip fails the group
// (store_unavailable; store_full when Redis is at maxmemory with a noeviction policy).
// Writer lease: only one process writes a prefix (the writer caches stream records). P:writer
// is SET NX PX writer_lease_ms and renewed every third of it; an open waits up to one lease
// period for a lease left by a process that died (kill -9), then fails with store_locked.
// A writer that loses its lease (paused longer than the lease) fails every later commit.
// Durability: --sync is checked at open against the server's appendonly / appendfsync and a
// warning says what a Redis crash can lose: always wants appendfsync always, batch wants
// appendonly yes (everysec: up to a second), none accepts anything (Redis' snapshots only).
// Retention: per stream by count, bytes and age, applied by the append script as events are
// written (oldest first, XTRIM MINID) and by a pass once a second over a window of 512
// sessions and 512 streams (age; idle_ttl deletes closed/expired sessions with their streams,
// and finished streams). store_max_bytes is not enforced here: Redis' maxmemory bounds the
// whole (a commit refused with OOM fails with store_full).
//
// Reading: one connection shared by readers (a mutex; reads may come from any thread). Each
// read is one or two round trips; scan_events is XRANGE from (after_seq in pages of up to 512.

#include <memory>

#include "core/store/redis_options.h"
#include "core/store/session_store.h"

namespace ssestitch::store {

class RedisStore final : public SessionStore {
 public:
  static constexpr std::uint32_t k_format_version = 1;

  static util::Result<std::unique_ptr<RedisStore>> open(const RedisOptions& options);
  // Commits everything queued, releases the writer lease and closes the connections.
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  util::Result<void> submit(Batch batch, CommitCallback done) override;
  util::Result<void> flush() override;
  // 0 when Redis cannot be reached (the caller's stream then fails to commit).
  std::uint64_t allocate_stream_number() override;
  util::Result<std::optional<SessionRecord>> session(std::string_view id) const override;
  util::Result<std::optional<StreamRecord>> stream(std::uint64_t stream) const override;
  util::Result<std::vector<SessionRecord>> sessions() const override;
  util::Result<std::vector<StreamRecord>> streams(std::optional<std::string_view> session) const override;
  util::Result<std::size_t> scan_events(std::uint64_t stream, std::uint64_t after_seq,
                                        std::size_t limit, std::size_t max_bytes,
                                        util::FunctionRef<bool(const EventView&)> visit) const override;
  // file_bytes: the server's used_memory; map_bytes: its maxmemory (0: unlimited).
  util::Result<StoreStats> stats() const override;
  StoreMetrics metrics() const override;

  struct Impl;

 private:
  explicit RedisStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ssestitch::store
