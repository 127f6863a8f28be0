#include "core/store/lmdb_writer.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <utility>

#include "core/store/batch_check.h"
#include "core/store/lmdb_codec.h"
#include "core/util/log.h"

namespace ssestitch::store::lmdb {
namespace {

using util::Errc;
using SteadyClock = std::chrono::steady_clock;

}  // namespace

Writer::Writer(Env& env, const LmdbOptions& options, std::atomic<std::uint64_t>& next_stream)
    : m_env(env), m_options(options), m_committer(env, options, next_stream) {}

util::Result<std::unique_ptr<Writer>> Writer::start(Env& env, const LmdbOptions& options,
                                                    std::atomic<std::uint64_t>& next_stream) {
  std::unique_ptr<Writer> w(new Writer(env, options, next_stream));
  if (auto r = w->m_committer.load(); !r) return std::move(r).error();
  if (options.journal_bytes > 0) {
    if (auto r = w->open_journal(); !r) return std::move(r).error();
  }
  try {
    w->m_thread = std::thread([p = w.get()] { p->run(); });
  } catch (const std::exception& e) {
    return util::fail(Errc::io_error, std::string("cannot start the store writer thread: ") + e.what());
  }
  return w;
}

Writer::~Writer() {
  {
    std::lock_guard lk(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_one();
  if (m_thread.joinable()) m_thread.join();
}

util::Result<void> Writer::submit(Batch batch, CommitCallback done) {
  if (auto r = check_batch(batch); !r) return r;
  const std::size_t bytes = batch.bytes();
  std::vector<Batch> spent;  // freed on this thread, after the lock (lmdb_writer.h: "Who frees")
  {
    std::lock_guard lk(m_mutex);
    spent = take_spent_locked();
    if (m_stopping) return util::fail(Errc::store_closed, m_env.dir() + ": the store is closing");
    // An empty queue takes any batch, so a batch larger than the bound is not refused forever.
    if (m_queued_bytes != 0 && m_queued_bytes + bytes > m_options.queue_max_bytes) {
      m_committer.count_queue_full();
      return util::fail(Errc::store_queue_full,
                        m_env.dir() + ": the writer queue holds " + std::to_string(m_queued_bytes) +
                            " bytes (queue_max_bytes " + std::to_string(m_options.queue_max_bytes) + ")");
    }
    m_queued_bytes += bytes;
    ++m_plain;
    m_queue.push_back(Pending{std::move(batch), std::move(done), bytes, m_next_ticket++, std::nullopt});
  }
  m_wake.notify_one();
  return util::ok();
}

bool Writer::try_commit_inline(Batch& batch, CommitCallback& done) {
  if (!m_options.inline_commits || m_options.sync == SyncMode::always || batch.backlog) return false;
  if (try_journal(batch, done)) return true;
  std::unique_lock txn(m_txn_mutex, std::try_to_lock);
  if (!txn.owns_lock()) return false;
  if (!check_batch(batch)) return false;  // submit() reports the error
  std::uint64_t ticket = 0;
  std::vector<Batch> spent;  // freed on this thread, after the lock (lmdb_writer.h: "Who frees")
  {
    std::lock_guard lk(m_mutex);
    // Queued batches go first: committing this one now would overtake them.
    if (m_stopping || !m_queue.empty()) return false;
    ticket = m_next_ticket++;
    spent = take_spent_locked();
    m_inline_busy = true;
  }
  std::vector<Pending>& group = m_inline_group;
  group.clear();
  group.push_back(Pending{std::move(batch), std::move(done), 0, ticket, std::nullopt});
  bool committed = false;
  try {
    committed = m_committer.process_group(group, /*light=*/true);
  } catch (const std::exception& e) {
    m_committer.fail_group(group, e.what());
  }
  group.clear();
  txn.unlock();
  bool wake = false;
  bool waiters = false;
  {
    std::lock_guard lk(m_mutex);
    m_inline_busy = false;
    m_done_ticket = std::max(m_done_ticket, ticket);
    if (committed) {
      // The first commit since the last sync must wake the writer for the --sync-interval fsync.
      const bool first = count_commit_locked();
      wake = m_options.sync == SyncMode::batch && first;
    }
    if (m_commit_gen == m_synced_gen) m_synced_ticket = m_done_ticket;
    waiters = m_progress_waiters > 0;
  }
  if (wake) m_wake.notify_one();
  if (waiters) m_progress.notify_all();
  return true;
}

bool Writer::try_journal(Batch& batch, CommitCallback& done) {
  if (!m_journal) return false;
  std::unique_lock journal(m_journal_mutex, std::try_to_lock);
  if (!journal.owns_lock() || !check_batch(batch)) return false;  // (submit() reports a bad batch)
  codec::encode_batch(batch, m_journal_payload);
  const std::uint64_t frame = Journal::frame_bytes(m_journal_payload.size());
  // A batch that large goes the plain way: its transaction is shared by many events already,
  // and the encode buffer (kept for reuse) stays small.
  if (frame > std::min<std::uint64_t>(m_journal->capacity() / 2, m_options.group_max_bytes)) return false;
  const std::size_t bytes = batch.bytes();
  JournalMark at;
  std::vector<Batch> spent;  // freed on this thread, after the lock (lmdb_writer.h: "Who frees")
  {
    std::lock_guard lk(m_mutex);
    // Not past a batch that goes the plain way (it would overtake it), nor while an inline
    // commit's callbacks run (a read there must not wait for this thread: lmdb_writer.h).
    if (m_stopping || m_plain != 0 || m_inline_busy || m_journal_full) return false;
    if (m_queued_bytes != 0 && m_queued_bytes + bytes > m_options.queue_max_bytes) return false;
    if (m_journal_tail.offset + frame > m_journal->capacity()) {
      m_journal_full = true;  // this thread restarts it once everything journaled is applied
      m_wake.notify_one();
      return false;
    }
    at = m_journal_tail;
    spent = take_spent_locked();
  }
  const auto t0 = SteadyClock::now();
  if (auto r = m_journal->append(at.epoch, at.offset, m_journal_payload); !r) {
    util::log(util::LogLevel::error, "store_journal_failed", {{"error", r.error().message}});
    return false;  // the plain way
  }
  const CommitInfo info{std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0).count(), {}};
  bool wake = false;
  {
    std::lock_guard lk(m_mutex);
    m_journal_tail = JournalMark{at.epoch, at.offset + frame};
    if (m_journaled++ == 0) {
      m_journaled_since = t0;
      wake = true;  // this thread sets its clock for the apply
    }
    m_queued_bytes += bytes;
    m_last_journaled_ticket = m_next_ticket++;
    m_queue.push_back(Pending{std::move(batch), nullptr, bytes, m_last_journaled_ticket, m_journal_tail});
    wake = wake || m_queued_bytes > m_options.group_max_bytes;
  }
  journal.unlock();
  if (wake) m_wake.notify_one();
  try {
    done(info);
  } catch (...) {
    util::log(util::LogLevel::error, "store_callback_threw");
  }
  return true;
}

bool Writer::journal_waits_locked(SteadyClock::time_point now) const noexcept {
  return m_plain == 0 && m_journaled > 0 && !m_apply_requested && !m_journal_full &&
         m_queued_bytes <= m_options.group_max_bytes &&
         now < m_journaled_since + std::chrono::milliseconds(m_options.journal_delay_ms);
}

void Writer::await_applied() {
  if (std::this_thread::get_id() == m_thread.get_id()) return;
  std::unique_lock lk(m_mutex);
  if (m_journaled == 0) return;
  const std::uint64_t target = m_last_journaled_ticket;
  m_apply_requested = true;
  m_wake.notify_one();
  ++m_progress_waiters;
  m_progress.wait(lk, [&] { return m_done_ticket >= target; });
  --m_progress_waiters;
}

util::Result<void> Writer::open_journal() {
  auto journal = Journal::open(m_env.dir(), m_options.journal_bytes);
  if (!journal) return std::move(journal).error();
  m_journal.emplace(std::move(*journal));
  const JournalMark from = m_committer.journal_mark().value_or(JournalMark{});
  std::vector<Pending> group;
  std::size_t group_bytes = 0;
  std::uint64_t batches = 0;
  std::uint64_t events = 0;
  bool undecodable = false;
  const auto apply = [&] {
    if (!group.empty()) m_committer.process_group(group);
    group.clear();
    group_bytes = 0;
  };
  auto scanned = m_journal->scan(from, [&](std::string_view payload, std::uint64_t end) {
    Pending p;
    if (!codec::decode_batch(payload, p.batch)) {
      undecodable = true;
      return false;
    }
    p.bytes = p.batch.bytes();
    p.journaled = JournalMark{from.epoch, end};
    ++batches;
    events += p.batch.events.size();
    group_bytes += p.bytes;
    group.push_back(std::move(p));
    if (group_bytes >= m_options.group_max_bytes) apply();
    return true;
  });
  if (!scanned) return std::move(scanned).error();
  apply();
  if (undecodable) {
    util::log(util::LogLevel::error, "store_journal_corrupt",
              {{"path", m_env.dir() + "/journal"}, {"offset", *scanned}, {"detail", "a frame's batch fails to decode"}});
  }
  if (batches > 0) {
    util::log(util::LogLevel::info, "store_journal_recovered", {{"batches", batches}, {"events", events}});
  }
  // A new epoch for this writer: the frames just applied (and any older ones) no longer count.
  const JournalMark next{from.epoch + 1, 0};
  if (auto r = m_committer.set_journal_mark(next); !r) return r;
  m_journal_tail = next;
  return util::ok();
}

void Writer::restart_journal_if_due() {
  if (!m_journal) return;
  {
    std::lock_guard lk(m_mutex);
    if (m_journaled != 0 || (!m_journal_full && m_journal_tail.offset <= m_journal->capacity() / 2)) return;
  }
  std::lock_guard journal(m_journal_mutex);  // no append while the epoch changes
  JournalMark next;
  {
    std::lock_guard lk(m_mutex);
    if (m_journaled != 0) return;  // appended meanwhile: the next apply comes back here
    next = JournalMark{m_journal_tail.epoch + 1, 0};
  }
  util::Result<void> r = util::ok();
  {
    std::lock_guard txn(m_txn_mutex);
    r = m_committer.set_journal_mark(next);
  }
  if (!r) {
    util::log(util::LogLevel::error, "store_journal_failed", {{"error", r.error().message}});
    return;  // the journal stays full: commits go the plain way until a restart succeeds
  }
  std::lock_guard lk(m_mutex);
  m_journal_tail = next;
  m_journal_full = false;
}

bool Writer::count_commit_locked() noexcept {
  const bool first = m_commit_gen == m_synced_gen;
  if (first) m_first_unsynced = std::chrono::steady_clock::now();
  ++m_commit_gen;
  return first;
}

std::chrono::steady_clock::time_point Writer::sync_due(std::chrono::steady_clock::time_point last_sync,
                                                       std::chrono::milliseconds interval) const noexcept {
  return std::max(last_sync, m_first_unsynced) + interval;
}

StoreMetrics Writer::metrics() const {
  StoreMetrics m = m_committer.metrics();
  std::lock_guard lk(m_mutex);
  m.syncs = m_syncs;
  return m;
}

util::Result<void> Writer::flush() {
  std::unique_lock lk(m_mutex);
  const std::uint64_t target = m_next_ticket - 1;
  const bool need_sync = m_options.sync != SyncMode::none;
  if (m_options.sync == SyncMode::batch) m_sync_requested = true;
  m_apply_requested = m_journaled > 0;  // journaled batches are applied now, not after the delay
  m_wake.notify_one();
  ++m_progress_waiters;
  m_progress.wait(lk, [&] { return m_done_ticket >= target && (!need_sync || m_synced_ticket >= target); });
  --m_progress_waiters;
  if (m_sync_failed) return m_sync_error;
  return util::ok();
}

void Writer::take_group_locked(std::vector<Pending>& group) {
  std::size_t n = 0;
  std::size_t bytes = 0;
  while (n < m_queue.size() && (n == 0 || bytes + m_queue[n].bytes <= m_options.group_max_bytes)) {
    bytes += m_queue[n].bytes;
    ++n;
  }
  if (n == m_queue.size()) {
    group.swap(m_queue);  // the common case: no copy, and the queue gets the group's spare capacity
    return;
  }
  const auto end = m_queue.begin() + static_cast<std::ptrdiff_t>(n);
  group.assign(std::make_move_iterator(m_queue.begin()), std::make_move_iterator(end));
  m_queue.erase(m_queue.begin(), end);
}

std::vector<Batch> Writer::take_spent_locked() noexcept {
  m_spent_bytes = 0;
  return std::exchange(m_spent, {});
}

void Writer::hand_back_locked(std::vector<Pending>& group, std::size_t bytes) {
  if (m_spent_bytes + bytes > k_max_spent_bytes) return;
  m_spent_bytes += bytes;
  for (Pending& p : group) m_spent.push_back(std::move(p.batch));
}

void Writer::run() noexcept {
  std::vector<Pending> group;
  auto last_sync = SteadyClock::now();
  const auto interval = std::chrono::milliseconds(std::max<std::int64_t>(m_options.sync_interval_ms, 1));
  const auto idle_wake = std::chrono::milliseconds(std::max<std::int64_t>(m_options.idle_wake_ms, 1));
  for (;;) {
    bool stopping = false;
    bool sync_requested = false;
    {
      std::unique_lock lk(m_mutex);
      // Wake at least every idle_wake_ms for maintenance, and when the batch-mode sync is due.
      // The deadline is worked out again after every wake-up: the first inline commit after an
      // idle spell wakes this thread only to bring it forward (computed once before waiting, it
      // stayed at the idle wake, and a lone event was synced up to a second late).
      const auto idle_deadline = SteadyClock::now() + idle_wake;
      while ((m_queue.empty() || journal_waits_locked(SteadyClock::now())) && !m_stopping && !m_sync_requested) {
        auto deadline = idle_deadline;
        if (!m_queue.empty()) {
          deadline = std::min(deadline, m_journaled_since + std::chrono::milliseconds(m_options.journal_delay_ms));
        }
        if (m_options.sync == SyncMode::batch && m_commit_gen != m_synced_gen) {
          deadline = std::min(deadline, sync_due(last_sync, interval));
        }
        if (SteadyClock::now() >= deadline) break;
        m_wake.wait_until(lk, deadline);
      }
    }
    std::size_t group_bytes = 0;
    std::size_t group_journaled = 0;
    std::uint64_t last_ticket = 0;
    bool committed = false;
    {
      // m_txn_mutex before the group leaves the queue: an inline commit checks for an empty
      // queue under m_txn_mutex, and must not see one while a group taken from it is still
      // uncommitted (it would overtake it, and a client catching up from the log would skip
      // the group's events as a hole that is filled only later).
      std::lock_guard txn(m_txn_mutex);
      {
        std::lock_guard lk(m_mutex);
        take_group_locked(group);
        if (m_queue.empty()) m_apply_requested = false;
        stopping = m_stopping;
        // A sync that flush() asked for is done once the queue is empty, not between the parts
        // of a queue longer than one group.
        sync_requested = m_sync_requested && m_queue.empty();
        if (sync_requested) m_sync_requested = false;
      }
      for (const Pending& p : group) {
        group_bytes += p.bytes;
        if (p.journaled) ++group_journaled;
      }
      if (!group.empty()) last_ticket = group.back().ticket;
      try {
        committed = group.empty() ? m_committer.maintain() : m_committer.process_group(group);
      } catch (const std::exception& e) {
        // Out of memory while building a transaction: fail what was in hand, keep the thread.
        m_committer.fail_group(group, e.what());
      }
    }

    // What the sync (if any) will cover: every commit counted so far, by this thread or inline.
    std::uint64_t gen_before = 0;
    std::uint64_t done_before = 0;
    bool dirty = false;
    SteadyClock::time_point due{};
    {
      std::lock_guard lk(m_mutex);
      if (committed) count_commit_locked();
      if (last_ticket != 0) m_done_ticket = std::max(m_done_ticket, last_ticket);
      gen_before = m_commit_gen;
      done_before = m_done_ticket;
      dirty = m_commit_gen != m_synced_gen;
      due = sync_due(last_sync, interval);
    }
    const auto now = SteadyClock::now();
    const bool want_sync =
        dirty && ((m_options.sync == SyncMode::batch && (sync_requested || stopping || now >= due)) ||
                  (m_options.sync == SyncMode::none && stopping));
    bool sync_failed = false;
    util::Error sync_error;
    if (want_sync) {
      // Outside m_txn_mutex: inline commits go on while the disk catches up.
      std::shared_lock gate(m_env.gate());
      const int rc = mdb_env_sync(m_env.get(), 1);
      if (rc != 0) {
        sync_failed = true;
        sync_error = util::Error{errc_for(rc, Errc::io_error), message("mdb_env_sync", m_env.dir(), rc)};
        util::log(util::LogLevel::error, "store_sync_failed", {{"error", sync_error.message}});
      }
      // The interval runs from the end of this sync: a sync that outlasts it (the disk behind a
      // burst of commits) must not be followed at once by another, or the disk would never rest
      // (with MDB_WRITEMAP, back-to-back syncs kept write-protecting the pages commits wrote:
      // benchmark rounds with 74,000 faults and 4.4 s of CPU in 5 s at 5,000 events/s).
      last_sync = SteadyClock::now();
    }
    bool exit = false;
    std::vector<Batch> spent;
    {
      std::lock_guard lk(m_mutex);
      m_queued_bytes -= group_bytes;
      m_plain -= group.size() - group_journaled;
      m_journaled -= group_journaled;
      if (group.empty()) {
        spent = take_spent_locked();  // idle: nothing contends for the producer's arena
      } else if (!m_stopping) {
        hand_back_locked(group, group_bytes);
      }
      if (want_sync) {
        m_sync_failed = sync_failed;
        m_sync_error = sync_error;
        if (!sync_failed) ++m_syncs;
        m_synced_gen = std::max(m_synced_gen, gen_before);
        m_synced_ticket = std::max(m_synced_ticket, done_before);
      }
      if (m_options.sync == SyncMode::always || m_commit_gen == m_synced_gen) m_synced_ticket = m_done_ticket;
      exit = m_stopping && m_queue.empty() &&
             (m_commit_gen == m_synced_gen || m_options.sync == SyncMode::always);
    }
    m_progress.notify_all();
    group.clear();
    if (exit) break;
    restart_journal_if_due();
  }
}

}  // namespace ssestitch::store::lmdb
