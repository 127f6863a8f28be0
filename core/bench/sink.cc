#include "core/bench/sink.h"

#include <charconv>
#include <memory>
#include <thread>

#include "core/net/event_loop.h"
#include "core/net/upstream_client.h"
#include "core/sse/parser.h"
#include "core/util/clock.h"

namespace ssestitch::bench {
namespace {

// The number after `"key":` in a generator payload (0 when absent).
std::int64_t field(std::string_view data, std::string_view key) {
  const auto at = data.find(key);
  if (at == std::string_view::npos) return 0;
  std::int64_t v = 0;
  const char* p = data.data() + at + key.size();
  std::from_chars(p, data.data() + data.size(), v);
  return v;
}

struct Run;

struct Reader final : net::Transfer::Observer {
  Run* run = nullptr;
  std::size_t index = 0;
  StreamSpec spec;
  sse::Parser parser;
  std::unique_ptr<net::Transfer> transfer;
  std::uint64_t next_k = 1;
  std::uint64_t events = 0;
  std::string last_id;
  bool connected = false;
  bool finished = false;

  void start();
  void on_response(int status, const net::Headers& headers) noexcept override;
  net::Transfer::BodyAction on_body(std::string_view bytes) noexcept override;
  void on_done(const util::Result<void>& result) noexcept override;
  void finish(bool failed, std::string_view why = {});
};

struct Run {
  const SinkOptions* options = nullptr;
  net::EventLoop* loop = nullptr;
  net::UpstreamClient* client = nullptr;
  SinkResult result;
  std::vector<std::unique_ptr<Reader>> readers;
  std::size_t open = 0;
  std::size_t connected = 0;
  std::unique_ptr<net::Timer> hold_timer;

  void reader_done() {
    if (--open == 0) loop->stop();
  }
};

void Reader::start() {
  net::UpstreamRequest req;
  req.url = spec.url;
  req.headers.set("Accept", "text/event-stream");
  if (!last_id.empty()) req.headers.set("Last-Event-ID", last_id);
  parser = sse::Parser();
  auto t = net::Transfer::start(*run->client, std::move(req), this);
  if (!t) return finish(true, t.error().message);
  transfer = std::move(*t);
}

void Reader::on_response(int status, const net::Headers&) noexcept {
  if (status != 200) {
    transfer->cancel();
    run->loop->post([this, status] { finish(true, "HTTP status " + std::to_string(status)); });
    return;
  }
  if (!connected) {
    connected = true;
    if (++run->connected == run->readers.size() && run->options->hold) {
      if (run->options->on_all_connected) run->options->on_all_connected();
      run->hold_timer->arm_ms(run->options->hold_ms);
    }
  }
}

net::Transfer::BodyAction Reader::on_body(std::string_view bytes) noexcept {
  SinkResult& r = run->result;
  r.bytes += bytes.size();
  const std::uint64_t comments0 = parser.comment_count();
  auto fed = parser.feed(bytes, [&](const sse::Event& ev) {
    if (!ev.dispatch || finished) return;
    const std::int64_t now = util::system_clock().mono_ns();
    if (r.first_event_ns == 0) r.first_event_ns = now;
    r.last_event_ns = now;
    if (ev.id) last_id = *ev.id;
    const auto k = static_cast<std::uint64_t>(field(ev.data, "\"k\":"));
    if (k == next_k) {
      ++next_k;
    } else if (k > next_k) {
      r.lost += k - next_k;
      next_k = k + 1;
    } else {
      ++r.duplicated;
      return;
    }
    ++events;
    ++r.events;
    if (run->options->latency) r.latency_ns.push_back(now - field(ev.data, "\"t\":"));
    if (spec.expect != 0 && events >= spec.expect) {
      finished = true;
      transfer->cancel();
      run->loop->post([this] { finish(false); });
    }
  });
  r.comments += parser.comment_count() - comments0;
  if (!fed) {
    transfer->cancel();
    run->loop->post([this, msg = fed.error().message] { finish(true, msg); });
  }
  return net::Transfer::BodyAction::consume;
}

void Reader::on_done(const util::Result<void>& result) noexcept {
  if (finished) return;
  const bool short_read = spec.expect != 0 && events < spec.expect;
  if ((!result || short_read) && spec.reconnect && run->result.reconnects < 100000) {
    ++run->result.reconnects;
    run->loop->post([this] {
      transfer.reset();
      start();
    });
    return;
  }
  run->loop->post([this, ok = bool(result) && !short_read,
                   msg = result ? std::string("ended after ") + std::to_string(events) + " events" : result.error().message] {
    finish(!ok, msg);
  });
}

void Reader::finish(bool failed, std::string_view why) {
  if (transfer) transfer.reset();
  if (index == SIZE_MAX) return;  // already counted
  if (failed) {
    ++run->result.failed_streams;
    if (run->result.first_error.empty()) run->result.first_error = std::string(why);
  }
  run->result.last_ids[index] = last_id;
  index = SIZE_MAX;
  finished = true;
  run->reader_done();
}

}  // namespace

util::Result<SinkResult> run_sink(const std::vector<StreamSpec>& streams, const SinkOptions& options) {
  auto loop = net::EventLoop::create();
  if (!loop) return std::move(loop).error();
  util::Result<SinkResult> out = SinkResult{};
  std::thread worker([&] {
    auto client = net::UpstreamClient::create(**loop, net::TlsOptions{});
    if (!client) {
      out = std::move(client).error();
      return;
    }
    Run run;
    run.options = &options;
    run.loop = loop->get();
    run.client = client->get();
    run.result.start_ns = util::system_clock().mono_ns();
    run.result.last_ids.resize(streams.size());
    if (options.latency) run.result.latency_ns.reserve(1u << 16);
    for (std::size_t i = 0; i < streams.size(); ++i) {
      auto r = std::make_unique<Reader>();
      r->run = &run;
      r->index = i;
      r->spec = streams[i];
      r->next_k = streams[i].first_k;
      r->last_id = streams[i].last_event_id;
      run.readers.push_back(std::move(r));
    }
    run.open = run.readers.size();
    run.hold_timer = std::make_unique<net::Timer>(**loop, [&] { (*loop)->stop(); });
    for (auto& r : run.readers) r->start();
    net::Timer deadline(**loop, [&] { (*loop)->stop(); });
    deadline.arm_ms(options.deadline_ms);
    if (run.open > 0) (*loop)->run();
    for (auto& r : run.readers) {
      if (r->index != SIZE_MAX) {  // still open at the deadline
        run.result.last_ids[r->index] = r->last_id;
        if (!options.hold) {
          ++run.result.failed_streams;
          if (run.result.first_error.empty()) run.result.first_error = "deadline reached";
        }
      }
      r->transfer.reset();
    }
    run.readers.clear();
    run.hold_timer.reset();
    out = std::move(run.result);
  });
  worker.join();
  return out;
}

}  // namespace ssestitch::bench
