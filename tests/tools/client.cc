// ssestitch-testkit client: reads one SSE stream (or an MCP POST response) with
// net::UpstreamClient and verifies it, then prints one JSON summary line on stdout.
//
// What it checks:
//   - the `k` of each event (the `"progress":` of an MCP progress notification, else `"k":` of
//     the data) goes up by exactly one from the start point: a forward jump adds the missing
//     count to `lost`, a repeated or backward k adds one to `duplicates`;
//   - ids of the proxy's form `<stream>-<seq>` (both decimal) keep one stream and go up by
//     exactly one (`id_errors`); an event with empty data (MCP priming) may repeat the current id;
//   - for POST streams, whether the JSON-RPC response (an object with "result"/"error" and no
//     "method") arrived; it is not counted in `events`.
// The start point is --first-k, else k+1 of a --last-event-id this tool can read ("7",
// "ev-7-..", "st1_7"), else 1; with a proxy id and no --first-k, the first k seen is taken as is.
// Latency is CLOCK_MONOTONIC at receipt minus the event's `t` (same machine).
//
// Exit status: 0 the stream ended cleanly (or --expect / --disconnect-after was reached, or the
// response arrived) with no loss, duplicate or id error and a 2xx status; 1 otherwise (also a
// non-2xx status or a stream that ended too early); 2 usage; 3 timeout or connection failure.

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/net/address.h"
#include "core/net/event_loop.h"
#include "core/net/headers.h"
#include "core/net/upstream_client.h"
#include "core/util/log.h"
#include "core/util/text.h"
#include "tests/tools/mini_sse.h"
#include "tests/tools/testkit.h"
#include "tests/tools/tool_util.h"

