#pragma once
// How the overhead mode's results are shown: a text table per scenario (people), one JSON
// document (scripts; field names stable, see ssestitch-bench(1)), or a self-contained HTML page
// with the tables and inline SVG charts (throughput bars, latency percentiles per target).
// Ratios and added latency are against the `direct` row of the same scenario.

#include <string>
#include <vector>

#include "core/bench/overhead.h"

namespace ssestitch::bench {

std::string render_text(const std::vector<Measurement>& results);
std::string render_json(const std::vector<Measurement>& results);
std::string render_html(const std::vector<Measurement>& results, const std::string& title);

}  // namespace ssestitch::bench
