#pragma once
// Tape files: one recorded session, self-contained, as `inspect STORE --export-session ID`
// writes it and `replay TAPE ...` reads it.
//
// Format, version 1: NDJSON. The first line is the header
//   {"ssestitch_tape":1,"session":"<id>","protocol_version":"<v>","exported_ms":<ms>,"messages":<n>}
// then the session's messages, one tape line each (core/tape/message.h, the tap's fields), in
// order, bodies included (a tape recorded with --record metadata has none: it can be read, not
// served). Readers refuse a header with another "ssestitch_tape" version.

#include <cstdint>
#include <string>
#include <vector>

#include "core/util/result.h"

namespace ssestitch::tape {

inline constexpr int k_tape_version = 1;

struct TapeFile {
  std::string session;
  std::string protocol_version;
  std::int64_t exported_ms = 0;
  std::vector<std::string> lines;
};

std::string header_line(const TapeFile& tape);  // without its LF

// Whether `path` is a tape file (a regular file whose first line is a tape header).
bool is_tape_file(const std::string& path);
// Errors: io_error (unreadable), invalid_argument (not a tape, another version).
util::Result<TapeFile> read_tape_file(const std::string& path);

}  // namespace ssestitch::tape
