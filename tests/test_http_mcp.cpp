// The MCP Streamable HTTP endpoint, in process, over real loopback sockets: every status code,
// authentication, Origin/Host checks, sessions at every stage, per-client ceilings, and the
// stateless 2026-07-28 protocol's header rules.
#include "support/raw_http.hpp"
#include "support/rpc.hpp"
#include "transport/http_mcp.hpp"

#include <thread>

using namespace dfmcp;
using namespace dfmcp::test;

namespace {

const std::string kMainToken = "main-token-0123456789abcdef";
const std::string kReaderToken = "reader-token-0123456789abcdef";

policy::Ceiling default_ceiling() {
  return make_test_ceiling({"analytics:read", "websites:read"}, std::vector<std::string>{"site1", "site2"});
}

struct Endpoint {
  Harness harness;
  policy::Ceiling reader_ceiling = make_test_ceiling({"analytics:read"}, std::vector<std::string>{"site1"});
  std::unique_ptr<transport::McpHttpEndpoint> endpoint;
  std::unique_ptr<http::Server> server;
  std::thread thread;
  int port = 0;

  explicit Endpoint(bool auth = true, std::vector<std::string> origins = {}, std::size_t max_sessions = 100,
                    std::size_t max_body = 1 << 20, policy::Ceiling ceiling = default_ceiling(),
                    tools::BrokerOptions broker = {})
      : harness(std::move(ceiling), Secret("dft_PARENTkey000000000000000wxyz"), std::move(broker)) {
    http::ServerOptions so;
    so.limits.max_body_bytes = max_body;
    server = std::make_unique<http::Server>(so, [this](const http::Request &r, CancelToken &c, http::ResponseStream &st) {
      return endpoint->handle(r, c, st);
    });
    port = *server->listen();
    transport::HttpEndpointOptions eo;
    eo.port = port;
    eo.allowed_origins = std::move(origins);
    eo.max_sessions = max_sessions;
    if (auth) {
      eo.identities.push_back({"main", Secret(kMainToken), &harness.server->ceiling()});
      eo.identities.push_back({"reader", Secret(kReaderToken), &reader_ceiling});
    } else {
      eo.identities.push_back({"local", Secret(), &harness.server->ceiling()});
    }
    endpoint = std::make_unique<transport::McpHttpEndpoint>(*harness.server, eo);
    thread = std::thread([this] { server->run(); });
  }
  ~Endpoint() {
    server->stop();
    thread.join();
  }

  std::map<std::string, std::string> headers(const std::string &token = kMainToken) const {
    std::map<std::string, std::string> h = {{"Content-Type", "application/json"},
                                            {"Accept", "application/json, text/event-stream"}};
    if (!token.empty())
      h["Authorization"] = "Bearer " + token;
    return h;
  }
  RawResponse post(const json &body, std::map<std::string, std::string> h) const {
    auto r = http_exchange(port, "POST", "/mcp", h, body.dump());
    REQUIRE(r.has_value());
    return *r;
  }
  RawResponse post(const json &body) const { return post(body, headers()); }

  // initialize; returns the session id.
  std::string open_session(const std::string &token = kMainToken) const {
    RawResponse r = post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                              {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()},
                                          {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}},
                         headers(token));
    REQUIRE(r.status == 200);
    std::string sid = r.header("mcp-session-id");
    REQUIRE_FALSE(sid.empty());
    return sid;
  }
  RawResponse in_session(const std::string &sid, const json &body, const std::string &token = kMainToken) const {
    auto h = headers(token);
    h["Mcp-Session-Id"] = sid;
    h["MCP-Protocol-Version"] = "2025-11-25";
    return post(body, h);
  }
};

json rpc(int id, const std::string &method, json params = json::object()) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

json modern_meta() {
  return json{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
              {"io.modelcontextprotocol/clientCapabilities", json::object()}};
}