namespace ssestitch::testkit::client {
namespace {

constexpr const char* k_usage =
    R"(usage: ssestitch-testkit client --url URL [--method GET|POST|DELETE] [--body JSON]
         [--header 'Name: value']... [--last-event-id ID] [--first-k K] [--expect N]
         [--reconnect] [--max-reconnects K] [--reconnect-delay-ms MS] [--disconnect-after N]
         [--timeout S] [--json] [--verbose]
URL must be http:// on 127.0.0.1, localhost or [::1]. Accept and (POST) Content-Type default
to what MCP wants; --header 'Last-Event-ID: X' is the same as --last-event-id X.
  --expect N            done after N events (an earlier end is a failure, or a reconnect)
  --reconnect           on an error, or an end before --expect / before a POST's response:
                        GET the same URL with Last-Event-ID = last id seen, after
                        --reconnect-delay-ms (10), at most --max-reconnects (100) times;
                        409, 429 and 5xx answers to a reconnect are retried too
  --disconnect-after N  drop the connection abruptly after N events and report
  --first-k K           the k expected first (default: from --last-event-id, else 1)
  --timeout S           overall deadline (60)      --verbose: events and findings on stderr
Prints one JSON line (--json is the default and only format): status, events, lost, duplicates,
id_errors, reconnects, last_id, first_k, last_k, response, response_error, latency_us_p50,
latency_us_p99, latency_samples, comments, content_type, elapsed_ms, error.
Exit: 0 verified, 1 verification failed / bad status / ended early, 2 usage, 3 timeout or
connection failure. SIGTERM/SIGINT: report what was seen so far, as for --disconnect-after.
)";

constexpr std::size_t k_max_latency_samples = 1'000'000;
constexpr std::size_t k_max_plain_body = 1u << 20;

// "<stream>-<seq>", both decimal digits only: the proxy's downstream ids.
std::optional<std::pair<unsigned long long, unsigned long long>> parse_proxy_id(std::string_view id) {
  const auto dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size()) return std::nullopt;
  const std::string_view a = id.substr(0, dash), b = id.substr(dash + 1);
  if (a.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  if (b.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  const auto sa = parse_ll(a), sb = parse_ll(b);
  if (!sa || !sb) return std::nullopt;
  return std::make_pair(static_cast<unsigned long long>(*sa), static_cast<unsigned long long>(*sb));
}

// k of an id this testkit's upstream minted: "7", "ev-7-<hex>", "<stream>_7".
std::optional<long long> k_of_upstream_id(std::string_view id) {
  if (parse_proxy_id(id)) return std::nullopt;
  if (auto k = parse_ll(id)) return k;
  if (id.starts_with("ev-")) return parse_ll(id.substr(3, id.find('-', 3) - 3));
  if (const auto us = id.rfind('_'); us != std::string_view::npos) return parse_ll(id.substr(us + 1));
  return std::nullopt;
}

struct Options {
  std::string url;
  std::string method = "GET";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string last_event_id;
  std::optional<long long> first_k;
  long long expect = 0;            // 0: none
  bool reconnect = false;
  long long max_reconnects = 100;
  long long reconnect_delay_ms = 10;
  long long disconnect_after = 0;  // 0: never
  double timeout_s = 60;
  bool verbose = false;
};

enum class Outcome { running, complete, failed, connection_failed, timed_out };

class Client final : public net::Transfer::Observer {
 public:
  Client(net::EventLoop& loop, net::UpstreamClient& http, Options options)
      : m_loop(loop),
        m_http(http),
        m_opt(std::move(options)),
        m_retry_timer(loop, [this] { connect(); }),
        m_deadline(loop, [this] { end(Outcome::timed_out, "timeout after --timeout"); }) {
    m_last_id = m_opt.last_event_id;
    if (auto p = parse_proxy_id(m_last_id)) m_prev_proxy = p;
    if (m_opt.first_k) {
      m_expected_k = *m_opt.first_k;
    } else if (m_last_id.empty()) {
      m_expected_k = 1;
    } else if (auto k = k_of_upstream_id(m_last_id)) {
      m_expected_k = *k + 1;
    }
  }

  // Starts the first request. False (with a message) when the URL is refused.
  bool start(std::string& error) {
    m_started_ns = mono_ns();
    m_deadline.arm_ms(static_cast<std::int64_t>(m_opt.timeout_s * 1000));
    if (!begin_transfer(m_opt.method, error)) return false;
    return true;
  }

  void stop_by_signal() { end(Outcome::complete, ""); }
  Outcome outcome() const noexcept { return m_outcome; }

  int exit_code() const {
    switch (m_outcome) {
      case Outcome::timed_out:
      case Outcome::connection_failed: return 3;
      case Outcome::failed:
      case Outcome::running: return 1;
      case Outcome::complete: break;
    }
    const bool status_ok = m_status >= 200 && m_status < 300;
    return status_ok && m_lost == 0 && m_duplicates == 0 && m_id_errors == 0 ? 0 : 1;
  }

  std::string summary() {
    std::string out = "{\"status\":" + std::to_string(m_status) + ",\"events\":" + std::to_string(m_events) +
                      ",\"lost\":" + std::to_string(m_lost) + ",\"duplicates\":" + std::to_string(m_duplicates) +
                      ",\"id_errors\":" + std::to_string(m_id_errors) + ",\"reconnects\":" + std::to_string(m_reconnects) +
                      ",\"last_id\":\"";
    util::json_escape_append(out, m_last_id);
    out += "\",\"first_k\":" + (m_first_k ? std::to_string(*m_first_k) : std::string("null"));
    out += ",\"last_k\":" + (m_last_k ? std::to_string(*m_last_k) : std::string("null"));
    out += std::string(",\"response\":") + (m_response ? "true" : "false");
    out += std::string(",\"response_error\":") + (m_response_error ? "true" : "false");
    std::uint64_t p50 = 0, p99 = 0;
    if (!m_latency_us.empty()) {
      p50 = percentile(0.50);
      p99 = percentile(0.99);
    }
    out += ",\"latency_us_p50\":" + std::to_string(p50) + ",\"latency_us_p99\":" + std::to_string(p99) +
           ",\"latency_samples\":" + std::to_string(m_latency_seen) + ",\"comments\":" +
           std::to_string(m_parser.comments()) + ",\"content_type\":\"";
    util::json_escape_append(out, m_content_type);
    out += "\",\"elapsed_ms\":" + std::to_string((mono_ns() - m_started_ns) / 1'000'000) + ",\"error\":\"";
    util::json_escape_append(out, m_error);
    out += "\"}";
    return out;
  }

  // Drops the transfer (closing its connection if it is still open).
  void shutdown() {
    m_transfer.reset();
    m_retry_timer.cancel();
    m_deadline.cancel();
  }

  // Transfer::Observer ---------------------------------------------------------------------

  void on_response(int status, const net::Headers& headers) override {
    m_status = status;
    m_content_type = std::string(headers.get("Content-Type").value_or(""));
    m_sse = net::media_type_is(m_content_type, "text/event-stream");
    m_plain_body.clear();
  }

  net::Transfer::BodyAction on_body(std::string_view bytes) override {
    try {
      if (!m_sse) {
        const std::size_t room = k_max_plain_body - std::min(k_max_plain_body, m_plain_body.size());
        m_plain_body.append(bytes.substr(0, room));
        return net::Transfer::BodyAction::consume;
      }
      const bool ok = m_parser.feed(bytes, [this](const MiniSseParser::Event& ev) { on_event(ev); });
      if (!ok) end(Outcome::failed, "an SSE line or event exceeded 64 MiB");
    } catch (const std::exception& e) {
      end(Outcome::failed, std::string("client error: ") + e.what());
    }
    return net::Transfer::BodyAction::consume;
  }

  void on_done(const util::Result<void>& result) override {
    try {
      m_transfer.reset();  // allowed in on_done
      finished(result);
    } catch (const std::exception& e) {
      end(Outcome::failed, std::string("client error: ") + e.what());
    }
  }

 private:
  bool begin_transfer(const std::string& method, std::string& error) {
    net::UpstreamRequest req;
    req.method = method;
    req.url = m_opt.url;
    req.connect_timeout_ms = 5000;
    bool has_accept = false, has_type = false;
    for (const auto& [name, value] : m_opt.headers) {
      req.headers.add(name, value);
      has_accept = has_accept || net::iequals(name, "Accept");
      has_type = has_type || net::iequals(name, "Content-Type");
    }
    if (!has_accept) {
      req.headers.add("Accept", method == "POST" ? "application/json, text/event-stream" : "text/event-stream");
    }
    if (method == "POST") {
      req.body = m_opt.body;
      if (!has_type) req.headers.add("Content-Type", "application/json");
    }
    if (!m_last_id.empty()) req.headers.add("Last-Event-ID", m_last_id);
    m_parser.reset();
    m_status = 0;
    m_sse = false;
    auto t = net::Transfer::start(m_http, std::move(req), this);
    if (!t) {
      error = t.error().message;
      return false;
    }
    m_transfer = std::move(*t);
    return true;
  }

  void connect() {
    std::string error;
    if (!begin_transfer("GET", error)) end(Outcome::failed, error);
  }

  // Another attempt after a failure, or the end when none is left.
  void retry_or_end(Outcome outcome, const std::string& why) {
    if (m_opt.reconnect && m_reconnects < m_opt.max_reconnects) {
      ++m_reconnects;
      if (m_opt.verbose) std::fprintf(stderr, "client: reconnect %lld (%s)\n", m_reconnects, why.c_str());
      m_retry_timer.arm_ms(m_opt.reconnect_delay_ms);
      return;
    }
    end(outcome, m_opt.reconnect ? why + " (no reconnects left)" : why);
  }

  void finished(const util::Result<void>& result) {
    if (m_outcome != Outcome::running) return;
    if (m_status != 0 && (m_status < 200 || m_status >= 300)) {
      const bool retryable = m_status == 409 || m_status == 429 || m_status >= 500;
      const std::string why = "HTTP status " + std::to_string(m_status);
      if (m_reconnects > 0 && retryable) {
        retry_or_end(Outcome::failed, why);
      } else {
        end(Outcome::failed, why);
      }
      return;
    }
    if (!result) {
      retry_or_end(Outcome::connection_failed, result.error().message);
      return;
    }
    if (!m_sse) {
      // A plain (JSON) answer: complete; an MCP request answered with JSON has its response here.
      const std::string_view body = m_plain_body;
      if (body.find("\"result\"") != std::string_view::npos) {
        m_response = true;
      } else if (body.find("\"error\"") != std::string_view::npos && body.find("\"method\"") == std::string_view::npos) {
        m_response = m_response_error = true;
      }
      end(Outcome::complete, "");
      return;
    }
    if (m_opt.method == "POST" && !m_response) {
      retry_or_end(Outcome::failed, "stream ended without the JSON-RPC response");
      return;
    }
    if (m_opt.expect > 0 && m_events < m_opt.expect) {
      retry_or_end(Outcome::failed, "stream ended after " + std::to_string(m_events) + " of " +
                                        std::to_string(m_opt.expect) + " events");
      return;
    }
    end(Outcome::complete, "");
  }

  void end(Outcome outcome, const std::string& error) {
    if (m_outcome != Outcome::running) return;
    m_outcome = outcome;
    m_error = error;
    // Inside a body callback cancel() takes effect when the callback returns; the loop then stops.
    if (m_transfer) m_transfer->cancel();
    m_retry_timer.cancel();
    m_loop.stop();
  }

  void check_id(const std::string& id, bool priming) {
    const auto p = parse_proxy_id(id);
    if (!p) return;
    if (m_prev_proxy) {
      const bool same_stream = p->first == m_prev_proxy->first;
      const bool next = same_stream && p->second == m_prev_proxy->second + 1;
      const bool repeat_ok = priming && same_stream && p->second == m_prev_proxy->second;
      if (!next && !repeat_ok) {
        ++m_id_errors;
        if (m_opt.verbose) std::fprintf(stderr, "client: id error: %s after %llu-%llu\n", id.c_str(),
                                        m_prev_proxy->first, m_prev_proxy->second);
      }
    }
    m_prev_proxy = p;
  }

  void on_event(const MiniSseParser::Event& ev) {
    if (m_outcome != Outcome::running) return;
    const bool priming = !ev.dispatch || ev.data.empty();
    if (ev.id) {
      check_id(*ev.id, priming);
      m_last_id = *ev.id;
    }
    if (priming) return;
    const std::string_view data = ev.data;
    if (m_opt.verbose) {
      std::fprintf(stderr, "client: event id=%s data=%.*s\n", ev.id ? ev.id->c_str() : "-",
                   static_cast<int>(std::min<std::size_t>(data.size(), 120)), data.data());
    }
    const bool has_method = data.find("\"method\"") != std::string_view::npos;
    if (!has_method &&
        (data.find("\"result\"") != std::string_view::npos || data.find("\"error\"") != std::string_view::npos)) {
      m_response = true;
      m_response_error = data.find("\"result\"") == std::string_view::npos;
      end(Outcome::complete, "");
      return;
    }
    ++m_events;
    std::optional<long long> k = json_find_int(data, "\"progress\":");
    if (!k) k = json_find_int(data, "\"k\":");
    if (k) verify_k(*k);
    if (const auto t = json_find_int(data, "\"t\":")) record_latency(*t);
    if (m_opt.disconnect_after > 0 && m_events >= m_opt.disconnect_after) {
      end(Outcome::complete, "");
    } else if (m_opt.expect > 0 && m_events >= m_opt.expect) {
      end(Outcome::complete, "");
    }
  }

  void verify_k(long long k) {
    if (!m_first_k) m_first_k = k;
    m_last_k = k;
    if (!m_expected_k) m_expected_k = k;
    if (k == *m_expected_k) {
      ++*m_expected_k;
    } else if (k > *m_expected_k) {
      if (m_opt.verbose) std::fprintf(stderr, "client: lost %lld..%lld\n", *m_expected_k, k - 1);
      m_lost += k - *m_expected_k;
      m_expected_k = k + 1;
    } else {
      if (m_opt.verbose) std::fprintf(stderr, "client: duplicate k=%lld (expected %lld)\n", k, *m_expected_k);
      ++m_duplicates;
    }
  }

  void record_latency(long long t_ns) {
    const long long d = mono_ns() - t_ns;
    if (d < 0) return;
    const auto us = static_cast<std::uint64_t>(d / 1000);
    ++m_latency_seen;
    if (m_latency_us.size() < k_max_latency_samples) {
      m_latency_us.push_back(us);
    } else {
      // Reservoir sampling keeps the percentiles honest with bounded memory.
      m_rng = m_rng * 6364136223846793005ULL + 1442695040888963407ULL;
      const std::uint64_t slot = (m_rng >> 11) % m_latency_seen;
      if (slot < k_max_latency_samples) m_latency_us[slot] = us;
    }
  }

  std::uint64_t percentile(double q) {
    const auto idx = static_cast<std::size_t>(q * static_cast<double>(m_latency_us.size() - 1));
    std::nth_element(m_latency_us.begin(), m_latency_us.begin() + static_cast<std::ptrdiff_t>(idx), m_latency_us.end());
    return m_latency_us[idx];
  }

  net::EventLoop& m_loop;
  net::UpstreamClient& m_http;
  Options m_opt;
  net::Timer m_retry_timer;
  net::Timer m_deadline;
  std::unique_ptr<net::Transfer> m_transfer;
  MiniSseParser m_parser;
  Outcome m_outcome = Outcome::running;
  std::string m_error;
  std::int64_t m_started_ns = 0;

  int m_status = 0;
  std::string m_content_type;
  bool m_sse = false;
  std::string m_plain_body;

  long long m_events = 0, m_lost = 0, m_duplicates = 0, m_id_errors = 0, m_reconnects = 0;
  std::string m_last_id;
  std::optional<std::pair<unsigned long long, unsigned long long>> m_prev_proxy;
  std::optional<long long> m_expected_k, m_first_k, m_last_k;
  bool m_response = false;
  bool m_response_error = false;  // the response was a JSON-RPC error
  std::vector<std::uint64_t> m_latency_us;
  std::uint64_t m_latency_seen = 0;
  std::uint64_t m_rng = 0x853c49e6748fea9bULL;
};

bool is_loopback_url(const std::string& url) {
  auto u = net::parse_http_url(url);
  if (!u || u->scheme != "http") return false;
  return u->host == "127.0.0.1" || u->host == "localhost" || u->host == "[::1]";
}

// Parses argv into `o`; returns an error message, empty when fine.
std::string parse_options(const std::vector<std::string>& argv, Options& o) {
  auto num = [](const std::string& v, long long& out) {
    const auto n = parse_ll(v);
    if (!n || *n < 0) return false;
    out = *n;
    return true;
  };
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--reconnect") {
      o.reconnect = true;
      continue;
    }
    if (a == "--json") continue;  // the summary is always JSON; accepted for explicitness
    if (a == "--verbose") {
      o.verbose = true;
      continue;
    }
    if (i + 1 >= argv.size()) return "missing value after " + a;
    const std::string& v = argv[++i];
    long long n = 0;
    if (a == "--url") {
      o.url = v;
    } else if (a == "--method") {
      if (v != "GET" && v != "POST" && v != "DELETE") return "--method must be GET, POST or DELETE";
      o.method = v;
    } else if (a == "--body") {
      o.body = v;
    } else if (a == "--header") {
      const auto colon = v.find(':');
      if (colon == std::string::npos || colon == 0) return "--header wants 'Name: value', got '" + v + "'";
      std::string value = v.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      if (net::iequals(v.substr(0, colon), "Last-Event-ID")) {
        o.last_event_id = value;  // the resume cursor, updated on every reconnect
      } else {
        o.headers.emplace_back(v.substr(0, colon), value);
      }
    } else if (a == "--last-event-id") {
      o.last_event_id = v;
    } else if (a == "--first-k") {
      const auto k = parse_ll(v);
      if (!k) return "--first-k wants an integer";
      o.first_k = *k;
    } else if (a == "--expect") {
      if (!num(v, o.expect)) return "--expect wants a count";
    } else if (a == "--max-reconnects") {
      if (!num(v, o.max_reconnects)) return "--max-reconnects wants a count";
    } else if (a == "--reconnect-delay-ms") {
      if (!num(v, o.reconnect_delay_ms)) return "--reconnect-delay-ms wants milliseconds";
    } else if (a == "--disconnect-after") {
      if (!num(v, o.disconnect_after)) return "--disconnect-after wants a count";
    } else if (a == "--timeout") {
      if (!num(v, n) || n == 0) return "--timeout wants seconds > 0";
      o.timeout_s = static_cast<double>(n);
    } else {
      return "unknown option " + a;
    }
  }
  if (o.url.empty()) return "--url is required";
  if (!is_loopback_url(o.url)) return "--url must be http:// on 127.0.0.1, localhost or [::1]: " + o.url;
  return {};
}

