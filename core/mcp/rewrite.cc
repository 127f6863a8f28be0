#include "core/mcp/rewrite.h"

#include "core/mcp/json_doc.h"

namespace ssestitch::mcp {
namespace {

namespace od = simdjson::ondemand;
using detail::canonical_id;
using detail::parse;

// Trailing whitespace that raw_json_token() includes after a scalar.
std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_true(od::value v) {
  bool b = false;
  return !v.get_bool().get(b) && b;
}

}  // namespace

std::optional<std::string> with_id(std::string_view json, std::string_view id) {
  auto doc = parse(json);
  if (!doc) return std::nullopt;
  od::object object;
  if (doc->get_object().get(object)) return std::nullopt;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return std::nullopt;
    if (key != "id") continue;
    od::value v;
    if (field.value().get(v)) return std::nullopt;
    const std::string_view raw = trim_right(v.raw_json_token());  // before reading: it does not move
    if (!canonical_id(v, false)) return std::nullopt;  // objects, arrays, fractions: not an id
    const std::size_t at = static_cast<std::size_t>(raw.data() - detail::parsed_text().data());
    std::string out(json.substr(0, at));
    out += id;
    out += json.substr(at + raw.size());
    return out;
  }
  return std::nullopt;
}

std::optional<std::string> method_of(std::string_view json) {
  auto doc = parse(json);
  if (!doc) return std::nullopt;
  std::string_view m;
  if (doc->find_field_unordered("method").get_string().get(m)) return std::nullopt;
  return std::string(m);
}

std::optional<Progress> progress_of(std::string_view json) {
  if (json.find("notifications/progress") == std::string_view::npos) return std::nullopt;
  auto doc = parse(json);
  if (!doc) return std::nullopt;
  od::object object;
  if (doc->get_object().get(object)) return std::nullopt;
  bool is_progress = false;
  std::optional<Progress> out;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return std::nullopt;
    if (key == "method") {
      std::string_view m;
      is_progress = !field.value().get_string().get(m) && m == "notifications/progress";
    } else if (key == "params") {
      od::object params;
      if (field.value().get_object().get(params)) return std::nullopt;
      Progress p;
      bool has_token = false, has_value = false;
      for (auto pf : params) {
        std::string_view pk;
        if (pf.unescaped_key().get(pk)) return std::nullopt;
        if (pk == "progressToken") {
          od::value v;
          if (pf.value().get(v)) return std::nullopt;
          auto token = canonical_id(v, false);
          has_token = token.has_value();
          if (token) p.token = std::move(*token);
        } else if (pk == "progress") {
          has_value = !pf.value().get_double().get(p.value);
        }
      }
      if (has_token && has_value) out = std::move(p);
    }
  }
  if (!is_progress) return std::nullopt;
  return out;
}

std::optional<std::string> tool_name(std::string_view request) {
  auto doc = parse(request);
  if (!doc) return std::nullopt;
  std::string_view name;
  if (doc->at_pointer("/params/name").get_string().get(name)) return std::nullopt;
  return std::string(name);
}

std::vector<ToolSafety> tool_safety(std::string_view response) {
  std::vector<ToolSafety> out;
  if (response.find("\"tools\"") == std::string_view::npos) return out;
  auto doc = parse(response);
  if (!doc) return out;
  od::array tools;
  if (doc->at_pointer("/result/tools").get_array().get(tools)) return out;
  for (auto element : tools) {
    od::object tool;
    if (element.get_object().get(tool)) return {};
    ToolSafety t;
    for (auto field : tool) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return {};
      if (key == "name") {
        std::string_view name;
        if (!field.value().get_string().get(name)) t.name = std::string(name);
      } else if (key == "annotations") {
        od::object annotations;
        if (field.value().get_object().get(annotations)) continue;
        for (auto a : annotations) {
          std::string_view ak;
          if (a.unescaped_key().get(ak)) return {};
          od::value v;
          if (a.value().get(v)) return {};
          if ((ak == "readOnlyHint" || ak == "idempotentHint") && is_true(v)) t.safe = true;
        }
      }
    }
    if (!t.name.empty()) out.push_back(std::move(t));
  }
  return out;
}

}  // namespace ssestitch::mcp
