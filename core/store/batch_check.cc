#include "core/store/batch_check.h"

#include <string>
#include <utility>
#include <vector>

namespace ssestitch::store {
namespace {

bool bad_session_id(std::string_view id) {
  return id.size() > k_max_session_id_bytes || id.find('\0') != std::string_view::npos;
}

}  // namespace

util::Result<void> check_batch(const Batch& batch) {
  using util::Errc;
  for (const SessionRecord& s : batch.sessions) {
    if (s.id.empty() || bad_session_id(s.id)) {
      return util::fail(Errc::invalid_argument, "session record with an empty id, an id longer than " +
                                                    std::to_string(k_max_session_id_bytes) + " bytes or one containing NUL");
    }
  }
  for (const StreamRecord& s : batch.streams) {
    if (s.stream == 0) return util::fail(Errc::invalid_argument, "stream record with stream number 0");
    if (bad_session_id(s.session)) {
      return util::fail(Errc::invalid_argument,
                        "stream " + std::to_string(s.stream) + ": session id longer than " +
                            std::to_string(k_max_session_id_bytes) + " bytes or containing NUL");
    }
  }
  // Batches usually carry one or two streams, so a linear list beats a map here.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> last;  // stream -> last seq in this batch
  for (const EventRecord& e : batch.events) {
    if (e.stream == 0 || e.seq == 0) {
      return util::fail(Errc::invalid_argument, "event " + std::to_string(e.stream) + "-" +
                                                    std::to_string(e.seq) + ": stream and seq must be >= 1");
    }
    auto it = last.begin();
    while (it != last.end() && it->first != e.stream) ++it;
    if (it == last.end()) {
      last.emplace_back(e.stream, e.seq);
    } else if (e.seq <= it->second) {
      return util::fail(Errc::invalid_argument,
                        "event " + std::to_string(e.stream) + "-" + std::to_string(e.seq) +
                            ": seq not increasing within the batch (after " + std::to_string(it->second) + ")");
    } else {
      it->second = e.seq;
    }
  }
  return util::ok();
}

}  // namespace ssestitch::store