std::map<std::string, std::string> modern_headers(const Endpoint &e, const std::string &method,
                                                  const std::string &name = "") {
  auto h = e.headers();
  h["MCP-Protocol-Version"] = "2026-07-28";
  h["Mcp-Method"] = method;
  if (!name.empty())
    h["Mcp-Name"] = name;
  return h;
}

} // namespace

TEST_SUITE("http-mcp") {

TEST_CASE("a legacy session: initialize mints a visible-ASCII session id - later requests need it") {
  Endpoint e;
  std::string sid = e.open_session();
  CHECK(sid.size() >= 32);
  CHECK(std::all_of(sid.begin(), sid.end(), [](char c) { return c >= 0x21 && c <= 0x7E; }));
  RawResponse note = e.in_session(sid, {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  CHECK(note.status == 202);
  CHECK(note.body.empty());
  RawResponse list = e.in_session(sid, rpc(2, "tools/list"));
  CHECK(list.status == 200);
  CHECK(list.header("content-type") == "application/json");
  CHECK(json::parse(list.body)["result"]["tools"].size() == 5);
  CHECK(e.endpoint->session_count() == 1);
}

TEST_CASE("status codes: 400 no session, 404 unknown session, 405 GET, 406, 415, 413, 404 path, 400 parse") {
  Endpoint e(true, {}, 100, 4096);
  CHECK(e.post(rpc(2, "tools/list")).status == 400); // no Mcp-Session-Id
  CHECK(e.in_session("nope", rpc(2, "tools/list")).status == 404);
  auto get = http_exchange(e.port, "GET", "/mcp", e.headers(), "");
  CHECK(get->status == 405);
  CHECK(get->header("allow") == "POST, DELETE");
  auto h = e.headers();
  h["Accept"] = "text/html";
  CHECK(e.post(rpc(1, "initialize"), h).status == 406);
  h = e.headers();
  h["Content-Type"] = "text/plain";
  CHECK(e.post(rpc(1, "initialize"), h).status == 415);
  json big = rpc(1, "ping", {{"pad", std::string(8000, 'x')}});
  CHECK(e.post(big).status == 413);
  CHECK(http_exchange(e.port, "POST", "/other", e.headers(), "{}")->status == 404);
  auto parse = http_exchange(e.port, "POST", "/mcp", e.headers(), "{nope");
  CHECK(parse->status == 400);
  CHECK(json::parse(parse->body)["error"]["code"] == -32700);
  auto batch = http_exchange(e.port, "POST", "/mcp", e.headers(), R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])");
  CHECK(batch->status == 400);
  CHECK(json::parse(batch->body)["error"]["code"] == -32600);
  // An unsupported MCP-Protocol-Version on a legacy session request
  std::string sid = e.open_session();
  auto hv = e.headers();
  hv["Mcp-Session-Id"] = sid;
  hv["MCP-Protocol-Version"] = "1999-01-01";
  CHECK(e.post(rpc(3, "tools/list"), hv).status == 400);
  // A missing MCP-Protocol-Version means 2025-03-26, which is accepted
  hv.erase("MCP-Protocol-Version");
  CHECK(e.post(rpc(4, "tools/list"), hv).status == 200);
}

TEST_CASE("auth: 401 with WWW-Authenticate for a missing or wrong token - never from the query string") {
  Endpoint e;
  RawResponse none = e.post(rpc(1, "initialize"), e.headers(""));
  CHECK(none.status == 401);
  CHECK(none.header("www-authenticate") == "Bearer realm=\"datafast-mcp\"");
  RawResponse wrong = e.post(rpc(1, "initialize"), e.headers("wrong-token-wrong-token"));
  CHECK(wrong.status == 401);
  CHECK(wrong.header("www-authenticate").find("invalid_token") != std::string::npos);
  auto query = http_exchange(e.port, "POST", "/mcp?access_token=" + kMainToken, e.headers(""), rpc(1, "initialize").dump());
  CHECK(query->status == 401);
  CHECK(e.harness.api.calls().empty());
}

TEST_CASE("the session never carries authority: the token is checked on every request") {
  Endpoint e;
  std::string sid = e.open_session();
  CHECK(e.in_session(sid, rpc(2, "tools/list"), "").status == 401);
  // another client's valid token does not open someone else's session
  CHECK(e.in_session(sid, rpc(2, "tools/list"), kReaderToken).status == 404);
  CHECK(e.in_session(sid, rpc(2, "tools/list")).status == 200);
}

TEST_CASE("Origin: 403 when present and not allowed - the server's own loopback origin and listed ones pass") {
  Endpoint e(true, {"https://app.example.com"});
  auto h = e.headers();
  h["Origin"] = "http://evil.example.com";
  RawResponse evil = e.post(rpc(1, "initialize"), h);
  CHECK(evil.status == 403);
  h["Origin"] = "https://app.example.com";
  RawResponse ok = e.post(rpc(1, "initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}}), h);
  CHECK(ok.status == 200);
  CHECK(ok.header("access-control-allow-origin") == "https://app.example.com"); // never "*"
  h["Origin"] = "http://127.0.0.1:" + std::to_string(e.port);
  CHECK(e.post(rpc(1, "initialize", {{"protocolVersion", "2025-11-25"}}), h).status == 200);
}

TEST_CASE("Host: a loopback bind refuses other Host names (DNS rebinding)") {
  Endpoint e(false);
  auto h = e.headers("");
  h["Host"] = "evil.example.com";
  h["Origin"] = "http://evil.example.com";
  CHECK(e.post(rpc(1, "initialize", {{"protocolVersion", "2025-11-25"}}), h).status == 403);
  h["Host"] = "localhost:" + std::to_string(e.port);
  h.erase("Origin");
  CHECK(e.post(rpc(1, "initialize", {{"protocolVersion", "2025-11-25"}}), h).status == 200);
}

TEST_CASE("an early refusal leaves a kept-alive connection usable (the body was read)") {
  Endpoint e;
  RawConnection c(e.port);
  auto h = e.headers("");
  REQUIRE(c.send(http_request("POST", "/mcp", e.port, h, rpc(1, "initialize").dump())));
  CHECK(c.read_response()->status == 401);
  h = e.headers();
  REQUIRE(c.send(http_request("POST", "/mcp", e.port, h, rpc(1, "initialize", {{"protocolVersion", "2025-11-25"}}).dump())));
  CHECK(c.read_response()->status == 200);
}

TEST_CASE("an ended session: DELETE ends it - then every stage answers 404") {
  Endpoint e;
  std::string sid = e.open_session();
  auto h = e.headers();
  h["Mcp-Session-Id"] = sid;
  CHECK(http_exchange(e.port, "DELETE", "/mcp", h, "")->status == 200);
  CHECK(e.in_session(sid, rpc(2, "tools/list")).status == 404);
  CHECK(e.in_session(sid, {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}).status == 404);
  CHECK(e.in_session(sid, rpc(3, "tools/call", {{"name", "get_token_ceiling"}})).status == 404);
  CHECK(http_exchange(e.port, "DELETE", "/mcp", h, "")->status == 404);
  h.erase("Mcp-Session-Id");
  CHECK(http_exchange(e.port, "DELETE", "/mcp", h, "")->status == 400);
  CHECK(e.endpoint->session_count() == 0);
}

TEST_CASE("sessions are bounded: the least recently used idle one makes room") {
  Endpoint e(true, {}, 2);
  std::string a = e.open_session();
  std::string b = e.open_session();
  CHECK(e.in_session(b, rpc(2, "tools/list")).status == 200); // b is now more recent than a
  std::string c = e.open_session();
  CHECK(e.endpoint->session_count() == 2);
  CHECK(e.in_session(a, rpc(2, "tools/list")).status == 404);
  CHECK(e.in_session(b, rpc(2, "tools/list")).status == 200);
  CHECK(e.in_session(c, rpc(2, "tools/list")).status == 200);
}

TEST_CASE("two clients with different ceilings on one server") {
  Endpoint e;
  std::string main_sid = e.open_session(kMainToken);
  std::string reader_sid = e.open_session(kReaderToken);
  auto ceiling_of = [&](const std::string &sid, const std::string &token) {
    RawResponse r = e.in_session(sid, rpc(5, "tools/call", {{"name", "get_token_ceiling"}, {"arguments", json::object()}}), token);
    REQUIRE(r.status == 200);
    return json::parse(r.body)["result"]["structuredContent"];
  };
  CHECK(ceiling_of(main_sid, kMainToken)["permissions"] == json{"analytics:read", "websites:read"});
  CHECK(ceiling_of(reader_sid, kReaderToken)["permissions"] == json{"analytics:read"});
  CHECK(ceiling_of(reader_sid, kReaderToken)["websiteIds"] == json{"site1"});
  // within the server's ceiling, beyond the reader's: refused for the reader, allowed for main
  json args{{"name", "x"}, {"permissions", {"websites:read"}}, {"websiteIds", {"site1"}}};
  RawResponse reader = e.in_session(reader_sid, rpc(6, "tools/call", {{"name", "create_access_token"}, {"arguments", args}}), kReaderToken);
  CHECK(json::parse(reader.body)["result"]["isError"] == true);
  CHECK(e.harness.api.calls() == std::vector<std::string>{"websites"}); // get_token_ceiling's, for domains
  RawResponse main = e.in_session(main_sid, rpc(7, "tools/call", {{"name", "create_access_token"}, {"arguments", args}}));
  CHECK(json::parse(main.body)["result"]["isError"] == false);
  CHECK(e.harness.api.calls() == std::vector<std::string>{"websites", "list", "create"});
}

TEST_CASE("tool log messages come as SSE events before the reply when the client asked for logs") {
  Endpoint e;
  std::string sid = e.open_session();
  CHECK(e.in_session(sid, rpc(2, "logging/setLevel", {{"level", "warning"}})).status == 200);
  RawResponse r = e.in_session(sid, rpc(3, "tools/call", {{"name", "create_access_token"},
                                                           {"arguments", {{"name", "x"}, {"permissions", {"*"}}}}}));
  CHECK(r.status == 200);
  CHECK(r.header("content-type") == "text/event-stream");
  std::size_t first = r.body.find("data: ");
  std::size_t second = r.body.find("data: ", first + 1);
  REQUIRE(second != std::string::npos);
  json note = json::parse(r.body.substr(first + 6, r.body.find('\n', first) - first - 6));
  json reply = json::parse(r.body.substr(second + 6, r.body.find('\n', second) - second - 6));
  CHECK(note["method"] == "notifications/message");
  CHECK(reply["id"] == 3);
  CHECK(reply["result"]["isError"] == true);
}

TEST_CASE("capacity: 64 kept-alive clients at once are all served - idle and half-sent clients block nobody") {
  Endpoint e;
  // 100 connections that go idle or stop halfway through their headers.
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 100; ++i) {
    idle.push_back(std::make_unique<RawConnection>(e.port));
    if (i % 2 == 0)
      REQUIRE(idle.back()->send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"));
  }
  std::vector<std::unique_ptr<RawConnection>> clients;
  std::vector<std::string> sessions;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(std::make_unique<RawConnection>(e.port));
    REQUIRE(clients.back()->send(http_request("POST", "/mcp", e.port, e.headers(),
                                              rpc(1, "initialize", {{"protocolVersion", "2025-11-25"}}).dump())));
  }
  for (auto &c : clients) {
    auto r = c->read_response();
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    sessions.push_back(r->header("mcp-session-id"));
  }
  // Every connection is still open and serves a second request.
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto h = e.headers();
    h["Mcp-Session-Id"] = sessions[i];
    REQUIRE(clients[i]->send(http_request("POST", "/mcp", e.port, h, rpc(2, "tools/list").dump())));
  }
  for (auto &c : clients) {
    auto r = c->read_response();
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
  }
  CHECK(e.endpoint->session_count() == 64);
}

TEST_CASE("2026-07-28: stateless, no session - header rules -32020 - version -32022 - removed methods 404") {
  Endpoint e;
  json discover = rpc(10, "server/discover", {{"_meta", modern_meta()}});
  RawResponse ok = e.post(discover, modern_headers(e, "server/discover"));
  CHECK(ok.status == 200);
  CHECK(ok.header("mcp-session-id").empty());
  CHECK(json::parse(ok.body)["result"]["resultType"] == "complete");

  auto code_of = [](const RawResponse &r) { return json::parse(r.body)["error"]["code"].get<int>(); };
  RawResponse no_method = e.post(discover, [&] { auto h = modern_headers(e, "server/discover"); h.erase("Mcp-Method"); return h; }());
  CHECK(no_method.status == 400);
  CHECK(code_of(no_method) == -32020);
  RawResponse wrong_method = e.post(discover, modern_headers(e, "tools/list"));
  CHECK(wrong_method.status == 400);
  CHECK(code_of(wrong_method) == -32020);

  json call = rpc(11, "tools/call", {{"name", "get_token_ceiling"}, {"arguments", json::object()}, {"_meta", modern_meta()}});
  CHECK(e.post(call, modern_headers(e, "tools/call", "get_token_ceiling")).status == 200);
  CHECK(e.post(call, modern_headers(e, "tools/call", "=?base64?Z2V0X3Rva2VuX2NlaWxpbmc=?=")).status == 200);
  RawResponse wrong_name = e.post(call, modern_headers(e, "tools/call", "list_access_tokens"));
  CHECK(wrong_name.status == 400);
  CHECK(code_of(wrong_name) == -32020);
  RawResponse no_name = e.post(call, modern_headers(e, "tools/call"));
  CHECK(no_name.status == 400);

  json v999 = rpc(12, "server/discover", {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "v999"},
                                                      {"io.modelcontextprotocol/clientCapabilities", json::object()}}}});
  auto hv = modern_headers(e, "server/discover");
  hv["MCP-Protocol-Version"] = "v999";
  RawResponse unsupported = e.post(v999, hv);
  CHECK(unsupported.status == 400);
  CHECK(code_of(unsupported) == -32022);
  CHECK(json::parse(unsupported.body)["id"] == 12);
  RawResponse mismatch = e.post(v999, modern_headers(e, "server/discover")); // header 2026, body v999
  CHECK(code_of(mismatch) == -32020);

  RawResponse ping = e.post(rpc(13, "ping", {{"_meta", modern_meta()}}), modern_headers(e, "ping"));
  CHECK(ping.status == 404);
  CHECK(code_of(ping) == -32601);

  RawResponse no_meta = e.post(rpc(14, "tools/list"), modern_headers(e, "tools/list"));
  CHECK(no_meta.status == 400);
  CHECK(code_of(no_meta) == -32602);
  CHECK(e.endpoint->session_count() == 0);
}

