#include "core/mcp/message.h"

#include <algorithm>

#include "core/mcp/json_doc.h"
#include "core/util/log.h"
#include "core/util/text.h"

namespace ssestitch::mcp {
namespace {

using detail::canonical_id;
using detail::parse;
namespace od = simdjson::ondemand;

struct Fields {
  bool jsonrpc_ok = false;
  bool has_method = false;
  std::string method;
  std::optional<std::string> id;
  bool id_present = false;
  bool id_valid = false;
  bool has_result = false;
  bool has_error = false;
};

// Reads the fields of one message object in a single pass (field order is arbitrary).
simdjson::error_code read_fields(od::object object, Fields& f) {
  for (auto field : object) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key); err) return err;
    if (key == "jsonrpc") {
      std::string_view v;
      f.jsonrpc_ok = !field.value().get_string().get(v) && v == "2.0";
    } else if (key == "method") {
      std::string_view v;
      f.has_method = !field.value().get_string().get(v);
      if (f.has_method) f.method = std::string(v);
    } else if (key == "id") {
      f.id_present = true;
      od::value v;
      if (auto err = field.value().get(v); err) return err;
      f.id = canonical_id(v, true);
      f.id_valid = f.id.has_value();
    } else if (key == "result") {
      f.has_result = true;
    } else if (key == "error") {
      f.has_error = true;
    }
  }
  return simdjson::SUCCESS;
}

util::Result<Message> to_message(const Fields& f, std::size_t index, bool batch) {
  const std::string where = batch ? "message " + std::to_string(index + 1) + " of the batch" : "the message";
  auto bad = [&](const std::string& why) {
    return util::fail(util::Errc::not_jsonrpc, "not JSON-RPC: " + where + " " + why);
  };
  if (!f.jsonrpc_ok) return bad("has no \"jsonrpc\":\"2.0\"");
  Message m;
  if (f.has_method) {
    if (f.has_result || f.has_error) return bad("has both a method and a result or error");
    if (f.id_present) {
      if (!f.id_valid || *f.id == "null") return bad("has an id that is not a string or a 64-bit integer");
      m.kind = Kind::request;
      m.id = *f.id;
    } else {
      m.kind = Kind::notification;
    }
    m.method = f.method;
    return m;
  }
  if (f.has_result == f.has_error) return bad("has neither a method nor exactly one of result and error");
  if (!f.id_present || !f.id_valid) return bad("is a response without a valid id");
  m.kind = Kind::response;
  m.id = *f.id;
  m.error = f.has_error;
  return m;
}

}  // namespace

Era era_of(std::string_view v) {
  const bool date = v.size() == 10 && v[4] == '-' && v[7] == '-' &&
                    std::all_of(v.begin(), v.end(), [](char c) { return c == '-' || (c >= '0' && c <= '9'); });
  // ISO dates compare as strings.
  return date && v >= std::string_view("2026-07-28") ? Era::stateless : Era::sessions;
}

bool PostBody::has_initialize() const noexcept {
  return std::any_of(messages.begin(), messages.end(),
                     [](const Message& m) { return m.kind == Kind::request && m.method == "initialize"; });
}

bool is_retry_safe(std::string_view method) noexcept {
  constexpr std::string_view safe[] = {"ping",           "tools/list",   "resources/list",      "resources/templates/list",
                                       "resources/read", "prompts/list", "prompts/get",         "completion/complete",
                                       "server/discover"};
  return std::find(std::begin(safe), std::end(safe), method) != std::end(safe);
}

bool PostBody::has_initialized() const noexcept {
  return std::any_of(messages.begin(), messages.end(), [](const Message& m) {
    return m.kind == Kind::notification && m.method == "notifications/initialized";
  });
}

std::vector<std::string> PostBody::request_ids() const {
  std::vector<std::string> ids;
  for (const Message& m : messages) {
    if (m.kind == Kind::request) ids.push_back(m.id);
  }
  return ids;
}

