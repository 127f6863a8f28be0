#include "core/store/lmdb_codec.h"

#include <cstring>

namespace ssestitch::store::codec {
namespace {

// Appends fixed-width big-endian integers and length-prefixed strings to a std::string.
class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : m_out(out) { m_out.clear(); }
  void u8(std::uint8_t v) { m_out.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    char b[4];
    put_u32_be(b, v);
    m_out.append(b, 4);
  }
  void u64(std::uint64_t v) {
    char b[8];
    put_u64_be(b, v);
    m_out.append(b, 8);
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  // Strings longer than 4 GiB cannot be stored; the SSE parser's event limit is far below that,
  // so truncating the length here would be a bug upstream, not a case to encode.
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    m_out.append(s.data(), s.size());
  }

 private:
  std::string& m_out;
};

// Reads what ByteWriter wrote; every accessor fails softly (sets !ok()) on a short buffer.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : m_in(in) {}
  bool ok() const noexcept { return m_ok; }
  bool at_end() const noexcept { return m_pos == m_in.size(); }

  std::uint8_t u8() noexcept {
    if (!need(1)) return 0;
    return static_cast<std::uint8_t>(m_in[m_pos++]);
  }
  std::uint32_t u32() noexcept {
    if (!need(4)) return 0;
    const std::uint32_t v = get_u32_be(m_in.data() + m_pos);
    m_pos += 4;
    return v;
  }
  std::uint64_t u64() noexcept {
    if (!need(8)) return 0;
    const std::uint64_t v = get_u64_be(m_in.data() + m_pos);
    m_pos += 8;
    return v;
  }
  std::int64_t i64() noexcept { return static_cast<std::int64_t>(u64()); }
  std::string_view str() noexcept {
    const std::uint32_t n = u32();
    if (!need(n)) return {};
    std::string_view s = m_in.substr(m_pos, n);
    m_pos += n;
    return s;
  }
  bool boolean() noexcept {
    const std::uint8_t v = u8();
    if (v > 1) m_ok = false;
    return v == 1;
  }
  // An enum stored as u8 whose valid values are lo..hi.
  template <class E>
  E enumeration(std::uint8_t lo, std::uint8_t hi) noexcept {
    const std::uint8_t v = u8();
    if (v < lo || v > hi) m_ok = false;
    return static_cast<E>(v);
  }

 private:
  bool need(std::size_t n) noexcept {
    if (!m_ok || m_in.size() - m_pos < n) {
      m_ok = false;
      return false;
    }
    return true;
  }

  std::string_view m_in;
  std::size_t m_pos = 0;
  bool m_ok = true;
};

}  // namespace

