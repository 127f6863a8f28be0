#include "core/proxy/registry.h"

#include <string>
#include <vector>

#include "core/proxy/commit_pipeline.h"
#include "core/proxy/config.h"
#include "core/proxy/exchange.h"
#include "core/proxy/session_table.h"
#include "core/proxy/stream.h"
#include "core/store/session_store.h"
#include "core/tracker/event_tracker.h"
#include "core/util/log.h"

namespace ssestitch::proxy {

Registry::Registry(net::EventLoop& loop) : m_collect(loop, [this] { collect(); }) {}

Registry::~Registry() { clear(); }

Stream* Registry::find(std::uint64_t stream) const {
  auto it = m_streams.find(stream);
  return it == m_streams.end() ? nullptr : it->second.get();
}

util::Result<void> restore_tracker(Context& ctx, const store::StreamRecord& rec) {
  const std::size_t window = ctx.config->dedup_window;
  std::vector<std::string> recent;
  const std::uint64_t from = rec.next_seq > window + 1 ? rec.next_seq - 1 - window : 0;
  auto scanned = ctx.store->scan_events(rec.stream, from, window, SIZE_MAX, [&](const store::EventView& ev) {
    if (!ev.upstream_id.empty()) recent.emplace_back(ev.upstream_id);
    return true;
  });
  if (!scanned) return std::move(scanned).error();
  tracker::Cursor cursor;
  if (rec.has_upstream_id) cursor.last_upstream_id = rec.upstream_last_id;
  if (rec.retry_ms > 0) cursor.retry_ms = rec.retry_ms;
  ctx.tracker->restore_stream(rec.stream, rec.session, rec.next_seq, cursor, recent);
  return util::ok();
}

util::Result<Stream*> Registry::open_stream(Context& ctx, Opening how, store::StreamRecord record,
                                            net::Headers upstream_headers) {
  switch (how) {
    case Opening::fresh: ctx.tracker->add_stream(record.stream, record.session); break;
    case Opening::recovered:
      if (auto r = restore_tracker(ctx, record); !r) return std::move(r).error();
      break;
    case Opening::replay:
    case Opening::follow: break;
  }
  const std::uint64_t no = record.stream;
  auto& slot = m_streams[no];
  slot = std::make_unique<Stream>(ctx, std::move(record), std::move(upstream_headers));
  Stream* stream = slot.get();
  const store::StreamRecord& rec = stream->record();
  if (rec.kind == store::StreamKind::get && rec.state == store::StreamState::open) {
    if (Session* session = ctx.sessions->find_any(rec.session); session != nullptr) session->get_stream = no;
  }
  switch (how) {
    case Opening::fresh:
      ctx.pipeline->mark_dirty(no);
      util::log(util::LogLevel::debug, "stream_opened",
                {{"stream", no}, {"kind", store::to_string(rec.kind)}, {"target", rec.target}});
      break;
    case Opening::recovered: stream->recover(rec.next_seq - 1); break;
    case Opening::follow: stream->follow(); break;
    case Opening::replay: break;
  }
  return stream;
}

Exchange& Registry::add(std::unique_ptr<Exchange> exchange) {
  Exchange* raw = exchange.get();
  return *(m_exchanges[raw] = std::move(exchange));
}

void Registry::release(Exchange* exchange) {
  m_released.push_back(exchange);
  m_collect.fire();
}

std::vector<Stream*> Registry::streams() const {
  std::vector<Stream*> out;
  out.reserve(m_streams.size());
  for (const auto& [no, s] : m_streams) out.push_back(s.get());
  return out;
}

std::vector<Exchange*> Registry::exchanges() const {
  std::vector<Exchange*> out;
  out.reserve(m_exchanges.size());
  for (const auto& [p, e] : m_exchanges) out.push_back(e.get());
  return out;
}

void Registry::collect() {
  std::vector<Exchange*> released;
  released.swap(m_released);
  for (Exchange* e : released) m_exchanges.erase(e);
  std::erase_if(m_streams, [](const auto& entry) { return entry.second->collectable(); });
}

void Registry::clear() {
  m_released.clear();
  m_exchanges.clear();
  m_streams.clear();
}

}  // namespace ssestitch::proxy