TEST_CASE("2026-07-28 requests still need the bearer token and their client's ceiling applies") {
  Endpoint e;
  json call = rpc(20, "tools/call", {{"name", "get_token_ceiling"}, {"arguments", json::object()}, {"_meta", modern_meta()}});
  auto h = modern_headers(e, "tools/call", "get_token_ceiling");
  h.erase("Authorization");
  CHECK(e.post(call, h).status == 401);
  h["Authorization"] = "Bearer " + kReaderToken;
  RawResponse r = e.post(call, h);
  CHECK(json::parse(r.body)["result"]["structuredContent"]["permissions"] == json{"analytics:read"});
}

TEST_CASE("2026-07-28: a create that needs a confirmation the client cannot give is -32021 with status 400") {
  tools::BrokerOptions o;
  o.confirm = safety::ConfirmMode::Writes;
  Endpoint e(true, {}, 100, 1 << 20, make_test_ceiling({"*"}, std::vector<std::string>{"site1"}), o);
  json call = rpc(30, "tools/call",
                  {{"name", "create_access_token"},
                   {"arguments", {{"name", "ops"}, {"permissions", {"funnels:write"}}}},
                   {"_meta", modern_meta()}}); // no elicitation capability declared
  RawResponse r = e.post(call, modern_headers(e, "tools/call", "create_access_token"));
  CHECK(r.status == 400);
  json body = json::parse(r.body);
  CHECK(body["id"] == 30);
  CHECK(body["error"]["code"] == -32021);
  CHECK(body["error"]["data"]["requiredCapabilities"].contains("elicitation"));
  auto calls = e.harness.api.calls();
  CHECK(std::count(calls.begin(), calls.end(), "create") == 0); // nothing was minted
  CHECK(calls == std::vector<std::string>{"list"}); // only the read of the parent token's scope

  // The same call with nothing to confirm is an ordinary 200 result.
  json plain = rpc(31, "tools/call",
                   {{"name", "create_access_token"},
                    {"arguments", {{"name", "reader"}, {"permissions", {"analytics:read"}}}},
                    {"_meta", modern_meta()}});
  RawResponse ok = e.post(plain, modern_headers(e, "tools/call", "create_access_token"));
  CHECK(ok.status == 200);
  CHECK(json::parse(ok.body)["result"]["isError"] == false);
}

}

