#include "core/store/lmdb_store.h"

#include <algorithm>
#include <climits>

#include "core/store/lmdb_codec.h"
#include "core/store/lmdb_env.h"
#include "core/store/lmdb_handles.h"
#include "core/store/lmdb_journal.h"
#include "core/store/lmdb_writer.h"
#include "core/util/log.h"

namespace ssestitch::store {

using util::Errc;

struct LmdbStore::Impl {
  LmdbOptions options;
  std::unique_ptr<lmdb::Env> env;
  std::atomic<std::uint64_t> next_stream{1};
  std::unique_ptr<lmdb::Writer> writer;  // after env: stops before the environment closes

  // A read of this process sees every batch committed so far, journaled ones included.
  util::Result<lmdb::ReadTxn> begin_read() const {
    if (writer) writer->await_applied();
    return env->begin_read();
  }
  util::Result<lmdb::CursorPtr> cursor(const lmdb::ReadTxn& txn, MDB_dbi dbi) const {
    MDB_cursor* raw = nullptr;
    const int rc = mdb_cursor_open(txn.get(), dbi, &raw);
    if (rc != 0) return failure("mdb_cursor_open", rc);
    return lmdb::CursorPtr(raw);
  }
  util::Error failure(const char* call, int rc) const {
    return util::fail(lmdb::errc_for(rc, Errc::io_error), lmdb::message(call, env->dir(), rc));
  }
  util::Error corrupt(const std::string& what) const {
    return util::fail(Errc::store_corrupt, env->dir() + ": " + what + " fails to decode");
  }
};

namespace {

// The largest stream number in use: the last key of `streams` or of `events`.
util::Result<std::uint64_t> max_stream(const LmdbStore::Impl& impl) {
  auto rt = impl.env->begin_read();
  if (!rt) return std::move(rt).error();
  std::uint64_t max = 0;
  for (const MDB_dbi dbi : {impl.env->dbi().streams, impl.env->dbi().events}) {
    auto c = impl.cursor(*rt, dbi);
    if (!c) return std::move(c).error();
    MDB_val k{}, v{};
    const int rc = mdb_cursor_get(c->get(), &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size >= 8) max = std::max(max, codec::get_u64_be(static_cast<const char*>(k.mv_data)));
    if (rc != 0 && rc != MDB_NOTFOUND) return impl.failure("mdb_cursor_get", rc);
  }
  return max;
}

// Whether the store's journal holds batches past its mark: its last writer died before applying
// them (a running writer applies within milliseconds).
util::Result<bool> journal_unapplied(const LmdbStore::Impl& impl) {
  lmdb::JournalMark mark;
  {
    auto rt = impl.env->begin_read();
    if (!rt) return std::move(rt).error();
    MDB_val k = lmdb::val(lmdb::k_mark_key);
    MDB_val v{};
    const int rc = mdb_get(rt->get(), impl.env->dbi().meta, &k, &v);
    if (rc == 0 && !lmdb::decode_mark(lmdb::view(v), mark)) return impl.corrupt("the meta record \"journal\"");
    if (rc != 0 && rc != MDB_NOTFOUND) return impl.failure("mdb_get", rc);
  }
  auto journal = lmdb::Journal::open_read(impl.env->dir());
  if (!journal) return std::move(journal).error();
  bool any = false;
  auto scanned = journal->scan(mark, [&](std::string_view, std::uint64_t) { return !(any = true); });
  if (!scanned) return std::move(scanned).error();
  return any;
}

}  // namespace

LmdbStore::LmdbStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

LmdbStore::~LmdbStore() = default;

util::Result<std::unique_ptr<LmdbStore>> LmdbStore::open(const LmdbOptions& options) {
  return open(options, true);
}

util::Result<std::unique_ptr<LmdbStore>> LmdbStore::open(const LmdbOptions& options, bool recover) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  auto env = lmdb::Env::open(options);
  if (!env) return std::move(env).error();
  impl->env = std::move(*env);
  if (options.read_only && recover) {
    auto unapplied = journal_unapplied(*impl);
    if (!unapplied) return std::move(unapplied).error();
    if (*unapplied) {
      // Its writer died: apply what it journaled, as its next writer would, then read. A live
      // writer (the lock is held) applies it itself within milliseconds.
      impl.reset();  // one environment per directory and process at a time (lmdb_store.h)
      LmdbOptions writable = options;
      writable.read_only = false;
      writable.exclusive = true;
      // A reader's options say nothing about what the store keeps: apply, remove nothing.
      writable.retention.max_events_per_stream = 0;
      writable.retention.max_bytes_per_stream = 0;
      writable.retention.max_age_ms = 0;
      writable.retention.idle_ttl_ms = 0;
      writable.retention.store_max_bytes = UINT64_MAX / 2;
      if (auto w = open(writable, false); !w && w.error().code != Errc::store_locked) {
        util::log(util::LogLevel::warn, "store_journal_not_applied",
                  {{"path", options.dir}, {"error", w.error().message}});
      }
      return open(options, false);
    }
  }
  auto max = max_stream(*impl);
  if (!max) return std::move(max).error();
  impl->next_stream.store(*max + 1);
  if (!options.read_only) {
    auto writer = lmdb::Writer::start(*impl->env, options, impl->next_stream);
    if (!writer) return std::move(writer).error();
    impl->writer = std::move(*writer);
    if (options.exclusive) impl->env->publish_pid();
  }
  return std::unique_ptr<LmdbStore>(new LmdbStore(std::move(impl)));
}

