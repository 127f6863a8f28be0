// The only translation unit that includes CLI11 (it costs ~10 s to compile; see
// shared/notes/deps-and-event-loop.md). It parses into the plain structs of cmd/options.h and
// dispatches; no work runs inside CLI11 callbacks except value conversion.

#include "cmd/cli.h"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <type_traits>
#include <variant>

#include "cmd/exit_code.h"
#include "cmd/proxy_options.h"
#include "cmd/subcommands.h"
#include "core/util/log.h"
#include "core/util/units.h"
#include "ssestitch_version.h"

namespace ssestitch::cmd {
namespace {

constexpr const char* k_description =
    "ssestitch: stitches broken Server-Sent Events streams back together.\n"
    "A resilient reverse proxy for MCP Streamable HTTP and any SSE endpoint, with a persistent\n"
    "replay log, and tools to inspect, replay and benchmark it.";

constexpr const char* k_footer =
    "Run 'ssestitch SUBCOMMAND --help' for the options of one subcommand; man ssestitch(1).";

// "--linger" -> "SSESTITCH_LINGER"
std::string env_name(const std::string& flag) {
  std::string out = "SSESTITCH_";
  for (char c : flag.substr(2)) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

CLI::Option* duration_option(CLI::App* app, const std::string& flag, std::int64_t& target,
                             const std::string& help) {
  auto* opt = app->add_option_function<std::string>(
      flag,
      [&target, flag](const std::string& v) {
        auto ms = util::parse_duration_ms(v);
        if (!ms) throw CLI::ValidationError(flag + ": " + ms.error().message);
        target = *ms;
      },
      help);
  opt->type_name("DURATION")->default_str(util::format_duration_ms(target));
  return opt;
}

CLI::Option* size_option(CLI::App* app, const std::string& flag, std::uint64_t& target,
                         const std::string& help) {
  auto* opt = app->add_option_function<std::string>(
      flag,
      [&target, flag](const std::string& v) {
        auto bytes = util::parse_size(v);
        if (!bytes) throw CLI::ValidationError(flag + ": " + bytes.error().message);
        target = *bytes;
      },
      help);
  opt->type_name("SIZE")->default_str(util::format_size(target));
  return opt;
}

void add_global_options(CLI::App& app, GlobalOptions& g) {
  app.add_option("--log-level", g.log_level, "Minimum level of log lines on stderr")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}))
      ->envname("SSESTITCH_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--log-format", g.log_format, "Log line format")
      ->check(CLI::IsMember({"text", "json"}))
      ->envname("SSESTITCH_LOG_FORMAT")
      ->capture_default_str();
}

// CLI11 2.1 reads config files only on the root app and lets them win over environment
// variables; we want flags > SSESTITCH_* environment > file > defaults, so the file is read
// here after parsing and fills only the options that flags and environment left unset.
// Keys may be top level or in a [proxy] section; unknown keys are usage errors.
void apply_config_file(CLI::App* sub, const std::string& path) {
  if (path.empty()) return;
  std::vector<CLI::ConfigItem> items = CLI::ConfigTOML().from_file(path);
  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    if (!item.parents.empty() && !(item.parents.size() == 1 && item.parents[0] == "proxy")) {
      throw CLI::ConversionError(path + ": unknown section [" + item.parents[0] + "] (use [proxy] or none)");
    }
    CLI::Option* opt = sub->get_option_no_throw("--" + item.name);
    if (opt == nullptr || item.name == "config" || item.name == "print-config") {
      throw CLI::ConversionError(path + ": unknown option \"" + item.name + "\"");
    }
    if (opt->count() > 0) continue;
    opt->add_result(item.inputs);
    opt->run_callback();
  }
}

