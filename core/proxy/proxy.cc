#include "core/proxy/proxy.h"

#include <csignal>

#include "core/net/event_loop.h"
#include "core/net/http_server.h"
#include "core/net/upstream_client.h"
#include "core/proxy/admin.h"
#include "core/proxy/commit_pipeline.h"
#include "core/proxy/context.h"
#include "core/proxy/exchange.h"
#include "core/proxy/metrics.h"
#include "core/proxy/registry.h"
#include "core/proxy/reinit.h"
#include "core/proxy/message_metrics.h"
#include "core/proxy/recorder.h"
#include "core/proxy/retry_policy.h"
#include "core/proxy/tap.h"
#include "core/proxy/router.h"
#include "core/proxy/session_table.h"
#include "core/proxy/store_loop.h"
#include "core/proxy/stream.h"
#include "core/tracker/event_tracker.h"
#include "core/util/clock.h"
#include "core/util/log.h"

namespace ssestitch::proxy {

using util::LogLevel;

// Members are declared in construction order; destruction runs in reverse, which is the
// teardown order the deps notes require (servers, then curl, then the store, then the loop).
struct Proxy::Impl {
  Config config;
  std::unique_ptr<net::EventLoop> loop;
  std::unique_ptr<store::SessionStore> store;
  tracker::EventTracker tracker;
  Metrics metrics;
  SessionTable sessions;
  std::unique_ptr<net::UpstreamClient> upstream;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<CommitPipeline> pipeline;
  std::unique_ptr<Reinitializer> reinit;
  std::unique_ptr<RetryPolicy> retry;
  Observers observers;
  Recorder* recorder = nullptr;  // owned by `observers`
  Context ctx;
  std::unique_ptr<Router> router;
  std::unique_ptr<net::HttpServer> server;
  std::unique_ptr<Admin> admin_endpoints;
  std::unique_ptr<net::HttpServer> admin;
  std::unique_ptr<net::SignalWatcher> signals;
  // Open streams of a store shared with other proxies whose writer was still alive at start
  // (RedisStore): claimed again once a second, up to k_claim_tries times (proxy.cc).
  std::vector<std::uint64_t> unclaimed;
  std::unique_ptr<net::Timer> claim_timer;
  int claim_tries = 0;
  bool stopping = false;

  explicit Impl(const Config& c) : config(c), tracker(c.dedup_window) {}
  ~Impl() {
    if (store) store->attach_loop({});  // first: a commit in flight on the loop completes into the pipeline
    admin.reset();
    server.reset();
    if (registry) registry->clear();
    reinit.reset();
    router.reset();
    pipeline.reset();
    registry.reset();
    upstream.reset();
    store.reset();
  }

