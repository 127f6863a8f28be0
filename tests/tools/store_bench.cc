// store-bench: prints the store micro-benchmarks (core/bench/store_micro.h) as JSON lines, one
// per measurement. Measurements only: the exit status reports errors, never slowness.
//
//   ssestitch-testkit store-bench [--dir DIR] [--events N] [--payload B] [--batch K]
//                                 [--sync all|none|batch|always] [--backlog N] [--after SEQ]
//
// DIR (created if missing; default: a new directory under $TMPDIR) receives one fresh store per measurement and is
// removed afterwards unless --dir was given.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/bench/store_micro.h"
#include "tests/tools/testkit.h"

namespace ssestitch::testkit {
namespace {

int store_bench_main(const std::vector<std::string>& argv) {
  const Args args(argv);
  const auto events = static_cast<std::size_t>(args.get_int("--events", 100'000));
  const auto payload = static_cast<std::size_t>(args.get_int("--payload", 256));
  const auto batch = static_cast<std::size_t>(args.get_int("--batch", 100));
  const auto backlog = static_cast<std::size_t>(args.get_int("--backlog", 100'000));
  const long long after_arg = args.get_int("--after", -1);
  const std::uint64_t after = after_arg >= 0 ? static_cast<std::uint64_t>(after_arg)
                                             : (backlog > 10'000 ? backlog - 10'000 : 0);
  const std::string sync_arg = args.get("--sync", "all");
  std::string base = args.get("--dir");
  const bool own_dir = base.empty();
  if (own_dir) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/ssestitch-store-bench.XXXXXX";
    if (!mkdtemp(templ.data())) {
      std::perror("store-bench: mkdtemp");
      return 1;
    }
    base = templ;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
  }
  std::vector<store::SyncMode> modes;
  if (sync_arg == "all") {
    modes = {store::SyncMode::none, store::SyncMode::batch, store::SyncMode::always};
  } else if (auto m = store::parse_sync_mode(sync_arg)) {
    modes = {*m};
  } else {
    std::fprintf(stderr, "store-bench: %s\n", m.error().message.c_str());
    return 2;
  }
  int rc = 0;
  for (store::SyncMode mode : modes) {
    const std::string dir = base + "/append-" + std::string(store::to_string(mode));
    auto r = bench::append_rate(dir, mode, events, payload, batch);
    if (!r) {
      std::fprintf(stderr, "store-bench: append_rate: %s\n", r.error().message.c_str());
      rc = 1;
      continue;
    }
    std::printf("{\"bench\":\"append_rate\",\"sync\":\"%s\",\"events\":%zu,\"payload_bytes\":%zu,\"batch\":%zu,"
                "\"events_per_s\":%.0f}\n",
                std::string(store::to_string(mode)).c_str(), events, payload, batch, *r);
    std::fflush(stdout);
  }
  auto t = bench::replay_time(base + "/replay", backlog, after);
  if (!t) {
    std::fprintf(stderr, "store-bench: replay_time: %s\n", t.error().message.c_str());
    rc = 1;
  } else {
    std::printf("{\"bench\":\"replay_time\",\"backlog\":%zu,\"after_seq\":%llu,\"events\":10000,\"us\":%.1f}\n",
                backlog, static_cast<unsigned long long>(after), *t);
  }
  if (own_dir) {
    std::error_code ec;
    std::filesystem::remove_all(base, ec);
  }
  return rc;
}

const Register k_register{"store-bench", "store micro-benchmarks: append rate per sync mode, replay time (JSON)",
                          &store_bench_main};

}  // namespace
}  // namespace ssestitch::testkit
