// Through the real binary: stdio MCP against a sandbox upstream over verified TLS.
#include "sandbox/sandbox.hpp"
#include "support/process.hpp"
#include "support/raw_http.hpp"
#include "support/sandbox_client.hpp"
#include "util/json_input.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>

using namespace dfmcp;
using namespace dfmcp::test;
using Fault = sandbox::Fault;

namespace {

const std::string kBinary = DFMCP_BINARY;
const std::string kSiteA = "65a1b2c3d4e5f60718293a01";
const std::string kSiteB = "65a1b2c3d4e5f60718293a02";

std::size_t count_of(const std::string &haystack, const std::string &needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

// A sandbox upstream plus the datafast-mcp binary pointed at it (CA file, URL, parent token).
struct Rig {
  std::unique_ptr<sandbox::Sandbox> sb = sandbox::Sandbox::start(sandbox_options());
  TempDir dir;
  std::string ca_file = dir.write("ca.pem", sb->ca_pem());
  std::string token = sb->parent_token().reveal();
  std::unique_ptr<Child> child; // declared last: it stops before the sandbox does
  int next_id = 1;

  std::vector<std::string> args(std::vector<std::string> extra) const {
    std::vector<std::string> a = {kBinary, "--upstream-url", sb->base_url(), "--ca-file", ca_file};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::map<std::string, std::string> env() const { return {{"DATAFAST_TOKEN", token}}; }

  void start(std::vector<std::string> extra = {"--permissions", "analytics:read,websites:read",
                                               "--websites", kSiteA + "," + kSiteB}) {
    child = Child::spawn(args(std::move(extra)), env());
  }

  json read() {
    auto line = child->read_line();
    REQUIRE_MESSAGE(line.has_value(), "no reply; stderr: " << child->all_stderr());
    auto parsed = parse_json(*line);
    REQUIRE_MESSAGE(parsed.has_value(), "stdout line is not JSON: " << *line);
    return *parsed;
  }
  void send(const json &message) { child->write_line(message.dump()); }
  int request_async(const std::string &method, json params = json::object()) {
    int id = next_id++;
    send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
    return id;
  }
  json request(const std::string &method, json params = json::object()) {
    int id = request_async(method, std::move(params));
    json reply = read();
    REQUIRE(reply["id"] == id);
    return reply;
  }
  json call(const std::string &tool, json args = json::object()) {
    json r = request("tools/call", {{"name", tool}, {"arguments", std::move(args)}});
    REQUIRE(r.contains("result"));
    return r["result"];
  }
  void initialize() {
    json r = request("initialize", {{"protocolVersion", "2025-11-25"},
                                    {"capabilities", json::object()},
                                    {"clientInfo", {{"name", "integration-test"}, {"version", "1"}}}});
    REQUIRE(r["result"]["protocolVersion"] == "2025-11-25");
    send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  }
  std::size_t upstream_requests(const std::string &method = "") const {
    std::size_t n = 0;
    for (const auto &r : sb->requests())
      n += method.empty() || r.method == method;
    return n;
  }
};

} // namespace

TEST_SUITE("integration") {

TEST_CASE("an agent lists - creates and revokes within the ceiling - refusals never reach DataFast") {
  Rig rig;
  rig.start();
  rig.initialize();

  json tools = rig.request("tools/list");
  CHECK(tools["result"]["tools"].size() == 5);

  json ceiling = rig.call("get_token_ceiling");
  CHECK(ceiling["structuredContent"]["permissions"] == json{"analytics:read", "websites:read"});
  CHECK(ceiling["structuredContent"]["websites"][0]["domain"] == "shop.example");
  CHECK(rig.upstream_requests() == 1); // only the website list (GET /websites), for the domains

  json listed = rig.call("list_access_tokens");
  REQUIRE(listed["isError"] == false);
  CHECK(listed["structuredContent"]["count"] == 3);
  CHECK(listed["structuredContent"]["tokens"][0]["isServerToken"] == true);

  // Refused: beyond the ceiling, in several ways. None reaches the sandbox.
  std::size_t before = rig.upstream_requests();
  for (json args : {json{{"name", "a"}, {"permissions", {"api-keys:write"}}},
                    json{{"name", "b"}, {"permissions", {"*"}}},
                    json{{"name", "c"}, {"permissions", {"analytics:read"}}, {"websiteIds", json::array()}},
                    json{{"name", "d"}, {"permissions", {"analytics:read"}}, {"websiteIds", {"65a1b2c3d4e5f60718293a03"}}},
                    json{{"name", "e"}, {"permissions", json::array()}},
                    json{{"name", "f"}, {"permissions", {"Analytics:Read"}}}}) {
    CAPTURE(args.dump());
    json r = rig.call("create_access_token", args);
    CHECK(r["isError"] == true);
    CHECK(r["content"][0]["text"].get<std::string>().find("Nothing was sent to DataFast") != std::string::npos);
  }
  CHECK(rig.upstream_requests() == before);

  // Allowed: a narrow token on one website.
  json created = rig.call("create_access_token", {{"name", "report sub-agent"},
                                                  {"permissions", {"analytics:read"}},
                                                  {"websiteIds", {kSiteA}}});
  REQUIRE(created["isError"] == false);
  std::string key = created["structuredContent"]["key"];
  std::string id = created["structuredContent"]["token"]["id"];
  CHECK(key.starts_with("dft_"));
  CHECK(rig.upstream_requests("POST") == 1);

  json after = rig.call("list_access_tokens");
  bool found = false;
  for (const json &t : after["structuredContent"]["tokens"])
    if (t["id"] == id) {
      found = true;
      CHECK(t["withinCeiling"] == true);
      CHECK(t["revocable"] == true);
    }
  CHECK(found);

  // Revoke refusals: the server's own token and a token beyond the ceiling. No DELETE.
  std::string parent_id = listed["structuredContent"]["tokens"][0]["id"];
  std::string wide_id = listed["structuredContent"]["tokens"][2]["id"];
  CHECK(rig.call("revoke_access_token", {{"tokenId", parent_id}})["isError"] == true);
  CHECK(rig.call("revoke_access_token", {{"tokenId", wide_id}})["isError"] == true);
  CHECK(rig.upstream_requests("DELETE") == 0);

  json revoked = rig.call("revoke_access_token", {{"tokenId", id}});
  CHECK(revoked["isError"] == false);
  CHECK(rig.upstream_requests("DELETE") == 1);

  rig.child->close_stdin();
  std::string rest = rig.child->drain_stdout();
  CHECK(rest.empty());
  CHECK(rig.child->wait() == 0);

  // Secrets: the parent token appears nowhere; the new key only once, in the create result.
  std::string out = rig.child->all_stdout(), err = rig.child->all_stderr();
  CHECK(count_of(out, rig.token) == 0);
  CHECK(count_of(err, rig.token) == 0);
  // One stdout line carries the key: the create result (in its structuredContent and its text).
  std::size_t lines_with_key = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    lines_with_key += line.find(key) != std::string::npos;
  CHECK(lines_with_key == 1);
  CHECK(count_of(err, key) == 0);
  CHECK(rig.sb->tls_handshakes() == 1); // one kept-alive upstream connection for every call
}

TEST_CASE("ping is answered while a call waits on DataFast - and a cancelled call sends no reply") {
  Rig rig;
  rig.start();
  rig.initialize();
  rig.sb->inject(Fault::of(Fault::Kind::Hang, "GET"));
  int slow = rig.request_async("tools/call", {{"name", "list_access_tokens"}, {"arguments", json::object()}});
  REQUIRE(rig.sb->wait_for_requests(1, std::chrono::seconds(10)));
  json pong = rig.request("ping");
  CHECK(pong["result"] == json::object());
  rig.send({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", slow}}}});
  // The next call is served normally; had the cancelled one replied, its reply would come first.
  json ceiling = rig.call("get_token_ceiling");
  CHECK(ceiling["isError"] == false);
  json listed = rig.call("list_access_tokens");
  CHECK(listed["isError"] == false);
  rig.child->close_stdin();
  CHECK(rig.child->drain_stdout().empty());
  CHECK(rig.child->wait() == 0);
  rig.sb->release_hangs();
}

TEST_CASE("SIGTERM while a call waits: clean exit 0") {
  Rig rig;
  rig.start();
  rig.initialize();
  rig.sb->inject(Fault::of(Fault::Kind::Hang, "GET"));
  rig.request_async("tools/call", {{"name", "list_access_tokens"}, {"arguments", json::object()}});
  REQUIRE(rig.sb->wait_for_requests(1, std::chrono::seconds(10)));
  rig.child->signal(SIGTERM);
  CHECK(rig.child->wait() == 0);
  CHECK(rig.child->all_stderr().find("received SIGTERM; cancelling 1 call(s) in flight") != std::string::npos);
  rig.sb->release_hangs();
}

TEST_CASE("a cancel during the TLS handshake does not hold up the reader: ping is answered at once") {
  // A peer that accepts TCP and never speaks TLS: the call sits in the handshake, where
  // cpp-httplib's stop() blocks. The cancellation must not block the stdio reader on it.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len);
  std::string url = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/api/v1/admin";

  Rig rig;
  rig.child = Child::spawn({kBinary, "--upstream-url", url, "--ca-file", rig.ca_file, "--permissions", "*",
                            "--websites", "*", "--timeout-ms", "60000"},
                           rig.env());
  rig.initialize();
  int slow = rig.request_async("tools/call", {{"name", "list_access_tokens"}, {"arguments", json::object()}});
  pollfd p{listener, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 10000) == 1);
  int peer = ::accept(listener, nullptr, nullptr); // connected: the server now waits for a ServerHello
  REQUIRE(peer >= 0);
  rig.send({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", slow}}}});
  int ping = rig.request_async("ping");
  // Guard well under the 10 s connect cap: a reader blocked on the handshake would miss it.
  auto line = rig.child->read_line(std::chrono::seconds(3));
  REQUIRE(line.has_value());
  CHECK(json::parse(*line)["id"] == ping);
  ::close(peer);
  ::close(listener);
  rig.child->close_stdin();
  CHECK(rig.child->drain_stdout().empty()); // the cancelled call never answers
  CHECK(rig.child->wait() == 0);
}

TEST_CASE("SIGTERM after end of input still stops a call that waits on DataFast") {
  Rig rig;
  rig.start({"--permissions", "*", "--websites", "*", "--timeout-ms", "60000"});
  rig.initialize();
  rig.sb->inject(Fault::of(Fault::Kind::Hang, "GET"));
  rig.request_async("tools/call", {{"name", "list_access_tokens"}, {"arguments", json::object()}});
  REQUIRE(rig.sb->wait_for_requests(1, std::chrono::seconds(10)));
  rig.child->close_stdin();
  REQUIRE(rig.child->wait_for_stderr("input closed; finishing 1 call(s) in flight"));
  rig.child->signal(SIGTERM);
  CHECK(rig.child->wait(std::chrono::seconds(10)) == 0); // the hang would last 60 s
  rig.sb->release_hangs();
}

TEST_CASE("SIGTERM with a create in flight: a short grace, then abort and say the outcome is unknown") {
  Rig rig;
  rig.start({"--permissions", "*", "--websites", "*", "--timeout-ms", "60000"});
  rig.initialize();
  rig.sb->inject(Fault::of(Fault::Kind::Hang, "POST"));
  rig.request_async("tools/call", {{"name", "create_access_token"},
                                   {"arguments", {{"name", "x"}, {"permissions", {"analytics:read"}}, {"websiteIds", {kSiteA}}}}});
  REQUIRE(rig.sb->wait_for_requests(2, std::chrono::seconds(10))); // the scope GET, then the POST
  rig.child->signal(SIGTERM);
  CHECK(rig.child->wait(std::chrono::seconds(20)) == 0);
  CHECK(rig.child->all_stderr().find("may or may not have been applied") != std::string::npos);
  rig.sb->release_hangs();
}

TEST_CASE("started with stdin closed, the server sees end of input and exits") {
  Rig rig;
  RunResult r = run({"/bin/sh", "-c", "exec \"$0\" \"$@\" <&-", kBinary, "--sandbox", "--permissions", "*", "--websites", "*"}, {});
  CHECK(r.code == 0);
  CHECK(r.out.empty());
}

TEST_CASE("end of input with nothing in flight: prompt exit 0 - stdout holds only protocol") {
  Rig rig;
  rig.start();
  rig.initialize();
  rig.child->write_line("garbage");
  rig.child->write_line(R"({"jsonrpc":"2.0","id":"x","method":"nope"})");
  rig.child->close_stdin();
  std::string out = rig.child->drain_stdout();
  CHECK(rig.child->wait() == 0);
  std::istringstream lines(rig.child->all_stdout());
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    auto parsed = parse_json(line);
    REQUIRE_MESSAGE(parsed.has_value(), line);
    CHECK((*parsed)["jsonrpc"] == "2.0");
  }
  CHECK(n == 3);
  CHECK_FALSE(rig.child->all_stderr().empty()); // logs went to stderr
}

TEST_CASE("upstream failures come back as isError results and the server keeps serving") {
  Rig rig;
  rig.start({"--permissions", "analytics:read", "--websites", kSiteA, "--timeout-ms", "500"});
  rig.initialize();
  rig.sb->inject(Fault::http_status(500, "GET"));
  rig.sb->inject(Fault::of(Fault::Kind::Garbage, "GET"));
  rig.sb->inject(Fault::of(Fault::Kind::Hang, "GET"));
  for (const char *needle : {"HTTP 500", "could not be read", "did not answer in time"}) {
    json r = rig.call("list_access_tokens");
    CHECK(r["isError"] == true);
    CHECK(r["content"][0]["text"].get<std::string>().find(needle) != std::string::npos);
  }
  rig.sb->release_hangs();
  CHECK(rig.call("list_access_tokens")["isError"] == false);
}

TEST_CASE("a wrong CA file: TLS refused - nothing sent - a clear error") {
  Rig rig;
  auto other = sandbox::Sandbox::start(sandbox_options());
  rig.ca_file = rig.dir.write("other-ca.pem", other->ca_pem());
  rig.start();
  rig.initialize();
  json r = rig.call("list_access_tokens");
  CHECK(r["isError"] == true);
  CHECK(r["content"][0]["text"].get<std::string>().find("trusted TLS connection") != std::string::npos);
  CHECK(rig.upstream_requests() == 0);
}

TEST_CASE("--sandbox serves the built-in account with no token") {
  auto child = Child::spawn({kBinary, "--sandbox", "--permissions", "analytics:read,websites:read",
                             "--websites", kSiteA}, {});
  child->write_line(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  child->write_line(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_access_token","arguments":{"name":"demo","permissions":["analytics:read"]}}})");
  child->read_line();
  auto line = child->read_line();
  REQUIRE(line.has_value());
  json r = json::parse(*line);
  CHECK(r["result"]["isError"] == false);
  CHECK(r["result"]["structuredContent"]["token"]["websiteIds"] == json{kSiteA});
  child->close_stdin();
  CHECK(child->wait() == 0);
  CHECK(child->all_stderr().find("sandbox: serving a built-in DataFast account") != std::string::npos);
}

TEST_CASE("config errors exit 2 with one stderr line naming the key - and nothing on stdout") {
  Rig rig;
  struct Row {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string needle;
  };
  std::string conf = rig.dir.write("bad.json", R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "upstream": {"baseUrl": "http://x"}})");
  std::string unknown = rig.dir.write("unknown.json", R"({"ceiling": {"permissions": ["*"], "websiteIds": "*", "maxTokens": 3}})");
  // Serving looks at a CA file cheaply (PEM and base64); `check` loads it as OpenSSL will.
  std::string text_ca = rig.dir.write("text.pem", "not a certificate");
  std::string fake_ca =
      rig.dir.write("fake.pem", "-----BEGIN CERTIFICATE-----\n" + std::string(64, 'M') + "\n-----END CERTIFICATE-----\n");
  std::vector<Row> rows = {
      {{kBinary, "--ca-file", text_ca, "--permissions", "*", "--websites", "*"}, rig.env(), "config error: --ca-file: cannot load certificates"},
      {{kBinary, "check", "--offline", "--ca-file", fake_ca, "--permissions", "*", "--websites", "*"}, rig.env(), "config error: --ca-file: cannot load certificates"},
      {{kBinary, "--permissions", "analytics:read\nsecond line", "--websites", "*"}, rig.env(), "'analytics:read\\nsecond line' is not"},
      {{kBinary, "--permissions", "*", "--websites", "*"}, {}, "config error: DATAFAST_TOKEN: not set"},
      {{kBinary, "--config", conf}, rig.env(), "config error: upstream.baseUrl: 'http://x' must use https"},
      {{kBinary, "--config", unknown}, rig.env(), "config error: ceiling.maxTokens: unknown key"},
      {{kBinary, "--permissions", "*", "--websites", ""}, rig.env(), "config error: --websites"},
      {{kBinary, "--permissions", "analytics:raed", "--websites", "*"}, rig.env(), "config error: --permissions item 0: 'analytics:raed' is not a DataFast permission"},
      {{kBinary, "--permissions", "*", "--websites", "*", "--log-level", "chatty"}, rig.env(), "config error: --log-level"},
      {{kBinary, "--permissions", "*", "--websites", "*", "--config", "/nonexistent.json"}, rig.env(), "config error: --config: cannot open"},
      {{kBinary, "--permissions", "*", "--websites", "*"}, {{"DATAFAST_TOKEN", "df_websitekey12345"}}, "config error: DATAFAST_TOKEN: does not hold"},
      {{kBinary, "check", "--permissions", "*"}, rig.env(), "config error: ceiling.websiteIds: not set"},
      {{kBinary, "--bogus"}, rig.env(), "usage error"},
  };
  for (const Row &row : rows) {
    CAPTURE(row.needle);
    RunResult r = run(row.args, row.env);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(row.needle) != std::string::npos);
    CHECK(r.err.find("df_websitekey12345") == std::string::npos);
  }
}

TEST_CASE("check prints each effective value with where it came from") {
  Rig rig;
  std::string conf = rig.dir.write("c.json", R"({"ceiling": {"permissions": ["analytics:read"], "websiteIds": ["65a1b2c3d4e5f60718293a01"]}, "upstream": {"timeoutMs": 2000}})");
  auto env = rig.env();
  env["DATAFAST_API_URL"] = "https://api.example.com/v1";
  RunResult r = run({kBinary, "check", "--offline", "--config", conf, "--websites", kSiteB}, env);
  CHECK(r.code == 0);
  CHECK(r.out.find("Configuration is valid") != std::string::npos);
  CHECK(r.out.find("https://api.example.com/v1") != std::string::npos);
  CHECK(r.out.find("environment DATAFAST_API_URL") != std::string::npos);
  CHECK(r.out.find("config file " + conf) != std::string::npos);
  CHECK(r.out.find(kSiteB) != std::string::npos);
  CHECK(r.out.find("flag --websites") != std::string::npos);
  CHECK(r.out.find("2000") != std::string::npos);
  CHECK(r.out.find("parent token") != std::string::npos);
  CHECK(r.out.find(rig.token) == std::string::npos);
  CHECK(r.err.empty());
}

TEST_CASE("HTTP mode: announces its URL - SIGTERM stops accepting and finishes the call in flight") {
  Rig rig;
  rig.child = Child::spawn(rig.args({"--permissions", "*", "--websites", "*", "--http", "127.0.0.1:0",
                                     "--auth-token-env", "MCP_TOKEN"}),
                           {{"DATAFAST_TOKEN", rig.token}, {"MCP_TOKEN", "http-token-0123456789abcdef"}});
  REQUIRE(rig.child->wait_for_stderr("serving MCP over HTTP at http://127.0.0.1:"));
  std::string err = rig.child->all_stderr();
  std::size_t at = err.find("http://127.0.0.1:") + 17;
  int port = std::stoi(err.substr(at));
  CHECK(err.find("http-token-0123456789abcdef") == std::string::npos);

  std::map<std::string, std::string> h = {{"Content-Type", "application/json"}, {"Accept", "application/json"},
                                          {"Authorization", "Bearer http-token-0123456789abcdef"}};
  auto init = http_exchange(port, "POST", "/mcp", h, R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}})");
  REQUIRE(init.has_value());
  REQUIRE(init->status == 200);
  h["Mcp-Session-Id"] = init->header("mcp-session-id");

  rig.sb->inject(Fault::of(Fault::Kind::Hang, "GET"));
  RawConnection slow(port);
  REQUIRE(slow.send(http_request("POST", "/mcp", port, h, R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_access_tokens","arguments":{}}})")));
  REQUIRE(rig.sb->wait_for_requests(1, std::chrono::seconds(10)));
  rig.child->signal(SIGTERM);
  REQUIRE(rig.child->wait_for_stderr("finishing 1 request(s) in flight"));
  rig.sb->release_hangs(); // the call in flight now completes (with the sandbox's 503)
  auto reply = slow.read_response();
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
  CHECK(json::parse(reply->body)["id"] == 2);
  CHECK(rig.child->wait() == 0);
  CHECK_THROWS(RawConnection(port)); // no longer accepting
}

TEST_CASE("HTTP mode refuses unsafe configurations with exit 2") {
  Rig rig;
  RunResult open = run({kBinary, "--sandbox", "--permissions", "*", "--websites", "*", "--http", "0.0.0.0:0"}, {});
  CHECK(open.code == 2);
  CHECK(open.err.find("not a loopback address, so clients must authenticate") != std::string::npos);
  std::string conf = rig.dir.write("wide-client.json", R"({"ceiling": {"permissions": ["analytics:read"], "websiteIds": ["a"]},
    "http": {"listen": "127.0.0.1:0", "clients": [{"name": "x", "tokenEnv": "X_TOKEN", "ceiling": {"permissions": ["*"], "websiteIds": ["a"]}}]}})");
  RunResult wide = run({kBinary, "--sandbox", "--config", conf}, {{"X_TOKEN", "x-token-0123456789abcdef"}});
  CHECK(wide.code == 2);
  CHECK(wide.err.find("http.clients[0].ceiling: goes beyond the server's ceiling") != std::string::npos);
}

TEST_CASE("datafast-mcp sandbox serves the built-in account for other processes") {
  TempDir dir;
  auto sb = Child::spawn({kBinary, "sandbox", "--ca-out", dir.path() + "/ca.pem", "--token-out", dir.path() + "/token"}, {});
  auto line = sb->read_line();
  REQUIRE(line.has_value());
  json info = json::parse(*line);
  std::string token;
  std::ifstream(dir.path() + "/token") >> token;
  CHECK(token.starts_with("dft_"));
  auto server = Child::spawn({kBinary, "--upstream-url", info["baseUrl"], "--ca-file", info["caFile"],
                              "--permissions", "*", "--websites", "*"}, {{"DATAFAST_TOKEN", token}});
  server->write_line(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}})");
  server->write_line(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_access_tokens","arguments":{}}})");
  server->read_line();
  auto listed = server->read_line();
  REQUIRE(listed.has_value());
  CHECK(json::parse(*listed)["result"]["structuredContent"]["count"] == 3);
  server->close_stdin();
  CHECK(server->wait() == 0);
  sb->signal(SIGTERM);
  CHECK(sb->wait() == 0);
}

