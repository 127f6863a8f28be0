#pragma once
// Small text encoders shared by the subcommands' outputs (inspect/replay JSON, bench JSON, HTML
// report, JUnit XML).

#include <string>
#include <string_view>

namespace ssestitch::util {

// `s` as a JSON string literal, quotes included (escaping as json_escape_append in log.h).
std::string json_quote(std::string_view s);
// `s` safe inside HTML/XML text and attribute values: & < > " escaped, other control characters
// than tab and newline replaced by a space (XML 1.0 forbids them).
std::string markup_escape(std::string_view s);

}  // namespace ssestitch::util