void add_proxy(CLI::App& app, Options& o, std::string& config_path) {
  ProxyOptions& p = o.proxy;
  CLI::App* sub = app.add_subcommand("proxy", "Run the resilient reverse proxy in front of an MCP / SSE server");
  sub->callback([&o] { o.subcommand = Subcommand::proxy; });
  sub->add_option("--config", config_path, "Read options from a TOML file (flags > SSESTITCH_* env > file)")
      ->type_name("FILE");
  for (const ProxyOption& row : proxy_options()) {
    CLI::Option* opt = std::visit(
        [&](const auto& v) -> CLI::Option* {
          using V = std::decay_t<decltype(v)>;
          using O = ProxyOption;
          if constexpr (std::is_same_v<V, O::Text>) {
            std::string& target = v.at(p);
            CLI::Option* text = sub->add_option(row.flag, target, row.help);
            if (!target.empty()) text->capture_default_str();
            return text;
          } else if constexpr (std::is_same_v<V, O::Choice>) {
            return sub->add_option(row.flag, v.at(p), row.help)->check(CLI::IsMember(v.allowed))->capture_default_str();
          } else if constexpr (std::is_same_v<V, O::Flag>) {
            return sub->add_flag(row.flag, v.at(p), row.help);
          } else if constexpr (std::is_same_v<V, O::Duration>) {
            return duration_option(sub, row.flag, v.at(p), row.help);
          } else if constexpr (std::is_same_v<V, O::Size>) {
            return size_option(sub, row.flag, v.at(p), row.help);
          } else if constexpr (std::is_same_v<V, O::Count>) {
            CLI::Option* count = sub->add_option(row.flag, v.at(p), row.help)->capture_default_str();
            if (v.max != 0) count->check(CLI::Range(std::uint64_t{0}, v.max));
            return count;
          } else {
            return sub->add_option(row.flag, v.at(p), row.help);
          }
        },
        row.value);
    opt->envname(env_name(row.flag));
  }
  sub->add_flag("--print-config", p.print_config, "Print the effective configuration and exit");
}

void add_inspect(CLI::App& app, Options& o) {
  InspectOptions& i = o.inspect;
  CLI::App* sub = app.add_subcommand("inspect", "Show what a store holds: summary, sessions, streams, events, messages");
  sub->callback([&o] { o.subcommand = Subcommand::inspect; });
  sub->add_option("store", i.store, "Store directory, or its redis://HOST:PORT[/DB] / unix:///PATH URL")->required();
  sub->add_option("view", i.view, "summary, sessions, streams, events or messages (recorded by the proxy)")
      ->check(CLI::IsMember({"summary", "sessions", "streams", "events", "messages"}))->capture_default_str();
  sub->add_option("--session", i.session, "Only this session");
  sub->add_option("--stream", i.stream, "Only this stream")->check(CLI::PositiveNumber);
  sub->add_option("--after", i.after, "Events with a seq greater than this");
  sub->add_option("--limit", i.limit, "At most this many rows (0: all)");
  auto* json = sub->add_flag("--json", i.json, "One JSON document on stdout");
  sub->add_flag("--ndjson", i.ndjson, "One JSON object per line on stdout")->excludes(json);
  sub->add_option("--export-session", i.export_session, "Print this session's recorded messages as a tape file");
}

void add_replay(CLI::App& app, Options& o) {
  ReplayOptions& r = o.replay;
  CLI::App* sub = app.add_subcommand("replay", "Print, follow or serve the recorded events of a stream");
  sub->callback([&o] { o.subcommand = Subcommand::replay; });
  sub->add_option("store", r.store, "Store directory (or its Redis URL), or a tape file")->required();
  sub->add_option("--stream", r.stream, "Stream number")->check(CLI::PositiveNumber);
  auto* after = sub->add_option("--after", r.after, "Start after this seq");
  sub->add_option("--after-id", r.after_id, "Start after this event id (<stream>-<seq>)")->excludes(after);
  sub->add_option("--format", r.format, "Output format: sse or ndjson")
      ->check(CLI::IsMember({"sse", "ndjson"}))->capture_default_str();
  sub->add_option("--limit", r.limit, "Stop after this many events (0: no limit)");
  sub->add_flag("--follow", r.follow, "Keep printing events as a running proxy commits them");
  duration_option(sub, "--poll", r.poll_ms, "How often --follow looks for new events");
  sub->add_option("--serve", r.serve, "Serve the store's streams over HTTP as an SSE upstream (HOST:PORT)");
  sub->add_option("--rate", r.rate, "Events per second when serving (0: as fast as possible)")->check(CLI::NonNegativeNumber);
  sub->add_option("--drop-every", r.drop_every, "When serving, cut the connection every N events");
  sub->add_option("--session", r.session, "With --serve: serve this recorded session as a mock MCP server at /mcp");
  sub->add_option("--speed", r.speed, "Mock server: the recorded pace times this (0: as fast as possible)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  sub->add_option("--exit-after", r.exit_after, "Mock server: stop after this many requests were answered");
}

void add_bench(CLI::App& app, Options& o) {
  BenchOptions& b = o.bench;
  CLI::App* sub = app.add_subcommand("bench", "Measure the proxy's overhead, or smoke-test an MCP server (--upstream)");
  sub->callback([&o] { o.subcommand = Subcommand::bench; });
  sub->add_option("--scenarios", b.scenarios, "Comma-separated scenarios to run (default: all)")->delimiter(',');
  sub->add_option("--events", b.events, "Events per scenario (0: scenario default)");
  size_option(sub, "--size", b.size, "Event payload bytes");
  sub->add_option("--duration", b.duration_s, "Seconds per paced scenario (0: scenario default)");
  sub->add_option("--rounds", b.rounds, "Interleaved rounds; medians are reported")->check(CLI::PositiveNumber)->capture_default_str();
  sub->add_option("--against", b.against, "Another proxy command to compare ({port} {upstream} {dir})");
  sub->add_flag("--no-store-target", b.no_store_target, "Also measure the proxy with --no-store");
  sub->add_flag("--micro", b.micro, "Run the core micro-benchmarks instead");
  sub->add_option("--report", b.report, "Write a self-contained HTML report to this file");
  sub->add_option("--proxy-binary", b.proxy_binary, "ssestitch binary to benchmark (default: this one)");
  sub->add_option("--upstream", b.upstream, "Smoke-test this MCP server URL instead");
  sub->add_flag("--through-proxy", b.through_proxy, "Smoke-test through an embedded proxy with injected drops");
  sub->add_option("--call", b.calls, "Also call this tool (repeatable)");
  sub->add_option("--args", b.call_args, "JSON arguments for the matching --call");
  sub->add_option("--sessions", b.sessions, "Parallel sessions in the concurrency check")->capture_default_str();
  sub->add_option("--requests", b.requests, "Pings per session in the concurrency check")->capture_default_str();
  sub->add_option("--header", b.headers, "Extra request header 'Name: value' (never printed)");
  sub->add_option("--junit", b.junit, "Write JUnit XML results to this file");
  duration_option(sub, "--timeout", b.timeout_ms, "Per-check timeout");
  sub->add_flag("--json", b.json, "One JSON document on stdout");
}

}  // namespace

