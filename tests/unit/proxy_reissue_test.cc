#include <doctest/doctest.h>

#include <string>

#include "core/mcp/rewrite.h"
#include "core/proxy/reissue.h"
#include "core/proxy/retry_policy.h"

using namespace ssestitch;
using proxy::Reissue;
using proxy::RetryPolicy;
using Verdict = RetryPolicy::Verdict;

namespace {

std::string call(const std::string& tool) {
  return R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":")" + tool + R"("}})";
}

std::string progress(int value) {
  return R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":)" +
         std::to_string(value) + "}}";
}

// (a helper, not "s" + std::to_string(i) inline: GCC 12's false -Wrestrict)
std::string scope(std::size_t i) {
  std::string s = std::to_string(i);
  s.insert(0, 1, 's');
  return s;
}

}  // namespace

TEST_SUITE_BEGIN("proxy");

TEST_CASE("proxy::RetryPolicy: safe methods, annotated tools per scope, --retry-tools, --no-retry") {
  RetryPolicy policy(true, {"extra"});
  CHECK(policy.judge("", "tools/list", "{}") == Verdict::reissue);
  CHECK(policy.judge("", "resources/read", "{}") == Verdict::reissue);
  CHECK(policy.judge("", "subscriptions/listen", "{}") == Verdict::listen);
  CHECK(policy.judge("", "sampling/createMessage", "{}") == Verdict::never);
  CHECK(policy.judge("", "tools/call", call("ro")) == Verdict::never);  // nothing learnt yet
  CHECK(policy.judge("s1", "tools/call", call("extra")) == Verdict::reissue);

  policy.learn_tools("s1", R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ro","annotations":{"readOnlyHint":true}},)"
                           R"({"name":"rw"}]}})");
  CHECK(policy.judge("s1", "tools/call", call("ro")) == Verdict::reissue);
  CHECK(policy.judge("s1", "tools/call", call("rw")) == Verdict::never);
  CHECK(policy.judge("s2", "tools/call", call("ro")) == Verdict::never);  // another session
  // A later answer that no longer calls it safe wins.
  policy.learn_tools("s1", R"({"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"ro"}]}})");
  CHECK(policy.judge("s1", "tools/call", call("ro")) == Verdict::never);
  policy.learn_tools("s1", R"({"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"ro","annotations":{"idempotentHint":true}}]}})");
  policy.forget("s1");
  CHECK(policy.judge("s1", "tools/call", call("ro")) == Verdict::never);

  RetryPolicy off(false, {"extra"});
  CHECK(off.judge("", "ping", "{}") == Verdict::never);
  CHECK(off.judge("", "tools/call", call("extra")) == Verdict::never);
}

TEST_CASE("proxy::RetryPolicy: bounded scopes, the oldest forgotten first") {
  RetryPolicy policy(true, {});
  const std::string list = R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ro","annotations":{"readOnlyHint":true}}]}})";
  for (std::size_t i = 0; i <= RetryPolicy::k_max_scopes; ++i) policy.learn_tools(scope(i), list);
  CHECK(policy.judge("s0", "tools/call", call("ro")) == Verdict::never);
  CHECK(policy.judge("s1", "tools/call", call("ro")) == Verdict::reissue);
  CHECK(policy.judge(scope(RetryPolicy::k_max_scopes), "tools/call", call("ro")) == Verdict::reissue);
}

TEST_CASE("proxy::Reissue: proxy-owned ids, the answer mapped back, progress delivered once") {
  Reissue r(call("ro"), "1", Verdict::reissue);
  std::string mapped;
  CHECK(r.allowed());
  CHECK(r.filter(progress(1), mapped) == Reissue::Pass::forward);
  CHECK(r.filter(progress(2), mapped) == Reissue::Pass::forward);
  // The stream broke: the next attempt carries an id of the proxy's own.
  const std::string body = r.next_body();
  CHECK(r.attempts() == 1);
  const auto id = mcp::with_id(body, "0");
  CHECK(id == mcp::with_id(call("ro"), "0"));  // the same request apart from the id
  CHECK(body.find(R"("id":"ssestitch-r1-)") != std::string::npos);
  const std::string new_id = body.substr(body.find("\"ssestitch-"), body.find("\",\"method") - body.find("\"ssestitch-") + 1);
  CHECK(r.filter(progress(1), mapped) == Reissue::Pass::drop);
  CHECK(r.filter(progress(2), mapped) == Reissue::Pass::drop);
  CHECK(r.filter(progress(3), mapped) == Reissue::Pass::forward);
  CHECK(mapped.empty());
  // An answer to the client's own id can no longer be this attempt's.
  CHECK(r.filter(R"({"jsonrpc":"2.0","id":1,"result":{}})", mapped) == Reissue::Pass::forward);
  CHECK_FALSE(r.answered());
  CHECK(r.filter(R"({"jsonrpc":"2.0","id":)" + new_id + R"(,"result":{"ok":true}})", mapped) == Reissue::Pass::answer);
  CHECK(mapped == R"({"jsonrpc":"2.0","id":1,"result":{"ok":true}})");
  CHECK(r.answered());
}

TEST_CASE("proxy::Reissue: listen keeps the client's id and drops the repeated acknowledgement") {
  const std::string listen = R"({"jsonrpc":"2.0","id":"sub","method":"subscriptions/listen","params":{}})";
  Reissue r(listen, R"("sub")", Verdict::listen);
  const std::string ack = R"({"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{}})";
  std::string mapped;
  CHECK(r.filter(ack, mapped) == Reissue::Pass::forward);
  CHECK(r.next_body() == listen);
  CHECK(r.filter(ack, mapped) == Reissue::Pass::drop);
  CHECK(r.filter(R"({"jsonrpc":"2.0","method":"notifications/resources/updated","params":{}})", mapped) ==
        Reissue::Pass::forward);
  CHECK(r.filter(R"({"jsonrpc":"2.0","id":"sub","result":{}})", mapped) == Reissue::Pass::answer);
  CHECK(mapped.empty());
}

TEST_CASE("proxy::Reissue: a request that must not be repeated is only watched for its answer") {
  Reissue r(call("rw"), "1", Verdict::never);
  std::string mapped;
  CHECK_FALSE(r.allowed());
  CHECK(r.filter(progress(1), mapped) == Reissue::Pass::forward);
  CHECK(r.filter(R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}})", mapped) == Reissue::Pass::answer);
  CHECK(r.answered());
}

TEST_SUITE_END();
