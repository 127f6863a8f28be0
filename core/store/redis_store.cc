#include "core/store/redis_store.h"

#include <algorithm>
#include <climits>
#include <mutex>
#include <optional>

#include "core/store/lmdb_codec.h"
#include "core/store/redis_keys.h"
#include "core/store/redis_records.h"
#include "core/store/redis_writer.h"
#include "core/util/log.h"

namespace ssestitch::store {

using util::Errc;
using redis::Connection;
using redis::Reply;

namespace {

constexpr const char* k_magic = "ssestitch-redis-store";
constexpr std::uint64_t k_stream_block = 64;

// The decimal value of a field of an INFO reply (`name` with its leading "\n" and trailing
// ':'); nullopt when the reply has no such field.
std::optional<std::uint64_t> info_field(std::string_view info, std::string_view name) {
  const std::size_t at = info.find(name);
  if (at == std::string_view::npos) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = at + name.size(); i < info.size() && info[i] >= '0' && info[i] <= '9'; ++i) v = v * 10 + (info[i] - '0');
  return v;
}
constexpr std::size_t k_page = 8;  // XRANGE page of scan_events, in entries (of up to 256 events)

// KEYS: a stream's hash. ARGV: the owner seen, the claimant. Compare-and-set of `owner`.
constexpr const char* k_claim_script = R"lua(
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('HSET', KEYS[1], 'owner', ARGV[2]) return 1 end
return 0
)lua";

}  // namespace

struct RedisStore::Impl {
  RedisOptions options;
  redis::Keys keys;
  std::string where;
  mutable std::mutex read_mutex;
  mutable std::optional<Connection> reader;
  std::mutex alloc_mutex;
  std::uint64_t next_stream = 1;   // alloc_mutex: next number of the block
  std::uint64_t block_end = 0;     // alloc_mutex: last number of the block (0: none)
  std::unique_ptr<redis::Writer> writer;

  explicit Impl(const RedisOptions& o) : options(o), keys(o.address.prefix), where("redis " + o.address.display()) {}

  // Runs `f(conn)` on the reader connection. Reads are idempotent, so a read that found the
  // connection broken (the server closed it while idle: restart, timeout, CLIENT KILL) runs
  // once more on a new one.
  template <class F>
  auto with_reader(F&& f) const -> decltype(f(std::declval<Connection&>())) {
    std::lock_guard lk(read_mutex);
    for (int attempt = 0;; ++attempt) {
      if (!reader || reader->broken()) {
        reader.reset();
        auto c = Connection::open(options.address, options.timeout_ms);
        if (!c) return std::move(c).error();
        reader.emplace(std::move(*c));
      }
      auto r = f(*reader);
      if (r || attempt == 1 || !reader->broken()) return r;
    }
  }

  // An error reply as the error it is (redis::check).
  util::Error error_reply(const Reply& r) const { return redis::check(r.get(), options.address.display()).error(); }

  void raise_next_stream(std::uint64_t n) {
    std::lock_guard lk(alloc_mutex);
    if (next_stream <= n) next_stream = n + 1;
  }

  // The records of streams `nums` (one pipeline); absent ones are skipped.
  util::Result<std::vector<StreamRecord>> load_streams(Connection& c, const std::vector<std::uint64_t>& nums) const {
    auto stored = redis::read_streams(c, keys, options.address.display(), nums);
    if (!stored) return std::move(stored).error();
    std::vector<StreamRecord> out;
    for (auto& s : *stored) {
      if (s) out.push_back(std::move(s->rec));
    }
    return out;
  }

