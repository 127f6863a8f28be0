#include "core/bench/overhead.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "core/bench/child.h"
#include "core/bench/generator.h"
#include "core/bench/loopback.h"
#include "core/bench/sink.h"

namespace ssestitch::bench {
namespace {

struct Target {
  std::string name;
  std::string command;  // "" = direct
};

struct Plan {
  std::size_t streams = 1;
  std::uint64_t per_stream = 0;
  std::string query;        // generator query without n
  bool latency = false;
  bool reconnect = false;
};

double percentile(std::vector<std::int64_t>& v, double q) {
  if (v.empty()) return 0;
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return static_cast<double>(v[i]) / 1000.0;
}

void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

std::size_t idle_streams(const OverheadOptions& o) {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  // Each idle stream costs the bench two descriptors (sink and generator) and the proxy two.
  const std::uint64_t wanted = o.events != 0 ? o.events : 10'000;
  const std::uint64_t fit = r.rlim_cur > 400 ? (r.rlim_cur - 200) / 2 : 100;
  return static_cast<std::size_t>(std::min(wanted, fit));
}

Plan plan_for(const std::string& scenario, const OverheadOptions& o) {
  const double secs = o.duration_s > 0 ? o.duration_s : 3.0;
  const std::string size = "&size=" + std::to_string(o.size);
  Plan p;
  if (scenario == "bulk") {
    p.per_stream = o.events != 0 ? o.events : 200'000;
    p.query = "mode=bulk" + size;
  } else if (scenario == "per-write") {
    p.per_stream = o.events != 0 ? o.events : 200'000;
    p.query = "mode=write" + size;
  } else if (scenario == "paced") {
    p.per_stream = o.events != 0 ? o.events : static_cast<std::uint64_t>(5000 * secs);
    p.query = "mode=paced&rate=5000" + size;
    p.latency = true;
  } else if (scenario == "fan") {
    p.streams = 100;
    p.per_stream = o.events != 0 ? std::max<std::uint64_t>(o.events / 100, 1) : static_cast<std::uint64_t>(50 * secs);
    p.query = "mode=paced&rate=50" + size;
    p.latency = true;
  } else if (scenario == "fanmax") {
    p.streams = 100;
    p.per_stream = o.events != 0 ? std::max<std::uint64_t>(o.events / 100, 1) : 2000;
    p.query = "mode=bulk" + size;
  } else if (scenario == "reconnect") {
    p.per_stream = o.events != 0 ? o.events : 20'000;
    p.query = "mode=bulk&drop=1000" + size;
    p.reconnect = true;
  }
  return p;
}

Measurement from_sink(const std::string& scenario, const Target& t, SinkResult& r, bool latency = false) {
  Measurement m;
  m.scenario = scenario;
  m.target = t.name;
  m.events = r.events;
  m.bytes = r.bytes;
  m.lost = r.lost;
  m.duplicated = r.duplicated;
  m.ok = r.failed_streams == 0;
  m.error = r.first_error;
  // First to last event, as peer-bench's sink counts: connecting (and, through a proxy, its
  // upstream request) is not forwarding, and at millions of events/s it would weigh.
  if (r.last_event_ns > r.first_event_ns) m.seconds = static_cast<double>(r.last_event_ns - r.first_event_ns) / 1e9;
  if (m.seconds > 0) {
    m.events_per_s = static_cast<double>(r.events) / m.seconds;
    m.mb_per_s = static_cast<double>(r.bytes) / m.seconds / 1e6;
  }
  if (latency && !r.latency_ns.empty()) {
    m.p50_us = percentile(r.latency_ns, 0.50);
    m.p90_us = percentile(r.latency_ns, 0.90);
    m.p99_us = percentile(r.latency_ns, 0.99);
    m.p999_us = percentile(r.latency_ns, 0.999);
    m.max_us = static_cast<double>(*std::max_element(r.latency_ns.begin(), r.latency_ns.end())) / 1000.0;
  }
  if (latency && !r.first_event_after_ns.empty()) m.first_event_us = percentile(r.first_event_after_ns, 0.50);
  return m;
}

class Runner {
 public:
  Runner(const OverheadOptions& o, Generator& gen) : m_o(o), m_gen(gen) {}

