#include "core/store/lmdb_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "core/store/lmdb_codec.h"
#include "core/store/lmdb_handles.h"

namespace ssestitch::store::lmdb {
namespace {

using util::Errc;

constexpr std::array<std::uint32_t, 256> crc32c_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<std::uint32_t, 256> k_crc32c = crc32c_table();

std::uint32_t crc32c(std::uint32_t crc, std::string_view bytes) noexcept {
  crc = ~crc;
  for (const char b : bytes) crc = k_crc32c[(crc ^ static_cast<unsigned char>(b)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::uint32_t frame_crc(const char* epoch8, std::string_view payload) noexcept {
  return crc32c(crc32c(0, std::string_view(epoch8, 8)), payload);
}

}  // namespace

std::string encode_mark(JournalMark mark) {
  std::string out(16, '\0');
  codec::put_u64_be(out.data(), mark.epoch);
  codec::put_u64_be(out.data() + 8, mark.offset);
  return out;
}

bool decode_mark(std::string_view in, JournalMark& mark) noexcept {
  if (in.size() != 16) return false;
  mark = JournalMark{codec::get_u64_be(in.data()), codec::get_u64_be(in.data() + 8)};
  return true;
}

util::Result<Journal> Journal::open(const std::string& dir, std::uint64_t bytes) {
  std::string path = dir + "/journal";
  util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return util::fail(Errc::store_open_failed, errno_message("open", path, errno));
  if (const int err = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes)); err != 0) {
    return util::fail(Errc::store_open_failed,
                      errno_message("posix_fallocate", path, err) + " (the store reserves its journal on disk)");
  }
  return Journal(std::move(path), std::move(fd), bytes);
}

util::Result<Journal> Journal::open_read(const std::string& dir) {
  std::string path = dir + "/journal";
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return Journal(std::move(path), util::UniqueFd(), 0);
    return util::fail(Errc::store_open_failed, errno_message("open", path, errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return util::fail(Errc::store_open_failed, errno_message("fstat", path, errno));
  return Journal(std::move(path), std::move(fd), static_cast<std::uint64_t>(st.st_size));
}

util::Result<void> Journal::append(std::uint64_t epoch, std::uint64_t offset, std::string_view payload) {
  char h[k_header_bytes];
  codec::put_u32_be(h, k_magic);
  codec::put_u32_be(h + 4, static_cast<std::uint32_t>(payload.size()));
  codec::put_u64_be(h + 8, epoch);
  codec::put_u32_be(h + 16, frame_crc(h + 8, payload));
  codec::put_u32_be(h + 20, 0);
  // Header and payload in one call, the payload not copied; a short write goes on where it
  // stopped.
  iovec iov[2] = {{h, sizeof h}, {const_cast<char*>(payload.data()), payload.size()}};
  int first = 0;  // the first iovec not written whole
  std::uint64_t at = offset;
  while (first < 2) {
    const ssize_t n = ::pwritev(m_fd.get(), iov + first, 2 - first, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return util::fail(Errc::io_error, errno_message("pwritev", m_path, n < 0 ? errno : EIO));
    at += static_cast<std::uint64_t>(n);
    std::size_t left = static_cast<std::size_t>(n);
    while (first < 2 && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (first < 2) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return util::ok();
}

util::Result<std::uint64_t> Journal::scan(JournalMark from,
                                          util::FunctionRef<bool(std::string_view, std::uint64_t)> visit) const {
  std::uint64_t at = from.offset;
  std::string frame;
  while (m_fd && at + k_header_bytes <= m_capacity) {
    char h[k_header_bytes];
    const ssize_t n = ::pread(m_fd.get(), h, sizeof h, static_cast<off_t>(at));
    if (n < 0) return util::fail(Errc::io_error, errno_message("pread", m_path, errno));
    if (static_cast<std::size_t>(n) < sizeof h || codec::get_u32_be(h) != k_magic ||
        codec::get_u64_be(h + 8) != from.epoch) {
      break;
    }
    const std::uint32_t len = codec::get_u32_be(h + 4);
    if (at + k_header_bytes + len > m_capacity) break;
    frame.resize(len);
    const ssize_t m = len == 0 ? 0 : ::pread(m_fd.get(), frame.data(), len, static_cast<off_t>(at + k_header_bytes));
    if (m < 0) return util::fail(Errc::io_error, errno_message("pread", m_path, errno));
    if (static_cast<std::uint32_t>(m) != len || frame_crc(h + 8, frame) != codec::get_u32_be(h + 16)) break;
    at += k_header_bytes + len;
    if (!visit(frame, at)) break;
  }
  return at;
}

}  // namespace ssestitch::store::lmdb
