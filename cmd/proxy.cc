// `ssestitch proxy`: validates the options into a proxy::Config, opens the store, runs the proxy.

#include <cstdio>
#include <memory>
#include <string>

#include "cmd/exit_code.h"
#include "cmd/subcommands.h"
#include "core/proxy/proxy.h"
#include "core/store/lmdb_store.h"
#include "core/store/memory_store.h"
#include "core/util/log.h"
#include "core/util/units.h"

namespace ssestitch::cmd {
namespace {

util::Result<proxy::Config> make_config(const ProxyOptions& o) {
  proxy::Config c;
  auto upstream = net::parse_http_url(o.upstream);
  if (!upstream) return std::move(upstream).error();
  c.upstream = *upstream;
  auto listen = net::parse_listen_address(o.listen);
  if (!listen) return std::move(listen).error();
  c.listen = *listen;
  if (!o.admin.empty()) {
    auto admin = net::parse_listen_address(o.admin);
    if (!admin) return std::move(admin).error();
    c.admin = *admin;
  }
  c.store_dir = o.no_store ? std::string() : o.store;
  if (!o.no_store && o.store.empty()) {
    return util::fail(util::Errc::invalid_argument, "--store is empty (use --no-store for a memory-only log)");
  }
  auto sync = store::parse_sync_mode(o.sync);
  if (!sync) return std::move(sync).error();
  c.sync = *sync;
  c.sync_interval_ms = o.sync_interval_ms;
  c.retention.max_events_per_stream = o.retain_events;
  c.retention.max_bytes_per_stream = o.retain_bytes;
  c.retention.max_age_ms = o.retain_age_ms;
  c.retention.store_max_bytes = o.store_max;
  c.linger_ms = o.linger_ms;
  c.keepalive_ms = o.keepalive_ms;
  c.upstream_idle_timeout_ms = o.upstream_idle_timeout_ms;
  c.connect_timeout_ms = o.connect_timeout_ms;
  c.reconnect_base_ms = o.reconnect_base_ms;
  c.reconnect_cap_ms = o.reconnect_cap_ms;
  c.reconnect_budget_ms = o.reconnect_budget_ms;
  c.client_buffer = o.client_buffer;
  c.max_connections = o.max_connections;
  c.max_header_size = o.max_header_size;
  c.max_body_size = o.max_body_size;
  c.sse_limits.max_event_bytes = o.max_event_size;
  c.sse_limits.max_line_bytes = o.max_event_size;
  c.dedup_window = o.dedup_window;
  c.on_gap_oldest = o.on_gap == "oldest";
  c.allow_origins = o.allow_origins;
  c.require_token = o.require_token;
  c.tls.cacert = o.cacert;
  c.tls.capath = o.capath;
  c.tls.insecure = o.insecure;
  auto positive = [](std::int64_t v, const char* flag) -> util::Result<void> {
    if (v <= 0) return util::fail(util::Errc::invalid_argument, std::string(flag) + " must be greater than 0");
    return util::ok();
  };
  for (auto [v, flag] : {std::pair{c.keepalive_ms, "--keepalive"}, std::pair{c.linger_ms, "--linger"},
                         std::pair{c.upstream_idle_timeout_ms, "--upstream-idle-timeout"},
                         std::pair{c.connect_timeout_ms, "--connect-timeout"},
                         std::pair{c.reconnect_base_ms, "--reconnect-base"},
                         std::pair{c.sync_interval_ms, "--sync-interval"}}) {
    if (auto r = positive(v, flag); !r) return std::move(r).error();
  }
  if (c.reconnect_cap_ms < c.reconnect_base_ms) {
    return util::fail(util::Errc::invalid_argument, "--reconnect-cap must be at least --reconnect-base");
  }
  if (c.max_connections == 0 || c.client_buffer == 0 || c.max_header_size < 1024 || o.max_event_size < 1024) {
    return util::fail(util::Errc::invalid_argument,
                      "--max-connections and --client-buffer must be > 0, --max-header-size >= 1KiB, "
                      "--max-event-size >= 1KiB");
  }
  if (c.retention.store_max_bytes < (1u << 20)) {
    return util::fail(util::Errc::invalid_argument, "--store-max must be at least 1MiB");
  }
  return c;
}

void print_config(const ProxyOptions& o) {
  auto q = [](const std::string& s) { return "\"" + s + "\""; };
  std::printf("upstream = %s\n", q(o.upstream).c_str());
  std::printf("listen = %s\n", q(o.listen).c_str());
  std::printf("store = %s\n", q(o.store).c_str());
  std::printf("no-store = %s\n", o.no_store ? "true" : "false");
  std::printf("admin = %s\n", q(o.admin).c_str());
  std::printf("sync = %s\n", q(o.sync).c_str());
  std::printf("sync-interval = %s\n", q(util::format_duration_ms(o.sync_interval_ms)).c_str());
  std::printf("linger = %s\n", q(util::format_duration_ms(o.linger_ms)).c_str());
  std::printf("keepalive = %s\n", q(util::format_duration_ms(o.keepalive_ms)).c_str());
  std::printf("upstream-idle-timeout = %s\n", q(util::format_duration_ms(o.upstream_idle_timeout_ms)).c_str());
  std::printf("connect-timeout = %s\n", q(util::format_duration_ms(o.connect_timeout_ms)).c_str());
  std::printf("reconnect-base = %s\n", q(util::format_duration_ms(o.reconnect_base_ms)).c_str());
  std::printf("reconnect-cap = %s\n", q(util::format_duration_ms(o.reconnect_cap_ms)).c_str());
  std::printf("reconnect-budget = %s\n", q(util::format_duration_ms(o.reconnect_budget_ms)).c_str());
  std::printf("client-buffer = %s\n", q(util::format_size(o.client_buffer)).c_str());
  std::printf("max-connections = %llu\n", static_cast<unsigned long long>(o.max_connections));
  std::printf("max-header-size = %s\n", q(util::format_size(o.max_header_size)).c_str());
  std::printf("max-body-size = %s\n", q(util::format_size(o.max_body_size)).c_str());
  std::printf("max-event-size = %s\n", q(util::format_size(o.max_event_size)).c_str());
  std::printf("dedup-window = %llu\n", static_cast<unsigned long long>(o.dedup_window));
  std::printf("retain-events = %llu\n", static_cast<unsigned long long>(o.retain_events));
  std::printf("retain-bytes = %s\n", q(util::format_size(o.retain_bytes)).c_str());
  std::printf("retain-age = %s\n", q(util::format_duration_ms(o.retain_age_ms)).c_str());
  std::printf("store-max = %s\n", q(util::format_size(o.store_max)).c_str());
  std::printf("on-gap = %s\n", q(o.on_gap).c_str());
  std::string origins;
  for (const std::string& s : o.allow_origins) origins += (origins.empty() ? "" : ", ") + q(s);
  std::printf("allow-origin = [%s]\n", origins.c_str());
  std::printf("require-token = %s\n", o.require_token.empty() ? "\"\"" : "\"(redacted)\"");
  std::printf("cacert = %s\n", q(o.cacert).c_str());
  std::printf("capath = %s\n", q(o.capath).c_str());
  std::printf("insecure = %s\n", o.insecure ? "true" : "false");
}

}  // namespace

int run_proxy(const GlobalOptions&, const ProxyOptions& options) {
  auto config = make_config(options);
  if (!config) {
    std::fprintf(stderr, "ssestitch: error: %s\n", config.error().message.c_str());
    return k_exit_usage;
  }
  if (options.print_config) {
    print_config(options);
    return k_exit_ok;
  }
  std::unique_ptr<store::SessionStore> store;
  if (config->store_dir.empty()) {
    store = std::make_unique<store::MemoryStore>(config->retention);
  } else {
    store::LmdbOptions lo;
    lo.dir = config->store_dir;
    lo.sync = config->sync;
    lo.sync_interval_ms = config->sync_interval_ms;
    lo.retention = config->retention;
    auto opened = store::LmdbStore::open(lo);
    if (!opened) {
      std::fprintf(stderr, "ssestitch: error: %s\n", opened.error().message.c_str());
      return exit_code_for(opened.error().code);
    }
    store = std::move(*opened);
  }
  auto proxy = proxy::Proxy::create(*config, std::move(store));
  if (!proxy) {
    std::fprintf(stderr, "ssestitch: error: %s\n", proxy.error().message.c_str());
    return exit_code_for(proxy.error().code);
  }
  return (*proxy)->run();
}

}  // namespace ssestitch::cmd
