#pragma once
// MemoryStore: a SessionStore kept in process memory, for `proxy --no-store` and unit tests.
// Same contract as LmdbStore, with these differences: submit() applies the batch and calls
// `done` inline before returning; nothing survives the process; retention applies per stream
// (count, bytes, age) and per store (store_max_bytes of event payload: past 90 % of it the least
// recently active streams lose their oldest events, at most 4,096 per commit, back to 90 %;
// above the bound itself, as many as it takes). Events are packed into blocks per stream
// (memory_log.h). Thread-safe (one mutex).

#include <map>
#include <memory>
#include <mutex>

#include "core/store/session_store.h"
#include "core/util/clock.h"

namespace ssestitch::store {

class MemoryStore final : public SessionStore {
 public:
  explicit MemoryStore(Retention retention = {}, const util::Clock* clock = nullptr);
  ~MemoryStore() override;

  util::Result<void> submit(Batch batch, CommitCallback done) override;
  util::Result<void> flush() override;
  std::uint64_t allocate_stream_number() override;
  util::Result<std::optional<SessionRecord>> session(std::string_view id) const override;
  util::Result<std::optional<StreamRecord>> stream(std::uint64_t stream) const override;
  util::Result<std::vector<SessionRecord>> sessions() const override;
  util::Result<std::vector<StreamRecord>> streams(std::optional<std::string_view> session) const override;
  util::Result<std::size_t> scan_events(std::uint64_t stream, std::uint64_t after_seq,
                                        std::size_t limit, std::size_t max_bytes,
                                        util::FunctionRef<bool(const EventView&)> visit) const override;
  util::Result<StoreStats> stats() const override;
  StoreMetrics metrics() const override;

  struct Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ssestitch::store
