// libFuzzer target: sse::Parser. Oracle: the same bytes fed whole and fed in pieces (split points
// taken from the input itself) give the same events, raw bytes and error; and nothing crashes,
// leaks or reads out of bounds (ASan + UBSan).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/sse/parser.h"

namespace {

struct Seen {
  std::vector<std::string> events;  // a canonical line per event
  bool failed = false;
  bool operator==(const Seen&) const = default;
};

Seen run(std::string_view bytes, std::size_t step_seed) {
  ssestitch::sse::Limits limits;
  limits.max_line_bytes = 4096;
  limits.max_event_bytes = 16384;
  ssestitch::sse::Parser parser(limits);
  Seen seen;
  auto on_event = [&](const ssestitch::sse::Event& e) {
    std::string line = e.type + '\x1f' + std::string(e.data) + '\x1f' + (e.id ? "1" + *e.id : "0") + '\x1f' +
                       (e.retry ? std::to_string(*e.retry) : "-") + '\x1f' + (e.dispatch ? "d" : "n") + '\x1f' +
                       std::string(e.raw);
    seen.events.push_back(std::move(line));
  };
  std::size_t pos = 0;
  std::size_t step = step_seed;
  while (pos < bytes.size() && !seen.failed) {
    std::size_t n = step_seed == 0 ? bytes.size() : 1 + step % 7;
    step = step * 1103515245u + 12345u;
    n = std::min(n, bytes.size() - pos);
    if (!parser.feed(bytes.substr(pos, n), on_event)) seen.failed = true;
    pos += n;
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Seen whole = run(bytes, 0);
  const Seen pieces = run(bytes, size == 0 ? 1 : data[0] + 1u);
  if (!(whole == pieces)) std::abort();  // split invariance broken
  return 0;
}
