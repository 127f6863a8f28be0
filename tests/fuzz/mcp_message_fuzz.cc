// libFuzzer target: the MCP message classifier (core/mcp/message), which reads client bodies and
// upstream event data: no crash, no out-of-bounds read, no unbounded output, for any bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/mcp/message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace mcp = ssestitch::mcp;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)mcp::classify_post(text);
  for (const auto& id : mcp::response_ids(text)) {
    // An id is a piece of the input, canonically re-encoded: at most 6 bytes (\u00XX) per input
    // byte plus its quotes (found by this target: raw DEL bytes become \u007f).
    if (id.size() > 6 * size + 2) std::abort();
  }
  (void)mcp::response_id(text);
  (void)mcp::initialize_result_version(text);
  (void)mcp::era_of(text);
  return 0;
}
