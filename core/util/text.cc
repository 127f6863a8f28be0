#include "core/util/text.h"

namespace ssestitch::util {

void json_escape_append(std::string& out, std::string_view s) {
  static constexpr char k_hex[] = "0123456789abcdef";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out += k_hex[u >> 4];
          out += k_hex[u & 0xf];
        } else {
          out += c;  // UTF-8 passes through; invalid bytes are the caller's data, kept as they are
        }
    }
  }
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  json_escape_append(out, s);
  out += '"';
  return out;
}

std::string markup_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') ? ' ' : c;
    }
  }
  return out;
}

}  // namespace ssestitch::util
