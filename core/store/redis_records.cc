#include "core/store/redis_records.h"

#include <hiredis/hiredis.h>

#include <algorithm>
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
    // Fencing, and the append script's own (the age check, the summaries).
    if (field == "owner" || field == "first_at" || field == "ix_last") continue;
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
  // Every reply is read before an error is returned: one left unread would be taken as the
  // reply to the connection's next command.
  util::Result<void> first_error = util::ok();
  for (std::uint64_t n : streams) {
    auto r = c.reply();
    if (!r) return std::move(r).error();
    if (auto ok = check(r->get(), where); !ok) {
      if (first_error) first_error = std::move(ok);
      continue;
    }
    if (elements(r->get()) == 0) {
      out.emplace_back();
      continue;
    }
    StoredStream s;
    if (!decode_stream_hash(r->get(), s.rec, s.last_seq)) {
      if (first_error) first_error = util::fail(util::Errc::store_corrupt, "redis " + where + ": " + keys.stream(n) + " fails to decode");
      continue;
    }
    s.rec.stream = n;
    out.emplace_back(std::move(s));
  }
  if (!first_error) return std::move(first_error).error();
  return out;
}

namespace {

template <class T>
void put_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
}

template <class T>
T get_le(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return static_cast<T>(v);
}

}  // namespace

std::vector<PackedEntry> pack_events(const std::vector<const EventRecord*>& events) {
  std::vector<PackedEntry> out;
  for (const EventRecord* e : events) {
    const std::uint64_t size = payload_bytes(*e);
    if (out.empty() || out.back().events >= k_entry_max_events || out.back().bytes + size > k_entry_max_bytes) {
      out.emplace_back();
      out.back().first_seq = e->seq;
      out.back().first_arrival_ms = e->arrival_ms;
      out.back().max_arrival_ms = e->arrival_ms;
    }
    PackedEntry& p = out.back();
    p.max_arrival_ms = std::max(p.max_arrival_ms, e->arrival_ms);
    p.last_seq = e->seq;
    ++p.events;
    p.bytes += size;
    put_le<std::uint64_t>(p.index, e->seq);
    put_le<std::int64_t>(p.index, e->arrival_ms);
    put_le<std::uint32_t>(p.index, static_cast<std::uint32_t>(size));
    put_le<std::uint32_t>(p.payload, static_cast<std::uint32_t>(e->upstream_id.size()));
    put_le<std::uint32_t>(p.payload, static_cast<std::uint32_t>(e->type.size()));
    put_le<std::uint32_t>(p.payload, static_cast<std::uint32_t>(e->data.size()));
    p.payload += e->upstream_id;
    p.payload += e->type;
    p.payload += e->data;
  }
  for (PackedEntry& p : out) {
    p.summary.reserve(k_entry_summary_bytes + p.index.size());
    put_le<std::uint64_t>(p.summary, p.first_seq);
    put_le<std::uint64_t>(p.summary, p.last_seq);
    put_le<std::uint32_t>(p.summary, static_cast<std::uint32_t>(p.events));
    put_le<std::uint64_t>(p.summary, p.bytes);
    put_le<std::int64_t>(p.summary, p.max_arrival_ms);
    p.summary += p.index;
  }
  return out;
}

bool decode_entry(const redisReply* entry, std::uint64_t stream, std::vector<EventView>& out) {
  if (elements(entry) != 2) return false;
  const redisReply* fields = element(entry, 1);
  if (elements(fields) != 4 || text(element(fields, 0)) != "x" || text(element(fields, 2)) != "p") return false;
  const std::string_view index = text(element(fields, 1));
  const std::string_view payload = text(element(fields, 3));
  if (index.empty() || index.size() % k_entry_index_bytes != 0) return false;
  std::size_t at = 0;
  for (std::size_t i = 0; i < index.size(); i += k_entry_index_bytes) {
    EventView v;
    v.stream = stream;
    v.seq = get_le<std::uint64_t>(index, i);
    v.arrival_ms = get_le<std::int64_t>(index, i + 8);
    if (payload.size() - at < 12) return false;
    const std::size_t lu = get_le<std::uint32_t>(payload, at);
    const std::size_t lt = get_le<std::uint32_t>(payload, at + 4);
    const std::size_t ld = get_le<std::uint32_t>(payload, at + 8);
    at += 12;
    if (payload.size() - at < lu + lt + ld || lu + lt + ld != get_le<std::uint32_t>(index, i + 16)) return false;
    v.upstream_id = payload.substr(at, lu);
    v.type = payload.substr(at + lu, lt);
    v.data = payload.substr(at + lu + lt, ld);
    at += lu + lt + ld;
    if (v.seq == 0 || (i > 0 && v.seq <= out.back().seq)) return false;
    out.push_back(v);
  }
  // The entry's id is its last event's seq.
  const std::string_view id = text(element(entry, 0));
  std::uint64_t last = 0;
  const std::size_t dash = id.find('-');
  return at == payload.size() && dash != std::string_view::npos && to_u64(id.substr(0, dash), last) &&
         last == out.back().seq;
}

}  // namespace ssestitch::store::redis
