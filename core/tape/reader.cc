#include "core/tape/reader.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <tuple>

#include "core/mcp/message.h"
#include "core/tape/message.h"

namespace ssestitch::tape {
namespace {

struct Item {
  std::int64_t time_ms = 0;
  int source = 0;  // 0: a recorded line, 1: a logged event
  std::uint64_t stream = 0;
  std::uint64_t seq = 0;
  std::string session;
  std::string text;  // the line, or the event's data
};

}  // namespace

util::Result<std::vector<std::string>> read_messages(const store::SessionStore& store,
                                                     const std::optional<std::string>& session,
                                                     std::size_t limit) {
  if (session) {
    auto s = store.session(*session);
    if (!s) return std::move(s).error();
    if (!*s) return util::fail(util::Errc::not_found, "no session " + *session + " in the store");
  }
  auto streams = session ? store.streams(std::string_view(*session)) : store.streams(std::nullopt);
  if (!streams) return std::move(streams).error();
  // Sessions that recorded, and whether with bodies.
  std::map<std::string, bool> recorded;
  std::vector<Item> items;
  for (const store::StreamRecord& r : *streams) {
    if (r.kind != store::StreamKind::tape) continue;
    auto scanned = store.scan_events(r.stream, 0, SIZE_MAX, SIZE_MAX, [&](const store::EventView& e) {
      if (!recorded.contains(r.session)) recorded[r.session] = e.data.find("\"message\":") != std::string_view::npos;
      items.push_back(Item{e.arrival_ms, 0, r.stream, e.seq, r.session, std::string(e.data)});
      return true;
    });
    if (!scanned) return std::move(scanned).error();
  }
  for (const store::StreamRecord& r : *streams) {
    if (r.kind == store::StreamKind::tape || r.session.empty() || !recorded.contains(r.session)) continue;
    auto scanned = store.scan_events(r.stream, 0, SIZE_MAX, SIZE_MAX, [&](const store::EventView& e) {
      items.push_back(Item{e.arrival_ms, 1, r.stream, e.seq, r.session, std::string(e.data)});
      return true;
    });
    if (!scanned) return std::move(scanned).error();
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(a.time_ms, a.source, a.stream, a.seq) < std::tie(b.time_ms, b.source, b.stream, b.seq);
  });
  std::vector<std::string> lines;
  Latencies latencies;
  for (Item& it : items) {
    if (limit != 0 && lines.size() >= limit) break;
    if (it.source == 0) {
      // Keep the requests in step, so responses among the merged events get their latency.
      const std::string kind = mcp::json_string_at(it.text, "/kind").value_or("");
      const std::string id = mcp::json_at(it.text, "/id").value_or("");  // canonical: as recorded
      if (kind == "request") latencies.request(it.session, id, it.time_ms);
      if (kind == "response" || kind == "error") latencies.response(it.session, id, it.time_ms);
      lines.push_back(std::move(it.text));
      continue;
    }
    Message m;
    m.direction = Direction::to_client;
    m.session = it.session;
    m.time_ms = it.time_ms;
    m.body = it.text;
    m.stream = it.stream;
    m.seq = it.seq;
    std::string line = ndjson_line(m, latencies, recorded[it.session]);
    line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace ssestitch::tape