  util::Result<void> check_meta(Connection& c) const {
    auto m = c.command({"HMGET", keys.meta(), "magic", "format_version"});
    if (!m) return std::move(m).error();
    if (redis::is_error(m->get())) return error_reply(*m);
    const redisReply* magic = redis::element(m->get(), 0);
    if (redis::is_nil(magic)) {
      if (options.read_only) {
        return util::fail(Errc::store_open_failed, where + ": no ssestitch store under the prefix \"" + keys.prefix() + "\"");
      }
      // One atomic step: several proxies may create the same prefix at once, and one must
      // never see the magic without the version.
      const std::string version = std::to_string(k_format_version);
      const std::string now = std::to_string((options.clock ? *options.clock : util::system_clock()).wall_ms());
      auto w = c.command({"EVAL",
                          "if redis.call('EXISTS', KEYS[1]) == 0 then "
                          "redis.call('HSET', KEYS[1], 'magic', ARGV[1], 'format_version', ARGV[2], 'created_ms', ARGV[3]) end "
                          "return redis.call('HMGET', KEYS[1], 'magic', 'format_version')",
                          "1", keys.meta(), k_magic, version, now});
      if (!w) return std::move(w).error();
      if (redis::is_error(w->get())) return error_reply(*w);
      m = std::move(w);
      magic = redis::element(m->get(), 0);
    }
    if (redis::text(magic) != k_magic) {
      return util::fail(Errc::store_not_a_store, where + ": " + keys.meta() + " belongs to something else (no ssestitch magic)");
    }
    const std::int64_t version = redis::integer(redis::element(m->get(), 1));
    if (version != k_format_version) {
      return util::fail(Errc::store_version, where + ": format version " + std::to_string(version) + ", this ssestitch reads " +
                                                 std::to_string(k_format_version));
    }
    return util::ok();
  }

  // Logs what a Redis crash can lose with this server's persistence and the --sync mode.
  void check_durability(Connection& c) const {
    auto aof = c.command({"CONFIG", "GET", "appendonly"});
    auto fsync = c.command({"CONFIG", "GET", "appendfsync"});
    if (!aof || !fsync || redis::is_error(aof->get()) || redis::is_error(fsync->get())) {
      util::log(util::LogLevel::warn, "store_durability_unknown", {{"store", options.address.display()}});
      return;
    }
    const std::string_view appendonly = redis::text(redis::element(aof->get(), 1));
    const std::string_view appendfsync = redis::text(redis::element(fsync->get(), 1));
    std::string_view loss;
    if (appendonly != "yes") {
      loss = "everything since the server's last snapshot";
    } else if (appendfsync == "always") {
      loss = "nothing acknowledged";
    } else if (appendfsync == "everysec") {
      loss = "about the last second";
    } else {
      loss = "what the OS had not yet written (appendfsync no)";
    }
    const bool enough = options.sync == SyncMode::none ||
                        (options.sync == SyncMode::batch && appendonly == "yes") ||
                        (options.sync == SyncMode::always && appendonly == "yes" && appendfsync == "always");
    util::log(enough ? util::LogLevel::info : util::LogLevel::warn, "store_redis_durability",
              {{"store", options.address.display()}, {"sync", to_string(options.sync)},
               {"appendonly", appendonly}, {"appendfsync", appendfsync}, {"a_redis_crash_loses", loss}});
    // What a failover to a replica can lose: replication is asynchronous unless we WAIT.
    auto info = c.command({"INFO", "replication"});
    const std::string_view text = info ? redis::text(info->get()) : std::string_view();
    const auto connected = info_field(text, "\nconnected_slaves:");
    const std::int64_t replicas = connected ? static_cast<std::int64_t>(*connected) : -1;
    const bool short_of_replicas = connected && *connected < options.replicas;
    util::log(short_of_replicas ? util::LogLevel::warn : util::LogLevel::info, "store_redis_replication",
              {{"replicas_connected", replicas}, {"redis_replicas", options.replicas},
               {"a_failover_loses", options.replicas > 0 ? "nothing forwarded (each commit waits for the replicas)"
                                                         : "what the replica had not received yet (asynchronous)"}});
  }
};

RedisStore::RedisStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

RedisStore::~RedisStore() = default;

