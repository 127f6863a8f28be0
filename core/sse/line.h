#pragma once
// The end of an SSE line: the first CR or LF (WHATWG §9.2.5: CRLF, CR and LF all end a line).
// Two memchr calls (LF, then CR before it) rather than std::string_view::find_first_of("\r\n"),
// which calls memchr once per byte of input and made re-encoding event data the proxy's largest
// cost in bulk forwarding.

#include <cstddef>
#include <cstring>

namespace ssestitch::sse {

inline const char* find_line_end(const char* p, const char* end) noexcept {
  if (p == end) return end;  // also an empty string_view's nullptr, which memchr must not get
  const void* lf = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
  const char* limit = lf != nullptr ? static_cast<const char*>(lf) : end;
  const void* cr = std::memchr(p, '\r', static_cast<std::size_t>(limit - p));
  return cr != nullptr ? static_cast<const char*>(cr) : limit;
}

}  // namespace ssestitch::sse
