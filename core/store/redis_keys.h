#pragma once
// The key names of a RedisStore (the layout is specified in redis_store.h). Private to
// core/store. Every key of one stream shares the hash tag {N}, so a stream's record and its
// events live in one Redis Cluster slot and one script may touch both.

#include <cstdint>
#include <string>
#include <string_view>

namespace ssestitch::store::redis {

class Keys {
 public:
  explicit Keys(std::string prefix) : m_prefix(std::move(prefix)) {}
  const std::string& prefix() const noexcept { return m_prefix; }
  std::string meta() const { return m_prefix + ":meta"; }
  std::string live(std::string_view token) const {
    std::string k = m_prefix;
    k.append(":live:").append(token);
    return k;
  }
  std::string next_stream() const { return m_prefix + ":next_stream"; }
  std::string sessions() const { return m_prefix + ":sessions"; }
  std::string streams() const { return m_prefix + ":streams"; }
  std::string session(std::string_view id) const { return tagged(":se:{", id); }
  std::string session_streams(std::string_view id) const { return tagged(":ss:{", id); }
  std::string stream(std::uint64_t n) const { return tagged(":st:{", std::to_string(n)); }
  std::string events(std::uint64_t n) const { return tagged(":ev:{", std::to_string(n)); }
  std::string summaries(std::uint64_t n) const { return tagged(":ix:{", std::to_string(n)); }

 private:
  std::string tagged(const char* kind, std::string_view tag) const {
    std::string k = m_prefix;
    k.append(kind).append(tag).append("}");
    return k;
  }
  std::string m_prefix;
};

// Redis Stream entry id of event `seq`: "<seq>-0" (ids must exceed 0-0; seq >= 1).
inline std::string entry_id(std::uint64_t seq) {
  std::string id = std::to_string(seq);
  id += "-0";
  return id;
}

// "(" + bound: an exclusive range bound of XRANGE, ZRANGEBYLEX and ZRANGEBYSCORE. (Built by
// appending: g++ 12 at -O2 reports a false -Wrestrict for "(" + std::string.)
inline std::string exclusive(std::string_view bound) {
  std::string s(1, '(');
  s.append(bound);
  return s;
}

}  // namespace ssestitch::store::redis
