#pragma once
// HTTP header lists as plain values, shared by the downstream server and the upstream client.
// Names compare case-insensitively (RFC 9110 §5.1); order and duplicates are kept.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssestitch::net {

struct Header {
  std::string name;
  std::string value;
};

class Headers {
 public:
  void add(std::string_view name, std::string_view value);
  // Replaces every header called `name` with one `name: value`.
  void set(std::string_view name, std::string_view value);
  void remove(std::string_view name);
  // The first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  const std::vector<Header>& all() const noexcept { return m_list; }
  bool empty() const noexcept { return m_list.empty(); }

 private:
  std::vector<Header> m_list;
};

bool iequals(std::string_view a, std::string_view b) noexcept;
// `s` without the spaces and tabs around it and any line end after it: a header name or value
// as an HTTP parser hands it over.
std::string_view trim_header_text(std::string_view s) noexcept;
// Whether a header value may be sent as is: no CR, LF or NUL (header injection) and no other
// control bytes except horizontal tab.
bool is_safe_header_value(std::string_view value) noexcept;
// Whether `media_type` (a Content-Type value) names `type`, ignoring parameters and case.
bool media_type_is(std::string_view content_type, std::string_view type) noexcept;

}  // namespace ssestitch::net
