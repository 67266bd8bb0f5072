#include "mcp/modern.hpp"
#include "support/rpc.hpp"

using namespace dfmcp;
using namespace dfmcp::test;

namespace {

json meta(std::string version = "2026-07-28") {
  return json{{"io.modelcontextprotocol/protocolVersion", version},
              {"io.modelcontextprotocol/clientCapabilities", json::object()},
              {"io.modelcontextprotocol/clientInfo", {{"name", "modern-test"}, {"version", "1"}}}};
}

Harness harness() { return Harness(make_test_ceiling({"analytics:read"}, std::vector<std::string>{"site1"})); }

// Sends a modern request; returns the step so tests can see the HTTP status too.
mcp::Step step(Harness &h, const std::string &method, json params) {
  return h.session->handle(json{{"jsonrpc", "2.0"}, {"id", 77}, {"method", method}, {"params", std::move(params)}});
}

} // namespace

TEST_SUITE("modern") {

TEST_CASE("server/discover works without initialize and describes the server") {
  Harness h = harness();
  mcp::Step s = step(h, "server/discover", {{"_meta", meta()}});
  REQUIRE(s.reply.has_value());
  CHECK(s.http_status == 200);
  const json &r = (*s.reply)["result"];
  CHECK(r["resultType"] == "complete");
  CHECK(r["supportedVersions"] == json{"2026-07-28"});
  CHECK(r["capabilities"] == json{{"tools", {{"listChanged", false}}}});
  CHECK(r["ttlMs"].is_number_integer());
  CHECK(r["cacheScope"] == "public");
  CHECK(r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "datafast-mcp");
  CHECK_FALSE(r.contains("serverInfo"));
  CHECK((*s.reply)["id"] == 77);
}

TEST_CASE("a malformed envelope is -32602 with HTTP 400 - clientInfo is optional") {
  Harness h = harness();
  json no_version = meta();
  no_version.erase("io.modelcontextprotocol/protocolVersion");
  no_version["io.modelcontextprotocol/protocolVersion"] = 2026; // present but not a string
  json no_caps = meta();
  no_caps.erase("io.modelcontextprotocol/clientCapabilities");
  json bad_info = meta();
  bad_info["io.modelcontextprotocol/clientInfo"] = "me";
  json bad_level = meta();
  bad_level["io.modelcontextprotocol/logLevel"] = "loud";
  for (const json &m : {no_version, no_caps, bad_info, bad_level}) {
    CAPTURE(m.dump());
    mcp::Step s = step(h, "server/discover", {{"_meta", m}});
    REQUIRE(s.reply.has_value());
    CHECK(error_code(*s.reply) == -32602);
    CHECK(s.http_status == 400);
    CHECK((*s.reply)["id"] == 77);
  }
  json no_info = meta();
  no_info.erase("io.modelcontextprotocol/clientInfo");
  mcp::Step ok = step(h, "server/discover", {{"_meta", no_info}});
  CHECK(ok.http_status == 200);
  CHECK(ok.reply->contains("result"));
}

TEST_CASE("an unsupported version is -32022 naming the supported ones") {
  Harness h = harness();
  for (const char *v : {"v999.0.0", "2025-11-25"}) {
    mcp::Step s = step(h, "tools/list", {{"_meta", meta(v)}});
    REQUIRE(s.reply.has_value());
    CHECK(s.http_status == 400);
    CHECK(error_code(*s.reply) == -32022);
    CHECK((*s.reply)["error"]["data"] == json{{"supported", {"2026-07-28"}}, {"requested", v}});
  }
}

TEST_CASE("methods removed in 2026-07-28 and unknown ones are -32601 with HTTP 404") {
  Harness h = harness();
  for (const char *m : {"initialize", "ping", "logging/setLevel", "resources/subscribe", "prompts/list",
                        "subscriptions/listen", "unknown/method"}) {
    CAPTURE(m);
    mcp::Step s = step(h, m, {{"_meta", meta()}});
    REQUIRE(s.reply.has_value());
    CHECK(error_code(*s.reply) == -32601);
    CHECK(s.http_status == 404);
  }
  CHECK_FALSE(h.session->initialized()); // a modern "initialize" did not start a legacy session
}

TEST_CASE("tools/list carries resultType and caching hints and the same tools") {
  Harness h = harness();
  mcp::Step s = step(h, "tools/list", {{"_meta", meta()}});
  CHECK(s.http_status == 200);
  const json r = reply_of(s)["result"];
  CHECK(r["resultType"] == "complete");
  CHECK(r["cacheScope"] == "public");
  CHECK(r["ttlMs"].get<long>() >= 0);
  CHECK(r["tools"] == h.registry.list_result()["tools"]);
}

TEST_CASE("tools/call: results are stamped - tool errors stay results - an unknown tool is -32602 with 200") {
  Harness h = harness();
  mcp::Step ceiling = step(h, "tools/call", {{"name", "get_token_ceiling"}, {"arguments", json::object()}, {"_meta", meta()}});
  REQUIRE(ceiling.job.has_value()); // it may read the website list (for domains)
  auto ceiling_run = run_job(*ceiling.job);
  REQUIRE(ceiling_run.has_value());
  json ceiling_reply = *ceiling_run;
  CHECK(ceiling_reply["result"]["resultType"] == "complete");
  CHECK(ceiling_reply["result"]["structuredContent"]["permissions"] == json{"analytics:read"});

  mcp::Step refused = step(h, "tools/call", {{"name", "create_access_token"}, {"arguments", {{"name", "x"}, {"permissions", {"*"}}}}, {"_meta", meta()}});
  REQUIRE(refused.job.has_value());
  auto reply = run_job(*refused.job);
  REQUIRE(reply.has_value());
  CHECK((*reply)["result"]["isError"] == true);
  CHECK((*reply)["result"]["resultType"] == "complete");
  CHECK(h.api.calls() == std::vector<std::string>{"websites"}); // get_token_ceiling's read; none for the refusal

  mcp::Step unknown = step(h, "tools/call", {{"name", "nope"}, {"arguments", json::object()}, {"_meta", meta()}});
  CHECK(error_code(*unknown.reply) == -32602);
  CHECK(unknown.http_status == 200);
}

TEST_CASE("log messages go to the client only for a request that set logLevel") {
  Harness h = harness();
  json args{{"name", "x"}, {"permissions", {"team:write"}}};
  auto run = [&](json m) {
    mcp::Step s = step(h, "tools/call", {{"name", "create_access_token"}, {"arguments", args}, {"_meta", m}});
    REQUIRE(s.job.has_value());
    run_job(*s.job);
  };
  run(meta());
  CHECK(h.notifications.empty());
  json with_level = meta();
  with_level["io.modelcontextprotocol/logLevel"] = "warning";
  run(with_level);
  REQUIRE(h.notifications.size() == 1);
  CHECK(h.notifications[0]["params"]["level"] == "warning");
}

TEST_CASE("legacy and modern requests share one stdio session") {
  Harness h = harness();
  CHECK(error_code(h.request("server/discover")) == -32601); // legacy: no _meta
  h.initialize();
  CHECK(h.request("tools/list")["result"].contains("resultType") == false);
  mcp::Step modern = step(h, "tools/list", {{"_meta", meta()}});
  CHECK(reply_of(modern)["result"]["resultType"] == "complete");
}

TEST_CASE("header values: =?base64?...?= is decoded, anything else literal") {
  using mcp::modern::decode_header_value;
  CHECK(decode_header_value("tools/call") == std::optional<std::string>("tools/call"));
  CHECK(decode_header_value("=?base64?SGVsbG8=?=") == std::optional<std::string>("Hello"));
  CHECK(decode_header_value("=?base64?SGVsbG8hIQ==?=") == std::optional<std::string>("Hello!!"));
  CHECK(decode_header_value("=?base64?SGVsbG8?=") == std::nullopt);  // bad padding
  CHECK(decode_header_value("=?base64?SGVs!!!bG8=?=") == std::nullopt); // bad characters
  CHECK(decode_header_value("=?base64?SGVsbG8=") == std::optional<std::string>("=?base64?SGVsbG8=")); // no suffix: literal
}

}
