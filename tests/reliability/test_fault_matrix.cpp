// The fault matrix: each tool against each upstream fault, through the real HTTPS client and
// the sandbox. Every call must end in a clear isError result within the deadline, the server
// must keep serving, and no POST may ever be sent twice.
#include "mcp/session.hpp"
#include "sandbox/sandbox.hpp"
#include "support/rpc.hpp"
#include "support/sandbox_client.hpp"
#include "tools/token_tools.hpp"

#include <doctest/doctest.h>

#include <future>
#include <sys/socket.h>
#include <unistd.h>

using namespace dfmcp;
using namespace dfmcp::test;
using Fault = sandbox::Fault;

namespace {

const std::string kSite = "65a1b2c3d4e5f60718293a01";
constexpr std::chrono::milliseconds kTimeout{1500};

enum class Setup { Normal, WrongCa, Expired, WrongHost, Refused };

struct Case {
  const char *name;
  Setup setup = Setup::Normal;
  std::optional<Fault> fault;
};

std::vector<Case> cases() {
  auto many = [](Fault f) {
    f.times = 1000; // every attempt, retries included, meets it
    return f;
  };
  Fault slow = Fault::delayed(std::chrono::milliseconds(5000));
  Fault trickle = Fault::of(Fault::Kind::Trickle);
  trickle.delay = std::chrono::milliseconds(200);
  Fault huge = Fault::of(Fault::Kind::HugeBody);
  return {
      {"500", Setup::Normal, many(Fault::http_status(500))},
      {"502", Setup::Normal, many(Fault::http_status(502))},
      {"503 with Retry-After", Setup::Normal, many(Fault::http_status(503, "", "1"))},
      {"429", Setup::Normal, many(Fault::http_status(429))},
      {"timeout (a slow answer)", Setup::Normal, many(slow)},
      {"hang", Setup::Normal, many(Fault::of(Fault::Kind::Hang))},
      {"slow trickle", Setup::Normal, many(trickle)},
      {"malformed JSON", Setup::Normal, many(Fault::of(Fault::Kind::Garbage))},
      {"truncated JSON", Setup::Normal, many(Fault::of(Fault::Kind::Truncated))},
      {"wrong shape", Setup::Normal, many(Fault::of(Fault::Kind::WrongShape))},
      {"50 MB body", Setup::Normal, many(huge)},
      {"reset mid-body", Setup::Normal, many(Fault::of(Fault::Kind::Reset))},
      {"wrong CA", Setup::WrongCa, std::nullopt},
      {"expired certificate", Setup::Expired, std::nullopt},
      {"host name mismatch", Setup::WrongHost, std::nullopt},
      {"connection refused", Setup::Refused, std::nullopt},
  };
}

struct Server {
  std::unique_ptr<sandbox::Sandbox> sb;
  std::unique_ptr<upstream::AccountApi> api;
  tools::ToolRegistry registry;
  std::unique_ptr<mcp::Server> server;
  std::unique_ptr<mcp::Session> session;
  std::string revocable_id;
  int next = 1;

  explicit Server(Setup setup) {
    auto o = sandbox_options();
    if (setup == Setup::WrongCa)
      o.untrusted_certificate = true;
    if (setup == Setup::Expired) {
      o.leaf.not_before_offset_s = -7200;
      o.leaf.not_after_offset_s = -3600;
    }
    if (setup == Setup::WrongHost) {
      o.leaf.dns_names = {"example.com"};
      o.leaf.ip_addresses = {};
    }
    sb = sandbox::Sandbox::start(o);
    sb->with_account([&](sandbox::Account &a) { revocable_id = a.add_token("target", {"analytics:read"}, {kSite}); });
    upstream::ClientConfig cfg = client_config(*sb, kTimeout);
    cfg.retry_base = std::chrono::milliseconds(50);
    if (setup == Setup::Refused) {
      int port = sb->port();
      sb->stop(); // nothing listens there any more
      cfg.url = *parse_https_url("https://127.0.0.1:" + std::to_string(port) + "/api/v1/admin");
    }
    api = upstream::make_http_account_api(cfg);
    tools::register_token_tools(registry, *api, sb->parent_token());
    auto ceiling = policy::make_ceiling({{"analytics:read", "websites:read"}, std::vector<std::string>{kSite}});
    server = std::make_unique<mcp::Server>(registry, *ceiling);
    session = std::make_unique<mcp::Session>(*server, "matrix", server->ceiling(), [](const json &) { return true; });
    mcp::Step init = session->handle(json{{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"},
                                          {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}}}});
    REQUIRE(init.reply->contains("result"));
  }

  // Runs one tool call; the guard fails the test if it outlives the deadline by much.
  json call(const std::string &tool, json args) {
    mcp::Step step = session->handle(json{{"jsonrpc", "2.0"}, {"id", ++next}, {"method", "tools/call"},
                                          {"params", {{"name", tool}, {"arguments", std::move(args)}}}});
    if (step.has_reply()) { // answered at once (no upstream involved), as JSON or already serialized
      json reply = step.reply ? *step.reply : *parse_json(*step.reply_text);
      REQUIRE(reply.contains("result"));
      return reply["result"];
    }
    auto done = std::async(std::launch::async, [&] { return run_job(*step.job); });
    // Guard: a create makes two requests but shares one deadline; allow scheduling slack.
    REQUIRE_MESSAGE(done.wait_for(kTimeout + std::chrono::milliseconds(2500)) == std::future_status::ready,
                    tool << " did not end within its deadline");
    auto reply = done.get();
    REQUIRE(reply.has_value());
    REQUIRE(reply->contains("result"));
    return (*reply)["result"];
  }

  std::size_t posts() const {
    std::size_t n = 0;
    for (const auto &r : sb->requests())
      n += r.method == "POST";
    return n;
  }
};

} // namespace

TEST_SUITE("fault-matrix") {

TEST_CASE("every tool meets every upstream fault with a clear isError - in time - and no POST twice") {
  for (const Case &c : cases()) {
    std::string name = c.name;
    CAPTURE(name);
    Server s(c.setup);
    if (c.fault)
      s.sb->inject(*c.fault);
    Secret parent = s.sb->parent_token();

    json list = s.call("list_access_tokens", json::object());
    CHECK(list["isError"] == true);
    std::size_t posts_before = s.posts();
    json create = s.call("create_access_token", {{"name", "matrix"}, {"permissions", {"analytics:read"}}});
    CHECK(create["isError"] == true);
    CHECK(s.posts() - posts_before <= 1); // a POST is never sent twice
    json revoke = s.call("revoke_access_token", {{"tokenId", s.revocable_id}});
    CHECK(revoke["isError"] == true);
    for (const json *r : {&list, &create, &revoke}) {
      std::string text = (*r)["content"][0]["text"];
      CHECK(text.size() > 20);
      CHECK(text.find(parent.reveal()) == std::string::npos);
    }
    // The server keeps serving: a local tool answers, and once the fault is gone, DataFast too.
    CHECK(s.call("get_token_ceiling", json::object())["isError"] == false);
    if (c.setup == Setup::Normal) {
      s.sb->clear_faults();
      s.sb->release_hangs();
      CHECK(s.call("list_access_tokens", json::object())["isError"] == false);
    }
  }
}

}
