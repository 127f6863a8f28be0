#include "core/mcp/json_doc.h"

#include "core/util/text.h"

namespace ssestitch::mcp::detail {
namespace {

namespace od = simdjson::ondemand;

// One parser and one padded buffer per thread: the proxy classifies on its loop thread, the
// bench may do it from others. Views into them die with the next call.
struct Scratch {
  od::parser parser;
  std::string buffer;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

util::Result<od::document> parse(std::string_view text) {
  Scratch& s = scratch();
  s.buffer.assign(text);
  s.buffer.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  od::document doc;
  if (auto err = s.parser.iterate(s.buffer.data(), s.buffer.size(), s.buffer.capacity()).get(doc); err) {
    return util::fail(util::Errc::json_invalid, std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  return doc;
}

std::string_view parsed_text() { return scratch().buffer; }

std::string quoted(std::string_view s) {
  std::string out = "\"";
  util::json_escape_append(out, s);
  out += '"';
  return out;
}

std::optional<std::string> canonical_id(od::value value, bool allow_null) {
  od::json_type type;
  if (value.type().get(type)) return std::nullopt;
  switch (type) {
    case od::json_type::string: {
      std::string_view s;
      if (value.get_string().get(s)) return std::nullopt;
      return quoted(s);
    }
    case od::json_type::number: {
      od::number_type nt;
      if (value.get_number_type().get(nt)) return std::nullopt;
      if (nt == od::number_type::signed_integer) {
        std::int64_t v = 0;
        if (value.get_int64().get(v)) return std::nullopt;
        return std::to_string(v);
      }
      if (nt == od::number_type::unsigned_integer) {
        std::uint64_t v = 0;
        if (value.get_uint64().get(v)) return std::nullopt;
        return std::to_string(v);
      }
      return std::nullopt;  // fractions, exponents, integers beyond 64 bits
    }
    case od::json_type::null: {
      bool is_null = false;
      if (value.is_null().get(is_null) || !is_null || !allow_null) return std::nullopt;
      return std::string("null");
    }
    default:
      return std::nullopt;
  }
}

}  // namespace ssestitch::mcp::detail
