#pragma once
// The options of `ssestitch proxy`, one row each (as ninja's tool table): the single source of
// its CLI11 options (cli.cc: flag, help, default, SSESTITCH_* variable, TOML key of --config),
// of --print-config, and so of the man page check (tests/integration/help_man.sh compares
// --help with ssestitch-proxy(1)). A new setting is a field with its default in proxy::Config
// and one row here; what needs parsing or cross-checking goes in cmd/proxy.cc make_config().

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "cmd/options.h"

namespace ssestitch::cmd {

struct ProxyOption {
  // Where the value lives; the kind of value says how it is parsed and printed.
  struct Text { std::string& (*at)(ProxyOptions&); };
  struct Choice { std::string& (*at)(ProxyOptions&); std::vector<std::string> allowed; };
  struct Flag { bool& (*at)(ProxyOptions&); };
  struct Duration { std::int64_t& (*at)(ProxyOptions&); };        // "90s", "5m"
  struct Size { std::uint64_t& (*at)(ProxyOptions&); };           // "16MiB"
  struct Count { std::uint64_t& (*at)(ProxyOptions&); std::uint64_t max = 0; };  // max 0: none
  struct List { std::vector<std::string>& (*at)(ProxyOptions&); };  // repeatable

  const char* flag;  // "--linger"
  const char* help;
  std::variant<Text, Choice, Flag, Duration, Size, Count, List> value;
  bool secret = false;  // --print-config says only whether it is set
};

// In --help order.
std::span<const ProxyOption> proxy_options();

// The effective options as TOML (what --print-config prints), secrets redacted.
std::string format_proxy_config(const ProxyOptions& options);

}  // namespace ssestitch::cmd
