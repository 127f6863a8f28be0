// `ssestitch replay STORE --stream N`: a recorded stream's events on stdout (SSE as clients got
// them, or NDJSON), optionally following a running proxy's commits; `--serve` hands off to
// cmd/replay_serve (the recording as a mock SSE upstream).

#include <csignal>
#include <cstdio>
#include <ctime>
#include <string>

#include "cmd/exit_code.h"
#include "cmd/replay_format.h"
#include "cmd/replay_mock.h"
#include "cmd/replay_serve.h"
#include "core/mcp/message.h"
#include "core/tape/file.h"
#include "cmd/store_view.h"
#include "cmd/subcommands.h"
#include "core/tracker/downstream_id.h"

namespace ssestitch::cmd {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }

void watch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = &on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the poll sleep returns at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void sleep_ms(std::int64_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1'000'000)};
  nanosleep(&ts, nullptr);
}

struct Start {
  std::uint64_t stream = 0;
  std::uint64_t after = 0;
};

util::Result<Start> resolve_start(const ReplayOptions& o) {
  Start s{o.stream.value_or(0), o.after};
  if (!o.after_id.empty()) {
    auto id = tracker::parse_downstream_id(o.after_id);
    if (!id) {
      return util::fail(util::Errc::invalid_argument,
                        "--after-id " + o.after_id + ": not an event id of this proxy (<stream>-<seq>)");
    }
    if (o.stream && *o.stream != id->stream) {
      return util::fail(util::Errc::invalid_argument, "--after-id " + o.after_id + " belongs to stream " +
                                                          std::to_string(id->stream) + ", not --stream " +
                                                          std::to_string(*o.stream));
    }
    s = {id->stream, id->seq};
  }
  if (s.stream == 0) return util::fail(util::Errc::invalid_argument, "--stream N (or --after-id N-SEQ) is required");
  return s;
}

}  // namespace

// A tape file's SSE events of one stream (those the proxy logged), as they were replayed from the
// store it was exported from.
int replay_tape(const ReplayOptions& o, const Start& start) {
  auto tape = tape::read_tape_file(o.store);
  if (!tape) return report_error(tape.error());
  const ReplayFormat format = o.format == "ndjson" ? ReplayFormat::ndjson : ReplayFormat::sse;
  std::string out;
  std::uint64_t printed = 0, last_seq = 0;
  for (const std::string& line : tape->lines) {
    const auto stream = mcp::json_at(line, "/stream");
    if (stream != std::to_string(start.stream)) continue;
    const std::uint64_t seq = std::strtoull(mcp::json_at(line, "/seq").value_or("0").c_str(), nullptr, 10);
    last_seq = std::max(last_seq, seq);
    if (seq == 0 || seq <= start.after) continue;
    if (o.limit != 0 && printed >= o.limit) break;
    const std::string data = mcp::json_at(line, "/message").value_or("");
    store::EventView e{start.stream, seq, {}, {}, data,
                       std::strtoll(mcp::json_at(line, "/time_ms").value_or("0").c_str(), nullptr, 10)};
    append_replayed(out, e, format);
    ++printed;
  }
  if (last_seq == 0) {
    return report_error({util::Errc::not_found, "no stream " + std::to_string(start.stream) + " in the tape " + o.store});
  }
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) return k_exit_failure;
  return k_exit_ok;
}

int run_replay(const GlobalOptions& global, const ReplayOptions& o) {
  if (!o.serve.empty() && (!o.session.empty() || tape::is_tape_file(o.store))) return serve_mock(global, o);
  if (!o.serve.empty()) return serve_recorded(global, o);
  auto start = resolve_start(o);
  if (!start) return report_error(start.error());
  if (tape::is_tape_file(o.store)) return replay_tape(o, *start);
  auto opened = open_store_read_only(o.store);
  if (!opened) return report_error(opened.error());
  const store::SessionStore& s = **opened;
  auto first = check_resume_point(s, start->stream, start->after);
  if (!first) return report_error(first.error());

  const ReplayFormat format = o.format == "ndjson" ? ReplayFormat::ndjson : ReplayFormat::sse;
  if (o.follow) watch_interrupts();
  std::uint64_t after = start->after;
  std::uint64_t printed = 0;
  std::string out;
  for (;;) {
    const std::size_t want = o.limit == 0 ? 1000 : std::min<std::uint64_t>(1000, o.limit - printed);
    // Read the record before the events: a stream seen ended here has all its events below.
    auto rec = s.stream(start->stream);
    if (!rec) return report_error(rec.error());
    const bool ended = !*rec || (*rec)->state != store::StreamState::open;
    out.clear();
    auto scanned = s.scan_events(start->stream, after, want, 1u << 20, [&](const store::EventView& e) {
      append_replayed(out, e, format);
      after = e.seq;
      return true;
    });
    if (!scanned) return report_error(scanned.error());
    printed += *scanned;
    if (!out.empty() && (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0)) {
      return k_exit_failure;  // stdout closed (a reader like `head` is done)
    }
    if (o.limit != 0 && printed >= o.limit) break;
    if (*scanned > 0) continue;
    if (!o.follow || ended || g_interrupted) break;
    sleep_ms(std::max<std::int64_t>(o.poll_ms, 1));
    if (g_interrupted) break;
  }
  return k_exit_ok;
}

}  // namespace ssestitch::cmd
