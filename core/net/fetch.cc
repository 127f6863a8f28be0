#include "core/net/fetch.h"

#include <curl/curl.h>

#include <charconv>

#include "core/net/curl_handles.h"
#include "core/util/log.h"

namespace ssestitch::net {
namespace {

struct Reading {
  const std::function<void(int, const Headers&)>& on_headers;
  const std::function<void(std::string_view)>& on_body;
  int status = 0;
  Headers headers;
  bool failed = false;  // a callback threw: the transfer is ended
};

// CURLOPT_HEADERFUNCTION
size_t on_header_line(char* data, size_t size, size_t n, void* arg) noexcept {
  auto* x = static_cast<Reading*>(arg);
  const std::string_view line(data, size * n);
  try {
    if (line.starts_with("HTTP/")) {  // a new block (after 1xx answers)
      x->headers = Headers();
      x->status = 0;
      if (const auto sp = line.find(' '); sp != std::string_view::npos) {
        const std::string_view code = line.substr(sp + 1, 3);
        std::from_chars(code.data(), code.data() + code.size(), x->status);
      }
    } else if (trim_header_text(line).empty()) {
      if (x->status >= 200) x->on_headers(x->status, x->headers);
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      x->headers.add(trim_header_text(line.substr(0, colon)), trim_header_text(line.substr(colon + 1)));
    }
  } catch (const std::exception& e) {
    util::log(util::LogLevel::error, "internal_error", {{"where", "fetch headers"}, {"what", e.what()}});
    x->failed = true;
    return 0;
  }
  return size * n;
}

// CURLOPT_WRITEFUNCTION
size_t on_write(char* data, size_t size, size_t n, void* arg) noexcept {
  auto* x = static_cast<Reading*>(arg);
  try {
    x->on_body(std::string_view(data, size * n));
  } catch (const std::exception& e) {
    util::log(util::LogLevel::error, "internal_error", {{"where", "fetch body"}, {"what", e.what()}});
    x->failed = true;
    return 0;
  }
  return size * n;
}

}  // namespace

FetchResult fetch(const UpstreamRequest& request, const std::function<void(int, const Headers&)>& on_headers,
                  const std::function<void(std::string_view)>& on_body) {
  init_process();
  FetchResult result;
  CurlEasy easy(curl_easy_init());
  if (!easy) {
    result.error = "curl_easy_init failed";
    return result;
  }
  CurlSlist headers;
  for (const Header& h : request.headers.all()) {
    if (!is_safe_header_value(h.value) || !is_safe_header_value(h.name)) continue;
    const std::string line = h.value.empty() ? h.name + ";" : h.name + ": " + h.value;
    if (curl_slist* next = curl_slist_append(headers.get(), line.c_str()); next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
  }
  Reading x{on_headers, on_body, 0, Headers(), false};
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
  if (request.total_timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout_ms));
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header_line);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
  if (request.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  const CURLcode rc = curl_easy_perform(e);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  result.status = static_cast<int>(status);
  result.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
  if (x.failed) {
    result.error = "internal error while reading the response";
  } else if (rc != CURLE_OK) {
    result.error = curl_easy_strerror(rc);
  }
  return result;
}

}  // namespace ssestitch::net