void put_u32_be(char* out, std::uint32_t v) noexcept {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

void put_u64_be(char* out, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

std::uint32_t get_u32_be(const char* in) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::uint64_t get_u64_be(const char* in) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

StreamKey stream_key(std::uint64_t stream) noexcept {
  StreamKey k;
  put_u64_be(k.data(), stream);
  return k;
}

EventKey event_key(std::uint64_t stream, std::uint64_t seq) noexcept {
  EventKey k;
  put_u64_be(k.data(), stream);
  put_u64_be(k.data() + 8, seq);
  return k;
}

bool decode_stream_key(std::string_view key, std::uint64_t& stream) noexcept {
  if (key.size() != k_stream_key_size) return false;
  stream = get_u64_be(key.data());
  return true;
}

bool decode_event_key(std::string_view key, std::uint64_t& stream, std::uint64_t& seq) noexcept {
  if (key.size() != k_event_key_size) return false;
  stream = get_u64_be(key.data());
  seq = get_u64_be(key.data() + 8);
  return true;
}

void session_stream_prefix(std::string_view session, std::string& out) {
  out.assign(session.data(), session.size());
  out.push_back('\0');
}

void session_stream_key(std::string_view session, std::uint64_t stream, std::string& out) {
  session_stream_prefix(session, out);
  char b[8];
  put_u64_be(b, stream);
  out.append(b, 8);
}

bool decode_session_stream_key(std::string_view key, std::string_view& session,
                               std::uint64_t& stream) noexcept {
  if (key.size() < 9 || key[key.size() - 9] != '\0') return false;
  session = key.substr(0, key.size() - 9);
  stream = get_u64_be(key.data() + key.size() - 8);
  return true;
}

void encode_session(const SessionRecord& rec, std::string& out) {
  ByteWriter w(out);
  w.u8(k_record_version);
  w.str(rec.id);
  w.str(rec.upstream_id);
  w.str(rec.protocol_version);
  w.str(rec.principal);
  w.i64(rec.created_ms);
  w.i64(rec.last_active_ms);
  w.u8(static_cast<std::uint8_t>(rec.state));
}

bool decode_session(std::string_view in, SessionRecord& rec) {
  ByteReader r(in);
  if (r.u8() != k_record_version) return false;
  rec.id = r.str();
  rec.upstream_id = r.str();
  rec.protocol_version = r.str();
  rec.principal = r.str();
  rec.created_ms = r.i64();
  rec.last_active_ms = r.i64();
  rec.state = r.enumeration<SessionState>(1, 3);
  return r.ok() && r.at_end();
}

void encode_stream(const StreamRecord& rec, std::string& out) {
  ByteWriter w(out);
  w.u8(k_record_version);
  w.u64(rec.stream);
  w.str(rec.session);
  w.str(rec.principal);
  w.u8(static_cast<std::uint8_t>(rec.kind));
  w.str(rec.target);
  w.str(rec.upstream_last_id);
  w.u8(rec.has_upstream_id ? 1 : 0);
  w.u32(rec.retry_ms);
  w.u64(rec.next_seq);
  w.u8(static_cast<std::uint8_t>(rec.state));
  w.i64(rec.created_ms);
  w.i64(rec.last_active_ms);
  w.u32(static_cast<std::uint32_t>(rec.pending_request_ids.size()));
  for (const std::string& id : rec.pending_request_ids) w.str(id);
  w.u64(rec.retained.first_seq);
  w.u64(rec.retained.events);
  w.u64(rec.retained.bytes);
  w.u64(rec.retained.evicted);
}

bool decode_stream(std::string_view in, StreamRecord& rec) {
  ByteReader r(in);
  if (r.u8() != k_record_version) return false;
  rec.stream = r.u64();
  rec.session = r.str();
  rec.principal = r.str();
  rec.kind = r.enumeration<StreamKind>(1, 4);
  rec.target = r.str();
  rec.upstream_last_id = r.str();
  rec.has_upstream_id = r.boolean();
  rec.retry_ms = r.u32();
  rec.next_seq = r.u64();
  rec.state = r.enumeration<StreamState>(1, 3);
  rec.created_ms = r.i64();
  rec.last_active_ms = r.i64();
  const std::uint32_t n = r.u32();
  rec.pending_request_ids.clear();
  // Each id takes at least its 4-byte length, so a count larger than the remaining bytes allow
  // is corrupt; checking first keeps a damaged count from reserving gigabytes.
  if (!r.ok() || n > in.size() / 4) return false;
  rec.pending_request_ids.reserve(n);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) rec.pending_request_ids.emplace_back(r.str());
  rec.retained.first_seq = r.u64();
  rec.retained.events = r.u64();
  rec.retained.bytes = r.u64();
  rec.retained.evicted = r.u64();
  return r.ok() && r.at_end();
}

std::size_t event_value_size(const EventRecord& ev) noexcept {
  return 1 + 4 + ev.upstream_id.size() + 4 + ev.type.size() + 4 + ev.data.size() + 8;
}

void write_event_value(const EventRecord& ev, char* out) noexcept {
  *out++ = static_cast<char>(k_record_version);
  for (const std::string* s : {&ev.upstream_id, &ev.type, &ev.data}) {
    put_u32_be(out, static_cast<std::uint32_t>(s->size()));
    out += 4;
    if (!s->empty()) std::memcpy(out, s->data(), s->size());
    out += s->size();
  }
  put_u64_be(out, static_cast<std::uint64_t>(ev.arrival_ms));
}

bool decode_event_value(std::string_view in, EventView& view) noexcept {
  ByteReader r(in);
  if (r.u8() != k_record_version) return false;
  view.upstream_id = r.str();
  view.type = r.str();
  view.data = r.str();
  view.arrival_ms = r.i64();
  return r.ok() && r.at_end();
}

void encode_batch(const Batch& batch, std::string& out) {
  std::string value;
  ByteWriter w(out);
  w.u32(static_cast<std::uint32_t>(batch.sessions.size()));
  for (const SessionRecord& s : batch.sessions) {
    encode_session(s, value);
    w.str(value);
  }
  w.u32(static_cast<std::uint32_t>(batch.events.size()));
  for (const EventRecord& e : batch.events) {
    w.u64(e.stream);
    w.u64(e.seq);
    const std::size_t n = event_value_size(e);
    w.u32(static_cast<std::uint32_t>(n));
    const std::size_t at = out.size();
    out.resize(at + n);
    write_event_value(e, out.data() + at);
  }
  w.u32(static_cast<std::uint32_t>(batch.streams.size()));
  for (const StreamRecord& s : batch.streams) {
    encode_stream(s, value);
    w.str(value);
  }
}

bool decode_batch(std::string_view in, Batch& batch) {
  batch = Batch{};
  ByteReader r(in);
  // A count is checked against the bytes left, so a corrupt one cannot reserve gigabytes.
  std::uint32_t n = 0;
  const auto count = [&](std::size_t smallest) {
    n = r.u32();
    return r.ok() && n <= in.size() / smallest;
  };
  if (!count(4)) return false;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!decode_session(r.str(), batch.sessions.emplace_back())) return false;
  }
  if (!count(20)) return false;
  for (std::uint32_t i = 0; i < n; ++i) {
    EventRecord& e = batch.events.emplace_back();
    e.stream = r.u64();
    e.seq = r.u64();
    EventView v;
    if (!decode_event_value(r.str(), v)) return false;
    e.upstream_id = v.upstream_id;
    e.type = v.type;
    e.data = v.data;
    e.arrival_ms = v.arrival_ms;
  }
  if (!count(4)) return false;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!decode_stream(r.str(), batch.streams.emplace_back())) return false;
  }
  return r.ok() && r.at_end();
}

}  // namespace ssestitch::store::codec
