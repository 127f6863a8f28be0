// LmdbStore's journal (lmdb_journal.h): the frame file alone, the batch encoding, and the store
// with it: reads see journaled batches, a process killed before applying them loses nothing
// (the next open, read-only or not, applies them), and the file is reused epoch after epoch.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/store/lmdb_codec.h"
#include "core/store/lmdb_journal.h"
#include "core/store/lmdb_store.h"
#include "tests/unit/store_test_support.h"

using namespace ssestitch;
using namespace ssestitch::store;
using namespace ssestitch::test;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("store");

namespace {

struct Frame {
  std::string payload;
  std::uint64_t end = 0;
};

std::vector<Frame> frames(const lmdb::Journal& j, lmdb::JournalMark from) {
  std::vector<Frame> out;
  auto r = j.scan(from, [&](std::string_view p, std::uint64_t end) {
    out.push_back(Frame{std::string(p), end});
    return true;
  });
  REQUIRE(r);
  return out;
}

void overwrite(const fs::path& file, std::uint64_t at, const std::string& bytes) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

LmdbOptions journal_options(const std::string& dir) {
  LmdbOptions o;
  o.dir = dir;
  o.sync = SyncMode::none;
  o.retention = keep_all();
  o.journal_delay_ms = 3'600'000;  // nothing is applied unless a read, a flush or the close asks
  o.idle_wake_ms = 3'600'000;
  return o;
}

// Submits `b` and checks that it was journaled: the callback ran on this thread, successfully,
// before submit() returned.
void submit_inline(LmdbStore& s, Batch b) {
  bool called = false;
  REQUIRE(s.submit(std::move(b), [&](const util::Result<CommitInfo>& r) {
    CHECK(r);
    called = true;
  }));
  CHECK(called);
}

}  // namespace

TEST_CASE("store::lmdb::Journal frames: in order, one epoch, a torn or foreign frame ends a scan") {
  TempDir tmp;
  auto j = lmdb::Journal::open(tmp.path().string(), 4096);
  REQUIRE(j);
  CHECK(fs::file_size(tmp.path() / "journal") == 4096);
  std::uint64_t at = 0;
  for (const std::string& p : std::vector<std::string>{"one", "", std::string(100, 'x'), "four"}) {
    REQUIRE(j->append(7, at, p));
    at += lmdb::Journal::frame_bytes(p.size());
  }
  auto all = frames(*j, {7, 0});
  REQUIRE(all.size() == 4);
  CHECK(all[0].payload == "one");
  CHECK(all[1].payload.empty());
  CHECK(all[2].payload == std::string(100, 'x'));
  CHECK(all[3].end == at);
  CHECK(frames(*j, {7, all[1].end}).size() == 2);  // from a frame's end
  CHECK(frames(*j, {8, 0}).empty());                // another epoch's frames are not this one's
  // A frame of an older epoch after the newest: not part of it.
  REQUIRE(j->append(6, at, "stale"));
  CHECK(frames(*j, {7, 0}).size() == 4);
  SUBCASE("a flipped payload byte ends the scan at that frame") {
    overwrite(tmp.path() / "journal", all[2].end - 1, "y");
    CHECK(frames(*j, {7, 0}).size() == 2);
  }
  SUBCASE("a length past the file ends the scan") {
    overwrite(tmp.path() / "journal", all[2].end + 4, std::string("\x7f\xff\xff\xff", 4));
    CHECK(frames(*j, {7, 0}).size() == 3);
  }
  SUBCASE("a reader of a missing journal sees none") {
    auto r = lmdb::Journal::open_read((tmp.path() / "nothing").string());
    REQUIRE(r);
    CHECK(frames(*r, {1, 0}).empty());
  }
}

TEST_CASE("store::codec a whole batch survives the journal's encoding") {
  Batch b = events_batch(5, 3, 6, 40, 1234, "sess");
  b.events[1].type = "progress";
  b.events[2].upstream_id.clear();
  SessionRecord s;
  s.id = "sess";
  s.upstream_id = std::string("up\0id", 5);
  s.state = SessionState::closed;
  b.sessions.push_back(s);
  std::string enc;
  codec::encode_batch(b, enc);
  Batch d;
  REQUIRE(codec::decode_batch(enc, d));
  REQUIRE(d.sessions.size() == 1);
  CHECK(d.sessions[0].upstream_id == s.upstream_id);
  CHECK(d.sessions[0].state == SessionState::closed);
  REQUIRE(d.events.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(d.events[i].stream == 5);
    CHECK(d.events[i].seq == b.events[i].seq);
    CHECK(d.events[i].upstream_id == b.events[i].upstream_id);
    CHECK(d.events[i].type == b.events[i].type);
    CHECK(d.events[i].data == b.events[i].data);
    CHECK(d.events[i].arrival_ms == 1234);
  }
  REQUIRE(d.streams.size() == 1);
  CHECK(d.streams[0].next_seq == 7);
  CHECK(d.streams[0].session == "sess");
  for (std::size_t cut = 0; cut < enc.size(); ++cut) CHECK_FALSE(codec::decode_batch(enc.substr(0, cut), d));
  CHECK_FALSE(codec::decode_batch(enc + "x", d));
}

