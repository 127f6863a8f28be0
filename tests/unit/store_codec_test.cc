#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/store/lmdb_codec.h"
#include "core/store/records.h"

using namespace ssestitch;
using namespace ssestitch::store;

TEST_SUITE_BEGIN("store");

namespace {

SessionRecord full_session() {
  SessionRecord s;
  s.id = "3f2a9c0d11e84b7e9d6c5b4a39281706";
  s.upstream_id = std::string("up\0stream", 9);  // arbitrary bytes survive
  s.protocol_version = "2025-11-25";
  s.principal = "sha256:abcdef";
  s.created_ms = -5;  // two's complement
  s.last_active_ms = 1'700'000'123'456;
  s.state = SessionState::expired;
  return s;
}

StreamRecord full_stream() {
  StreamRecord r;
  r.stream = 0x0102030405060708ULL;
  r.session = "3f2a9c0d11e84b7e9d6c5b4a39281706";
  r.principal = "sha256:0123";
  r.kind = StreamKind::post;
  r.target = "/mcp?x=1";
  r.upstream_last_id = "";
  r.has_upstream_id = true;
  r.retry_ms = 0xfffffffe;
  r.next_seq = 42;
  r.state = StreamState::abandoned;
  r.created_ms = 1;
  r.last_active_ms = 2;
  r.pending_request_ids = {"1", "\"abc\"", ""};
  r.retained = Retained{7, 35, 1234, 6};
  return r;
}

}  // namespace

TEST_CASE("store::codec keys") {
  const codec::EventKey k = codec::event_key(1, 2);
  CHECK(std::string(k.data(), k.size()) == std::string("\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x02", 16));
  SUBCASE("big-endian keys sort numerically") {
    const codec::EventKey a = codec::event_key(1, 255);
    const codec::EventKey b = codec::event_key(1, 256);
    const codec::EventKey c = codec::event_key(2, 1);
    CHECK(std::string(a.data(), 16) < std::string(b.data(), 16));
    CHECK(std::string(b.data(), 16) < std::string(c.data(), 16));
  }
  SUBCASE("event key round trip") {
    std::uint64_t s = 0, q = 0;
    const codec::EventKey m = codec::event_key(UINT64_MAX, 0x1122334455667788ULL);
    REQUIRE(codec::decode_event_key({m.data(), m.size()}, s, q));
    CHECK(s == UINT64_MAX);
    CHECK(q == 0x1122334455667788ULL);
    CHECK_FALSE(codec::decode_event_key("short", s, q));
  }
  SUBCASE("stream key round trip") {
    std::uint64_t s = 0;
    const codec::StreamKey k8 = codec::stream_key(77);
    REQUIRE(codec::decode_stream_key({k8.data(), k8.size()}, s));
    CHECK(s == 77);
    CHECK_FALSE(codec::decode_stream_key("1234567", s));
  }
  SUBCASE("session_streams key") {
    std::string key;
    codec::session_stream_key("abc", 9, key);
    CHECK(key == std::string("abc\0\0\0\0\0\0\0\0\x09", 12));
    std::string_view session;
    std::uint64_t stream = 0;
    REQUIRE(codec::decode_session_stream_key(key, session, stream));
    CHECK(session == "abc");
    CHECK(stream == 9);
    std::string prefix;
    codec::session_stream_prefix("abc", prefix);
    CHECK(key.compare(0, prefix.size(), prefix) == 0);
    CHECK_FALSE(codec::decode_session_stream_key("abc", session, stream));
  }
}

TEST_CASE("store::codec session record") {
  const SessionRecord in = full_session();
  std::string bytes;
  codec::encode_session(in, bytes);
  CHECK(bytes[0] == 1);  // record version
  SessionRecord out;
  REQUIRE(codec::decode_session(bytes, out));
  CHECK(out.id == in.id);
  CHECK(out.upstream_id == in.upstream_id);
  CHECK(out.protocol_version == in.protocol_version);
  CHECK(out.principal == in.principal);
  CHECK(out.created_ms == in.created_ms);
  CHECK(out.last_active_ms == in.last_active_ms);
  CHECK(out.state == in.state);

  SUBCASE("exact layout") {
    SessionRecord s;
    s.id = "a";
    s.state = SessionState::closed;
    codec::encode_session(s, bytes);
    const std::string expect = std::string("\x01", 1) + std::string("\0\0\0\x01" "a", 5) +
                               std::string(12, '\0') + std::string(16, '\0') + "\x02";
    CHECK(bytes == expect);
  }
  SUBCASE("malformed input is refused") {
    SessionRecord s;
    CHECK_FALSE(codec::decode_session("", s));
    CHECK_FALSE(codec::decode_session(bytes.substr(0, bytes.size() - 1), s));  // short
    CHECK_FALSE(codec::decode_session(bytes + "x", s));                        // trailing
    std::string v2 = bytes;
    v2[0] = 2;  // unknown record version
    CHECK_FALSE(codec::decode_session(v2, s));
    std::string bad_state = bytes;
    bad_state.back() = 9;
    CHECK_FALSE(codec::decode_session(bad_state, s));
  }
}

