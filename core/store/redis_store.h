#pragma once
// RedisStore: a SessionStore in Redis (`--store redis://HOST:PORT[/DB]` or `unix:///PATH`), so
// that sessions and event logs outlive any one proxy and can be read from another machine.
//
// Key layout, format version 2 (k_format_version), every key under a prefix P ("ssestitch"
// unless the URL says ?prefix=NAME):
//   P:meta              hash: magic "ssestitch-redis-store", format_version "2", created_ms,
//                             last_commit_ms (rewritten once a second at most)
//   P:live:TOKEN        string "1" with a TTL: writer TOKEN ("host:pid:random") is alive
//   P:next_stream       string: the highest stream number handed out (INCRBY in blocks of 64)
//   P:sessions          sorted set, score 0, member = session id (lexicographic = id order)
//   P:se:{ID}           string: SessionRecord, LmdbStore's value encoding (lmdb_store.h)
//   P:ss:{ID}           sorted set, score = member = stream number: the streams of session ID
//   P:streams           sorted set, score = member = stream number: every stream
//   P:st:{N}            hash: rec = StreamRecord (LmdbStore's value encoding; its retained
//                             counters are ignored), the decimal fields last_seq (newest seq
//                             ever stored), first_seq, events, bytes, evicted (Retained),
//                             first_at (arrival ms of event first_seq, for the age check),
//                             ix_last (the newest seq P:ix:{N} covers; 0: none), and
//                             owner = the token of the writer that may append to it
//   P:ev:{N}            Redis Stream of packed entries, each the events of one commit (at
//                             most 256 events, 64 KiB): entry id "L-0" with L the seq of
//                             its last event, fields x (index: seq, arrival, size per event)
//                             and p (payload); the encoding is in redis_records.h. Events
//                             before first_seq in the head entry were dropped by retention.
//   P:ix:{N}            list: a summary of each entry of P:ev:{N}, in entry order (counts,
//                             bytes, newest arrival, index; redis_records.h), for retention.
//                             Added 2026-12-07 within format 2: a stream written before has
//                             none and is trimmed from its entries until it empties.
// Version 1 (one entry per event, fields u, t, d, a; 2026-12-06 only) is refused (store_version):
// its prefix must be deleted.
// A stream's record and events share the hash tag {N}: one cluster slot, one atomic script.
// In a Redis Cluster (redis::Connection finds out at open: redis_cluster.h) every command goes to
// its key's master; no command or script touches two slots, so the layout is the same.
// They are named by stream number, not by session, because a resuming client presents only
// `<stream>-<seq>` (one lookup, no session index first) and a record may move to another
// session (records.h); no operation needs a session's streams atomically.
// Opening: a P:meta without the magic: store_not_a_store; another format_version:
// store_version; a read-only open of a prefix without P:meta: store_open_failed ("no store");
// Redis unreachable or refusing (AUTH, wrong DB): store_unavailable. Messages name the URL.
//
// Writing (redis_writer.h has the design): one writer thread sends each group of queued batches
// as one pipeline, or, for a proxy that attached its loop (attach_loop), the loop thread does,
// non-blocking, while the writer thread is idle; a stream's events and record are written by
// one Lua script call, so a reader never sees an event without the cursor that covers it. A
// batch's parts are sent in order on one connection at a time (sessions, indexes, then
// streams), so Redis applies a prefix of them at worst (a failover can lose a suffix: see the
// man page). Callbacks run on the thread that sent the group, after every reply of the group
// arrived; a failed round trip fails the group (store_unavailable; store_full when Redis is at
// maxmemory with a noeviction policy), unless it was the loop's: the writer thread then
// commits it again from scratch (holding it through an outage).
// Several writers: any number of proxies may write one prefix, each stream by one of them. A
// stream's first write makes the writer its `owner`; every append checks it in the same
// script (fencing: another writer's append fails with store_locked and writes nothing). Each
// writer keeps P:live:TOKEN alive (TTL liveness_ms, default 3 s, renewed every third of it;
// deleted at close). claim(N) moves a stream to this writer only once its owner's key is gone
// (dead, or paused past the TTL: then its later appends are refused), with a compare-and-set
// on `owner`; the new owner reloads the record, so it continues the same seq numbering.
// Sessions are shared records (last write wins); stream numbers come from P:next_stream in
// blocks, so writers never collide.
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
// read is one or two round trips; scan_events is HGET first_seq and XRANGE from (after_seq+1)-0
// in one round trip, then pages of 8 entries.

#include <memory>

#include "core/store/redis_options.h"
#include "core/store/session_store.h"

namespace ssestitch::store {

class RedisStore final : public SessionStore {
 public:
  static constexpr std::uint32_t k_format_version = 2;

  static util::Result<std::unique_ptr<RedisStore>> open(const RedisOptions& options);
  // Commits everything queued, releases the writer lease and closes the connections.
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  util::Result<void> submit(Batch batch, CommitCallback done) override;
  util::Result<void> flush() override;
  // 0 when Redis cannot be reached (the caller's stream then fails to commit).
  std::uint64_t allocate_stream_number() override;
  // True when this writer owns `stream`, nobody does yet, or its owner's liveness key is gone
  // (then this writer becomes the owner). False on a read-only store.
  util::Result<bool> claim(std::uint64_t stream) override;
  // Commits from the loop thread go out on it, non-blocking (redis_writer.h, "Commits on the
  // loop"); not for a cluster or --redis-replicas.
  void attach_loop(LoopWatchFactory make) override;
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