util::Result<std::unique_ptr<RedisStore>> RedisStore::open(const RedisOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  Impl* raw = impl.get();
  auto checked = raw->with_reader([&](Connection& c) -> util::Result<void> {
    if (auto r = raw->check_meta(c); !r) return r;
    if (!options.read_only) raw->check_durability(c);
    return util::ok();
  });
  if (!checked) return std::move(checked).error();
  if (!options.read_only) {
    auto w = redis::Writer::start(options, [raw](std::uint64_t n) { raw->raise_next_stream(n); });
    if (!w) return std::move(w).error();
    raw->writer = std::move(*w);
  }
  return std::unique_ptr<RedisStore>(new RedisStore(std::move(impl)));
}

util::Result<void> RedisStore::submit(Batch batch, CommitCallback done) {
  if (!m_impl->writer) return util::fail(Errc::store_closed, m_impl->where + ": the store is open read-only");
  return m_impl->writer->submit(std::move(batch), std::move(done));
}

void RedisStore::attach_loop(LoopWatchFactory make) {
  if (m_impl->writer) m_impl->writer->attach_loop(std::move(make));
}

util::Result<void> RedisStore::flush() {
  if (!m_impl->writer) return util::ok();
  return m_impl->writer->flush();
}

std::uint64_t RedisStore::allocate_stream_number() {
  Impl& im = *m_impl;
  std::lock_guard lk(im.alloc_mutex);
  // A block from INCRBY is ours alone; a number below next_stream was used in this process
  // already (or by a batch), so a block wholly below it is skipped.
  for (int tries = 0; im.block_end == 0 || im.next_stream > im.block_end; ++tries) {
    auto top = im.with_reader([&](Connection& c) -> util::Result<std::uint64_t> {
      auto r = c.command({"INCRBY", im.keys.next_stream(), std::to_string(k_stream_block)});
      if (!r) return std::move(r).error();
      if (redis::is_error(r->get())) return im.error_reply(*r);
      return static_cast<std::uint64_t>(redis::integer(r->get()));
    });
    if (!top || *top < k_stream_block || tries == 8) {
      util::log(util::LogLevel::error, "store_allocate_failed", {{"error", top ? std::string("counter") : top.error().message}});
      im.block_end = 0;
      return 0;
    }
    im.next_stream = std::max(im.next_stream, *top - k_stream_block + 1);
    im.block_end = *top;
  }
  return im.next_stream++;
}

util::Result<bool> RedisStore::claim(std::uint64_t stream) {
  const Impl& im = *m_impl;
  if (!im.writer) return false;
  const std::string& me = im.writer->token();
  return im.with_reader([&](Connection& c) -> util::Result<bool> {
    auto owner = c.command({"HGET", im.keys.stream(stream), "owner"});
    if (!owner) return std::move(owner).error();
    if (redis::is_error(owner->get())) return im.error_reply(*owner);
    if (redis::is_nil(owner->get())) return true;  // nobody's yet: the first write makes it ours
    const std::string current(redis::text(owner->get()));
    if (current == me) return true;
    auto live = c.command({"EXISTS", im.keys.live(current)});
    if (!live) return std::move(live).error();
    if (redis::integer(live->get()) != 0) return false;
    auto moved = c.command({"EVAL", k_claim_script, "1", im.keys.stream(stream), current, me});
    if (!moved) return std::move(moved).error();
    if (redis::is_error(moved->get())) return im.error_reply(*moved);
    const bool ours = redis::integer(moved->get()) != 0;
    if (ours) util::log(util::LogLevel::info, "store_stream_claimed", {{"stream", stream}, {"from", current}});
    return ours;
  });
}

util::Result<std::optional<SessionRecord>> RedisStore::session(std::string_view id) const {
  if (id.empty()) return std::optional<SessionRecord>();
  const Impl& im = *m_impl;
  return im.with_reader([&](Connection& c) -> util::Result<std::optional<SessionRecord>> {
    auto r = c.command({"GET", im.keys.session(id)});
    if (!r) return std::move(r).error();
    if (redis::is_error(r->get())) return im.error_reply(*r);
    if (redis::is_nil(r->get())) return std::optional<SessionRecord>();
    SessionRecord rec;
    if (!codec::decode_session(redis::text(r->get()), rec)) {
      return util::fail(Errc::store_corrupt, im.where + ": " + im.keys.session(id) + " fails to decode");
    }
    return std::optional<SessionRecord>(std::move(rec));
  });
}

