#include <doctest/doctest.h>

#include <string>

#include "core/tape/message.h"

using namespace ssestitch;

namespace {

tape::Message message(tape::Direction d, std::string_view session, std::int64_t t, std::string_view body) {
  tape::Message m;
  m.direction = d;
  m.session = session;
  m.time_ms = t;
  m.body = body;
  return m;
}

}  // namespace

TEST_SUITE_BEGIN("tape");

TEST_CASE("tape::ndjson_line: stable fields, one line, latency of the answer") {
  tape::Latencies lat;
  tape::Message req = message(tape::Direction::to_server, "", 1000, "{\"jsonrpc\":\"2.0\",\n \"id\":7,\"method\":\"ping\"}");
  req.http_method = "POST";
  CHECK(tape::ndjson_line(req, lat) ==
        "{\"time_ms\":1000,\"direction\":\"client_to_server\",\"session\":null,\"http_method\":\"POST\",\"status\":null,"
        "\"content_type\":null,\"kind\":\"request\",\"method\":\"ping\",\"id\":7,\"latency_ms\":null,\"size\":42,"
        "\"stream\":null,\"seq\":null,\"from_proxy\":false,\"message\":{\"jsonrpc\":\"2.0\",  \"id\":7,\"method\":\"ping\"}}\n");
  // The answer comes in the session the initialize created: still matched.
  tape::Message res = message(tape::Direction::to_client, "s1", 1012, R"({"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"x"}})");
  res.status = 200;
  res.content_type = "application/json";
  res.stream = 3;
  res.seq = 9;
  const std::string line = tape::ndjson_line(res, lat);
  CHECK(line.find(R"("session":"s1")") != std::string::npos);
  CHECK(line.find(R"("kind":"error")") != std::string::npos);
  CHECK(line.find(R"("latency_ms":12)") != std::string::npos);
  CHECK(line.find(R"("stream":3,"seq":9)") != std::string::npos);
  CHECK(tape::ndjson_line(res, lat).find(R"("latency_ms":null)") != std::string::npos);  // once
}

TEST_CASE("tape::ndjson_line: bodies that are not JSON-RPC, or not JSON, or left out") {
  tape::Latencies lat;
  std::string line = tape::ndjson_line(message(tape::Direction::to_client, "", 1, "not \"json\"\n"), lat);
  CHECK(line.find(R"("kind":"other")") != std::string::npos);
  CHECK(line.find(R"("message":null,"body_text":"not \"json\"\n"})") != std::string::npos);
  CHECK(line.find('\n') == line.size() - 1);
  line = tape::ndjson_line(message(tape::Direction::to_client, "", 1, R"([{"jsonrpc":"2.0","method":"a"}])"), lat);
  CHECK(line.find(R"("kind":"batch")") != std::string::npos);
  line = tape::ndjson_line(message(tape::Direction::to_client, "", 1, R"({"a":1})"), lat);
  CHECK(line.find(R"("kind":"other")") != std::string::npos);
  CHECK(line.find(R"("message":{"a":1})") != std::string::npos);
  tape::Message big = message(tape::Direction::to_client, "", 1, "");
  big.size = 5000000;
  line = tape::ndjson_line(big, lat, false);
  CHECK(line.find(R"("kind":null)") != std::string::npos);
  CHECK(line.find(R"("size":5000000)") != std::string::npos);
  CHECK(line.find("message") == std::string::npos);
}

TEST_CASE("tape::Latencies: bounded, the oldest forgotten first") {
  tape::Latencies lat;
  for (std::size_t i = 0; i <= tape::Latencies::k_max; ++i) lat.request("s", std::to_string(i), 0);
  CHECK_FALSE(lat.response("s", "0", 5));
  CHECK(lat.response("s", "1", 5) == 5);
  CHECK_FALSE(lat.response("s", "1", 6));
  CHECK(lat.response("s", std::to_string(tape::Latencies::k_max), 7) == 7);
}

TEST_SUITE_END();