util::Result<void> LmdbStore::submit(Batch batch, CommitCallback done) {
  if (!m_impl->writer) return util::fail(Errc::store_closed, m_impl->env->dir() + ": the store is open read-only");
  if (m_impl->writer->try_commit_inline(batch, done)) return util::ok();
  return m_impl->writer->submit(std::move(batch), std::move(done));
}

util::Result<void> LmdbStore::flush() {
  if (!m_impl->writer) return util::ok();
  return m_impl->writer->flush();
}

std::uint64_t LmdbStore::allocate_stream_number() { return m_impl->next_stream.fetch_add(1); }

util::Result<std::optional<SessionRecord>> LmdbStore::session(std::string_view id) const {
  // LMDB refuses empty and over-long keys; no stored session can have one (check_batch).
  if (id.empty() || id.size() > k_max_session_id_bytes) return std::optional<SessionRecord>();
  auto rt = m_impl->begin_read();
  if (!rt) return std::move(rt).error();
  MDB_val k = lmdb::val(id);
  MDB_val v{};
  const int rc = mdb_get(rt->get(), m_impl->env->dbi().sessions, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<SessionRecord>();
  if (rc != 0) return m_impl->failure("mdb_get", rc);
  SessionRecord rec;
  if (!codec::decode_session(lmdb::view(v), rec)) return m_impl->corrupt("session record \"" + std::string(id) + "\"");
  return std::optional<SessionRecord>(std::move(rec));
}

util::Result<std::optional<StreamRecord>> LmdbStore::stream(std::uint64_t stream) const {
  auto rt = m_impl->begin_read();
  if (!rt) return std::move(rt).error();
  const codec::StreamKey key = codec::stream_key(stream);
  MDB_val k = lmdb::val(key.data(), key.size());
  MDB_val v{};
  const int rc = mdb_get(rt->get(), m_impl->env->dbi().streams, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<StreamRecord>();
  if (rc != 0) return m_impl->failure("mdb_get", rc);
  StreamRecord rec;
  if (!codec::decode_stream(lmdb::view(v), rec)) return m_impl->corrupt("stream record " + std::to_string(stream));
  return std::optional<StreamRecord>(std::move(rec));
}

util::Result<std::vector<SessionRecord>> LmdbStore::sessions() const {
  auto rt = m_impl->begin_read();
  if (!rt) return std::move(rt).error();
  auto c = m_impl->cursor(*rt, m_impl->env->dbi().sessions);
  if (!c) return std::move(c).error();
  std::vector<SessionRecord> out;
  MDB_val k{}, v{};
  int rc = 0;
  for (rc = mdb_cursor_get(c->get(), &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c->get(), &k, &v, MDB_NEXT)) {
    SessionRecord rec;
    if (!codec::decode_session(lmdb::view(v), rec)) {
      return m_impl->corrupt("session record \"" + std::string(lmdb::view(k)) + "\"");
    }
    out.push_back(std::move(rec));
  }
  if (rc != MDB_NOTFOUND) return m_impl->failure("mdb_cursor_get", rc);
  return out;
}

util::Result<std::vector<StreamRecord>> LmdbStore::streams(std::optional<std::string_view> session) const {
  auto rt = m_impl->begin_read();
  if (!rt) return std::move(rt).error();
  const lmdb::Dbis& dbi = m_impl->env->dbi();
  std::vector<StreamRecord> out;
  MDB_val k{}, v{};
  int rc = 0;
  if (!session) {
    auto c = m_impl->cursor(*rt, dbi.streams);
    if (!c) return std::move(c).error();
    for (rc = mdb_cursor_get(c->get(), &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c->get(), &k, &v, MDB_NEXT)) {
      StreamRecord rec;
      if (!codec::decode_stream(lmdb::view(v), rec)) return m_impl->corrupt("a stream record");
      out.push_back(std::move(rec));
    }
    if (rc != MDB_NOTFOUND) return m_impl->failure("mdb_cursor_get", rc);
    return out;
  }
  if (session->empty() || session->size() > k_max_session_id_bytes) return out;
  // The index keys of one session are contiguous and ordered by stream number.
  auto c = m_impl->cursor(*rt, dbi.session_streams);
  if (!c) return std::move(c).error();
  std::string prefix;
  codec::session_stream_prefix(*session, prefix);
  k = lmdb::val(prefix);
  for (rc = mdb_cursor_get(c->get(), &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c->get(), &k, &v, MDB_NEXT)) {
    std::string_view s;
    std::uint64_t stream = 0;
    if (!codec::decode_session_stream_key(lmdb::view(k), s, stream) || s != *session) break;
    const codec::StreamKey key = codec::stream_key(stream);
    MDB_val sk = lmdb::val(key.data(), key.size());
    MDB_val sv{};
    const int grc = mdb_get(rt->get(), dbi.streams, &sk, &sv);
    if (grc == MDB_NOTFOUND) continue;  // an index entry whose stream is being deleted
    if (grc != 0) return m_impl->failure("mdb_get", grc);
    StreamRecord rec;
    if (!codec::decode_stream(lmdb::view(sv), rec)) return m_impl->corrupt("stream record " + std::to_string(stream));
    out.push_back(std::move(rec));
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return m_impl->failure("mdb_cursor_get", rc);
  return out;
}

util::Result<std::size_t> LmdbStore::scan_events(std::uint64_t stream, std::uint64_t after_seq, std::size_t limit,
                                                 std::size_t max_bytes,
                                                 util::FunctionRef<bool(const EventView&)> visit) const {
  if (limit == 0 || after_seq == UINT64_MAX) return std::size_t{0};
  auto rt = m_impl->begin_read();
  if (!rt) return std::move(rt).error();
  auto c = m_impl->cursor(*rt, m_impl->env->dbi().events);
  if (!c) return std::move(c).error();
  // One range scan: position at (stream, after_seq + 1), then walk while the key's stream
  // matches. Big-endian keys make cursor order (stream, seq) order.
  const codec::EventKey start = codec::event_key(stream, after_seq + 1);
  MDB_val k = lmdb::val(start.data(), start.size());
  MDB_val v{};
  std::size_t n = 0;
  std::size_t bytes = 0;
  int rc = mdb_cursor_get(c->get(), &k, &v, MDB_SET_RANGE);
  for (; rc == 0; rc = mdb_cursor_get(c->get(), &k, &v, MDB_NEXT)) {
    EventView ev;
    if (!codec::decode_event_key(lmdb::view(k), ev.stream, ev.seq)) return m_impl->corrupt("an event key");
    if (ev.stream != stream) break;
    if (!codec::decode_event_value(lmdb::view(v), ev)) {
      return m_impl->corrupt("event " + std::to_string(ev.stream) + "-" + std::to_string(ev.seq));
    }
    ++n;
    bytes += ev.data.size();
    if (!visit(ev) || n >= limit || bytes >= max_bytes) return n;
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return m_impl->failure("mdb_cursor_get", rc);
  return n;
}

util::Result<StoreStats> LmdbStore::stats() const {
  const lmdb::Env& env = *m_impl->env;
  auto rt = m_impl->begin_read();
  if (!rt) return std::move(rt).error();
  StoreStats st;
  st.format_version = env.format_version();
  MDB_envinfo info{};
  mdb_env_info(env.get(), &info);
  st.file_bytes = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * env.page_size();
  st.map_bytes = info.me_mapsize;
  st.max_bytes = m_impl->options.retention.store_max_bytes;
  const lmdb::Dbis& dbi = env.dbi();
  const std::pair<MDB_dbi, std::uint64_t*> counts[] = {
      {dbi.sessions, &st.sessions}, {dbi.streams, &st.streams}, {dbi.events, &st.events}};
  for (const auto& [d, out] : counts) {
    MDB_stat ms{};
    if (const int rc = mdb_stat(rt->get(), d, &ms); rc != 0) return m_impl->failure("mdb_stat", rc);
    *out = ms.ms_entries;
  }
  MDB_val mk = lmdb::val(std::string_view("last_commit_ms"));
  MDB_val mv{};
  if (mdb_get(rt->get(), dbi.meta, &mk, &mv) == 0 && mv.mv_size == 8) {
    st.last_commit_ms = static_cast<std::int64_t>(codec::get_u64_be(static_cast<const char*>(mv.mv_data)));
  }

  // Oldest: the first event of each stream; newest: the last event of each stream. The cursor
  // jumps from stream to stream (seek to (s + 1, 0)), touching two events per stream.
  auto c = m_impl->cursor(*rt, dbi.events);
  if (!c) return std::move(c).error();
  std::int64_t oldest = LLONG_MAX, newest = LLONG_MIN;
  auto arrival = [&](const MDB_val& value, std::int64_t& out) {
    EventView ev;
    if (!codec::decode_event_value(lmdb::view(value), ev)) return false;
    out = ev.arrival_ms;
    return true;
  };
  MDB_val k{}, v{};
  int rc = mdb_cursor_get(c->get(), &k, &v, MDB_FIRST);
  while (rc == 0) {
    std::uint64_t s = 0, seq = 0;
    std::int64_t a = 0;
    if (!codec::decode_event_key(lmdb::view(k), s, seq) || !arrival(v, a)) return m_impl->corrupt("an event");
    oldest = std::min(oldest, a);
    const codec::EventKey probe = codec::event_key(s + 1, 0);
    k = lmdb::val(probe.data(), probe.size());
    rc = s == UINT64_MAX ? MDB_NOTFOUND : mdb_cursor_get(c->get(), &k, &v, MDB_SET_RANGE);
    const bool more = rc == 0;
    if (rc != 0 && rc != MDB_NOTFOUND) return m_impl->failure("mdb_cursor_get", rc);
    rc = mdb_cursor_get(c->get(), &k, &v, more ? MDB_PREV : MDB_LAST);
    if (rc != 0) return m_impl->failure("mdb_cursor_get", rc);
    if (!arrival(v, a)) return m_impl->corrupt("an event");
    newest = std::max(newest, a);
    if (!more) break;
    rc = mdb_cursor_get(c->get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return m_impl->failure("mdb_cursor_get", rc);
  if (st.events > 0 && oldest != LLONG_MAX) {
    st.oldest_event_ms = oldest;
    st.newest_event_ms = newest;
  }
  return st;
}

StoreMetrics LmdbStore::metrics() const {
  return m_impl->writer ? m_impl->writer->metrics() : StoreMetrics{};
}

}  // namespace ssestitch::store
