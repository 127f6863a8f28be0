#include "core/store/redis_cluster.h"

#include <hiredis/hiredis.h>

#include <array>
#include <charconv>
#include <strings.h>

#include "core/store/redis_connection.h"

namespace ssestitch::store::redis {

namespace {

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), the checksum of Redis' key slots.
constexpr std::array<std::uint16_t, 256> make_crc_table() {
  std::array<std::uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    std::uint16_t c = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) c = static_cast<std::uint16_t>((c & 0x8000) != 0 ? (c << 1) ^ 0x1021 : c << 1);
    t[i] = c;
  }
  return t;
}
constexpr auto k_crc_table = make_crc_table();

std::uint16_t crc16(std::string_view s) noexcept {
  std::uint16_t crc = 0;
  for (unsigned char ch : s) crc = static_cast<std::uint16_t>((crc << 8) ^ k_crc_table[((crc >> 8) ^ ch) & 0xff]);
  return crc;
}

bool iequals(std::string_view a, const char* b) noexcept {
  return a.size() == std::char_traits<char>::length(b) && strncasecmp(a.data(), b, a.size()) == 0;
}

bool parse_port(std::string_view s, int& port) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  return ec == std::errc() && p == s.data() + s.size() && port > 0 && port <= 65535;
}

util::Error bad_slots(const char* why) {
  return util::fail(util::Errc::store_unavailable, std::string("redis CLUSTER SLOTS: ") + why);
}

}  // namespace

std::uint16_t key_slot(std::string_view key) noexcept {
  const std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<std::uint16_t>(crc16(key) & (k_slots - 1));
}

std::optional<std::string_view> command_key(const std::vector<std::string_view>& argv) noexcept {
  if (argv.size() < 2) return std::nullopt;
  const std::string_view name = argv[0];
  if (iequals(name, "EVAL") || iequals(name, "EVALSHA")) {
    if (argv.size() < 4 || argv[2] == "0") return std::nullopt;
    return argv[3];
  }
  for (const char* keyless : {"INFO", "CONFIG", "WAIT", "SCRIPT", "PING", "SELECT", "CLUSTER", "ASKING"}) {
    if (iequals(name, keyless)) return std::nullopt;
  }
  return argv[1];
}

std::optional<Redirect> parse_redirect(std::string_view t) {
  Redirect r;
  if (t.rfind("MOVED ", 0) == 0) {
    t.remove_prefix(6);
  } else if (t.rfind("ASK ", 0) == 0) {
    r.ask = true;
    t.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const std::size_t space = t.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + space, slot);
  if (ec != std::errc() || p != t.data() + space || slot >= k_slots) return std::nullopt;
  r.slot = static_cast<std::uint16_t>(slot);
  const std::string_view hostport = t.substr(space + 1);
  const std::size_t colon = hostport.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || !parse_port(hostport.substr(colon + 1), r.node.port)) return std::nullopt;
  r.node.host = std::string(hostport.substr(0, colon));
  return r;
}

util::Result<std::vector<SlotRange>> parse_slots(const redisReply* r, std::string_view seed_host) {
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return bad_slots("not a slot table");
  std::vector<SlotRange> out;
  std::vector<bool> served(k_slots, false);
  for (std::size_t i = 0; i < elements(r); ++i) {
    const redisReply* row = element(r, i);
    const redisReply* master = element(row, 2);
    const std::int64_t first = integer(element(row, 0)), last = integer(element(row, 1));
    if (elements(row) < 3 || elements(master) < 2 || first < 0 || last < first || last >= k_slots) {
      return bad_slots("a malformed row");
    }
    SlotRange range{static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last), {}};
    range.master.host = std::string(text(element(master, 0)));
    if (range.master.host.empty()) range.master.host = std::string(seed_host);
    range.master.port = static_cast<int>(integer(element(master, 1)));
    if (range.master.port <= 0 || range.master.port > 65535) return bad_slots("a master without a port");
    for (auto s = range.first; s <= range.last; ++s) served[s] = true;
    out.push_back(std::move(range));
  }
  for (bool s : served) {
    if (!s) return bad_slots("some slots are served by no node (is the cluster complete?)");
  }
  return out;
}

}  // namespace ssestitch::store::redis