TEST_CASE("keys in files and an audit log: the raw key reaches only its file - audit verify passes") {
  Rig rig;
  std::string keys = rig.dir.path() + "/keys";
  std::string audit = rig.dir.path() + "/audit.jsonl";
  rig.start({"--permissions", "analytics:read,websites:read", "--websites", kSiteA, "--keys-delivery", "file",
             "--keys-dir", keys, "--audit-file", audit, "--name-prefix", "agent:"});
  rig.initialize();
  json created = rig.call("create_access_token", {{"name", "reporter"}, {"permissions", {"analytics:read"}}});
  REQUIRE(created["isError"] == false);
  std::string key_file = created["structuredContent"]["keyFile"];
  CHECK_FALSE(created["structuredContent"].contains("key"));
  CHECK(created["structuredContent"]["token"]["name"] == "agent:reporter");
  rig.call("create_access_token", {{"name", "x"}, {"permissions", {"*"}}}); // refused: audited too
  rig.child->close_stdin();
  CHECK(rig.child->wait() == 0);
  std::string key;
  std::ifstream(key_file) >> key;
  REQUIRE(key.starts_with("dft_"));
  std::stringstream audit_text;
  audit_text << std::ifstream(audit).rdbuf();
  for (const std::string &where : {rig.child->all_stdout(), rig.child->all_stderr(), audit_text.str()}) {
    CHECK(where.find(key) == std::string::npos);
    CHECK(where.find(rig.token) == std::string::npos);
  }
  RunResult verify = run({kBinary, "audit", "verify", audit}, {});
  CHECK(verify.code == 0);
  CHECK(verify.out.starts_with("ok: "));
  CHECK(verify.out.find("4 records") != std::string::npos); // start, two creates (one refused), stop
}