util::Result<std::optional<StreamRecord>> RedisStore::stream(std::uint64_t stream) const {
  const Impl& im = *m_impl;
  return im.with_reader([&](Connection& c) -> util::Result<std::optional<StreamRecord>> {
    auto got = redis::read_streams(c, im.keys, im.options.address.display(), {stream});
    if (!got) return std::move(got).error();
    std::optional<StreamRecord> out;
    if (got->front()) out = std::move(got->front()->rec);
    return out;
  });
}

util::Result<std::vector<SessionRecord>> RedisStore::sessions() const {
  const Impl& im = *m_impl;
  return im.with_reader([&](Connection& c) -> util::Result<std::vector<SessionRecord>> {
    auto ids = c.command({"ZRANGE", im.keys.sessions(), "0", "-1"});
    if (!ids) return std::move(ids).error();
    if (redis::is_error(ids->get())) return im.error_reply(*ids);
    const std::size_t n = redis::elements(ids->get());
    for (std::size_t i = 0; i < n; ++i) c.append({"GET", im.keys.session(redis::text(redis::element(ids->get(), i)))});
    std::vector<SessionRecord> out;
    for (std::size_t i = 0; i < n; ++i) {
      auto r = c.reply();
      if (!r) return std::move(r).error();
      if (redis::is_nil(r->get()) || redis::is_error(r->get())) continue;  // deleted meanwhile
      SessionRecord rec;
      if (!codec::decode_session(redis::text(r->get()), rec)) {
        return util::fail(Errc::store_corrupt, im.where + ": a session record fails to decode");
      }
      out.push_back(std::move(rec));
    }
    return out;
  });
}

util::Result<std::vector<StreamRecord>> RedisStore::streams(std::optional<std::string_view> session) const {
  const Impl& im = *m_impl;
  if (session && session->empty()) return std::vector<StreamRecord>();
  return im.with_reader([&](Connection& c) -> util::Result<std::vector<StreamRecord>> {
    auto nums = c.command({"ZRANGE", session ? im.keys.session_streams(*session) : im.keys.streams(), "0", "-1"});
    if (!nums) return std::move(nums).error();
    if (redis::is_error(nums->get())) return im.error_reply(*nums);
    std::vector<std::uint64_t> want;
    for (std::size_t i = 0; i < redis::elements(nums->get()); ++i) {
      want.push_back(static_cast<std::uint64_t>(redis::integer(redis::element(nums->get(), i))));
    }
    auto got = im.load_streams(c, want);
    if (!got || !session) return got;
    std::erase_if(*got, [&](const StreamRecord& r) { return r.session != *session; });
    return got;
  });
}

