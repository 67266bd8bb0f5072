#include "support/rpc.hpp"

using namespace dfmcp;
using namespace dfmcp::test;

namespace {
Harness harness() { return Harness(make_test_ceiling({"analytics:read", "websites:read"},
                                                     std::vector<std::string>{"site1", "site2"})); }
} // namespace

TEST_SUITE("session") {

TEST_CASE("initialize echoes a supported version and declares tools and logging") {
  for (const char *v : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    Harness h = harness();
    json r = h.request("initialize", {{"protocolVersion", v}, {"capabilities", json::object()},
                                      {"clientInfo", {{"name", "c"}, {"version", "1"}}}});
    CHECK(r["result"]["protocolVersion"] == v);
    CHECK(r["result"]["capabilities"] ==
          json{{"tools", {{"listChanged", false}}}, {"logging", json::object()}});
    CHECK(r["result"]["serverInfo"]["name"] == "datafast-mcp");
    CHECK(r["result"]["serverInfo"]["version"] == DFMCP_VERSION);
    CHECK(r["result"]["instructions"].get<std::string>().find("get_token_ceiling") != std::string::npos);
  }
}

TEST_CASE("an unsupported version is answered with the latest - not an error") {
  Harness h = harness();
  for (const char *v : {"2024-11-05", "2099-01-01"}) {
    Harness fresh = harness();
    json r = fresh.request("initialize", {{"protocolVersion", v}, {"capabilities", json::object()}});
    CHECK(r["result"]["protocolVersion"] == "2025-11-25");
  }
}

TEST_CASE("initialize needs a protocolVersion and happens once") {
  Harness h = harness();
  CHECK(error_code(h.request("initialize", json::object())) == -32602);
  CHECK(error_code(h.request("initialize", {{"protocolVersion", 2025}})) == -32602);
  CHECK(error_code(h.request("initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", 1}})) == -32602);
  h.initialize();
  json again = h.request("initialize", {{"protocolVersion", "2025-11-25"}});
  CHECK(error_code(again) == -32600);
  CHECK(again["error"]["message"] == "invalid request: already initialized");
}

TEST_CASE("before initialize: ping works - server/discover is an unknown method - tools wait") {
  Harness h = harness();
  CHECK(h.request("ping")["result"] == json::object());
  json discover = h.request("server/discover");
  CHECK(error_code(discover) == -32601);
  CHECK(error_code(h.request("tools/list")) == -32600);
  CHECK(h.api.calls().empty());
}

TEST_CASE("unknown methods are -32601 and the session goes on") {
  Harness h = harness();
  h.initialize();
  for (const char *m : {"resources/list", "prompts/list", "completion/complete", "tools/List", ""}) {
    json r = h.request(m);
    CHECK(error_code(r) == -32601);
  }
  CHECK(h.request("tools/list")["result"]["tools"].size() == 5);
}

TEST_CASE("tools/list pages: any cursor is invalid - as every tool is on one page") {
  Harness h = harness();
  h.initialize();
  CHECK(error_code(h.request("tools/list", {{"cursor", "abc"}})) == -32602);
  CHECK(error_code(h.request("tools/list", {{"cursor", 3}})) == -32602);
}

TEST_CASE("tools/call: an unknown tool or bad params is -32602 - bad argument values are isError") {
  Harness h = harness();
  h.initialize();
  json unknown = h.request("tools/call", {{"name", "delete_everything"}, {"arguments", json::object()}});
  CHECK(error_code(unknown) == -32602);
  CHECK(unknown["error"]["message"].get<std::string>().find("unknown tool 'delete_everything'") != std::string::npos);
  CHECK(error_code(h.request("tools/call", {{"arguments", json::object()}})) == -32602);
  CHECK(error_code(h.request("tools/call", {{"name", 5}})) == -32602);
  CHECK(error_code(h.request("tools/call", {{"name", "get_token_ceiling"}, {"arguments", json::array()}})) == -32602);
  json bad_value = h.call("create_access_token", {{"name", 5}, {"permissions", "analytics:read"}});
  std::string text = error_text(bad_value);
  CHECK(text.find("/name: must be a string, got integer") != std::string::npos);
  CHECK(text.find("/permissions: must be a list of strings, got string") != std::string::npos);
  CHECK(h.api.calls().empty());
}

TEST_CASE("missing arguments are read as an empty object") {
  Harness h = harness();
  h.initialize();
  json r = h.request("tools/call", {{"name", "get_token_ceiling"}});
  CHECK(r["result"]["isError"] == false);
}

TEST_CASE("logging/setLevel validates the level and gates notifications/message") {
  Harness h = harness();
  h.initialize();
  CHECK(error_code(h.request("logging/setLevel", {{"level", "verbose"}})) == -32602);
  h.call("create_access_token", {{"name", "x"}, {"permissions", {"team:write"}}});
  CHECK(h.notifications.empty()); // the client has not asked for logs
  CHECK(h.request("logging/setLevel", {{"level", "warning"}})["result"] == json::object());
  h.call("create_access_token", {{"name", "x"}, {"permissions", {"team:write"}}});
  REQUIRE(h.notifications.size() == 1);
  CHECK(h.notifications[0]["method"] == "notifications/message");
  CHECK(h.notifications[0]["params"]["level"] == "warning");
  CHECK(h.notifications[0]["params"]["data"]["decision"] == "refused");
  h.call("create_access_token", {{"name", "ok"}, {"permissions", {"analytics:read"}}});
  CHECK(h.notifications.size() == 1); // "info" is below "warning"
  CHECK(h.api.calls() == std::vector<std::string>{"list", "create"});
}

TEST_CASE("a tool call that waits on DataFast becomes a job - ping is answered meanwhile") {
  Harness h = harness();
  h.initialize();
  mcp::Step call = h.session->handle(json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tools/call"},
                                          {"params", {{"name", "list_access_tokens"}}}});
  REQUIRE(call.job.has_value());
  CHECK_FALSE(call.reply.has_value());
  CHECK(h.session->in_flight() == 1);
  CHECK(h.request("ping")["result"] == json::object());
  auto reply = run_job(*call.job);
  REQUIRE(reply.has_value());
  CHECK((*reply)["id"] == 7);
  CHECK(h.session->in_flight() == 0);
}

TEST_CASE("a cancelled call sends no reply - unknown cancellations are ignored") {
  Harness h = harness();
  h.initialize();
  mcp::Step call = h.session->handle(json{{"jsonrpc", "2.0"}, {"id", "req-1"}, {"method", "tools/call"},
                                          {"params", {{"name", "list_access_tokens"}}}});
  REQUIRE(call.job.has_value());
  h.send({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 12345}}}});
  h.send({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
          {"params", {{"requestId", "req-1"}, {"reason", "user stopped"}}}});
  CHECK_FALSE(run_job(*call.job).has_value());
  CHECK(h.session->in_flight() == 0);
}

TEST_CASE("an id already in flight is refused") {
  Harness h = harness();
  h.initialize();
  json msg{{"jsonrpc", "2.0"}, {"id", 9}, {"method", "tools/call"}, {"params", {{"name", "list_access_tokens"}}}};
  mcp::Step first = h.session->handle(msg);
  REQUIRE(first.job.has_value());
  mcp::Step second = h.session->handle(msg);
  REQUIRE(second.reply.has_value());
  CHECK(error_code(*second.reply) == -32600);
  run_job(*first.job);
}

}