TEST_CASE("audit verify: an edited line exits 1, an interrupted last write exits 3 and is repaired at restart") {
  Rig rig;
  std::string audit = rig.dir.path() + "/audit.jsonl";
  rig.start({"--permissions", "*", "--websites", "*", "--audit-file", audit});
  rig.initialize();
  rig.call("get_token_ceiling");
  rig.child->signal(SIGKILL); // no clean stop: the chain must still be intact
  rig.child->wait();
  CHECK(run({kBinary, "audit", "verify", audit}, {}).code == 0);
  {
    std::ofstream(audit, std::ios::app) << R"({"seq":9,"tool":"crea)"; // what an interrupted write leaves
  }
  RunResult partial = run({kBinary, "audit", "verify", audit}, {});
  CHECK(partial.code == 3);
  CHECK(partial.out.find("is incomplete") != std::string::npos);
  rig.start({"--permissions", "*", "--websites", "*", "--audit-file", audit});
  rig.initialize();
  rig.child->close_stdin();
  CHECK(rig.child->wait() == 0);
  CHECK(run({kBinary, "audit", "verify", audit}, {}).code == 0);
  std::string text;
  {
    std::stringstream s;
    s << std::ifstream(audit).rdbuf();
    text = s.str();
  }
  std::size_t at = text.find("get_token_ceiling");
  REQUIRE(at != std::string::npos);
  text.replace(at, 17, "list_access_token");
  std::ofstream(audit, std::ios::trunc) << text;
  RunResult broken = run({kBinary, "audit", "verify", audit}, {});
  CHECK(broken.code == 1);
  CHECK(broken.out.find("was edited") != std::string::npos);
}

