#include <doctest/doctest.h>

#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "cmd/proxy_options.h"

using namespace ssestitch;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Changes the value `row` reaches.
void touch(const cmd::ProxyOption& row, cmd::ProxyOptions& o) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, cmd::ProxyOption::Flag>) {
          v.at(o) = !v.at(o);
        } else if constexpr (std::is_same_v<V, cmd::ProxyOption::List>) {
          v.at(o).push_back("http://x");
        } else if constexpr (std::is_same_v<V, cmd::ProxyOption::Text> || std::is_same_v<V, cmd::ProxyOption::Choice>) {
          v.at(o) += "x";
        } else {
          v.at(o) += 7;
        }
      },
      row.value);
}

}  // namespace

TEST_SUITE_BEGIN("cmd");

TEST_CASE("cmd::proxy_options: one row per flag, each reaching a field of its own") {
  const cmd::ProxyOptions defaults;
  const std::vector<std::string> base = lines(cmd::format_proxy_config(defaults));
  REQUIRE(base.size() == cmd::proxy_options().size());
  std::set<std::string> flags;
  std::size_t i = 0;
  for (const cmd::ProxyOption& row : cmd::proxy_options()) {
    CAPTURE(row.flag);
    CHECK(flags.insert(row.flag).second);
    CHECK(std::string(row.flag).starts_with("--"));
    CHECK(base[i].starts_with(std::string(row.flag + 2) + " = "));
    cmd::ProxyOptions changed;
    touch(row, changed);
    const std::vector<std::string> now = lines(cmd::format_proxy_config(changed));
    for (std::size_t k = 0; k < base.size(); ++k) {
      if (k == i) {
        CHECK(now[k] != base[k]);  // its own line changed (a secret shows "(redacted)")
      } else {
        CHECK(now[k] == base[k]);  // and no other
      }
    }
    ++i;
  }
}

TEST_CASE("cmd::format_proxy_config: defaults from proxy::Config, secrets redacted") {
  cmd::ProxyOptions o;
  const std::string text = cmd::format_proxy_config(o);
  CHECK(text.find("linger = \"5m\"\n") != std::string::npos);
  CHECK(text.find("keepalive = \"15s\"\n") != std::string::npos);
  CHECK(text.find("max-connections = 1024\n") != std::string::npos);
  CHECK(text.find("require-token = \"\"\n") != std::string::npos);
  o.config.require_token = "s3cret";
  o.config.allow_origins = {"http://a", "http://b"};
  const std::string set = cmd::format_proxy_config(o);
  CHECK(set.find("s3cret") == std::string::npos);
  CHECK(set.find("require-token = \"(redacted)\"\n") != std::string::npos);
  CHECK(set.find("allow-origin = [\"http://a\", \"http://b\"]\n") != std::string::npos);
}

TEST_SUITE_END();
