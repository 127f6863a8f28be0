#include "core/net/curl_handles.h"

#include <curl/curl.h>

namespace ssestitch::net {

void CurlEasyFree::operator()(void* easy) const noexcept { curl_easy_cleanup(static_cast<CURL*>(easy)); }
void CurlMultiFree::operator()(void* multi) const noexcept { curl_multi_cleanup(static_cast<CURLM*>(multi)); }
void CurlSlistFree::operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }

}  // namespace ssestitch::net