  Measurement run(const std::string& scenario, const Target& t, std::uint64_t round) {
    std::unique_ptr<Child> child;
    std::string base = "http://127.0.0.1:" + std::to_string(m_gen.port());
    if (!t.command.empty()) {
      const std::string dir = m_o.work_dir + "/" + scenario + "-" + t.name + "-" + std::to_string(round);
      ::mkdir(dir.c_str(), 0700);
      auto port = free_port();
      if (!port) return failed(scenario, t, port.error().message);
      auto started = Child::start(t.command, *port, base, dir, dir + ".log");
      if (!started) return failed(scenario, t, started.error().message);
      child = std::move(*started);
      base = "http://127.0.0.1:" + std::to_string(*port);
    }
    const double cpu0 = child ? child->cpu_seconds() : 0;
    Measurement m;
    if (scenario == "resume") {
      m = resume(t, base);
    } else if (scenario == "idle") {
      m = idle(t, base, child.get());
    } else {
      m = streams(scenario, t, base);
    }
    if (child) {
      m.cpu_us_per_event = m.events > 0 ? (child->cpu_seconds() - cpu0) * 1e6 / static_cast<double>(m.events) : 0;
      m.peak_rss_mb = static_cast<double>(child->peak_rss_bytes()) / (1 << 20);
      child->stop();
    }
    return m;
  }

 private:
  static Measurement failed(const std::string& scenario, const Target& t, std::string error) {
    Measurement m;
    m.scenario = scenario;
    m.target = t.name;
    m.ok = false;
    m.error = std::move(error);
    return m;
  }

  Measurement streams(const std::string& scenario, const Target& t, const std::string& base) {
    const Plan p = plan_for(scenario, m_o);
    std::vector<StreamSpec> specs;
    for (std::size_t i = 0; i < p.streams; ++i) {
      StreamSpec s;
      s.url = base + "/stream?n=" + std::to_string(p.per_stream) + "&" + p.query + "&s=" + std::to_string(i);
      s.expect = p.per_stream;
      s.reconnect = p.reconnect;
      specs.push_back(std::move(s));
    }
    SinkOptions so;
    so.deadline_ms = 120'000;
    auto r = run_sink(specs, so);
    if (!r) return failed(scenario, t, r.error().message);
    return from_sink(scenario, t, *r, p.latency);
  }