TEST_CASE("store::LmdbStore reads see journaled batches at once") {
  TempDir tmp;
  auto s = LmdbStore::open(journal_options((tmp.path() / "store").string()));
  REQUIRE(s);
  for (std::uint64_t q = 1; q <= 20; ++q) submit_inline(**s, events_batch(1, q, q));
  CHECK((*s)->metrics().commits == 0);  // nothing applied yet: the delay is an hour
  CHECK(seqs(**s, 1).size() == 20);     // the read had them applied first
  CHECK(stored_stream(**s, 1).next_seq == 21);
  CHECK((*s)->metrics().commits >= 1);
}

TEST_CASE("store::LmdbStore a read from an inline transaction's callback does not wait for the writer") {
  // The callback runs under the transaction mutex; had the batch it submits been journaled, its
  // read would wait for the writer thread, which waits for that mutex: a deadlock.
  TempDir tmp;
  LmdbOptions o = journal_options((tmp.path() / "store").string());
  o.journal_bytes = 4096;  // the first batch is too large for it: a plain inline transaction
  auto s = LmdbStore::open(o);
  REQUIRE(s);
  bool called = false;
  REQUIRE((*s)->submit(events_batch(1, 1, 1, 3000), [&](const util::Result<CommitInfo>& r) {
    CHECK(r);
    REQUIRE((*s)->submit(events_batch(2, 1, 1), [](const util::Result<CommitInfo>&) {}));
    CHECK(seqs(**s, 1).size() == 1);
    called = true;
  }));
  CHECK(called);
  REQUIRE((*s)->flush());
  CHECK(seqs(**s, 2).size() == 1);
}

TEST_CASE("store::LmdbStore a writer killed before applying its journal loses nothing") {
  TempDir tmp;
  const std::string dir = (tmp.path() / "store").string();
  { REQUIRE(LmdbStore::open(journal_options(dir))); }  // created by this process, closed
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child journals 300 events in 30 batches and a session, then dies without closing.
    auto s = LmdbStore::open(journal_options(dir));
    if (!s) ::_exit(2);
    for (std::uint64_t q = 1; q <= 300; q += 10) {
      bool called = false;
      Batch b = events_batch(3, q, q + 9, 64, 5000, q == 1 ? "s1" : "");
      if (q == 1) {
        SessionRecord rec;
        rec.id = "s1";
        b.sessions.push_back(rec);
      }
      if (!(*s)->submit(std::move(b), [&](const util::Result<CommitInfo>& r) { called = r.has_value(); }) || !called) {
        ::_exit(3);
      }
    }
    if ((*s)->metrics().commits != 0) ::_exit(4);  // all of it still only in the journal
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  SUBCASE("a read-only open applies it first, and removes nothing") {
    LmdbOptions ro = journal_options(dir);
    ro.read_only = true;
    ro.retention.max_events_per_stream = 100;  // a reader's retention is not applied
    auto s = LmdbStore::open(ro);
    REQUIRE(s);
    CHECK(seqs(**s, 3).size() == 300);
    CHECK(stored_stream(**s, 3).next_seq == 301);
    CHECK((*s)->session("s1")->has_value());
  }
  SUBCASE("a writable open applies it") {
    auto s = LmdbStore::open(journal_options(dir));
    REQUIRE(s);
    std::vector<std::uint64_t> got = seqs(**s, 3);
    REQUIRE(got.size() == 300);
    for (std::uint64_t i = 0; i < 300; ++i) CHECK(got[i] == i + 1);
    // Appends go on after what was recovered, and a second open applies nothing twice.
    submit_inline(**s, events_batch(3, 301, 301));
    s->reset();
    auto again = LmdbStore::open(journal_options(dir));
    REQUIRE(again);
    CHECK(seqs(**again, 3).size() == 301);
  }
}

TEST_CASE("store::LmdbStore reuses its journal from the start, epoch after epoch") {
  // A journal of 4 KiB holds about ten of these frames: it fills (commits go the plain way
  // meanwhile), the writer applies everything and starts a new epoch, many times over.
  for (const std::int64_t delay : {std::int64_t{0}, std::int64_t{3'600'000}}) {
    CAPTURE(delay);
    TempDir tmp;
    const std::string dir = (tmp.path() / "store").string();
    LmdbOptions o = journal_options(dir);
    o.journal_bytes = 4096;
    o.journal_delay_ms = delay;
    {
      auto s = LmdbStore::open(o);
      REQUIRE(s);
      for (std::uint64_t q = 1; q <= 2000; ++q) REQUIRE(commit(**s, events_batch(1, q, q, 300)));
      CHECK(seqs(**s, 1).size() == 2000);
    }
    auto s = LmdbStore::open(o);
    REQUIRE(s);
    std::vector<std::uint64_t> got = seqs(**s, 1);
    REQUIRE(got.size() == 2000);
    for (std::uint64_t i = 0; i < 2000; ++i) CHECK(got[i] == i + 1);
  }
}

TEST_SUITE_END();