ParseResult parse_cli(int argc, const char* const* argv) {
  ParseResult result;
  Options& o = result.options;
  CLI::App app{k_description, "ssestitch"};
  app.footer(k_footer);
  app.set_version_flag("--version", std::string("ssestitch ") + SSESTITCH_VERSION);
  app.fallthrough();
  app.require_subcommand(0, 1);
  app.get_formatter()->column_width(34);
  add_global_options(app, o.global);
  std::string config_path;
  add_proxy(app, o, config_path);
  add_inspect(app, o);
  add_replay(app, o);
  add_bench(app, o);

  try {
    app.parse(argc, argv);
    if (o.subcommand == Subcommand::proxy) {
      apply_config_file(app.get_subcommand("proxy"), config_path);
      if (o.proxy.upstream.empty()) throw CLI::RequiredError("--upstream");
    }
  } catch (const CLI::CallForHelp& e) {
    std::ostringstream out, err;
    app.exit(e, out, err);
    result.done = true;
    result.output = out.str();
    return result;
  } catch (const CLI::CallForAllHelp& e) {
    std::ostringstream out, err;
    app.exit(e, out, err);
    result.done = true;
    result.output = out.str();
    return result;
  } catch (const CLI::CallForVersion& e) {
    std::ostringstream out, err;
    app.exit(e, out, err);
    result.done = true;
    result.output = out.str();
    return result;
  } catch (const CLI::ParseError& e) {
    result.done = true;
    result.exit_code = k_exit_usage;
    std::string msg = e.what();
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    result.error = "ssestitch: error: " + msg + "\nRun 'ssestitch --help' for usage.\n";
    return result;
  }
  if (o.subcommand == Subcommand::none) {
    result.done = true;
    result.exit_code = k_exit_usage;
    result.error = app.help();
    result.error += "ssestitch: error: a subcommand is required (proxy, inspect, replay or bench)\n";
  }
  return result;
}

int run(int argc, char** argv) {
  ParseResult parsed = parse_cli(argc, argv);
  if (parsed.done) {
    std::fputs(parsed.output.c_str(), stdout);
    std::fputs(parsed.error.c_str(), stderr);
    return parsed.exit_code;
  }
  const Options& o = parsed.options;
  auto level = util::parse_log_level(o.global.log_level);
  auto format = util::parse_log_format(o.global.log_format);
  if (!level || !format) {
    std::fprintf(stderr, "ssestitch: error: %s\n", (!level ? level.error() : format.error()).message.c_str());
    return k_exit_usage;
  }
  util::log_configure(*level, *format);
  try {
    switch (o.subcommand) {
      case Subcommand::proxy: return run_proxy(o.global, o.proxy);
      case Subcommand::inspect: return run_inspect(o.global, o.inspect);
      case Subcommand::replay: return run_replay(o.global, o.replay);
      case Subcommand::bench: return run_bench(o.global, o.bench);
      case Subcommand::none: break;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ssestitch: error: %s\n", e.what());
    return k_exit_failure;
  }
  return k_exit_usage;
}

}  // namespace ssestitch::cmd
