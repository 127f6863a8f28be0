#include "core/util/text.h"

#include "core/util/log.h"

namespace ssestitch::util {

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
