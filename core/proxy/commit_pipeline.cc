#include "core/proxy/commit_pipeline.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "core/proxy/metrics.h"
#include "core/util/log.h"

namespace ssestitch::proxy {

namespace {
// Emptied batches kept for reuse; more are in flight only while the writer is behind.
constexpr std::size_t k_max_spare = 4;
}  // namespace

CommitPipeline::CommitPipeline(net::EventLoop& loop, store::SessionStore& store, Metrics& metrics,
                               Snapshot snapshot, Committed committed, std::size_t max_pending_bytes)
    : m_loop(loop), m_store(store), m_metrics(metrics), m_snapshot(std::move(snapshot)),
      m_committed(std::move(committed)),
      m_max_pending_bytes(max_pending_bytes), m_trigger(loop, [this] { flush(); }) {}

CommitPipeline::~CommitPipeline() = default;

void CommitPipeline::add_event(store::EventRecord event) {
  const std::size_t bytes = event.data.size() + event.upstream_id.size() + event.type.size() + 32;
  m_pending.bytes += bytes;
  m_pending_bytes += bytes;
  note_progress(event.stream, event.seq);
  m_pending.batch.events.push_back(std::move(event));
  m_trigger.fire();
}

void CommitPipeline::note_progress(std::uint64_t stream, std::uint64_t upto_seq) {
  // Consecutive events of one stream share an entry; flush() merges the rest.
  std::vector<Progress>& progress = m_pending.progress;
  if (!progress.empty() && progress.back().stream == stream) {
    progress.back().upto_seq = std::max(progress.back().upto_seq, upto_seq);
  } else {
    progress.push_back(Progress{stream, upto_seq});
  }
}

void CommitPipeline::add_session(store::SessionRecord session) {
  m_pending.batch.sessions.push_back(std::move(session));
  m_trigger.fire();
}

void CommitPipeline::add_stream(store::StreamRecord stream) {
  m_pending.batch.streams.push_back(std::move(stream));
  m_trigger.fire();
}

void CommitPipeline::mark_dirty(std::uint64_t stream) {
  m_dirty.insert(stream);
  m_trigger.fire();
}

void CommitPipeline::after_commit(Done done) {
  m_pending.done.push_back(std::move(done));
  m_trigger.fire();
}

void CommitPipeline::flush_events() {
  if (m_pending.done.empty() && m_waiting.empty()) flush();
}

void CommitPipeline::when_accepting(std::function<void()> resume) {
  if (accepting()) {
    resume();
    return;
  }
  m_waiting.push_back(std::move(resume));
}

void CommitPipeline::flush() {
  if (m_pending.batch.empty() && m_dirty.empty() && m_pending.done.empty()) return;
  for (std::uint64_t stream : m_dirty) {
    if (auto record = m_snapshot(stream)) {
      note_progress(stream, record->next_seq - 1);
      m_pending.batch.streams.push_back(std::move(*record));
    }
  }
  m_dirty.clear();
  std::vector<Progress>& progress = m_pending.progress;
  if (progress.size() > 1) {
    // One entry per stream, with its highest seq (several streams' events interleave).
    std::sort(progress.begin(), progress.end(), [](const Progress& a, const Progress& b) {
      return a.stream != b.stream ? a.stream < b.stream : a.upto_seq > b.upto_seq;
    });
    progress.erase(std::unique(progress.begin(), progress.end(),
                               [](const Progress& a, const Progress& b) { return a.stream == b.stream; }),
                   progress.end());
  }
  std::unique_ptr<Pending> next;
  if (m_spare.empty()) {
    next = std::make_unique<Pending>();
  } else {
    next = std::move(m_spare.back());
    m_spare.pop_back();
  }
  // The batch leaves with `pending`; m_pending keeps the spare's empty vectors and their capacity.
  std::swap(m_pending, *next);
  Pending* pending = m_inflight.emplace_back(std::move(next)).get();
  pending->batch.backlog = std::exchange(m_backlog, false);
  m_pending_bytes -= pending->bytes;
  m_inflight_bytes += pending->bytes;
  // Two pointers: small enough for std::function to hold without an allocation.
  auto callback = [this, pending](const util::Result<store::CommitInfo>& result) {
    const bool ok = result.has_value();
    if (!ok) {
      util::log(util::LogLevel::error, "store_commit_failed",
                {{"error", util::to_string(result.error().code)}, {"message", result.error().message}});
    } else {
      pending->fenced = result->fenced;  // read on the loop thread after complete() hands over
    }
    complete(pending, ok);
  };
  if (auto r = m_store.submit(std::move(pending->batch), callback); !r) {
    util::log(util::LogLevel::error, "store_submit_failed",
              {{"error", util::to_string(r.error().code)}, {"message", r.error().message}});
    ++m_metrics.errors[std::string(util::to_string(r.error().code))];
    complete(pending, false);
  }
}

void CommitPipeline::complete(Pending* pending, bool durable) {
  // LmdbStore calls back on its writer thread, or inline on ours when its writer was idle;
  // MemoryStore inline; a refused submit completes here. Completions run in submission order:
  // one on the loop thread queues behind those the writer thread has posted and that have not
  // run yet (the writer calls back before it lets an inline commit start, so the count is up to
  // date here).
  if (m_loop.in_loop_thread() && m_posted.load() == 0) {
    completed(pending, durable);
    return;
  }
  ++m_posted;
  m_loop.post([this, pending, durable] {
    --m_posted;
    completed(pending, durable);
  });
}

void CommitPipeline::completed(Pending* pending, bool durable) {
  m_inflight_bytes -= pending->bytes;
  if (!durable) ++m_metrics.store_errors;
  for (const Progress& p : pending->progress) {
    if (!pending->fenced.empty() && m_fenced &&
        std::find(pending->fenced.begin(), pending->fenced.end(), p.stream) != pending->fenced.end()) {
      m_fenced(p.stream);
    } else {
      m_committed(p.stream, p.upto_seq, durable);
    }
  }
  for (const Done& d : pending->done) d(durable);
  // Completions come in submission order: this is normally the oldest batch in flight.
  auto it = std::find_if(m_inflight.begin(), m_inflight.end(), [&](const auto& p) { return p.get() == pending; });
  if (it != m_inflight.end()) {
    std::unique_ptr<Pending> spare = std::move(*it);
    m_inflight.erase(it);
    spare->batch = store::Batch{};
    spare->progress.clear();
    spare->done.clear();
    spare->fenced.clear();
    spare->bytes = 0;
    if (m_spare.size() < k_max_spare) m_spare.push_back(std::move(spare));
  }
  if (accepting() && !m_waiting.empty()) {
    std::vector<std::function<void()>> waiting;
    waiting.swap(m_waiting);
    for (auto& resume : waiting) resume();
  }
}

void CommitPipeline::drain() {
  flush();
  if (auto r = m_store.flush(); !r) {
    util::log(util::LogLevel::error, "store_flush_failed", {{"message", r.error().message}});
  }
}

}  // namespace ssestitch::proxy