  util::Result<void> recover();
  util::Result<bool> recover_stream(const store::StreamRecord& rec);
  void claim_unclaimed();
  void stop(int signo);
};

Proxy::Proxy(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Proxy::~Proxy() = default;

const net::ListenAddress& Proxy::address() const { return m_impl->server->address(); }

util::Result<std::unique_ptr<Proxy>> Proxy::create(const Config& config, std::unique_ptr<store::SessionStore> store) {
  net::init_process();
  auto impl = std::make_unique<Impl>(config);
  Impl& p = *impl;
  auto loop = net::EventLoop::create();
  if (!loop) return std::move(loop).error();
  p.loop = std::move(*loop);
  p.store = std::move(store);
  p.store->attach_loop(store_loop_watches(*p.loop));
  auto upstream = net::UpstreamClient::create(*p.loop, config.tls, config.http_engine);
  if (!upstream) return std::move(upstream).error();
  p.upstream = std::move(*upstream);
  p.registry = std::make_unique<Registry>(*p.loop);
  Registry* registry = p.registry.get();
  Impl* impl_ptr = &p;
  p.pipeline = std::make_unique<CommitPipeline>(
      *p.loop, *p.store, p.metrics,
      [registry, impl_ptr](std::uint64_t no) -> std::optional<store::StreamRecord> {
        if (Stream* s = registry->find(no)) return s->snapshot();
        if (impl_ptr->recorder != nullptr) return impl_ptr->recorder->snapshot(no);  // a tape
        return std::nullopt;
      },
      [registry](std::uint64_t no, std::uint64_t upto, bool durable) {
        if (Stream* s = registry->find(no)) s->on_committed(upto, durable);
      });
  p.pipeline->on_fenced([registry](std::uint64_t no) {
    if (Stream* s = registry->find(no)) s->on_fenced();
  });
  p.ctx = Context{&p.config, &util::system_clock(), p.loop.get(), p.upstream.get(), p.store.get(), &p.tracker,
                  &p.metrics, p.pipeline.get(), &p.sessions, p.registry.get()};
  p.reinit = std::make_unique<Reinitializer>(p.ctx);
  p.ctx.reinit = p.reinit.get();
  p.retry = std::make_unique<RetryPolicy>(config.reissue, config.retry_tools);
  p.ctx.retry = p.retry.get();
  p.observers.add(std::make_unique<MessageMetrics>(p.metrics));
  if (config.record != "off") {
    auto recorder = std::make_unique<Recorder>(
        p.ctx, config.record == "metadata" ? Recorder::Mode::metadata : Recorder::Mode::full);
    p.recorder = recorder.get();
    p.observers.add(std::move(recorder));
  }
  if (!config.tap.empty()) {
    auto tap = Tap::open(config.tap, p.metrics);
    if (!tap) return std::move(tap).error();
    p.observers.add(std::move(*tap));
  }
  p.ctx.observers = &p.observers;
  p.router = std::make_unique<Router>(p.ctx);

  if (auto r = p.recover(); !r) return std::move(r).error();

  net::HttpServer::Limits limits;
  limits.max_header_bytes = config.max_header_size;
  limits.max_body_bytes = config.max_body_size;
  limits.max_connections = config.max_connections;
  Router* router = p.router.get();
  auto server = net::HttpServer::listen(*p.loop, config.listen, limits,
                                        [router](net::ServerRequest& r) { router->handle(r); });
  if (!server) return std::move(server).error();
  p.server = std::move(*server);
  if (config.admin) {
    net::HttpServer::Limits admin_limits;
    admin_limits.max_connections = 64;
    admin_limits.max_body_bytes = 4096;
    p.admin_endpoints = std::make_unique<Admin>(p.ctx, *p.server, p.stopping);
    Admin* endpoints = p.admin_endpoints.get();
    auto admin = net::HttpServer::listen(*p.loop, *config.admin, admin_limits,
                                         [endpoints](net::ServerRequest& r) { endpoints->handle(r); });
    if (!admin) return std::move(admin).error();
    p.admin = std::move(*admin);
  }
  Impl* raw = &p;
  p.signals = std::make_unique<net::SignalWatcher>(*p.loop, std::vector<int>{SIGTERM, SIGINT},
                                                   [raw](int signo) { raw->stop(signo); });
  return std::unique_ptr<Proxy>(new Proxy(std::move(impl)));
}

util::Result<void> Proxy::Impl::recover() {
  auto sessions_stored = store->sessions();
  if (!sessions_stored) return std::move(sessions_stored).error();
  sessions.load(*sessions_stored);
  auto streams_stored = store->streams();
  if (!streams_stored) return std::move(streams_stored).error();
  std::size_t recovered = 0;
  for (const store::StreamRecord& rec : *streams_stored) {
    if (rec.state != store::StreamState::open) continue;
    auto done = recover_stream(rec);
    if (!done) return std::move(done).error();
    if (*done) {
      recovered += rec.kind == store::StreamKind::tape ? 0 : 1;
    } else {
      unclaimed.push_back(rec.stream);
    }
  }
  util::log(LogLevel::info, "store_recovered",
            {{"sessions", sessions.open_count()}, {"open_streams", recovered}, {"owned_elsewhere", unclaimed.size()}});
  if (!unclaimed.empty()) {
    claim_timer = std::make_unique<net::Timer>(*loop, [this] { claim_unclaimed(); });
    claim_timer->arm_ms(1000);
  }
  return util::ok();
}

// An open stream found in the store: false when another live proxy sharing the store writes
// it (left to that proxy). A tape ends with the run that recorded it; any other stream is read
// again from its stored cursor.
util::Result<bool> Proxy::Impl::recover_stream(const store::StreamRecord& rec) {
  auto mine = store->claim(rec.stream);
  if (!mine) return std::move(mine).error();
  if (!*mine) return false;
  if (rec.kind == store::StreamKind::tape) {
    store::StreamRecord done = rec;
    done.state = store::StreamState::completed;
    pipeline->add_stream(std::move(done));
    return true;
  }
  if (auto opened = registry->open_stream(ctx, Opening::recovered, rec); !opened) return std::move(opened).error();
  return true;
}

// A proxy restarted after a crash finds its predecessor's streams still owned by it until the
// predecessor's liveness key expires (RedisStore: 3 s); they are taken over then, as streams
// recovered at start are. Streams of proxies still alive after 10 tries are theirs.
void Proxy::Impl::claim_unclaimed() {
  constexpr int k_claim_tries = 10;
  std::vector<std::uint64_t> left;
  for (std::uint64_t n : unclaimed) {
    if (registry->find(n) != nullptr) continue;  // a resuming client took it over meanwhile
    auto rec = store->stream(n);
    if (!rec) {
      left.push_back(n);
      continue;
    }
    if (!*rec || (*rec)->state != store::StreamState::open) continue;
    auto done = recover_stream(**rec);
    if (!done || !*done) {
      left.push_back(n);
    } else {
      util::log(LogLevel::info, "stream_taken_over", {{"stream", n}});
    }
  }
  unclaimed = std::move(left);
  if (!unclaimed.empty() && ++claim_tries < k_claim_tries && !stopping) {
    claim_timer->arm_ms(1000);
  } else if (!unclaimed.empty()) {
    util::log(LogLevel::info, "streams_owned_elsewhere", {{"streams", unclaimed.size()}});
  }
}

int Proxy::run() {
  Impl& p = *m_impl;
  util::log(LogLevel::info, "listening",
            {{"address", p.server->address().to_string()}, {"upstream", p.config.upstream.origin() + p.config.upstream.path},
             {"store", p.config.store_dir.empty() ? std::string("memory") : p.config.store_dir}});
  if (p.admin) util::log(LogLevel::info, "admin_listening", {{"address", p.admin->address().to_string()}});
  p.loop->run();
  // Stopped by a signal: everything was told to end; commit and sync what is pending. A second
  // SIGTERM/SIGINT (`timeout`, an impatient supervisor) must not kill us half-way through:
  // without the watcher they are ignored (SignalWatcher), in every thread.
  p.signals.reset();
  p.pipeline->drain();
  util::log(LogLevel::info, "stopped", {});
  return 0;
}

void Proxy::Impl::stop(int signo) {
  if (stopping) return;
  stopping = true;
  util::log(LogLevel::info, "shutting_down", {{"signal", signo == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server->stop_accepting();
  reinit->shutdown();
  for (Exchange* e : registry->exchanges()) e->shutdown();
  for (Stream* s : registry->streams()) s->shutdown();
  loop->stop();
}

}  // namespace ssestitch::proxy