TEST_SUITE("http-mcp.weak-spots") {

TEST_CASE("session caps are per client: one client opening many sessions never ends another's") {
  Endpoint e(true, {}, 3);
  std::string reader = e.open_session(kReaderToken);
  for (int i = 0; i < 50; ++i)
    e.open_session(kMainToken);
  CHECK(e.endpoint->session_count() == 4); // main's 3 and reader's 1
  CHECK(e.in_session(reader, rpc(2, "tools/list"), kReaderToken).status == 200);
  CHECK(e.harness.api.calls().empty());
}

TEST_CASE("Host on a loopback bind: the loopback names with any port pass, other names are refused") {
  Endpoint e(false);
  auto h = e.headers("");
  auto init = rpc(1, "initialize", {{"protocolVersion", "2025-11-25"}});
  for (std::string ok : std::vector<std::string>{"localhost", "localhost:1", "LOCALHOST:65535", "127.0.0.1:8080", "[::1]:3000", "[::1]"}) {
    CAPTURE(ok);
    h["Host"] = ok;
    CHECK(e.post(init, h).status == 200);
  }
  for (std::string bad : std::vector<std::string>{"localhost.evil.com", "evil.com:" + std::to_string(e.port),
                                                 "127.0.0.2:" + std::to_string(e.port), "localhost:80x",
                                                 "localhost:", "[::1]x"}) {
    CAPTURE(bad);
    h["Host"] = bad;
    CHECK(e.post(init, h).status == 403);
  }
  CHECK(e.harness.api.calls().empty());
}

TEST_CASE("an absolute-form target for our own host reaches /mcp; for another host it is refused") {
  Endpoint e(false);
  auto body = rpc(1, "initialize", {{"protocolVersion", "2025-11-25"}}).dump();
  auto send = [&](const std::string &authority) {
    RawConnection c(e.port);
    REQUIRE(c.send("POST http://" + authority + "/mcp HTTP/1.1\r\nHost: " + authority +
                   "\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body));
    auto r = c.read_response();
    REQUIRE(r.has_value());
    return r->status;
  };
  CHECK(send("127.0.0.1:" + std::to_string(e.port)) == 200);
  CHECK(send("evil.example.com") == 403);
}

TEST_CASE("a duplicate Authorization header is refused with 400 before any authentication") {
  Endpoint e;
  RawConnection c(e.port);
  std::string body = rpc(1, "initialize", {{"protocolVersion", "2025-11-25"}}).dump();
  REQUIRE(c.send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(e.port) +
                 "\r\nAuthorization: Bearer " + kReaderToken + "\r\nAuthorization: Bearer " + kMainToken +
                 "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
  auto r = c.read_response();
  REQUIRE(r.has_value());
  CHECK(r->status == 400);
  CHECK(e.endpoint->session_count() == 0);
  CHECK(e.harness.api.calls().empty());
}

}
