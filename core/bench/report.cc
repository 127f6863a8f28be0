#include "core/bench/report.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/util/text.h"

namespace ssestitch::bench {
namespace {

std::string fixed(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}
std::string signed_fixed(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.*f", precision, v);
  return buf;
}

const Measurement* direct_of(const std::vector<Measurement>& all, const std::string& scenario) {
  for (const Measurement& m : all) {
    if (m.scenario == scenario && m.target == "direct") return &m;
  }
  return nullptr;
}

std::vector<std::string> scenarios_in(const std::vector<Measurement>& all) {
  std::vector<std::string> out;
  for (const Measurement& m : all) {
    if (std::find(out.begin(), out.end(), m.scenario) == out.end()) out.push_back(m.scenario);
  }
  return out;
}

bool is_latency(const std::string& s) { return s == "paced" || s == "fan"; }

// The cells of one row, shared by the text and HTML tables.
std::vector<std::string> header(const std::string& scenario) {
  if (scenario == "idle") return {"target", "streams", "proxy RSS MB", "RSS KB/stream", "keepalives", "ok"};
  if (scenario == "resume") return {"target", "events", "time to last ms", "vs direct", "CPU us/ev", "peak RSS MB", "lost", "dup", "ok"};
  std::vector<std::string> h = {"target", "events/s", "MB/s", "vs direct"};
  if (is_latency(scenario)) {
    for (const char* c : {"p50 us", "p90 us", "p99 us", "p99.9 us", "max us", "+p50 us", "first event us"}) h.emplace_back(c);
  }
  for (const char* c : {"CPU us/ev", "peak RSS MB", "lost", "dup", "ok"}) h.emplace_back(c);
  return h;
}

std::vector<std::string> cells(const Measurement& m, const Measurement* d) {
  const std::string ok = m.ok && m.lost == 0 && m.duplicated == 0 ? "yes" : "NO";
  const bool proxy = m.target != "direct";
  const std::string cpu = proxy ? fixed(m.cpu_us_per_event, 2) : "-";
  const std::string rss = proxy ? fixed(m.peak_rss_mb, 1) : "-";
  if (m.scenario == "idle") {
    return {m.target, std::to_string(m.streams), proxy ? fixed(m.idle_rss_mb, 1) : "-",
            proxy && m.streams > 0 ? fixed(m.idle_rss_mb * 1024 / static_cast<double>(m.streams), 1) : "-",
            std::to_string(m.keepalives), ok};
  }
  if (m.scenario == "resume") {
    const std::string ratio = d != nullptr && d->time_to_last_ms > 0 ? fixed(m.time_to_last_ms / d->time_to_last_ms, 2) + "x" : "-";
    return {m.target, std::to_string(m.events), fixed(m.time_to_last_ms, 2), ratio, cpu, rss,
            std::to_string(m.lost), std::to_string(m.duplicated), ok};
  }
  std::vector<std::string> c = {m.target, fixed(m.events_per_s, 0), fixed(m.mb_per_s, 1),
                                d != nullptr && d->events_per_s > 0 ? fixed(m.events_per_s / d->events_per_s, 2) + "x" : "-"};
  if (is_latency(m.scenario)) {
    for (double v : {m.p50_us, m.p90_us, m.p99_us, m.p999_us, m.max_us}) c.push_back(fixed(v, 1));
    c.push_back(d != nullptr ? signed_fixed(m.p50_us - d->p50_us, 1) : "-");
    c.push_back(fixed(m.first_event_us, 0));
  }
  for (const std::string& s : {cpu, rss, std::to_string(m.lost), std::to_string(m.duplicated), ok}) c.push_back(s);
  return c;
}

// Horizontal bars, one per (label, value), scaled to the largest.
std::string svg_bars(const std::vector<std::pair<std::string, double>>& bars, const std::string& unit) {
  double top = 0;
  for (const auto& [l, v] : bars) top = std::max(top, v);
  const int row = 22, label_w = 170, width = 640;
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
                    std::to_string(row * static_cast<int>(bars.size()) + 6) + "\" font-family=\"sans-serif\" font-size=\"12\">";
  int y = 2;
  for (const auto& [label, v] : bars) {
    const int w = top > 0 ? static_cast<int>((width - label_w - 110) * v / top) : 0;
    out += "<text x=\"0\" y=\"" + std::to_string(y + 14) + "\">" + util::markup_escape(label) + "</text>";
    out += "<rect x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(y + 3) + "\" width=\"" + std::to_string(std::max(w, 1)) +
           "\" height=\"15\" fill=\"" + (label.find("direct") != std::string::npos ? "#999" : "#3573b9") + "\"/>";
    out += "<text x=\"" + std::to_string(label_w + w + 6) + "\" y=\"" + std::to_string(y + 14) + "\">" + fixed(v, 1) + " " +
           util::markup_escape(unit) + "</text>";
    y += row;
  }
  return out + "</svg>";
}

}  // namespace

std::string render_text(const std::vector<Measurement>& all) {
  std::string out;
  for (const std::string& s : scenarios_in(all)) {
    const Measurement* d = direct_of(all, s);
    std::vector<std::vector<std::string>> rows = {header(s)};
    for (const Measurement& m : all) {
      if (m.scenario == s) rows.push_back(cells(m, d));
    }
    std::vector<std::size_t> w(rows.front().size(), 0);
    for (const auto& r : rows) {
      for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
    }
    out += "== " + s + "\n";
    for (const auto& r : rows) {
      std::string line;
      for (std::size_t i = 0; i < r.size(); ++i) {
        std::string c = r[i];
        if (i == 0) {
          c.resize(w[i], ' ');
        } else {
          c.insert(0, w[i] - std::min(w[i], c.size()), ' ');
        }
        line += (i == 0 ? "" : "  ") + c;
      }
      out += line + "\n";
    }
    for (const Measurement& m : all) {
      if (m.scenario == s && !m.error.empty()) out += "   " + m.target + ": " + m.error + "\n";
    }
    out += "\n";
  }
  return out;
}

std::string render_json(const std::vector<Measurement>& all) {
  std::string out = "{\"results\":[";
  bool first = true;
  for (const Measurement& m : all) {
    const Measurement* d = direct_of(all, m.scenario);
    if (!first) out += ',';
    first = false;
    out += "{\"scenario\":" + util::json_quote(m.scenario) + ",\"target\":" + util::json_quote(m.target) +
           ",\"ok\":" + (m.ok && m.lost == 0 && m.duplicated == 0 ? "true" : "false") +
           ",\"error\":" + util::json_quote(m.error) + ",\"events\":" + std::to_string(m.events) +
           ",\"bytes\":" + std::to_string(m.bytes) + ",\"lost\":" + std::to_string(m.lost) +
           ",\"duplicated\":" + std::to_string(m.duplicated) + ",\"seconds\":" + fixed(m.seconds, 6) +
           ",\"events_per_s\":" + fixed(m.events_per_s, 1) + ",\"mb_per_s\":" + fixed(m.mb_per_s, 3) +
           ",\"ratio_to_direct\":" + (d != nullptr && d->events_per_s > 0 ? fixed(m.events_per_s / d->events_per_s, 4) : "null") +
           ",\"latency_us\":{\"p50\":" + fixed(m.p50_us, 2) + ",\"p90\":" + fixed(m.p90_us, 2) +
           ",\"p99\":" + fixed(m.p99_us, 2) + ",\"p999\":" + fixed(m.p999_us, 2) + ",\"max\":" + fixed(m.max_us, 2) + "}" +
           ",\"first_event_us\":" + (is_latency(m.scenario) ? fixed(m.first_event_us, 1) : "null") +
           ",\"added_p50_us\":" + (d != nullptr && is_latency(m.scenario) ? fixed(m.p50_us - d->p50_us, 2) : "null") +
           ",\"cpu_us_per_event\":" + fixed(m.cpu_us_per_event, 3) + ",\"peak_rss_mb\":" + fixed(m.peak_rss_mb, 2) +
           ",\"time_to_last_ms\":" + fixed(m.time_to_last_ms, 3) + ",\"streams\":" + std::to_string(m.streams) +
           ",\"keepalives\":" + std::to_string(m.keepalives) + ",\"idle_rss_mb\":" + fixed(m.idle_rss_mb, 2) + "}";
  }
  return out + "]}\n";
}

std::string render_html(const std::vector<Measurement>& all, const std::string& title) {
  std::string out = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + util::markup_escape(title) +
                    "</title><style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;"
                    "margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}td:first-child,"
                    "th:first-child{text-align:left}th{background:#eee}.bad{color:#b00;font-weight:bold}</style></head><body><h1>" +
                    util::markup_escape(title) + "</h1><p>Medians over rounds; ratios and added latency against <b>direct</b> in the "
                    "same run. Proxy CPU and peak RSS from /proc.</p>";
  for (const std::string& s : scenarios_in(all)) {
    const Measurement* d = direct_of(all, s);
    out += "<h2>" + util::markup_escape(s) + "</h2><table><tr>";
    for (const std::string& h : header(s)) out += "<th>" + util::markup_escape(h) + "</th>";
    out += "</tr>";
    std::vector<std::pair<std::string, double>> bars;
    std::vector<std::pair<std::string, double>> lat;
    for (const Measurement& m : all) {
      if (m.scenario != s) continue;
      out += "<tr>";
      for (const std::string& c : cells(m, d)) out += std::string("<td") + (c == "NO" ? " class=\"bad\"" : "") + ">" + util::markup_escape(c) + "</td>";
      out += "</tr>";
      if (s == "resume") {
        bars.emplace_back(m.target, m.time_to_last_ms);
      } else if (s == "idle") {
        if (m.target != "direct") bars.emplace_back(m.target, m.idle_rss_mb);
      } else {
        bars.emplace_back(m.target, m.events_per_s);
      }
      if (is_latency(s)) {
        for (const auto& [q, v] : std::vector<std::pair<std::string, double>>{{"p50", m.p50_us}, {"p90", m.p90_us}, {"p99", m.p99_us}, {"p99.9", m.p999_us}}) {
          lat.emplace_back(m.target + " " + q, v);
        }
      }
    }
    out += "</table>";
    out += svg_bars(bars, s == "resume" ? "ms to last event" : s == "idle" ? "MB proxy RSS" : "events/s");
    if (!lat.empty()) out += "<h3>latency distribution</h3>" + svg_bars(lat, "us");
  }
  return out + "</body></html>\n";
}

}  // namespace ssestitch::bench