  // A client reads one event and leaves; the proxy keeps logging the upstream's 10,000; the
  // client comes back with its Last-Event-ID. Direct, the generator regenerates the rest.
  Measurement resume(const Target& t, const std::string& base) {
    const std::uint64_t n = m_o.events != 0 ? m_o.events : 10'000;
    const std::string url = base + "/stream?n=" + std::to_string(n) + "&mode=bulk&size=" + std::to_string(m_o.size);
    const std::uint64_t finished0 = m_gen.streams_finished();
    SinkOptions so;
    so.deadline_ms = 30'000;
    auto first = run_sink({StreamSpec{url, 1, 1, "", false}}, so);
    if (!first) return failed("resume", t, first.error().message);
    if (!t.command.empty()) {
      // Wait until the upstream has sent everything to the proxy, and a commit interval more.
      for (int i = 0; i < 600 && m_gen.streams_finished() == finished0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    StreamSpec again{url, n - 1, 2, first->last_ids.empty() ? "" : first->last_ids[0], false};
    auto r = run_sink({again}, so);
    if (!r) return failed("resume", t, r.error().message);
    Measurement m = from_sink("resume", t, *r);
    m.time_to_last_ms = static_cast<double>(r->last_event_ns - r->start_ns) / 1e6;
    return m;
  }

  Measurement idle(const Target& t, const std::string& base, Child* child) {
    const std::size_t k = idle_streams(m_o);
    std::vector<StreamSpec> specs;
    for (std::size_t i = 0; i < k; ++i) specs.push_back(StreamSpec{base + "/stream?idle=1&s=" + std::to_string(i), 0, 1, "", false});
    double rss = 0;
    SinkOptions so;
    so.hold = true;
    so.hold_ms = 3000;
    so.deadline_ms = 60'000;
    so.on_all_connected = [&] {
      if (child != nullptr) rss = static_cast<double>(child->rss_bytes()) / (1 << 20);
    };
    auto r = run_sink(specs, so);
    if (!r) return failed("idle", t, r.error().message);
    Measurement m = from_sink("idle", t, *r);
    m.streams = k;
    m.keepalives = r->comments;
    m.idle_rss_mb = rss;
    m.ok = r->failed_streams == 0;
    return m;
  }

  const OverheadOptions& m_o;
  Generator& m_gen;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Measurement median_of(const std::vector<Measurement>& runs) {
  Measurement m = runs.front();
  auto med = [&](double Measurement::*f) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.*f);
    m.*f = median(v);
  };
  for (double Measurement::*f : {&Measurement::seconds, &Measurement::events_per_s, &Measurement::mb_per_s,
                                 &Measurement::p50_us, &Measurement::p90_us, &Measurement::p99_us, &Measurement::p999_us,
                                 &Measurement::max_us, &Measurement::first_event_us, &Measurement::cpu_us_per_event,
                                 &Measurement::peak_rss_mb,
                                 &Measurement::time_to_last_ms, &Measurement::idle_rss_mb}) {
    med(f);
  }
  for (const auto& r : runs) {
    m.ok = m.ok && r.ok;
    if (m.error.empty()) m.error = r.error;
    m.lost = std::max(m.lost, r.lost);
    m.duplicated = std::max(m.duplicated, r.duplicated);
  }
  return m;
}

}  // namespace

const std::vector<std::string>& scenario_names() {
  static const std::vector<std::string> names = {"bulk", "per-write", "paced", "fan", "fanmax", "reconnect", "resume", "idle"};
  return names;
}

util::Result<std::vector<Measurement>> run_overhead(const OverheadOptions& o) {
  std::vector<std::string> scenarios = o.scenarios.empty() ? scenario_names() : o.scenarios;
  for (const std::string& s : scenarios) {
    if (std::find(scenario_names().begin(), scenario_names().end(), s) == scenario_names().end()) {
      return util::fail(util::Errc::invalid_argument, "unknown scenario \"" + s + "\" (known: bulk, per-write, paced, fan, fanmax, reconnect, resume, idle)");
    }
  }
  raise_fd_limit();
  std::vector<Target> targets = {{"direct", ""}};
  const std::string proxy = "'" + o.self + "' proxy --listen 127.0.0.1:{port} --upstream {upstream}/mcp --log-level warn "
                            "--max-connections 30000 --keepalive 1s --linger 1m";
  targets.push_back({"ssestitch", proxy + " --store {dir}/store --sync batch"});
  if (o.no_store_target) targets.push_back({"ssestitch-nostore", proxy + " --no-store"});
  for (std::size_t i = 0; i < o.against.size(); ++i) targets.push_back({"against" + std::to_string(i + 1), o.against[i]});

  auto gen = Generator::start();
  if (!gen) return std::move(gen).error();
  Runner runner(o, **gen);
  std::map<std::pair<std::string, std::string>, std::vector<Measurement>> runs;
  for (std::uint64_t round = 1; round <= o.rounds; ++round) {
    for (const std::string& s : scenarios) {
      for (const Target& t : targets) {
        if (o.progress) {
          o.progress(s + " / " + t.name + (o.rounds > 1 ? " (round " + std::to_string(round) + "/" + std::to_string(o.rounds) + ")" : ""));
        }
        runs[{s, t.name}].push_back(runner.run(s, t, round));
      }
    }
  }
  std::vector<Measurement> out;
  for (const std::string& s : scenarios) {
    for (const Target& t : targets) out.push_back(median_of(runs[{s, t.name}]));
  }
  return out;
}

}  // namespace ssestitch::bench
