#pragma once
// Small text encoders shared by the logger and the subcommands' outputs (inspect/replay JSON,
// bench JSON, HTML report, JUnit XML).

#include <string>
#include <string_view>

namespace ssestitch::util {

// Appends `s` to `out` as the inside of a JSON string (quotes not included). Shared by the
// logger and every `--json` writer so that escaping is done one way.
void json_escape_append(std::string& out, std::string_view s);
// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);
// `s` safe inside HTML/XML text and attribute values: & < > " escaped, other control characters
// than tab and newline replaced by a space (XML 1.0 forbids them).
std::string markup_escape(std::string_view s);

}  // namespace ssestitch::util