TEST_CASE("confirm writes over stdio: the user is asked with elicitation/create before anything is minted") {
  Rig rig;
  rig.start({"--permissions", "analytics:read,funnels:write", "--websites", kSiteA, "--confirm", "writes"});
  json r = rig.request("initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", {{"elicitation", json::object()}}},
                                      {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  REQUIRE(r.contains("result"));
  int id = rig.request_async("tools/call", {{"name", "create_access_token"},
                                            {"arguments", {{"name", "ops"}, {"permissions", {"funnels:write"}}}}});
  json ask = rig.read();
  REQUIRE(ask.value("method", "") == "elicitation/create");
  CHECK(ask["params"]["message"].get<std::string>().find("funnels:write") != std::string::npos);
  CHECK(rig.upstream_requests("POST") == 0);
  rig.send({{"jsonrpc", "2.0"}, {"id", ask["id"]}, {"result", {{"action", "accept"}, {"content", {{"confirm", true}}}}}});
  json done = rig.read();
  CHECK(done["id"] == id);
  CHECK(done["result"]["isError"] == false);
  CHECK(rig.upstream_requests("POST") == 1);
  // declined: nothing minted
  rig.request_async("tools/call", {{"name", "create_access_token"}, {"arguments", {{"name", "ops2"}, {"permissions", {"funnels:write"}}}}});
  json ask2 = rig.read();
  REQUIRE(ask2.value("method", "") == "elicitation/create");
  rig.send({{"jsonrpc", "2.0"}, {"id", ask2["id"]}, {"result", {{"action", "decline"}}}});
  json declined = rig.read();
  CHECK(declined["result"]["isError"] == true);
  CHECK(rig.upstream_requests("POST") == 1);
}

TEST_CASE("check reads the parent token's scope and warns about what it lacks") {
  Rig rig;
  std::string limited;
  rig.sb->with_account([&](sandbox::Account &a) {
    a.add_token("limited parent", {"api-keys:read", "api-keys:write", "analytics:read"}, {kSiteA});
    limited = a.tokens().back().key.reveal();
  });
  RunResult r = run(rig.args({"check", "--permissions", "analytics:read,websites:read", "--websites", kSiteA + "," + kSiteB}),
                    {{"DATAFAST_TOKEN", limited}});
  CHECK(r.code == 0);
  CHECK(r.out.find("Effective ceiling (configured ∩ the parent's scope): permissions analytics:read; websites " + kSiteA) != std::string::npos);
  CHECK(r.out.find("warning: the ceiling allows permission 'websites:read', which this server's own token does not hold") != std::string::npos);
  CHECK(r.out.find("warning: the ceiling allows website '" + kSiteB + "'") != std::string::npos);
  CHECK(r.out.find(limited) == std::string::npos);
  RunResult offline = run(rig.args({"check", "--offline", "--permissions", "*", "--websites", "*"}), {{"DATAFAST_TOKEN", limited}});
  CHECK(offline.out.find("This server's own token") == std::string::npos);
}

TEST_CASE("--help and --version") {
  RunResult help = run({kBinary, "--help"}, {});
  CHECK(help.code == 0);
  CHECK(help.out.find("Usage:") != std::string::npos);
  RunResult version = run({kBinary, "--version"}, {});
  CHECK(version.code == 0);
  CHECK(version.out.starts_with("datafast-mcp " DFMCP_VERSION));
  CHECK(version.out.find("2026-07-28") != std::string::npos);
  CHECK(help.out.find("DATAFAST_MCP_PERMISSIONS") != std::string::npos);
  CHECK(help.out.find("--read-only") != std::string::npos);
}


TEST_CASE("--read-only over stdio: only the read-only tools are listed - the others are unknown and reach nothing") {
  Rig rig;
  rig.start({"--permissions", "analytics:read,websites:read", "--websites", kSiteA, "--read-only"});
  rig.initialize();
  json listed = rig.request("tools/list")["result"]["tools"];
  std::vector<std::string> names;
  for (const json &t : listed) {
    names.push_back(t["name"]);
    CHECK(t["annotations"]["readOnlyHint"] == true);
  }
  CHECK(std::find(names.begin(), names.end(), "list_access_tokens") != names.end());
  CHECK(std::find(names.begin(), names.end(), "get_token_ceiling") != names.end());
  CHECK(std::find(names.begin(), names.end(), "create_access_token") == names.end());
  CHECK(std::find(names.begin(), names.end(), "revoke_access_token") == names.end());
  for (const char *hidden : {"create_access_token", "revoke_access_token"}) {
    json r = rig.request("tools/call", {{"name", hidden}, {"arguments", {{"name", "x"}, {"permissions", {"analytics:read"}}, {"tokenId", "t"}}}});
    REQUIRE(r.contains("error"));
    CHECK(r["error"]["code"] == -32602);
  }
  CHECK(rig.upstream_requests() == 0);
  CHECK(rig.call("list_access_tokens")["isError"] == false); // the server keeps serving
  CHECK(rig.child->all_stderr().find("tools: get_token_ceiling, list_access_tokens") != std::string::npos);
  CHECK(rig.child->all_stderr().find("(read-only)") != std::string::npos);
}

TEST_CASE("--tools over HTTP: both protocol eras list only the subset and refuse the rest as unknown tools") {
  Rig rig;
  rig.child = Child::spawn(rig.args({"--permissions", "*", "--websites", "*", "--http", "127.0.0.1:0",
                                     "--tools", "get_token_ceiling"}),
                           rig.env());
  REQUIRE(rig.child->wait_for_stderr("serving MCP over HTTP at http://127.0.0.1:"));
  std::string err = rig.child->all_stderr();
  int port = std::stoi(err.substr(err.find("http://127.0.0.1:") + 17));
  CHECK(err.find("tools: get_token_ceiling") != std::string::npos);

  std::map<std::string, std::string> h = {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
  auto init = http_exchange(port, "POST", "/mcp", h, R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}})");
  REQUIRE(init.has_value());
  REQUIRE(init->status == 200);
  h["Mcp-Session-Id"] = init->header("mcp-session-id");
  h["MCP-Protocol-Version"] = "2025-11-25";
  auto list = http_exchange(port, "POST", "/mcp", h, R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  REQUIRE(list.has_value());
  json tools = json::parse(list->body)["result"]["tools"];
  REQUIRE(tools.size() == 1);
  CHECK(tools[0]["name"] == "get_token_ceiling");
  auto hidden = http_exchange(port, "POST", "/mcp", h, R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_access_tokens","arguments":{}}})");
  REQUIRE(hidden.has_value());
  CHECK(json::parse(hidden->body)["error"]["code"] == -32602);

  // 2026-07-28: stateless, the same subset.
  json meta = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
               {"io.modelcontextprotocol/clientCapabilities", json::object()}};
  std::map<std::string, std::string> m = {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"},
                                          {"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/list"}};
  auto modern_list = http_exchange(port, "POST", "/mcp", m, json{{"jsonrpc", "2.0"}, {"id", 4}, {"method", "tools/list"}, {"params", {{"_meta", meta}}}}.dump());
  REQUIRE(modern_list.has_value());
  json mtools = json::parse(modern_list->body)["result"]["tools"];
  REQUIRE(mtools.size() == 1);
  CHECK(mtools[0]["name"] == "get_token_ceiling");
  m["Mcp-Method"] = "tools/call";
  m["Mcp-Name"] = "create_access_token";
  auto modern_hidden = http_exchange(port, "POST", "/mcp", m,
                                     json{{"jsonrpc", "2.0"}, {"id", 5}, {"method", "tools/call"},
                                          {"params", {{"name", "create_access_token"}, {"arguments", {{"name", "x"}, {"permissions", {"analytics:read"}}}}, {"_meta", meta}}}}.dump());
  REQUIRE(modern_hidden.has_value());
  CHECK(json::parse(modern_hidden->body)["error"]["code"] == -32602);
  CHECK(rig.upstream_requests() == 0);
  rig.child->signal(SIGTERM);
  CHECK(rig.child->wait() == 0);
}

