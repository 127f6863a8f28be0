// `ssestitch inspect STORE [summary|sessions|streams|events|messages]`: what a store holds, as
// aligned tables for people or as JSON / NDJSON for scripts (messages: core/tape/reader.h, the
// tap's lines). Field names are stable (ssestitch-inspect(1));
// tables show the same fields, times as UTC ISO-8601, event data on one line, cut at 60 chars.
// Opens the store read-only: works beside a running proxy and on a crashed proxy's copy.

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "cmd/exit_code.h"
#include "cmd/store_view.h"
#include "core/util/text.h"
#include "cmd/subcommands.h"
#include "core/mcp/message.h"
#include "core/tape/file.h"
#include "core/tape/reader.h"
#include "core/util/clock.h"
#include "core/tracker/downstream_id.h"
#include "core/util/units.h"

namespace ssestitch::cmd {
namespace {

struct Field {
  std::string name;
  std::string text;  // table cell
  std::string json;  // JSON value
};
using Row = std::vector<Field>;

Field str(std::string name, std::string_view v, std::size_t max = 40) {
  return {std::move(name), cell_text(v, max), util::json_quote(v)};
}
Field num(std::string name, std::uint64_t v) { return {std::move(name), std::to_string(v), std::to_string(v)}; }
Field time_ms(std::string name, std::int64_t ms) {
  return {std::move(name), format_time_ms(ms), std::to_string(ms)};
}

std::string json_object(const Row& row) {
  std::string out = "{";
  for (const Field& f : row) {
    if (out.size() > 1) out += ',';
    out += util::json_quote(f.name);
    out += ':';
    out += f.json;
  }
  out += '}';
  return out;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// Prints rows in the chosen format; `what` names the JSON array ("sessions", ...).
void print_rows(const InspectOptions& o, const char* what, const std::vector<Row>& rows) {
  if (o.ndjson) {
    for (const Row& r : rows) std::printf("%s\n", json_object(r).c_str());
    return;
  }
  if (o.json) {
    std::string out = "{";
    out += util::json_quote(what);
    out += ":[";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (i > 0) out += ',';
      out += json_object(rows[i]);
    }
    out += "]}";
    std::printf("%s\n", out.c_str());
    return;
  }
  if (rows.empty()) {
    std::fprintf(stderr, "(no %s)\n", what);
    return;
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (std::size_t c = 0; c < width.size(); ++c) width[c] = rows.front()[c].name.size();
  for (const Row& r : rows) {
    for (std::size_t c = 0; c < width.size(); ++c) width[c] = std::max(width[c], r[c].text.size());
  }
  auto line = [&](auto cell) {
    std::string out;
    for (std::size_t c = 0; c < width.size(); ++c) {
      std::string t = cell(c);
      if (c + 1 < width.size()) t.resize(width[c] + 2, ' ');
      out += t;
    }
    std::printf("%s\n", out.c_str());
  };
  line([&](std::size_t c) { return upper(rows.front()[c].name); });
  for (const Row& r : rows) line([&](std::size_t c) { return r[c].text; });
}

int summary(const InspectOptions& o, const store::SessionStore& s) {
  auto st = s.stats();
  if (!st) return report_error(st.error());
  const Row row = {str("store", o.store, 200),
                   num("format_version", st->format_version),
                   {"bytes_used", util::format_size(st->file_bytes), std::to_string(st->file_bytes)},
                   {"map_bytes", util::format_size(st->map_bytes), std::to_string(st->map_bytes)},
                   num("sessions", st->sessions),
                   num("streams", st->streams),
                   num("events", st->events),
                   time_ms("oldest_event_ms", st->oldest_event_ms),
                   time_ms("newest_event_ms", st->newest_event_ms),
                   time_ms("last_commit_ms", st->last_commit_ms)};
  if (o.json || o.ndjson) {
    std::printf("%s\n", json_object(row).c_str());
  } else {
    for (const Field& f : row) std::printf("%-16s %s\n", (f.name + ":").c_str(), f.text.c_str());
  }
  return k_exit_ok;
}

int sessions(const InspectOptions& o, const store::SessionStore& s) {
  auto all = s.sessions();
  if (!all) return report_error(all.error());
  std::vector<Row> rows;
  for (const store::SessionRecord& r : *all) {
    if (!o.session.empty() && r.id != o.session) continue;
    if (o.limit != 0 && rows.size() >= o.limit) break;
    auto streams = s.streams(std::string_view(r.id));
    rows.push_back({str("id", r.id), str("upstream_id", r.upstream_id), str("protocol_version", r.protocol_version),
                    str("state", store::to_string(r.state)), num("streams", streams ? streams->size() : 0),
                    time_ms("created_ms", r.created_ms), time_ms("last_active_ms", r.last_active_ms)});
  }
  if (!o.session.empty() && rows.empty()) {
    return report_error({util::Errc::not_found, "no session " + o.session + " in " + o.store});
  }
  print_rows(o, "sessions", rows);
  return k_exit_ok;
}

util::Result<std::vector<store::StreamRecord>> selected_streams(const InspectOptions& o, const store::SessionStore& s) {
  if (o.stream) {
    auto one = s.stream(*o.stream);
    if (!one) return std::move(one).error();
    if (!*one || (!o.session.empty() && (*one)->session != o.session)) {
      return util::fail(util::Errc::not_found, "no stream " + std::to_string(*o.stream) +
                                                   (o.session.empty() ? "" : " in session " + o.session) + " in " + o.store);
    }
    return std::vector<store::StreamRecord>{**one};
  }
  if (!o.session.empty()) {
    auto session = s.session(o.session);
    if (!session) return std::move(session).error();
    if (!*session) return util::fail(util::Errc::not_found, "no session " + o.session + " in " + o.store);
    return s.streams(std::string_view(o.session));
  }
  return s.streams(std::nullopt);
}

int streams(const InspectOptions& o, const store::SessionStore& s) {
  auto selected = selected_streams(o, s);
  if (!selected) return report_error(selected.error());
  std::vector<Row> rows;
  for (const store::StreamRecord& r : *selected) {
    if (o.limit != 0 && rows.size() >= o.limit) break;
    rows.push_back({num("stream", r.stream), str("session", r.session, 32), str("kind", store::to_string(r.kind)),
                    str("state", store::to_string(r.state)), str("target", r.target, 30),
                    num("first_seq", r.retained.first_seq), num("last_seq", r.next_seq - 1),
                    num("events", r.retained.events),
                    {"bytes", util::format_size(r.retained.bytes), std::to_string(r.retained.bytes)},
                    num("evicted", r.retained.evicted), str("upstream_last_id", r.upstream_last_id, 24),
                    num("retry_ms", r.retry_ms), num("pending_requests", r.pending_request_ids.size()),
                    time_ms("created_ms", r.created_ms), time_ms("last_active_ms", r.last_active_ms)});
  }
  print_rows(o, "streams", rows);
  return k_exit_ok;
}

int events(const InspectOptions& o, const store::SessionStore& s) {
  auto selected = selected_streams(o, s);
  if (!selected) return report_error(selected.error());
  std::vector<Row> rows;
  for (const store::StreamRecord& r : *selected) {
    const std::size_t left = o.limit == 0 ? SIZE_MAX : o.limit - rows.size();
    if (left == 0) break;
    auto scanned = s.scan_events(r.stream, o.after, left, SIZE_MAX, [&](const store::EventView& e) {
      rows.push_back({num("stream", e.stream), num("seq", e.seq),
                      str("id", tracker::format_downstream_id({e.stream, e.seq})), str("upstream_id", e.upstream_id, 24),
                      str("event", e.type, 16), time_ms("time_ms", e.arrival_ms), str("data", e.data, 60)});
      return true;
    });
    if (!scanned) return report_error(scanned.error());
  }
  print_rows(o, "events", rows);
  return k_exit_ok;
}

// One recorded message as a table row: what it is in a word (the method, "result", "error").
Row message_row(const std::string& line) {
  auto text = [&](const char* pointer) { return mcp::json_string_at(line, pointer).value_or(""); };
  auto raw = [&](const char* pointer) {
    std::string v = mcp::json_at(line, pointer).value_or("null");
    return v == "null" ? std::string() : v;
  };
  const std::string kind = text("/kind");
  std::string what = text("/method");
  if (what.empty()) what = kind == "response" ? "result" : kind;
  const std::int64_t time = std::strtoll(raw("/time_ms").c_str(), nullptr, 10);
  const std::string stream = raw("/stream");
  const std::string latency = raw("/latency_ms");
  Row row = {time_ms("time_ms", time),
             str("direction", text("/direction") == "client_to_server" ? "->" : "<-"),
             str("session", text("/session"), 12),
             {"status", raw("/status"), raw("/status").empty() ? "null" : raw("/status")},
             str("what", what, 40),
             {"id", cell_text(raw("/id"), 16), raw("/id").empty() ? "null" : raw("/id")},
             {"latency_ms", latency, latency.empty() ? "null" : latency},
             {"size", raw("/size"), raw("/size")},
             {"event", stream.empty() ? "" : stream + "-" + raw("/seq"), stream.empty() ? "null" : util::json_quote(stream + "-" + raw("/seq"))}};
  row[1].json = util::json_quote(text("/direction"));
  return row;
}

// A tape file (core/tape/file.h) of one session on stdout.
int export_session(const InspectOptions& o, const store::SessionStore& s) {
  auto session = s.session(o.export_session);
  if (!session) return report_error(session.error());
  if (!*session) return report_error({util::Errc::not_found, "no session " + o.export_session + " in " + o.store});
  auto lines = tape::read_messages(s, o.export_session);
  if (!lines) return report_error(lines.error());
  if (lines->empty()) {
    return report_error({util::Errc::not_found, "session " + o.export_session + " recorded no messages (--record off?)"});
  }
  tape::TapeFile t;
  t.session = o.export_session;
  t.protocol_version = (*session)->protocol_version;
  t.exported_ms = util::system_clock().wall_ms();
  t.lines = std::move(*lines);
  std::printf("%s\n", tape::header_line(t).c_str());
  for (const std::string& l : t.lines) std::printf("%s\n", l.c_str());
  return k_exit_ok;
}

int messages(const InspectOptions& o, const store::SessionStore& s) {
  auto lines = tape::read_messages(s, o.session.empty() ? std::nullopt : std::optional<std::string>(o.session), o.limit);
  if (!lines) return report_error(lines.error());
  if (o.ndjson) {
    for (const std::string& l : *lines) std::printf("%s\n", l.c_str());
    return k_exit_ok;
  }
  if (o.json) {
    std::string out = "{\"messages\":[";
    for (std::size_t i = 0; i < lines->size(); ++i) out += (i > 0 ? "," : "") + (*lines)[i];
    std::printf("%s]}\n", out.c_str());
    return k_exit_ok;
  }
  std::vector<Row> rows;
  rows.reserve(lines->size());
  for (const std::string& l : *lines) rows.push_back(message_row(l));
  print_rows(o, "messages", rows);
  return k_exit_ok;
}

}  // namespace

int run_inspect(const GlobalOptions&, const InspectOptions& o) {
  auto opened = open_store_read_only(o.store);
  if (!opened) return report_error(opened.error());
  const store::SessionStore& s = **opened;
  int rc = k_exit_ok;
  if (!o.export_session.empty()) {
    rc = export_session(o, s);
  } else if (o.view == "sessions") {
    rc = sessions(o, s);
  } else if (o.view == "streams") {
    rc = streams(o, s);
  } else if (o.view == "events") {
    rc = events(o, s);
  } else if (o.view == "messages") {
    rc = messages(o, s);
  } else {
    rc = summary(o, s);
  }
  if (std::fflush(stdout) != 0) return k_exit_failure;
  return rc;
}

}  // namespace ssestitch::cmd
