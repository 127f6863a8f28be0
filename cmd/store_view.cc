#include "cmd/store_view.h"

#include <cstdio>
#include <ctime>

#include "cmd/exit_code.h"
#include "core/store/lmdb_store.h"
#include "core/store/redis_store.h"

namespace ssestitch::cmd {

util::Result<std::unique_ptr<store::SessionStore>> open_store_read_only(const std::string& dir) {
  if (store::redis::is_url(dir)) {
    auto address = store::redis::parse_url(dir);
    if (!address) return std::move(address).error();
    store::RedisOptions ro;
    ro.address = std::move(*address);
    ro.read_only = true;
    auto opened = store::RedisStore::open(ro);
    if (!opened) return std::move(opened).error();
    return std::unique_ptr<store::SessionStore>(std::move(*opened));
  }
  store::LmdbOptions o;
  o.dir = dir;
  o.read_only = true;
  o.exclusive = false;
  auto opened = store::LmdbStore::open(o);
  if (!opened) return std::move(opened).error();
  return std::unique_ptr<store::SessionStore>(std::move(*opened));
}

int report_error(const util::Error& error) {
  std::fprintf(stderr, "ssestitch: error: %s\n", error.message.c_str());
  return exit_code_for(error.code);
}

std::string format_time_ms(std::int64_t ms) {
  if (ms <= 0) return "-";
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

std::string cell_text(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  if (out.size() >= max && s.size() > max) {
    out.resize(max > 3 ? max - 3 : 0);
    out += "...";
  }
  return out.empty() ? "-" : out;
}

}  // namespace ssestitch::cmd

namespace ssestitch::cmd {

util::Result<store::StreamRecord> check_resume_point(const store::SessionStore& s, std::uint64_t stream,
                                                     std::uint64_t seq) {
  auto rec = s.stream(stream);
  if (!rec) return std::move(rec).error();
  if (!*rec) return util::fail(util::Errc::not_found, "no stream " + std::to_string(stream) + " in the store");
  const store::StreamRecord& r = **rec;
  const std::string id = std::to_string(stream) + "-" + std::to_string(seq);
  if (seq > r.next_seq - 1) {
    return util::fail(util::Errc::bad_event_id, "no event " + id + " (the stream's newest is " + std::to_string(stream) +
                                                    "-" + std::to_string(r.next_seq - 1) + ")");
  }
  if (seq > 0 && r.retained.evicted > 0 && (r.retained.first_seq == 0 ? r.next_seq : r.retained.first_seq) > seq + 1) {
    return util::fail(util::Errc::bad_event_id, "the events after " + id + " were removed by retention (oldest kept: " +
                                                    std::to_string(stream) + "-" + std::to_string(r.retained.first_seq) + ")");
  }
  return r;
}

}  // namespace ssestitch::cmd