TEST_CASE("--tools with unknown names: exit 2 naming them - check and the start-up line say which tools are on") {
  Rig rig;
  RunResult bad = run(rig.args({"--permissions", "*", "--websites", "*", "--tools", "list_access_tokens,mint_token"}), rig.env());
  CHECK(bad.code == 2);
  CHECK(bad.out.empty());
  CHECK(bad.err.find("config error: --tools: unknown tool 'mint_token'; known tools: ") != std::string::npos);
  auto env = rig.env();
  env["DATAFAST_MCP_READ_ONLY"] = "1";
  RunResult check = run({kBinary, "check", "--offline", "--sandbox", "--permissions", "*", "--websites", "*"}, env);
  CHECK(check.code == 0);
  CHECK(check.out.find("tools.readOnly") != std::string::npos);
  CHECK(check.out.find("environment DATAFAST_MCP_READ_ONLY") != std::string::npos);
  CHECK(check.out.find("get_token_ceiling, list_access_tokens") != std::string::npos);
  CHECK(check.out.find("create_access_token,") == std::string::npos);
}

TEST_CASE("the ceiling from DATAFAST_MCP_PERMISSIONS and DATAFAST_MCP_WEBSITES - a flag still wins - check names the source") {
  Rig rig;
  auto env = rig.env();
  env["DATAFAST_MCP_PERMISSIONS"] = "analytics:read";
  env["DATAFAST_MCP_WEBSITES"] = kSiteA + "," + kSiteB;
  RunResult check = run(rig.args({"check", "--offline", "--websites", kSiteB}), env);
  CHECK(check.code == 0);
  CHECK(check.out.find("environment DATAFAST_MCP_PERMISSIONS") != std::string::npos);
  CHECK(check.out.find("flag --websites") != std::string::npos);
  CHECK(check.out.find("environment DATAFAST_MCP_WEBSITES") == std::string::npos);

  rig.child = Child::spawn(rig.args({}), env);
  rig.initialize();
  json ceiling = rig.call("get_token_ceiling")["structuredContent"];
  CHECK(ceiling["permissions"] == json{"analytics:read"});
  CHECK(ceiling["websiteIds"] == json{kSiteA, kSiteB});
  std::size_t before = rig.upstream_requests();
  json refused = rig.call("create_access_token", {{"name", "x"}, {"permissions", {"websites:read"}}, {"websiteIds", {kSiteA}}});
  CHECK(refused["isError"] == true);
  CHECK(rig.upstream_requests() == before);

  env["DATAFAST_MCP_PERMISSIONS"] = "analytics:raed";
  RunResult bad = run(rig.args({}), env);
  CHECK(bad.code == 2);
  CHECK(bad.err.find("config error: DATAFAST_MCP_PERMISSIONS item 0: 'analytics:raed' is not a DataFast permission") != std::string::npos);
}

