#include "core/bench/sink.h"

#include <charconv>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "core/net/event_loop.h"
#include "core/net/upstream_client.h"
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

// Splits what the generator wrote ("id: K\ndata: {...}\n\n", ": keepalive\n\n"), as it
// reaches the sink directly or through a proxy, into blocks at blank lines. Not a general SSE
// parser (LF line ends only, no multi-line data): with the full WHATWG parser, which copies
// every field, the sink rather than the proxy was the limit of the direct bulk baseline (2.0M
// events/s here against 5.5M for peer-bench's C sink on the same machine).
class Framer {
 public:
  static constexpr std::size_t k_max_block = 1u << 20;

  // Calls on_block(block) for every complete block (without its blank line); false when a
  // block grows past k_max_block.
  template <class OnBlock>
  bool feed(std::string_view bytes, OnBlock&& on_block) {
    if (!m_carry.empty()) {
      // The block begun in an earlier read: complete it with the bytes up to its end.
      const bool split_end = m_carry.back() == '\n' && !bytes.empty() && bytes.front() == '\n';
      const std::size_t end = split_end ? 0 : bytes.find("\n\n");
      if (end == std::string_view::npos) {
        m_carry.append(bytes);
        return m_carry.size() <= k_max_block;
      }
      m_carry.append(bytes.substr(0, split_end ? 0 : end + 1));
      m_carry.pop_back();  // the block's own line end
      on_block(std::string_view(m_carry));
      m_carry.clear();
      bytes.remove_prefix(split_end ? 1 : end + 2);
    }
    for (;;) {
      const std::size_t end = bytes.find("\n\n");
      if (end == std::string_view::npos) break;
      on_block(bytes.substr(0, end));
      bytes.remove_prefix(end + 2);
    }
    m_carry.assign(bytes);
    return m_carry.size() <= k_max_block;
  }

 private:
  std::string m_carry;
};

// One block: its comment lines (": ...") are counted; with a data line it is an event.
struct Block {
  std::string_view id;  // the id: field's value, if any
  std::string_view data;
  bool has_id = false;
  bool has_data = false;
  std::uint64_t comments = 0;

  explicit Block(std::string_view block) {
    while (!block.empty()) {
      const std::size_t nl = block.find('\n');
      const std::string_view line = block.substr(0, nl);
      block.remove_prefix(nl == std::string_view::npos ? block.size() : nl + 1);
      if (line.empty()) continue;
      if (line.front() == ':') {
        ++comments;
      } else if (line.starts_with("data:")) {
        has_data = true;
        data = line.substr(5);
      } else if (line.starts_with("id:")) {
        has_id = true;
        id = line.substr(3);
        if (!id.empty() && id.front() == ' ') id.remove_prefix(1);
      }
    }
  }
};

struct Run;

struct Reader final : net::Transfer::Observer {
  Run* run = nullptr;
  std::size_t index = 0;
  StreamSpec spec;
  Framer framer;
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
  framer = Framer();
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
  const bool fed = framer.feed(bytes, [&](std::string_view block) {
    if (finished) return;  // the rest of this read is not ours (last_id stays at the last event taken)
    const Block ev(block);
    r.comments += ev.comments;
    if (ev.has_id) last_id = ev.id;
    if (!ev.has_data) return;
    const std::int64_t now = util::system_clock().mono_ns();
    if (r.first_event_ns == 0) r.first_event_ns = now;
    r.last_event_ns = now;
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
  if (!fed) {
    transfer->cancel();
    run->loop->post([this] { finish(true, "an event larger than 1 MiB"); });
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
