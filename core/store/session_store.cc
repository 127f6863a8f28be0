#include "core/store/session_store.h"

#include <limits>

namespace ssestitch::store {

util::Result<SyncMode> parse_sync_mode(std::string_view s) {
  if (s == "always") return SyncMode::always;
  if (s == "batch") return SyncMode::batch;
  if (s == "none") return SyncMode::none;
  return util::fail(util::Errc::invalid_argument,
                    "invalid sync mode \"" + std::string(s) + "\" (expected always, batch or none)");
}

std::string_view to_string(SyncMode m) noexcept {
  switch (m) {
    case SyncMode::always: return "always";
    case SyncMode::batch: return "batch";
    case SyncMode::none: return "none";
  }
  return "batch";
}

void record_commit_latency(StoreMetrics& m, std::int64_t ns) noexcept {
  const double s = static_cast<double>(ns) / 1e9;
  int i = 0;
  while (i < StoreMetrics::k_latency_buckets - 1 && s > StoreMetrics::k_bucket_bounds_s[i]) ++i;
  ++m.commit_latency_buckets[i];
  m.commit_latency_sum_s += s;
}

util::Result<std::vector<EventRecord>> SessionStore::events(std::uint64_t stream,
                                                            std::uint64_t after_seq,
                                                            std::size_t limit) const {
  std::vector<EventRecord> out;
  auto copy = [&](const EventView& v) {
    out.push_back(EventRecord{v.stream, v.seq, std::string(v.upstream_id), std::string(v.type),
                              std::string(v.data), v.arrival_ms});
    return true;
  };
  auto n = scan_events(stream, after_seq, limit, std::numeric_limits<std::size_t>::max(), copy);
  if (!n) return std::move(n).error();
  return out;
}

}  // namespace ssestitch::store