TEST_CASE("--sandbox alone serves with the demo ceiling - announced on stderr") {
  auto child = Child::spawn({kBinary, "--sandbox"}, {});
  REQUIRE(child->wait_for_stderr("serving MCP on stdio"));
  std::string err = child->all_stderr();
  CHECK(err.find("sandbox: no ceiling given, so the demo ceiling applies: permissions analytics:read, websites:read; websites " + kSiteA + ", " + kSiteB) != std::string::npos);
  child->write_line(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  REQUIRE(child->read_line().has_value());
  child->write_line(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_access_token","arguments":{"name":"demo","permissions":["analytics:read"],"websiteIds":["65a1b2c3d4e5f60718293a01"]}}})");
  auto ok = child->read_line();
  REQUIRE(ok.has_value());
  CHECK(json::parse(*ok)["result"]["isError"] == false);
  child->write_line(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_access_token","arguments":{"name":"demo","permissions":["analytics:read"],"websiteIds":["65a1b2c3d4e5f60718293a03"]}}})");
  auto refused = child->read_line();
  REQUIRE(refused.has_value());
  CHECK(json::parse(*refused)["result"]["isError"] == true);
  child->close_stdin();
  CHECK(child->wait() == 0);
}

TEST_CASE("print-config refuses a snippet that could not start - exit 2 naming what is missing") {
  TempDir dir;
  std::string cfg = dir.write("c.json", R"({"ceiling": {"permissions": ["analytics:read"], "websiteIds": "*"}})");
  std::string half = dir.write("half.json", R"({"ceiling": {"permissions": ["analytics:read"]}})");
  struct Row {
    std::vector<std::string> args;
    std::string needle;
  };
  // The refusal ignores the ceiling of this shell's environment: the client will not have it.
  std::map<std::string, std::string> env = {{"DATAFAST_MCP_PERMISSIONS", "*"}, {"DATAFAST_MCP_WEBSITES", "*"}};
  for (const Row &row : std::vector<Row>{
           {{kBinary, "print-config", "--client", "cursor"}, "ceiling.permissions: not set"},
           {{kBinary, "print-config", "--client", "cursor", "--", "--permissions", "*"}, "ceiling.websiteIds: not set"},
           {{kBinary, "print-config", "--client", "vscode", "--config", dir.path() + "/missing.json"}, "--config: cannot open"},
           {{kBinary, "print-config", "--client", "codex", "--config", half}, "ceiling.websiteIds: not set"},
           {{kBinary, "print-config", "--client", "gemini", "--", "--tools", "nope", "--sandbox"}, "--tools: unknown tool 'nope'"},
           {{kBinary, "print-config", "--client", "cursor", "--docker", "img", "--http", "http://127.0.0.1:1/mcp"}, "give one of them"},
       }) {
    CAPTURE(row.needle);
    RunResult r = run(row.args, env);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(row.needle) != std::string::npos);
  }
  RunResult ok = run({kBinary, "print-config", "--client", "cursor", "--config", cfg}, {});
  CHECK(ok.code == 0);
  CHECK(ok.out.find(cfg) != std::string::npos);
  RunResult sandbox = run({kBinary, "print-config", "--client", "cursor", "--", "--sandbox"}, {});
  CHECK(sandbox.code == 0);
  RunResult docker = run({kBinary, "print-config", "--client", "claude-desktop", "--docker", "datafast-mcp:1", "--config", cfg}, {});
  CHECK(docker.code == 0);
  json d = json::parse(docker.out)["mcpServers"]["datafast"];
  CHECK(d["command"] == "docker");
  CHECK(d["args"] == json{"run", "-i", "--rm", "-e", "DATAFAST_TOKEN", "-v", cfg + ":/etc/datafast-mcp/config.json:ro",
                          "datafast-mcp:1", "--config", "/etc/datafast-mcp/config.json"});
}

TEST_CASE("audit --help shows the audit command's own usage") {
  RunResult r = run({kBinary, "audit", "--help"}, {});
  CHECK(r.code == 0);
  CHECK(r.out.find("Usage: datafast-mcp audit") != std::string::npos);
  CHECK(r.out.find("verify") != std::string::npos);
  CHECK(r.out.find("--permissions") == std::string::npos);
  CHECK(r.out.find("Try it with no DataFast account") == std::string::npos);
  RunResult bare = run({kBinary, "audit"}, {});
  CHECK(bare.code == 2);
  CHECK(bare.err.find("run datafast-mcp audit --help") != std::string::npos);
}

}