util::Result<PostBody> classify_post(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return std::move(doc).error();
  od::json_type type;
  if (auto err = doc->type().get(type); err) {
    return util::fail(util::Errc::json_invalid, std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  PostBody out;
  auto invalid = [](simdjson::error_code err) {
    return util::fail(util::Errc::json_invalid, std::string("invalid JSON: ") + simdjson::error_message(err));
  };
  if (type == od::json_type::object) {
    od::object object;
    if (auto err = doc->get_object().get(object); err) return invalid(err);
    Fields f;
    if (auto err = read_fields(object, f); err) return invalid(err);
    auto m = to_message(f, 0, false);
    if (!m) return std::move(m).error();
    out.messages.push_back(std::move(*m));
  } else if (type == od::json_type::array) {
    out.batch = true;
    od::array array;
    if (auto err = doc->get_array().get(array); err) return invalid(err);
    std::size_t index = 0;
    for (auto element : array) {
      od::value value;
      if (auto err = element.get(value); err) return invalid(err);
      od::json_type et;
      if (auto err = value.type().get(et); err) return invalid(err);
      if (et != od::json_type::object) {
        // Skip the value so that an error later in the document is still seen as json_invalid.
        return util::fail(util::Errc::not_jsonrpc,
                          "not JSON-RPC: message " + std::to_string(index + 1) + " of the batch is not an object");
      }
      od::object object;
      if (auto err = value.get_object().get(object); err) return invalid(err);
      Fields f;
      if (auto err = read_fields(object, f); err) return invalid(err);
      auto m = to_message(f, index, true);
      if (!m) return std::move(m).error();
      out.messages.push_back(std::move(*m));
      ++index;
    }
    if (index == 0) return util::fail(util::Errc::not_jsonrpc, "not JSON-RPC: empty batch");
  } else {
    // A scalar root: tell a valid scalar (not JSON-RPC) from a malformed one (not JSON).
    simdjson::error_code err = simdjson::SUCCESS;
    switch (type) {
      case od::json_type::null: {
        bool is_null = false;
        err = doc->is_null().get(is_null);
        if (!err && !is_null) err = simdjson::N_ATOM_ERROR;
        break;
      }
      case od::json_type::boolean: {
        bool b = false;
        err = doc->get_bool().get(b);
        break;
      }
      case od::json_type::number: {
        double d = 0;
        err = doc->get_double().get(d);
        break;
      }
      case od::json_type::string: {
        std::string_view sv;
        err = doc->get_string().get(sv);
        break;
      }
      default: break;
    }
    if (err) return invalid(err);
    return util::fail(util::Errc::not_jsonrpc, "not JSON-RPC: the body is neither an object nor an array");
  }
  // After the root value, a location still in bounds means there is more: trailing content.
  const char* rest = nullptr;
  if (!doc->current_location().get(rest)) {
    return util::fail(util::Errc::json_invalid, "invalid JSON: trailing content after the document");
  }
  return out;
}

std::vector<std::string> response_ids(std::string_view data) {
  std::vector<std::string> ids;
  // Cheap pre-check: responses carry "result" or "error"; most events are notifications.
  if (data.find("\"result\"") == std::string_view::npos && data.find("\"error\"") == std::string_view::npos) {
    return ids;
  }
  auto body = classify_post(data);
  if (!body) return ids;
  for (const Message& m : body->messages) {
    if (m.kind == Kind::response && m.id != "null") ids.push_back(m.id);
  }
  return ids;
}

std::optional<std::string> response_id(std::string_view data) {
  auto ids = response_ids(data);
  if (ids.empty()) return std::nullopt;
  return ids.front();
}

std::optional<std::string> initialize_result_version(std::string_view data) {
  auto doc = parse(data);
  if (!doc) return std::nullopt;
  std::string_view v;
  if (doc->at_pointer("/result/protocolVersion").get_string().get(v)) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> json_at(std::string_view json, std::string_view pointer) {
  auto doc = parse(json);
  if (!doc) return std::nullopt;
  od::value v;
  if (doc->at_pointer(pointer).get(v)) return std::nullopt;
  std::string_view raw;
  if (simdjson::to_json_string(v).get(raw)) return std::nullopt;
  return std::string(raw);
}

std::optional<std::string> json_string_at(std::string_view json, std::string_view pointer) {
  auto doc = parse(json);
  if (!doc) return std::nullopt;
  std::string_view s;
  if (doc->at_pointer(pointer).get_string().get(s)) return std::nullopt;
  return std::string(s);
}

std::optional<std::size_t> json_array_size(std::string_view json, std::string_view pointer) {
  auto doc = parse(json);
  if (!doc) return std::nullopt;
  od::array a;
  if (doc->at_pointer(pointer).get_array().get(a)) return std::nullopt;
  std::size_t n = 0;
  if (a.count_elements().get(n)) return std::nullopt;
  return n;
}

std::string error_response(std::string_view id, int code, std::string_view message) {
  std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
  out += id;
  out += ",\"error\":{\"code\":";
  out += std::to_string(code);
  out += ",\"message\":\"";
  util::json_escape_append(out, message);
  out += "\"}}";
  return out;
}

}  // namespace ssestitch::mcp
