#pragma once
// StreamFollower: the leg that stands in for UpstreamStream while another proxy sharing the
// store (RedisStore) reads a stream, so that a client resuming here still gets that proxy's
// events live (DESIGN.md "Several instances": the store is the source of truth).
//
// The problem: with several proxies on one store, a client's resume may land on a proxy that
// does not read the stream; it must not read the upstream too (one reader per stream, fenced
// writes), yet the client must see every event exactly once, live, and the end of the stream.
//
// The approach: poll the stream's record every 25 ms (one round trip): when its next_seq moved,
// the owner Stream lets its relay catch up from the store (committed events only, in order);
// when its state is no longer open, the stream ends here too. Once a second it also tries to
// claim the stream: when the owning proxy's liveness key is gone, this proxy becomes the owner
// and the Stream resumes the upstream itself from the stored cursor, the client staying
// attached. A follower never writes to the store.
//
// Rejected for now, measured later: XREAD BLOCK or pub/sub wake-ups instead of polling (a
// connection per follower, or a subscriber that loses messages on reconnects; polling costs
// one HGETALL per follower per 25 ms and up to 25 ms of added latency).
// Loop thread only.

#include <cstdint>

#include "core/net/event_loop.h"
#include "core/proxy/context.h"
#include "core/store/records.h"

namespace ssestitch::proxy {

class StreamFollower {
 public:
  class Owner {
   public:
    // The stream's stored record, as just read. False when the stream ended (no more polls).
    virtual bool followed(const store::StreamRecord& record) = 0;
    // This proxy now owns the stream (its previous owner is gone); no more polls. Called last
    // in a poll: the follower may be destroyed later, not from inside this call.
    virtual void owner_gone() = 0;

   protected:
    ~Owner() = default;
  };

  StreamFollower(Context& ctx, std::uint64_t stream, Owner& owner);
  void start();
  void stop() { m_timer.cancel(); }
  bool running() const { return m_timer.armed(); }

 private:
  void poll();

  Context& m_ctx;
  std::uint64_t m_stream;
  Owner& m_owner;
  net::Timer m_timer;
  unsigned m_polls = 0;
};

}  // namespace ssestitch::proxy
