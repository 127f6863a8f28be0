#pragma once
// Registry: owns the live Streams and Exchanges of the proxy, finds streams by number, and
// frees finished objects later in the loop iteration (never inside their own callbacks).
// open_stream() is the one place a Stream comes to life, whichever way it does.

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/net/event_loop.h"
#include "core/net/headers.h"
#include "core/proxy/backoff.h"
#include "core/proxy/context.h"
#include "core/store/records.h"
#include "core/util/result.h"

namespace ssestitch::proxy {

class Stream;
class Exchange;

// How a stream comes to life.
enum class Opening {
  fresh,      // a new upstream SSE response: tracked from seq 1, written with the next batch
  recovered,  // open in the store after a restart: dedup window refilled from its newest
              // events, upstream resumed from the stored cursor
  replay,     // finished, opened only to replay its log to a resuming client
  follow,     // open, read by another proxy sharing the store: followed from the store
              // (Stream::follow), taken over when that proxy is gone
};

// Refills the tracker's state of a stream read again from the store (after a restart, or taken
// over from another proxy): cursor, next seq and the dedup window (its newest upstream ids).
util::Result<void> restore_tracker(Context& ctx, const store::StreamRecord& rec);

class Registry {
 public:
  explicit Registry(net::EventLoop& loop);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Stream* find(std::uint64_t stream) const;
  // Creates and registers a stream from `record` (see Opening); a session's GET stream becomes
  // that session's. `upstream_headers`: the request headers reused for reconnects (empty for
  // recovered and replayed streams). Errors: store errors reading the log (recovered only).
  util::Result<Stream*> open_stream(Context& ctx, Opening how, store::StreamRecord record,
                                    net::Headers upstream_headers = {});
  Exchange& add(std::unique_ptr<Exchange> exchange);
  // The exchange is done; it is destroyed later in this loop iteration.
  void release(Exchange* exchange);
  // Some stream may have become collectable: look later in this loop iteration.
  void collect_soon() { m_collect.fire(); }
  FirstResumeGate& first_resumes() noexcept { return m_first_resumes; }
  std::vector<Stream*> streams() const;
  std::vector<Exchange*> exchanges() const;
  // Destroys everything now (shutdown, after streams and exchanges were told to stop).
  void clear();

 private:
  void collect();

  std::unordered_map<std::uint64_t, std::unique_ptr<Stream>> m_streams;
  std::unordered_map<Exchange*, std::unique_ptr<Exchange>> m_exchanges;
  std::vector<Exchange*> m_released;
  net::Trigger m_collect;
  FirstResumeGate m_first_resumes;
};

}  // namespace ssestitch::proxy