util::Result<std::size_t> RedisStore::scan_events(std::uint64_t stream, std::uint64_t after_seq, std::size_t limit,
                                                  std::size_t max_bytes,
                                                  util::FunctionRef<bool(const EventView&)> visit) const {
  const Impl& im = *m_impl;
  if (limit == 0) return std::size_t{0};
  return im.with_reader([&](Connection& c) -> util::Result<std::size_t> {
    const std::string key = im.keys.events(stream);
    // The oldest retained seq: the head entry may still hold events retention dropped.
    c.append({"HGET", im.keys.stream(stream), "first_seq"});
    c.append({"XRANGE", key, redis::entry_id(after_seq + 1), "+", "COUNT", std::to_string(k_page)});
    auto head = c.reply();
    if (!head) return std::move(head).error();
    auto r = c.reply();
    if (!r) return std::move(r).error();
    if (redis::is_error(head->get())) return im.error_reply(*head);
    const auto first = static_cast<std::uint64_t>(redis::integer(head->get()));
    if (first == 0) return std::size_t{0};
    const std::uint64_t after = std::max(after_seq, first - 1);
    std::size_t n = 0;
    std::size_t bytes = 0;
    std::vector<EventView> views;
    for (;;) {
      if (redis::is_error(r->get())) return im.error_reply(*r);
      const std::size_t got = redis::elements(r->get());
      std::string from;
      for (std::size_t i = 0; i < got; ++i) {
        const redisReply* entry = redis::element(r->get(), i);
        views.clear();
        if (!redis::decode_entry(entry, stream, views)) {
          return util::fail(Errc::store_corrupt, im.where + ": an entry of " + key + " fails to decode");
        }
        for (const EventView& view : views) {
          if (view.seq <= after) continue;
          ++n;
          bytes += view.data.size();
          if (!visit(view) || n >= limit || bytes >= max_bytes) return n;
        }
        from = redis::exclusive(redis::text(redis::element(entry, 0)));
      }
      if (got < k_page) return n;
      r = c.command({"XRANGE", key, from, "+", "COUNT", std::to_string(k_page)});
      if (!r) return std::move(r).error();
    }
  });
}

util::Result<StoreStats> RedisStore::stats() const {
  const Impl& im = *m_impl;
  return im.with_reader([&](Connection& c) -> util::Result<StoreStats> {
    StoreStats st;
    st.format_version = k_format_version;
    st.max_bytes = im.options.retention.store_max_bytes;
    c.append({"ZCARD", im.keys.sessions()});
    c.append({"ZRANGE", im.keys.streams(), "0", "-1"});
    c.append({"HGET", im.keys.meta(), "last_commit_ms"});
    c.append({"INFO", "memory"});
    Reply replies[4];
    for (Reply& r : replies) {
      auto got = c.reply();
      if (!got) return std::move(got).error();
      if (redis::is_error(got->get())) return im.error_reply(*got);
      r = std::move(*got);
    }
    st.sessions = static_cast<std::uint64_t>(redis::integer(replies[0].get()));
    st.last_commit_ms = redis::integer(replies[2].get());
    const std::string_view info = redis::text(replies[3].get());
    st.file_bytes = info_field(info, "\nused_memory:").value_or(0);
    st.map_bytes = info_field(info, "\nmaxmemory:").value_or(0);
    std::vector<std::uint64_t> nums;
    for (std::size_t i = 0; i < redis::elements(replies[1].get()); ++i) {
      nums.push_back(static_cast<std::uint64_t>(redis::integer(redis::element(replies[1].get(), i))));
    }
    auto recs = im.load_streams(c, nums);
    if (!recs) return std::move(recs).error();
    st.streams = recs->size();
    std::int64_t oldest = LLONG_MAX, newest = LLONG_MIN;
    std::vector<EventView> views;
    for (const StreamRecord& r : *recs) {
      st.events += r.retained.events;
      if (r.retained.events == 0) continue;
      // The oldest retained event is the first of the head entry at or after first_seq.
      c.append({"XRANGE", im.keys.events(r.stream), redis::entry_id(r.retained.first_seq), "+", "COUNT", "1"});
      c.append({"XREVRANGE", im.keys.events(r.stream), "+", "-", "COUNT", "1"});
      for (int end = 0; end < 2; ++end) {
        auto e = c.reply();
        if (!e) return std::move(e).error();
        views.clear();
        if (!redis::decode_entry(redis::element(e->get(), 0), r.stream, views)) continue;
        for (const EventView& v : views) {
          if (v.seq < r.retained.first_seq) continue;
          oldest = std::min(oldest, v.arrival_ms);
          newest = std::max(newest, v.arrival_ms);
        }
      }
    }
    if (st.events > 0 && oldest != LLONG_MAX) {
      st.oldest_event_ms = oldest;
      st.newest_event_ms = newest;
    }
    return st;
  });
}

StoreMetrics RedisStore::metrics() const {
  if (!m_impl->writer) return StoreMetrics{};
  return m_impl->writer->metrics();
}

}  // namespace ssestitch::store
