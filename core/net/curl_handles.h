#pragma once
// RAII owners of libcurl's handles, for the files of core/net that talk to libcurl (the only
// ones that may). CURL and CURLM are `void` in curl.h, so these headers need not include it.

#include <memory>

struct curl_slist;

namespace ssestitch::net {

struct CurlEasyFree {
  void operator()(void* easy) const noexcept;  // curl_easy_cleanup
};
struct CurlMultiFree {
  void operator()(void* multi) const noexcept;  // curl_multi_cleanup
};
struct CurlSlistFree {
  void operator()(curl_slist* list) const noexcept;  // curl_slist_free_all
};

using CurlEasy = std::unique_ptr<void, CurlEasyFree>;    // CURL*
using CurlMulti = std::unique_ptr<void, CurlMultiFree>;  // CURLM*
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistFree>;

}  // namespace ssestitch::net
