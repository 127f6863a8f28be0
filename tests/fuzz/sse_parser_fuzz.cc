// libFuzzer target: sse::Parser. Oracle: the same bytes fed whole and fed in pieces (split points
// taken from the input itself) give the same events, raw bytes and error, and the same events
// with raw blocks dropped (sse::Raw::drop); and nothing crashes, leaks or reads out of bounds
// (ASan + UBSan). Each piece is fed from a buffer that is overwritten after feed() returns, as a
// reused read buffer is, so data the parser framed in place and kept past feed() shows.

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
  std::vector<std::string> raws;    // each event's raw block (empty with Raw::drop)
  bool failed = false;
  bool operator==(const Seen&) const = default;
};

// `with_raw`: the parser keeps raw blocks (Seen::raws).
Seen run(std::string_view bytes, std::size_t step_seed, bool with_raw) {
  ssestitch::sse::Limits limits;
  limits.max_line_bytes = 4096;
  limits.max_event_bytes = 16384;
  ssestitch::sse::Parser parser(limits, with_raw ? ssestitch::sse::Raw::keep : ssestitch::sse::Raw::drop);
  Seen seen;
  auto on_event = [&](const ssestitch::sse::Event& e) {
    std::string line = e.type + '\x1f' + std::string(e.data) + '\x1f' + (e.id ? "1" + *e.id : "0") + '\x1f' +
                       (e.retry ? std::to_string(*e.retry) : "-") + '\x1f' + (e.dispatch ? "d" : "n");
    seen.events.push_back(std::move(line));
    if (with_raw) seen.raws.emplace_back(e.raw);
  };
  std::size_t pos = 0;
  std::size_t step = step_seed;
  std::string piece;
  while (pos < bytes.size() && !seen.failed) {
    std::size_t n = step_seed == 0 ? bytes.size() : 1 + step % 7;
    step = step * 1103515245u + 12345u;
    n = std::min(n, bytes.size() - pos);
    piece.assign(bytes.substr(pos, n));
    if (!parser.feed(piece, on_event)) seen.failed = true;
    piece.assign(piece.size(), '\xff');
    pos += n;
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::size_t seed = size == 0 ? 1 : data[0] + 1u;
  if (!(run(bytes, 0, true) == run(bytes, seed, true))) std::abort();  // split invariance broken
  const Seen fields = run(bytes, 0, false);
  if (!(fields == run(bytes, seed, false))) std::abort();  // ... with raw blocks dropped
  Seen kept = run(bytes, seed, true);
  kept.raws.clear();
  if (!(kept == fields)) std::abort();  // dropping raw blocks changed the events
  return 0;
}