TEST_CASE("store::codec stream record") {
  const StreamRecord in = full_stream();
  std::string bytes;
  codec::encode_stream(in, bytes);
  StreamRecord out;
  REQUIRE(codec::decode_stream(bytes, out));
  CHECK(out.stream == in.stream);
  CHECK(out.session == in.session);
  CHECK(out.principal == in.principal);
  CHECK(out.kind == in.kind);
  CHECK(out.target == in.target);
  CHECK(out.upstream_last_id == in.upstream_last_id);
  CHECK(out.has_upstream_id == in.has_upstream_id);
  CHECK(out.retry_ms == in.retry_ms);
  CHECK(out.next_seq == in.next_seq);
  CHECK(out.state == in.state);
  CHECK(out.created_ms == in.created_ms);
  CHECK(out.last_active_ms == in.last_active_ms);
  CHECK(out.pending_request_ids == in.pending_request_ids);
  CHECK(out.retained.first_seq == 7);
  CHECK(out.retained.events == 35);
  CHECK(out.retained.bytes == 1234);
  CHECK(out.retained.evicted == 6);

  SUBCASE("defaults round trip") {
    codec::encode_stream(StreamRecord{}, bytes);
    REQUIRE(codec::decode_stream(bytes, out));
    CHECK(out.kind == StreamKind::generic);
    CHECK(out.next_seq == 1);
    CHECK(out.pending_request_ids.empty());
    CHECK_FALSE(out.has_upstream_id);
  }
  SUBCASE("malformed input is refused") {
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
      CHECK_FALSE(codec::decode_stream(bytes.substr(0, cut), out));
    }
    std::string bad_bool = bytes;
    // version(1) stream(8) session(4+32) principal(4+11) kind(1) target(4+8) last_id(4+0) -> has_upstream_id
    bad_bool[1 + 8 + 36 + 15 + 1 + 12 + 4] = 2;
    CHECK_FALSE(codec::decode_stream(bad_bool, out));
  }
  SUBCASE("a huge pending-id count is refused without allocating") {
    StreamRecord r;
    codec::encode_stream(r, bytes);
    // version(1) stream(8) session(4) principal(4) kind(1) target(4) last_id(4) has_id(1)
    // retry(4) next_seq(8) state(1) created(8) active(8) -> count
    const std::size_t at = 1 + 8 + 4 + 4 + 1 + 4 + 4 + 1 + 4 + 8 + 1 + 8 + 8;
    codec::put_u32_be(bytes.data() + at, 0xffffffffu);
    CHECK_FALSE(codec::decode_stream(bytes, out));
  }
}

TEST_CASE("store::codec event value") {
  EventRecord ev;
  ev.stream = 3;
  ev.seq = 4;
  ev.upstream_id = "u4";
  ev.type = "message";
  ev.data = std::string("line1\nline2\0end", 15);
  ev.arrival_ms = 1'700'000'000'001;
  std::vector<char> buf(codec::event_value_size(ev));
  codec::write_event_value(ev, buf.data());
  CHECK(buf.size() == 1 + 4 + 2 + 4 + 7 + 4 + 15 + 8);
  EventView view;
  REQUIRE(codec::decode_event_value({buf.data(), buf.size()}, view));
  CHECK(view.upstream_id == "u4");
  CHECK(view.type == "message");
  CHECK(view.data == ev.data);
  CHECK(view.arrival_ms == ev.arrival_ms);
  CHECK(payload_bytes(view.upstream_id, view.type, view.data) == 2 + 7 + 15);

  SUBCASE("empty strings") {
    EventRecord e;
    std::vector<char> b(codec::event_value_size(e));
    codec::write_event_value(e, b.data());
    REQUIRE(codec::decode_event_value({b.data(), b.size()}, view));
    CHECK(view.upstream_id.empty());
    CHECK(view.data.empty());
  }
  SUBCASE("malformed input is refused") {
    const std::string bytes(buf.data(), buf.size());
    CHECK_FALSE(codec::decode_event_value(bytes.substr(0, bytes.size() - 1), view));
    CHECK_FALSE(codec::decode_event_value(bytes + "z", view));
    CHECK_FALSE(codec::decode_event_value("", view));
  }
}

TEST_CASE("store::to_string") {
  CHECK(to_string(SessionState::open) == "open");
  CHECK(to_string(SessionState::closed) == "closed");
  CHECK(to_string(SessionState::expired) == "expired");
  CHECK(to_string(StreamKind::post) == "post");
  CHECK(to_string(StreamKind::get) == "get");
  CHECK(to_string(StreamKind::generic) == "generic");
  CHECK(to_string(StreamState::open) == "open");
  CHECK(to_string(StreamState::completed) == "completed");
  CHECK(to_string(StreamState::abandoned) == "abandoned");
}

TEST_CASE("store::Batch::bytes") {
  Batch b;
  CHECK(b.empty());
  CHECK(b.bytes() == 0);
  b.events.push_back(EventRecord{1, 1, "u1", "", std::string(100, 'x'), 0});
  CHECK_FALSE(b.empty());
  CHECK(b.bytes() >= 102);
  const std::size_t one = b.bytes();
  b.events.push_back(EventRecord{1, 2, "", "", "", 0});
  CHECK(b.bytes() > one);  // an empty event still counts
}

TEST_SUITE_END();
