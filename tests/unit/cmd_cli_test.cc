#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "cmd/cli.h"
#include "cmd/exit_code.h"
#include "tests/unit/test_support.h"

using namespace ssestitch;

namespace {

cmd::ParseResult parse(std::vector<const char*> args) {
  args.insert(args.begin(), "ssestitch");
  return cmd::parse_cli(static_cast<int>(args.size()), args.data());
}

// Sets an environment variable for the scope of one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : m_name(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(m_name); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* m_name;
};

}  // namespace

TEST_SUITE_BEGIN("cmd");

TEST_CASE("cmd::parse_cli") {
  SUBCASE("help lists the four subcommands and exits 0") {
    auto r = parse({"--help"});
    CHECK(r.done);
    CHECK(r.exit_code == 0);
    for (const char* sub : {"proxy", "inspect", "replay", "bench"}) CHECK(r.output.find(sub) != std::string::npos);
  }
  SUBCASE("version") {
    auto r = parse({"--version"});
    CHECK(r.done);
    CHECK(r.exit_code == 0);
    CHECK(r.output.rfind("ssestitch ", 0) == 0);
  }
  SUBCASE("no subcommand is a usage error") {
    auto r = parse({});
    CHECK(r.exit_code == cmd::k_exit_usage);
    CHECK(r.error.find("a subcommand is required") != std::string::npos);
  }
  SUBCASE("unknown flag is a one-line usage error") {
    auto r = parse({"proxy", "--upstream", "http://x/", "--bogus"});
    CHECK(r.exit_code == cmd::k_exit_usage);
    CHECK(r.error.rfind("ssestitch: error: The following argument was not expected: --bogus\n", 0) == 0);
  }
  SUBCASE("bad duration names the flag and the value") {
    auto r = parse({"proxy", "--upstream", "http://x/", "--linger", "5x"});
    CHECK(r.exit_code == cmd::k_exit_usage);
    CHECK(r.error.find("--linger: invalid duration \"5x\"") != std::string::npos);
  }
  SUBCASE("proxy requires --upstream") {
    auto r = parse({"proxy"});
    CHECK(r.exit_code == cmd::k_exit_usage);
    CHECK(r.error.find("--upstream is required") != std::string::npos);
  }
  SUBCASE("global options work before and after the subcommand") {
    auto a = parse({"--log-level", "debug", "proxy", "--upstream", "http://x/"});
    auto b = parse({"proxy", "--upstream", "http://x/", "--log-level", "debug"});
    REQUIRE_FALSE(a.done);
    REQUIRE_FALSE(b.done);
    CHECK(a.options.global.log_level == "debug");
    CHECK(b.options.global.log_level == "debug");
  }
  SUBCASE("units are parsed into the option structs") {
    auto r = parse({"proxy", "--upstream", "http://x/", "--linger", "10m", "--client-buffer", "2MiB"});
    REQUIRE_FALSE(r.done);
    CHECK(r.options.subcommand == cmd::Subcommand::proxy);
    CHECK(r.options.proxy.config.linger_ms == 600'000);
    CHECK(r.options.proxy.config.client_buffer == (2u << 20));
  }
}

TEST_CASE("cmd::parse_cli precedence: flags > environment > config file > defaults") {
  test::TempDir dir("cli");
  const std::string file = dir.str() + "/proxy.toml";
  {
    std::ofstream out(file);
    out << "upstream = \"http://127.0.0.1:3000/mcp\"\n"
           "listen = \"127.0.0.1:9001\"\n"
           "linger = \"10m\"\n"
           "allow-origin = [\"http://a\", \"http://b\"]\n"
           "[proxy]\n"
           "keepalive = \"20s\"\n";
  }
  SUBCASE("file over defaults") {
    auto r = parse({"proxy", "--config", file.c_str()});
    REQUIRE_FALSE(r.done);
    CHECK(r.options.proxy.upstream == "http://127.0.0.1:3000/mcp");
    CHECK(r.options.proxy.listen == "127.0.0.1:9001");
    CHECK(r.options.proxy.config.linger_ms == 600'000);
    CHECK(r.options.proxy.config.keepalive_ms == 20'000);
    CHECK(r.options.proxy.config.allow_origins == std::vector<std::string>{"http://a", "http://b"});
    CHECK(r.options.proxy.store == "./ssestitch-store");
  }
  SUBCASE("environment over file") {
    ScopedEnv env("SSESTITCH_LISTEN", "127.0.0.1:9002");
    auto r = parse({"proxy", "--config", file.c_str()});
    REQUIRE_FALSE(r.done);
    CHECK(r.options.proxy.listen == "127.0.0.1:9002");
  }
  SUBCASE("flags over environment") {
    ScopedEnv env("SSESTITCH_LISTEN", "127.0.0.1:9002");
    auto r = parse({"proxy", "--config", file.c_str(), "--listen", "127.0.0.1:9003"});
    REQUIRE_FALSE(r.done);
    CHECK(r.options.proxy.listen == "127.0.0.1:9003");
  }
  SUBCASE("unknown key in the file is a usage error") {
    {
      std::ofstream out(file, std::ios::app);
      out << "bogus = 1\n";
    }
    auto r = parse({"proxy", "--config", file.c_str()});
    CHECK(r.exit_code == cmd::k_exit_usage);
    CHECK(r.error.find("unknown option \"bogus\"") != std::string::npos);
  }
  SUBCASE("missing file is a usage error") {
    auto r = parse({"proxy", "--config", "/nonexistent/proxy.toml"});
    CHECK(r.exit_code == cmd::k_exit_usage);
  }
}

TEST_SUITE_END();
