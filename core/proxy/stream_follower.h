#pragma once
// StreamFollower: the leg that stands in for UpstreamStream while another proxy sharing the
// store (RedisStore) reads a stream, so that a client resuming here still gets that proxy's
// events live (DESIGN.md "Several instances": the store is the source of truth).
//
// The problem: with several proxies on one store, a client's resume may land on a proxy that
// does not read the stream; it must not read the upstream too (one reader per stream, fenced
// writes), yet the client must see every event exactly once, live, and the end of the stream.
//
// The approach: poll the stream's record (one round trip), every 25 ms while its next_seq moves,
// the pause doubling up to 200 ms while it does not (an idle followed GET stream, the common
// case with several proxies, costs 5 round trips a second, not 40): when its next_seq moved,
// the owner Stream lets its relay catch up from the store (committed events only, in order);
// when its state is no longer open, the stream ends here too. Once a second it also tries to
// claim the stream: when the owning proxy's liveness key is gone, this proxy becomes the owner
// and the Stream resumes the upstream itself from the stored cursor, the client staying
// attached. A follower never writes to the store.
//
// Rejected for now, measured later: XREAD BLOCK or pub/sub wake-ups instead of polling (a
// connection per follower, or a subscriber that loses messages on reconnects; polling costs
// one HGETALL per follower per poll, and up to 200 ms of added latency for the first event
// after a quiet spell). Still to do for thousands of followers: one pipelined read per tick
// for all of them (each poll is a synchronous round trip on the loop thread).
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
  std::int64_t m_pause_ms = 0;         // until the next poll
  std::int64_t m_since_claim_ms = 0;
  std::uint64_t m_seen_next_seq = 0;
};

}  // namespace ssestitch::proxy
