#include "core/store/redis_records.h"

#include <hiredis/hiredis.h>

#include <charconv>

#include "core/store/lmdb_codec.h"

namespace ssestitch::store::redis {
namespace {

bool to_u64(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool decode_stream_hash(const redisReply* hash, StreamRecord& rec, std::uint64_t& last_seq) {
  const std::size_t n = elements(hash);
  if (n % 2 != 0) return false;
  bool have_rec = false;
  Retained kept;
  last_seq = 0;
  for (std::size_t i = 0; i < n; i += 2) {
    const std::string_view field = text(element(hash, i));
    const std::string_view value = text(element(hash, i + 1));
    std::uint64_t v = 0;
    if (field == "rec") {
      if (!codec::decode_stream(value, rec)) return false;
      have_rec = true;
      continue;
    }
    if (field == "owner" || field == "first_at") continue;  // fencing, and the script's age check
    if (!to_u64(value, v)) return false;
    if (field == "last_seq") {
      last_seq = v;
    } else if (field == "first_seq") {
      kept.first_seq = v;
    } else if (field == "events") {
      kept.events = v;
    } else if (field == "bytes") {
      kept.bytes = v;
    } else if (field == "evicted") {
      kept.evicted = v;
    }
  }
  rec.retained = kept;
  return have_rec;
}

util::Result<std::vector<std::optional<StoredStream>>> read_streams(Connection& c, const Keys& keys,
                                                                    const std::string& where,
                                                                    const std::vector<std::uint64_t>& streams) {
  for (std::uint64_t n : streams) c.append({"HGETALL", keys.stream(n)});
  std::vector<std::optional<StoredStream>> out;
  out.reserve(streams.size());
  for (std::uint64_t n : streams) {
    auto r = c.reply();
    if (!r) return std::move(r).error();
    if (auto ok = check(r->get(), where); !ok) return std::move(ok).error();
    if (elements(r->get()) == 0) {
      out.emplace_back();
      continue;
    }
    StoredStream s;
    if (!decode_stream_hash(r->get(), s.rec, s.last_seq)) {
      return util::fail(util::Errc::store_corrupt, "redis " + where + ": " + keys.stream(n) + " fails to decode");
    }
    s.rec.stream = n;
    out.emplace_back(std::move(s));
  }
  return out;
}

bool decode_entry(const redisReply* entry, std::uint64_t stream, EventView& view) {
  if (elements(entry) != 2) return false;
  const std::string_view id = text(element(entry, 0));
  const std::size_t dash = id.find('-');
  std::uint64_t seq = 0;
  if (dash == std::string_view::npos || !to_u64(id.substr(0, dash), seq) || seq == 0) return false;
  const redisReply* fields = element(entry, 1);
  const std::size_t n = elements(fields);
  if (n % 2 != 0) return false;
  view = EventView{};
  view.stream = stream;
  view.seq = seq;
  for (std::size_t i = 0; i < n; i += 2) {
    const std::string_view f = text(element(fields, i));
    const std::string_view v = text(element(fields, i + 1));
    if (f == "u") {
      view.upstream_id = v;
    } else if (f == "t") {
      view.type = v;
    } else if (f == "d") {
      view.data = v;
    } else if (f == "a") {
      std::from_chars(v.data(), v.data() + v.size(), view.arrival_ms);
    }
  }
  return true;
}

}  // namespace ssestitch::store::redis
