#pragma once
// lmdb::Journal: the append-only file in front of LmdbStore's B-tree. Private to core/store.
//
// The problem: an LMDB commit of one paced event writes about seven scattered pages (one
// pwrite each: lmdb_writer.h), and that commit is on the event's way to its client.
// The approach: the commit is one pwrite of the batch at the end of this file; lmdb::Writer
// applies what was journaled to the B-tree a few milliseconds later, many batches to a
// transaction, and records in the same transaction how far the journal is applied (meta
// "journal": the epoch and the offset, lmdb_store.h). The next writable open applies what the
// last one journaled and did not apply (a kill -9), then starts a new epoch.
//
// File: <store>/journal, created 0600 and reserved (posix_fallocate) to its full size at a
// writable open, so an append never meets a full disk. Frames back to back from offset 0, each:
//   u32 magic 0x534A4631 ("SJF1"), u32 payload length, u64 epoch, u32 CRC-32C of the epoch's
//   8 bytes and the payload, u32 zero, payload (an encoded Batch: codec::encode_batch)
// all integers big-endian. A frame counts only with the magic, the expected epoch and a
// matching CRC, so whatever follows the last frame of an epoch (a torn write, frames of an
// older epoch, zeros) ends a scan. An epoch's frames are written once, in order, from offset 0;
// the file is reused from its start only with a new epoch, recorded applied first.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/function_ref.h"
#include "core/util/result.h"
#include "core/util/unique_fd.h"

namespace ssestitch::store::lmdb {

// Where the journal is applied up to: frames of `epoch` before `offset` are in the B-tree.
struct JournalMark {
  std::uint64_t epoch = 1;
  std::uint64_t offset = 0;
};

// The meta record that holds the mark (lmdb_store.h): u64 epoch, u64 offset, big-endian.
inline constexpr std::string_view k_mark_key = "journal";
std::string encode_mark(JournalMark mark);
// False unless `in` is exactly 16 bytes.
bool decode_mark(std::string_view in, JournalMark& mark) noexcept;

class Journal {
 public:
  static constexpr std::uint32_t k_magic = 0x534A4631;
  static constexpr std::size_t k_header_bytes = 24;

  // Opens (creating it) <dir>/journal for appends and reserves `bytes` for it. Errors:
  // store_open_failed (naming the call and the path; ENOSPC says the disk is too small).
  static util::Result<Journal> open(const std::string& dir, std::uint64_t bytes);
  // Opens <dir>/journal to read; a missing file reads as an empty journal.
  static util::Result<Journal> open_read(const std::string& dir);

  std::uint64_t capacity() const noexcept { return m_capacity; }
  // The bytes a frame of `payload_bytes` takes.
  static std::uint64_t frame_bytes(std::size_t payload_bytes) noexcept { return k_header_bytes + payload_bytes; }
  // Writes one frame of `epoch` at `offset` (the caller keeps the end, and checks that it fits).
  // Errors: io_error.
  util::Result<void> append(std::uint64_t epoch, std::uint64_t offset, std::string_view payload);
  // Calls visit(payload, end offset) for each frame of `from.epoch` from `from.offset` on, in
  // order, until the first that is not one, or until visit returns false. Returns the end of
  // the last frame visited (from.offset if none). Errors: io_error.
  util::Result<std::uint64_t> scan(JournalMark from,
                                   util::FunctionRef<bool(std::string_view payload, std::uint64_t end)> visit) const;

 private:
  Journal(std::string path, util::UniqueFd fd, std::uint64_t capacity)
      : m_path(std::move(path)), m_fd(std::move(fd)), m_capacity(capacity) {}
  std::string m_path;
  util::UniqueFd m_fd;  // invalid: no file (an empty journal)
  std::uint64_t m_capacity = 0;
};

}  // namespace ssestitch::store::lmdb
