// libFuzzer target: the strict parser of proxy-minted ids "<stream>-<seq>" (client input in
// Last-Event-ID). Oracle: whatever it accepts formats back to exactly the same text.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/tracker/downstream_id.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace tracker = ssestitch::tracker;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto id = tracker::parse_downstream_id(text);
  if (id && tracker::format_downstream_id(*id) != text) std::abort();
  (void)tracker::validate_event_id(text);
  return 0;
}
