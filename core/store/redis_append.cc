#include "core/store/redis_append.h"

#include <algorithm>

#include "core/store/redis_records.h"

namespace ssestitch::store::redis {
namespace {

// Appends the events of one stream and rewrites its record, atomically (see redis_store.h).
// KEYS: the stream's record hash, its event stream. ARGV: now_ms, max_events, max_bytes,
// max_age_ms, the record ("" keeps it), the writer's token ("": a trim only, by any writer),
// then 7 per entry (redis_records.h): last seq, first seq, events, bytes, first arrival ms,
// index, payload. An entry whose last seq is stored already is skipped (a call sent again); one
// that overlaps the stored events is refused ("OVERLAP <last_seq>": the writer filters stale
// events, so this is a writer that lost track). Retention drops events one by one from the
// head, reading the head entries' index only; an entry leaves the Redis Stream once all its
// events are gone (XTRIM MINID), and readers skip the events before first_seq of an entry
// that is partly gone. Returns {first_seq, events, bytes, evicted, last_seq, written,
// evicted_now}, or the error "FENCED <owner>" when another writer owns the stream.
constexpr const char* k_script = R"lua(
local st, ev = KEYS[1], KEYS[2]
local now, maxn, maxb, maxage = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function d(x) return string.format('%d', x) end
local h = redis.call('HMGET', st, 'last_seq', 'first_seq', 'events', 'bytes', 'evicted', 'owner', 'first_at')
local me = ARGV[6]
if me ~= '' and h[6] and h[6] ~= me then return redis.error_reply('FENCED ' .. h[6]) end
if me ~= '' and not h[6] then redis.call('HSET', st, 'owner', me) end
local last, first = tonumber(h[1]) or 0, tonumber(h[2]) or 0
local n, bytes, evicted = tonumber(h[3]) or 0, tonumber(h[4]) or 0, tonumber(h[5]) or 0
local first_at = tonumber(h[7]) or 0
local written, gone = 0, 0
for i = 7, #ARGV, 7 do
  local l, f = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if l > last then
    if f <= last then return redis.error_reply('OVERLAP ' .. d(last)) end
    redis.call('XADD', ev, ARGV[i] .. '-0', 'x', ARGV[i + 5], 'p', ARGV[i + 6])
    if n == 0 then first, first_at = f, tonumber(ARGV[i + 4]) end
    n, bytes, last = n + tonumber(ARGV[i + 2]), bytes + tonumber(ARGV[i + 3]), l
    written = written + tonumber(ARGV[i + 2])
  end
end
local cutoff = nil
if maxage > 0 then cutoff = now - maxage end
local function over(at) return (maxn > 0 and n > maxn) or (maxb > 0 and bytes > maxb) or (cutoff and at < cutoff) end
local keep, keep_at = nil, 0
if n > 0 and over(first_at) then
  -- Until the first event that stays, or the end of the stream: the evictions may end exactly
  -- where a read of four entries ends, and the event that stays is then in the next read.
  local start = d(first) .. '-0'
  while not keep do
    local head = redis.call('XRANGE', ev, start, '+', 'COUNT', 4)
    if #head == 0 then break end
    for _, e in ipairs(head) do
      local x, pos = e[2][2], 1
      while pos <= #x do
        local seq, at, size, nxt = struct.unpack('<I8i8I4', x, pos)
        pos = nxt
        if seq >= first then
          if not over(at) then keep, keep_at = seq, at break end
          n, bytes, evicted, gone = n - 1, bytes - size, evicted + 1, gone + 1
        end
      end
      if keep then break end
      start = '(' .. e[1]
    end
  end
end
if gone > 0 then
  if keep then
    redis.call('XTRIM', ev, 'MINID', d(keep) .. '-0')
    first, first_at = keep, keep_at
  else  -- every stored event went
    redis.call('XTRIM', ev, 'MAXLEN', 0)
    first, first_at, n, bytes = 0, 0, 0, 0
  end
elseif keep then
  first_at = keep_at  -- the head was read: its arrival is known now
end
if ARGV[5] ~= '' then redis.call('HSET', st, 'rec', ARGV[5]) end
if written > 0 or gone > 0 or ARGV[5] ~= '' then
  redis.call('HSET', st, 'last_seq', d(last), 'first_seq', d(first), 'events', d(n), 'bytes', d(bytes), 'evicted', d(evicted),
             'first_at', d(first_at))
end
return {first, n, bytes, evicted, last, written, gone}
)lua";

}  // namespace

const char* append_script() noexcept { return k_script; }

std::vector<std::string> append_args(const std::string& sha, const Keys& keys, std::uint64_t stream, std::int64_t now_ms,
                                     const Retention& r, std::string record, const std::string& token,
                                     const std::vector<const EventRecord*>& events) {
  std::vector<std::string> a{"EVALSHA", sha, "2", keys.stream(stream), keys.events(stream),
                             std::to_string(now_ms), std::to_string(r.max_events_per_stream),
                             std::to_string(r.max_bytes_per_stream), std::to_string(std::max<std::int64_t>(0, r.max_age_ms)),
                             std::move(record), token};
  for (PackedEntry& p : pack_events(events)) {
    a.push_back(std::to_string(p.last_seq));
    a.push_back(std::to_string(p.first_seq));
    a.push_back(std::to_string(p.events));
    a.push_back(std::to_string(p.bytes));
    a.push_back(std::to_string(p.first_arrival_ms));
    a.push_back(std::move(p.index));
    a.push_back(std::move(p.payload));
  }
  return a;
}

bool decode_append_reply(const redisReply* r, AppendResult& out) {
  if (elements(r) != 7) return false;
  const auto at = [&](std::size_t i) { return static_cast<std::uint64_t>(integer(element(r, i))); };
  out.retained = Retained{at(0), at(1), at(2), at(3)};
  out.last_seq = at(4);
  out.written = at(5);
  out.evicted_now = at(6);
  return true;
}

}  // namespace ssestitch::store::redis
