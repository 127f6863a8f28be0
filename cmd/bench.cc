// `ssestitch bench`: the overhead mode (direct vs proxied, core/bench/overhead), the core
// micro-benchmarks (--micro) and the MCP smoke test (--upstream, core/bench/smoke).
// Data on stdout (table, --json); progress on stderr only when stderr is a terminal.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cmd/bench_smoke.h"
#include "cmd/exit_code.h"
#include "cmd/subcommands.h"
#include "core/bench/micro.h"
#include "core/bench/overhead.h"
#include "core/bench/report.h"
#include "core/net/upstream_client.h"

namespace ssestitch::cmd {
namespace {

// A scratch directory removed when the run ends.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ssestitch-bench.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) m_path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!m_path.empty()) std::filesystem::remove_all(m_path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

int micro(const BenchOptions& o, const std::string& dir) {
  auto r = bench::run_micro(dir);
  if (!r) {
    std::fprintf(stderr, "ssestitch: error: %s\n", r.error().message.c_str());
    return k_exit_failure;
  }
  if (o.json) {
    std::string out = "{\"micro\":[";
    for (std::size_t i = 0; i < r->size(); ++i) {
      const auto& m = (*r)[i];
      char buf[256];
      std::snprintf(buf, sizeof buf, "%s{\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"}", i ? "," : "", m.name.c_str(),
                    m.value, m.unit.c_str());
      out += buf;
    }
    std::printf("%s]}\n", out.c_str());
  } else {
    for (const auto& m : *r) std::printf("%-22s %14.2f %s\n", m.name.c_str(), m.value, m.unit.c_str());
  }
  return k_exit_ok;
}

}  // namespace

int run_bench(const GlobalOptions&, const BenchOptions& o) {
  net::init_process();
  if (!o.upstream.empty()) return run_smoke(o);
  ScratchDir scratch;
  if (scratch.path().empty()) {
    std::fprintf(stderr, "ssestitch: error: cannot create a scratch directory\n");
    return k_exit_failure;
  }
  if (o.micro) return micro(o, scratch.path());

  bench::OverheadOptions oo;
  oo.scenarios = o.scenarios;
  oo.events = o.events;
  oo.size = o.size;
  oo.duration_s = o.duration_s;
  oo.rounds = o.rounds;
  oo.no_store_target = o.no_store_target;
  oo.against = o.against;
  oo.self = o.proxy_binary.empty() ? self_path() : o.proxy_binary;
  oo.work_dir = scratch.path();
  if (::isatty(2)) {
    oo.progress = [](const std::string& step) { std::fprintf(stderr, "\r\033[K  running %s ...", step.c_str()); };
  }
  auto results = bench::run_overhead(oo);
  if (::isatty(2)) std::fprintf(stderr, "\r\033[K");
  if (!results) {
    std::fprintf(stderr, "ssestitch: error: %s\n", results.error().message.c_str());
    return exit_code_for(results.error().code);
  }
  const std::string out = o.json ? bench::render_json(*results) : bench::render_text(*results);
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (!o.report.empty()) {
    std::ofstream f(o.report, std::ios::trunc);
    f << bench::render_html(*results, "ssestitch bench");
    if (!f) {
      std::fprintf(stderr, "ssestitch: error: cannot write %s\n", o.report.c_str());
      return k_exit_failure;
    }
    std::fprintf(stderr, "report: %s\n", o.report.c_str());
  }
  int rc = k_exit_ok;
  for (const auto& m : *results) {
    if (!m.ok || m.lost != 0 || m.duplicated != 0) {
      std::fprintf(stderr, "ssestitch: bench: %s / %s failed: lost %llu, duplicated %llu%s%s\n", m.scenario.c_str(),
                   m.target.c_str(), static_cast<unsigned long long>(m.lost), static_cast<unsigned long long>(m.duplicated),
                   m.error.empty() ? "" : ", ", m.error.c_str());
      rc = k_exit_failure;
    }
  }
  return rc;
}

}  // namespace ssestitch::cmd
