#include "core/mcp/rewrite.h"

#include "core/mcp/json_doc.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

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

// Appends `v` canonically (rewrite.h canonical_params); false on malformed JSON.
bool append_canonical(std::string& out, od::value v) {
  od::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (v.get_object().get(object)) return false;
      std::vector<std::pair<std::string, std::string>> members;
      for (auto field : object) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return false;
        od::value value;
        if (field.value().get(value)) return false;
        if (key == "_meta") continue;
        std::string text;
        if (!append_canonical(text, value)) return false;
        members.emplace_back(detail::quoted(key), std::move(text));
      }
      std::sort(members.begin(), members.end());
      out += '{';
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i > 0) out += ',';
        out += members[i].first;
        out += ':';
        out += members[i].second;
      }
      out += '}';
      return true;
    }
    case od::json_type::array: {
      od::array array;
      if (v.get_array().get(array)) return false;
      out += '[';
      bool first = true;
      for (auto element : array) {
        od::value value;
        if (element.get(value)) return false;
        if (!first) out += ',';
        first = false;
        if (!append_canonical(out, value)) return false;
      }
      out += ']';
      return true;
    }
    case od::json_type::string: {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      out += detail::quoted(s);
      return true;
    }
    default: {
      std::string_view raw = trim_right(v.raw_json_token());
      out += raw;
      return true;
    }
  }
}

bool is_true(od::value v) {
  bool b = false;
  return !v.get_bool().get(b) && b;
}

}  // namespace

namespace {

// `json` with the value at the object path `keys` replaced by `value`; the value must be a
// string or an integer (an id or a token).
std::optional<std::string> replace_member(std::string_view json, std::initializer_list<std::string_view> keys,
                                          std::string_view value) {
  auto doc = parse(json);
  if (!doc) return std::nullopt;
  od::object object;
  if (doc->get_object().get(object)) return std::nullopt;
  const std::string_view* key = keys.begin();
  for (;;) {
    bool found = false;
    for (auto field : object) {
      std::string_view k;
      if (field.unescaped_key().get(k)) return std::nullopt;
      if (k != *key) continue;
      od::value v;
      if (field.value().get(v)) return std::nullopt;
      if (key + 1 != keys.end()) {
        if (v.get_object().get(object)) return std::nullopt;
        ++key;
        found = true;
        break;
      }
      const std::string_view raw = trim_right(v.raw_json_token());  // before reading: it does not move
      if (!canonical_id(v, false)) return std::nullopt;  // objects, arrays, fractions: not an id
      const std::size_t at = static_cast<std::size_t>(raw.data() - detail::parsed_text().data());
      std::string out(json.substr(0, at));
      out += value;
      out += json.substr(at + raw.size());
      return out;
    }
    if (!found) return std::nullopt;
  }
}

}  // namespace

std::optional<std::string> with_id(std::string_view json, std::string_view id) {
  return replace_member(json, {"id"}, id);
}

std::optional<std::string> with_progress_token(std::string_view json, std::string_view token) {
  return replace_member(json, {"params", "progressToken"}, token);
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

std::optional<std::string> canonical_params(std::string_view request) {
  auto doc = parse(request);
  if (!doc) return std::nullopt;
  od::object object;
  if (doc->get_object().get(object)) return std::nullopt;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return std::nullopt;
    if (key != "params") continue;
    od::value v;
    if (field.value().get(v)) return std::nullopt;
    std::string out;
    if (!append_canonical(out, v)) return std::nullopt;
    return out;
  }
  return std::string("{}");
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
