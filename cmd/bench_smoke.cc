#include "cmd/bench_smoke.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "cmd/exit_code.h"
#include "core/bench/child.h"
#include "core/bench/loopback.h"
#include "core/bench/relay.h"
#include "core/bench/smoke.h"
#include "core/net/address.h"
#include "core/util/text.h"

namespace ssestitch::cmd {
namespace {

std::string junit(const bench::SmokeReport& r, const std::string& url) {
  std::size_t failures = 0, skipped = 0;
  for (const auto& c : r.checks) {
    failures += c.status == bench::Check::Status::fail && c.required;
    skipped += c.status == bench::Check::Status::skip;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"ssestitch bench " + util::markup_escape(url) +
                    "\" tests=\"" + std::to_string(r.checks.size()) + "\" failures=\"" + std::to_string(failures) +
                    "\" skipped=\"" + std::to_string(skipped) + "\">\n";
  for (const auto& c : r.checks) {
    char t[32];
    std::snprintf(t, sizeof t, "%.3f", c.ms / 1000);
    out += "  <testcase classname=\"mcp-smoke\" name=\"" + util::markup_escape(c.name) + "\" time=\"" + t + "\">";
    if (c.status == bench::Check::Status::fail && c.required) {
      out += "<failure message=\"" + util::markup_escape(c.detail) + "\"/>";
    } else if (c.status == bench::Check::Status::skip) {
      out += "<skipped message=\"" + util::markup_escape(c.detail) + "\"/>";
    } else {
      out += "<system-out>" + util::markup_escape(c.detail) + "</system-out>";
    }
    out += "</testcase>\n";
  }
  return out + "</testsuite>\n";
}

}  // namespace

std::string self_path() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("ssestitch") : p.string();
}

int run_smoke(const BenchOptions& o) {
  auto url = net::parse_http_url(o.upstream);
  if (!url) {
    std::fprintf(stderr, "ssestitch: error: --upstream: %s\n", url.error().message.c_str());
    return k_exit_usage;
  }
  if (o.calls.size() < o.call_args.size()) {
    std::fprintf(stderr, "ssestitch: error: --args without a matching --call\n");
    return k_exit_usage;
  }
  for (const std::string& h : o.headers) {
    if (h.find(':') == std::string::npos || h.find_first_of("\r\n") != std::string::npos) {
      std::fprintf(stderr, "ssestitch: error: --header must be 'Name: value' (one line)\n");
      return k_exit_usage;
    }
  }
  bench::SmokeOptions so;
  so.url = o.upstream;
  so.headers = o.headers;
  for (std::size_t i = 0; i < o.calls.size(); ++i) so.calls.emplace_back(o.calls[i], i < o.call_args.size() ? o.call_args[i] : "{}");
  so.sessions = o.sessions;
  so.requests = o.requests;
  so.timeout_ms = o.timeout_ms;

  // --through-proxy: the same checklist through a child `ssestitch proxy` (memory store) whose
  // upstream connections a relay cuts every 16 KiB, so streamed answers cross drops.
  std::unique_ptr<bench::CuttingRelay> relay;
  std::unique_ptr<bench::Child> proxy;
  std::string proxy_log;
  if (o.through_proxy) {
    if (url->scheme != "http" || (url->host != "127.0.0.1" && url->host != "localhost" && url->host != "[::1]")) {
      std::fprintf(stderr, "ssestitch: error: --through-proxy injects drops on loopback only: --upstream must be http://127.0.0.1:PORT/...\n");
      return k_exit_usage;
    }
    auto r = bench::CuttingRelay::start(url->port, 16u << 10);
    if (!r) {
      std::fprintf(stderr, "ssestitch: error: %s\n", r.error().message.c_str());
      return k_exit_failure;
    }
    relay = std::move(*r);
    const std::string relayed = "http://127.0.0.1:" + std::to_string(relay->port()) + url->path;
    auto port = bench::free_port();
    if (!port) {
      std::fprintf(stderr, "ssestitch: error: %s\n", port.error().message.c_str());
      return k_exit_failure;
    }
    proxy_log = (std::filesystem::temp_directory_path() / ("ssestitch-bench-proxy-" + std::to_string(*port) + ".log")).string();
    const std::string& log = proxy_log;
    auto child = bench::Child::start("'" + self_path() + "' proxy --listen 127.0.0.1:{port} --upstream '" + relayed +
                                         "' --no-store --log-level warn --reconnect-base 50ms",
                                     *port, o.upstream, "", log);
    if (!child) {
      std::fprintf(stderr, "ssestitch: error: %s\n", child.error().message.c_str());
      return k_exit_failure;
    }
    proxy = std::move(*child);
    so.url = "http://127.0.0.1:" + std::to_string(*port) + url->path;
    std::fprintf(stderr, "bench: checking %s through ssestitch proxy at %s\n", o.upstream.c_str(), so.url.c_str());
  }

  bench::SmokeReport r = bench::run_smoke_checks(so);
  if (proxy) proxy->stop();
  if (relay) {
    const std::uint64_t cuts = relay->cuts();
    r.checks.push_back(bench::Check{"drops", cuts > 0 ? bench::Check::Status::pass : bench::Check::Status::skip,
                                    cuts > 0 ? std::to_string(cuts) + " upstream connections cut under the proxy, hidden from the checks"
                                             : "no answer was long enough to cut (16 KiB); --call a streaming tool",
                                    0, false});
    relay.reset();
  }
  std::size_t passed = 0, failed = 0, skipped = 0;
  for (const auto& c : r.checks) {
    if (c.status == bench::Check::Status::pass) ++passed;
    if (c.status == bench::Check::Status::skip) ++skipped;
    if (c.status == bench::Check::Status::fail && c.required) ++failed;
  }
  if (!proxy_log.empty()) {  // kept only when it can explain a failure
    if (failed == 0) {
      std::filesystem::remove(proxy_log);
    } else {
      std::fprintf(stderr, "bench: the proxy's log is %s\n", proxy_log.c_str());
    }
  }
  if (o.json) {
    std::string out = "{\"upstream\":" + util::json_quote(o.upstream) + ",\"through_proxy\":" + (o.through_proxy ? "true" : "false") +
                      ",\"protocol_version\":" + util::json_quote(r.protocol_version) + ",\"checks\":[";
    for (std::size_t i = 0; i < r.checks.size(); ++i) {
      const auto& c = r.checks[i];
      char ms[32];
      std::snprintf(ms, sizeof ms, "%.3f", c.ms);
      out += std::string(i ? "," : "") + "{\"name\":" + util::json_quote(c.name) + ",\"status\":" + util::json_quote(bench::to_string(c.status)) +
             ",\"required\":" + (c.required ? "true" : "false") + ",\"detail\":" + util::json_quote(c.detail) + ",\"ms\":" + ms + "}";
    }
    out += "],\"passed\":" + std::to_string(passed) + ",\"failed\":" + std::to_string(failed) + ",\"skipped\":" + std::to_string(skipped) + "}\n";
    std::fputs(out.c_str(), stdout);
  } else {
    for (const auto& c : r.checks) {
      std::printf("%-4s  %-16s %s%s\n", std::string(bench::to_string(c.status)).c_str(), c.name.c_str(), c.detail.c_str(),
                  c.status == bench::Check::Status::fail && !c.required ? " (informational)" : "");
    }
    std::printf("%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
  }
  if (!o.junit.empty()) {
    std::ofstream f(o.junit, std::ios::trunc);
    f << junit(r, o.upstream);
    if (!f) {
      std::fprintf(stderr, "ssestitch: error: cannot write %s\n", o.junit.c_str());
      return k_exit_failure;
    }
  }
  // A server that is down fails its first check like any other failure (exit 1): CI wants one
  // "the server is broken" code from the smoke test.
  if (r.unreachable) std::fprintf(stderr, "ssestitch: error: %s is unreachable\n", o.upstream.c_str());
  return failed == 0 ? k_exit_ok : k_exit_failure;
}

}  // namespace ssestitch::cmd