int client_main(const std::vector<std::string>& argv) {
  Options options;
  if (const std::string err = parse_options(argv, options); !err.empty()) {
    std::fprintf(stderr, "client: error: %s\n%s", err.c_str(), k_usage);
    return 2;
  }
  util::log_configure(util::LogLevel::warn, util::LogFormat::text);
  net::init_process();
  auto loop = net::EventLoop::create();
  if (!loop) {
    std::fprintf(stderr, "client: error: %s\n", loop.error().message.c_str());
    return 3;
  }
  net::EventLoop& ev = **loop;
  auto http = net::UpstreamClient::create(ev, net::TlsOptions{});
  if (!http) {
    std::fprintf(stderr, "client: error: %s\n", http.error().message.c_str());
    return 3;
  }
  int rc = 0;
  {
    Client client(ev, **http, std::move(options));
    std::string error;
    if (!client.start(error)) {
      std::fprintf(stderr, "client: error: %s\n", error.c_str());
      return 2;
    }
    net::SignalWatcher signals(ev, {SIGTERM, SIGINT}, [&client](int) { client.stop_by_signal(); });
    if (client.outcome() == Outcome::running) ev.run();
    block_termination_signals();
    client.shutdown();
    std::printf("%s\n", client.summary().c_str());
    std::fflush(stdout);
    rc = client.exit_code();
  }
  return rc;
}

const Register k_register{"client", "verifying SSE / MCP stream client (one JSON summary line)", &client_main};

}  // namespace
}  // namespace ssestitch::testkit::client
