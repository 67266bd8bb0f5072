#include "safety/key_store.hpp"
#include "support/process.hpp"
#include "support/rpc.hpp"

#include <fstream>
#include <sstream>
#include <thread>

using namespace dfmcp;
using namespace dfmcp::test;

namespace {

const std::string kA = "65a1b2c3d4e5f60718293a01";
const std::string kB = "65a1b2c3d4e5f60718293a02";
const std::string kC = "65a1b2c3d4e5f60718293a03";
const Secret kParent("dft_PARENTkey000000000000000wxyz");

model::AccessToken token(std::string id, std::vector<std::string> perms, std::vector<std::string> sites,
                         std::string display = "dft_oth...1111") {
  model::AccessToken t;
  t.id = std::move(id);
  t.name = "t-" + t.id;
  t.display_key = std::move(display);
  t.scope = "user";
  t.permissions = std::move(perms);
  t.website_ids = std::move(sites);
  return t;
}

std::unique_ptr<Harness> listed_ceiling() {
  auto p = std::make_unique<Harness>(make_test_ceiling({"analytics:read", "websites:read"}, std::vector{kA, kB}), kParent);
  Harness &h = *p;
  h.api.tokens = {token("parent0000000000000000001", {"*"}, {}, "dft_PAR...wxyz"),
                  token("inside000000000000000002", {"analytics:read"}, {kA}),
                  token("beyond000000000000000003", {"analytics:read", "team:write"}, {kA, kC})};
  h.initialize();
  return p;
}

std::unique_ptr<Harness> star_ceiling() {
  auto p = std::make_unique<Harness>(make_test_ceiling({"*"}, std::nullopt), kParent);
  p->api.tokens = {token("parent0000000000000000001", {"*"}, {}, "dft_PAR...wxyz")};
  p->initialize();
  return p;
}

} // namespace

TEST_SUITE("tools") {

TEST_CASE("get_token_ceiling shows the effective ceiling and the rules - reading only the website list") {
  auto hp = listed_ceiling();
  Harness &h = *hp;
  const json &c = structured(h.call("get_token_ceiling"));
  CHECK(c["permissions"] == json{"analytics:read", "websites:read"});
  CHECK(c["websiteIds"] == json{kA, kB});
  CHECK(c["allPermissions"] == false);
  CHECK(c["allWebsites"] == false);
  CHECK(c["rules"].size() == 6); // the sixth: the parent's scope is not known yet
  CHECK(c["parentScope"]["state"] == "unknown");
  CHECK(h.api.calls() == std::vector<std::string>{"websites"}); // for the domains; nothing else

  auto sp = star_ceiling();
  Harness &s = *sp;
  const json &all = structured(s.call("get_token_ceiling"));
  CHECK(all["websiteIds"] == "*");
  CHECK(all["permissions"] == json{"*"});
  CHECK(all["allPermissions"] == true);
}

TEST_CASE("list_access_tokens marks each token within the ceiling - revocable - or the server's own") {
  auto hp = listed_ceiling();
  Harness &h = *hp;
  const json &r = structured(h.call("list_access_tokens"));
  REQUIRE(r["tokens"].size() == 3);
  CHECK(r["count"] == 3);
  CHECK(r["maxTokens"] == 20);
  const json &parent = r["tokens"][0];
  CHECK(parent["isServerToken"] == true);
  CHECK(parent["withinCeiling"] == false);
  CHECK(parent["revocable"] == false);
  CHECK(parent["allWebsites"] == true);
  const json &inside = r["tokens"][1];
  CHECK(inside["withinCeiling"] == true);
  CHECK(inside["revocable"] == true);
  CHECK(inside["exceeds"] == json::array());
  const json &beyond = r["tokens"][2];
  CHECK(beyond["withinCeiling"] == false);
  CHECK(beyond["exceeds"] == json{"permission 'team:write'", "website '" + kC + "'"});
  for (const json &t : r["tokens"])
    CHECK_FALSE(t.contains("key"));
}

TEST_CASE("create within the ceiling reaches DataFast once with explicit permissions") {
  auto hp = listed_ceiling();
  Harness &h = *hp;
  const json &r = structured(h.call("create_access_token", {{"name", "weekly report"},
                                                            {"permissions", {"analytics:read"}}}));
  CHECK(r["key"] == "dft_newRAWkey0000000000000abcd");
  CHECK(r["token"]["permissions"] == json{"analytics:read"});
  CHECK(r["token"]["websiteIds"] == json{kA, kB}); // omitted: every website of the ceiling
  CHECK(r["notice"].get<std::string>().find("only time") != std::string::npos);
  REQUIRE(h.api.calls() == std::vector<std::string>{"list", "create"}); // the parent's scope first
  CHECK(h.api.created().front().permissions == std::vector<std::string>{"analytics:read"});
}

TEST_CASE("every create refusal is an isError result and nothing reaches DataFast") {
  struct Row {
    json args;
    std::string needle;
  };
  const Row rows[] = {
      {{{"name", "x"}, {"permissions", {"api-keys:write"}}}, "/permissions/0: 'api-keys:write' is beyond the ceiling; allowed: analytics:read, websites:read"},
      {{{"name", "x"}, {"permissions", {"*"}}}, "'*' (full access) is beyond the ceiling"},
      {{{"name", "x"}, {"permissions", json::array()}}, "/permissions: the list is empty"},
      {{{"name", "x"}, {"permissions", {"analytics:read", "analytics:read"}}}, "listed twice"},
      {{{"name", "x"}, {"permissions", {"ANALYTICS:READ"}}}, "is not a DataFast permission"},
      {{{"name", "x"}, {"permissions", {"analytics:read"}}, {"websiteIds", {kC}}}, "/websiteIds/0: website '" + kC + "' is beyond the ceiling"},
      {{{"name", "x"}, {"permissions", {"analytics:read"}}, {"websiteIds", json::array()}}, "[] means all websites"},
      {{{"name", ""}, {"permissions", {"analytics:read"}}}, "/name: the name is empty"},
      {{{"name", std::string(101, 'n')}, {"permissions", {"analytics:read"}}}, "101 characters long"},
      {{{"name", "a\tb"}, {"permissions", {"analytics:read"}}}, "control character U+0009"},
      {{{"permissions", {"analytics:read"}}}, "/name: required"},
      {{{"name", "x"}}, "/permissions: required"},
      {{{"name", "x"}, {"permissions", {"analytics:read"}}, {"expiresAt", "tomorrow"}}, "/expiresAt: unknown argument"},
      {{{"name", "x"}, {"permissions", {1}}}, "/permissions/0: must be a string, got integer"},
  };
  for (const Row &row : rows) {
    CAPTURE(row.args.dump());
    auto hp = listed_ceiling();
  Harness &h = *hp;
    std::string text = error_text(h.call("create_access_token", row.args));
    CHECK(text.find(row.needle) != std::string::npos);
    CHECK(text.find("Nothing was sent to DataFast.") != std::string::npos);
    CHECK(h.api.calls().empty());
  }
}

TEST_CASE("under a '*' ceiling - websites must be named - and [] means all websites") {
  auto hp = star_ceiling();
  Harness &h = *hp;
  std::string text = error_text(h.call("create_access_token", {{"name", "x"}, {"permissions", {"*"}}}));
  CHECK(text.find("/websiteIds: required under this ceiling") != std::string::npos);
  CHECK(h.api.calls().empty());
  const json &all = structured(h.call("create_access_token", {{"name", "x"}, {"permissions", {"*"}},
                                                              {"websiteIds", json::array()}}));
  CHECK(all["token"]["allWebsites"] == true);
  CHECK(h.api.calls() == std::vector<std::string>{"list", "create"});
}

TEST_CASE("revoke checks the target first: only within the ceiling - never the server's own") {
  SUBCASE("a token within the ceiling is revoked") {
    auto hp = listed_ceiling();
  Harness &h = *hp;
    const json &r = structured(h.call("revoke_access_token", {{"tokenId", "inside000000000000000002"}}));
    CHECK(r["revoked"]["id"] == "inside000000000000000002");
    CHECK(h.api.calls() == std::vector<std::string>{"list", "revoke inside000000000000000002"});
  }
  SUBCASE("a token beyond the ceiling is refused; no DELETE") {
    auto hp = listed_ceiling();
  Harness &h = *hp;
    std::string text = error_text(h.call("revoke_access_token", {{"tokenId", "beyond000000000000000003"}}));
    CHECK(text.find("holds more than the ceiling (permission 'team:write', website '" + kC + "')") != std::string::npos);
    CHECK(h.api.calls() == std::vector<std::string>{"list"});
  }
  SUBCASE("the server's own token is refused even under a '*' ceiling; no DELETE") {
    auto hp = star_ceiling();
  Harness &h = *hp;
    std::string text = error_text(h.call("revoke_access_token", {{"tokenId", "parent0000000000000000001"}}));
    CHECK(text.find("the token this server runs on") != std::string::npos);
    CHECK(h.api.calls() == std::vector<std::string>{"list"});
  }
  SUBCASE("an unknown token is refused; no DELETE") {
    auto hp = listed_ceiling();
  Harness &h = *hp;
    std::string text = error_text(h.call("revoke_access_token", {{"tokenId", "nosuch00000000000000000"}}));
    CHECK(text.find("no token 'nosuch00000000000000000' in this account") != std::string::npos);
    CHECK(h.api.calls() == std::vector<std::string>{"list"});
  }
  SUBCASE("tokens of every shape beyond a listed ceiling are refused - no DELETE") {
    auto hp = listed_ceiling();
    Harness &h = *hp;
    h.api.tokens = {token("star00000000000000000001", {"*"}, {kA}),
                    token("allsites0000000000000002", {"analytics:read"}, {}),
                    token("unknown00000000000000003", {"visitors:read"}, {kA}),
                    token("noperms00000000000000004", {}, {kA})};
    for (const char *id : {"star00000000000000000001", "allsites0000000000000002",
                           "unknown00000000000000003", "noperms00000000000000004"}) {
      CAPTURE(id);
      std::string text = error_text(h.call("revoke_access_token", {{"tokenId", id}}));
      CHECK(text.find("holds more than the ceiling") != std::string::npos);
      CHECK(text.find("Nothing was revoked.") != std::string::npos);
    }
    for (const std::string &c : h.api.calls())
      CHECK((c == "list" || c == "websites")); // reads only
  }
  SUBCASE("a token whose displayKey cannot be read is never revoked (it could be the server's own)") {
    auto hp = star_ceiling();
    Harness &h = *hp;
    h.api.tokens.push_back(token("oddkey000000000000000005", {"analytics:read"}, {kA}, "dft_ab1****xyz9"));
    std::string text = error_text(h.call("revoke_access_token", {{"tokenId", "oddkey000000000000000005"}}));
    CHECK(text.find("cannot tell whether it is the token it runs on") != std::string::npos);
    const json listed = structured(h.call("list_access_tokens"));
    CHECK(listed["tokens"][1]["revocable"] == false);
    for (const std::string &c : h.api.calls())
      CHECK((c == "list" || c == "websites")); // reads only
  }
  SUBCASE("a malformed id is refused before any request") {
    auto hp = listed_ceiling();
  Harness &h = *hp;
    for (const char *id : {"../websites", "a/b", "", "x?y=1"}) {
      std::string text = error_text(h.call("revoke_access_token", {{"tokenId", id}}));
      CHECK(text.find("is not a token id") != std::string::npos);
    }
    CHECK(h.api.calls().empty());
  }
}

TEST_CASE("a create cancelled after DataFast minted the token revokes it again and sends no reply") {
  auto hp = listed_ceiling();
  Harness &h = *hp;
  mcp::Step step = h.session->handle(json{{"jsonrpc", "2.0"}, {"id", 5}, {"method", "tools/call"},
                                          {"params", {{"name", "create_access_token"},
                                                      {"arguments", {{"name", "x"}, {"permissions", {"analytics:read"}}}}}}});
  REQUIRE(step.job.has_value());
  h.session->cancel(5); // arrives while the POST is on its way (the fake ignores cancellation)
  CHECK_FALSE(run_job(*step.job).has_value());
  auto calls = h.api.calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[0] == "list");
  CHECK(calls[1] == "create");
  CHECK(calls[2].starts_with("revoke "));
  CHECK(h.api.tokens.size() == 3); // the minted token is gone again
}

TEST_CASE("upstream failures are isError results naming the operation - no secret in them") {
  auto hp = listed_ceiling();
  Harness &h = *hp;
  h.api.fail_with = upstream::UpstreamError{upstream::ErrorKind::Unauthorized, 401,
                                            "Invalid token dft_PARENTkey000000000000000wxyz", "", true};
  std::string text = error_text(h.call("list_access_tokens"));
  CHECK(text.starts_with("list_access_tokens: DataFast rejected this server's own token"));
  CHECK(text.find(kParent.reveal()) == std::string::npos);
  h.api.fail_with = upstream::UpstreamError{upstream::ErrorKind::ServerError, 503, "down", "", true};
  std::string create = error_text(h.call("create_access_token", {{"name", "x"}, {"permissions", {"analytics:read"}}}));
  CHECK(create.find("HTTP 503: down") != std::string::npos);
  CHECK(create.find("check list_access_tokens before retrying") != std::string::npos);
}

}

// --- agent safety (issue 4) -----------------------------------------------------------------

namespace {

json tool_call(int id, const std::string &name, json arguments) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"},
              {"params", {{"name", name}, {"arguments", std::move(arguments)}}}};
}

std::unique_ptr<Harness> safety_harness(tools::BrokerOptions options, safety::Ledger *ledger = nullptr,
                                        audit::AuditLog *audit = nullptr,
                                        policy::Ceiling ceiling = make_test_ceiling({"analytics:read", "websites:read", "funnels:write"},
                                                                                     std::vector{kA, kB})) {
  auto h = std::make_unique<Harness>(std::move(ceiling), kParent, std::move(options), ledger, audit);
  h->api.tokens = {token("parent0000000000000000001", {"*"}, {}, "dft_PAR...wxyz")};
  return h;
}

json modern_meta(json caps = json::object()) {
  return json{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
              {"io.modelcontextprotocol/clientCapabilities", std::move(caps)}};
}

} // namespace

TEST_SUITE("safety-tools") {

TEST_CASE("the parent token's own scope bounds the ceiling, and the refusal names it") {
  auto hp = safety_harness({});
  Harness &h = *hp;
  h.api.tokens[0] = token("parent0000000000000000001", {"analytics:read"}, {kA}, "dft_PAR...wxyz");
  h.initialize();
  std::string text = error_text(h.call("create_access_token", {{"name", "x"}, {"permissions", {"websites:read"}}, {"websiteIds", {kA}}}));
  CHECK(text.find("beyond what this server's own DataFast token holds") != std::string::npos);
  CHECK(text.find("'websites:read' is beyond this server's own token (dft_PAR...wxyz); allowed: analytics:read") != std::string::npos);
  CHECK(h.api.calls() == std::vector<std::string>{"list"});
  std::string sites = error_text(h.call("create_access_token", {{"name", "x"}, {"permissions", {"analytics:read"}}, {"websiteIds", {kB}}}));
  CHECK(sites.find("website '" + kB + "' is beyond this server's own token") != std::string::npos);
  CHECK(h.api.created().empty());
  // omitted websiteIds mean the effective ceiling's websites: the one the parent also holds
  structured(h.call("create_access_token", {{"name", "x"}, {"permissions", {"analytics:read"}}}));
  CHECK(h.api.created().back().website_ids == std::vector<std::string>{kA});
  const json ceiling = structured(h.call("get_token_ceiling"));
  CHECK(ceiling["parentScope"]["state"] == "identified");
  CHECK(ceiling["permissions"] == json{"analytics:read"});
  CHECK(ceiling["websiteIds"] == json{kA});
  CHECK(ceiling["configured"]["permissions"] == json{"analytics:read", "websites:read", "funnels:write"});
  CHECK(h.api.calls() == std::vector<std::string>{"list", "create", "websites"});
}

TEST_CASE("get_token_ceiling: served again without rebuilding, rebuilt when the token list is read, audited each time") {
  TempDir dir;
  auto audit_log = audit::AuditLog::open(dir.path() + "/audit.jsonl");
  auto hp = safety_harness({}, nullptr, audit_log->get());
  Harness &h = *hp;
  h.api.tokens[0] = token("parent0000000000000000001", {"analytics:read"}, {kA}, "dft_PAR...wxyz");
  h.initialize();
  json first = h.call("get_token_ceiling");
  json second = h.call("get_token_ceiling");
  CHECK(first["result"] == second["result"]);
  CHECK(structured(second)["parentScope"]["state"] == "unknown");
  // Reading the token list teaches the parent's scope: the next answer shows it.
  structured(h.call("list_access_tokens"));
  json after = structured(h.call("get_token_ceiling"));
  CHECK(after["parentScope"]["state"] == "identified");
  CHECK(after["permissions"] == json{"analytics:read"});
  // ... and if the parent disappears from a later list, that shows too.
  h.api.tokens.clear();
  structured(h.call("list_access_tokens"));
  CHECK(structured(h.call("get_token_ceiling"))["parentScope"]["state"] == "not-found");
  std::ifstream in(dir.path() + "/audit.jsonl");
  int ceiling_lines = 0;
  for (std::string l; std::getline(in, l);)
    ceiling_lines += json::parse(l)["tool"] == "get_token_ceiling";
  CHECK(ceiling_lines == 4);
}

TEST_CASE("a parent token missing from the list leaves the configured ceiling in charge") {
  auto hp = safety_harness({});
  Harness &h = *hp;
  h.api.tokens.clear();
  h.initialize();
  structured(h.call("create_access_token", {{"name", "x"}, {"permissions", {"websites:read"}}, {"websiteIds", {kA}}}));
  CHECK(structured(h.call("get_token_ceiling"))["parentScope"]["state"] == "not-found");
}

TEST_CASE("dry run: the decision and the exact body, and nothing reaches DataFast") {
  tools::BrokerOptions o;
  o.name_prefix = "agent:";
  o.confirm = safety::ConfirmMode::Writes;
  auto hp = safety_harness(o);
  Harness &h = *hp;
  h.initialize();
  const json r = structured(h.call("create_access_token", {{"name", "reporter"}, {"permissions", {"analytics:read"}}, {"dryRun", true}}));
  CHECK(r["dryRun"] == true);
  CHECK(r["wouldSend"]["method"] == "POST");
  CHECK(r["wouldSend"]["body"] == json{{"name", "agent:reporter"}, {"permissions", {"analytics:read"}}, {"websiteIds", {kA, kB}}});
  CHECK(r["confirmation"].is_null());
  const json w = structured(h.call("create_access_token", {{"name", "ops"}, {"permissions", {"funnels:write"}}, {"dryRun", true}}));
  CHECK(w["confirmation"] == "grants funnels:write");
  std::string refused = error_text(h.call("create_access_token", {{"name", "x"}, {"permissions", {"*"}}, {"dryRun", true}}));
  CHECK(refused.find("Nothing was sent to DataFast.") != std::string::npos);
  CHECK(h.api.calls().empty());
  CHECK(error_text(h.call("create_access_token", {{"name", "x"}, {"permissions", {"analytics:read"}}, {"dryRun", "yes"}}))
            .find("/dryRun: must be true or false") != std::string::npos);
}

TEST_CASE("lineage: the name prefix, mintedHere, and revoke.scope minted") {
  tools::BrokerOptions o;
  o.name_prefix = "agent:";
  o.revoke_minted_only = true;
  auto hp = safety_harness(o);
  Harness &h = *hp;
  h.api.tokens.push_back(token("other000000000000000000002", {"analytics:read"}, {kA}));
  h.initialize();
  const json created = structured(h.call("create_access_token", {{"name", "reporter"}, {"permissions", {"analytics:read"}}}));
  CHECK(created["token"]["name"] == "agent:reporter");
  CHECK(h.api.created().back().name == "agent:reporter");
  std::string minted = created["token"]["id"];
  const json listed = structured(h.call("list_access_tokens"));
  for (const json &t : listed["tokens"]) {
    CHECK(t["mintedHere"] == (t["id"] == minted));
    if (t["id"] == "other000000000000000000002") {
      CHECK(t["withinCeiling"] == true);
      CHECK(t["revocable"] == false); // within the ceiling, but not minted here
    }
  }
  std::string text = error_text(h.call("revoke_access_token", {{"tokenId", "other000000000000000000002"}}));
  CHECK(text.find("was not minted by this server, and revoke.scope is \"minted\"") != std::string::npos);
  structured(h.call("revoke_access_token", {{"tokenId", minted}}));
  auto calls = h.api.calls();
  CHECK(std::count_if(calls.begin(), calls.end(), [](const std::string &c) { return c.starts_with("revoke"); }) == 1);
}

TEST_CASE("quotas: creates per hour and live minted tokens, per client, with when they free up") {
  tools::BrokerOptions o;
  o.max_live_minted = 1;
  o.max_creates_per_hour = 2;
  auto hp = safety_harness(o);
  Harness &h = *hp;
  h.initialize();
  json args{{"name", "x"}, {"permissions", {"analytics:read"}}};
  const json first = structured(h.call("create_access_token", args));
  std::string live = error_text(h.call("create_access_token", args));
  CHECK(live.find("limits.maxLiveMinted (1) is reached: client 'test' has 1 live tokens minted here") != std::string::npos);
  structured(h.call("revoke_access_token", {{"tokenId", first["token"]["id"]}}));
  structured(h.call("create_access_token", args)); // a place was freed
  std::string rate = error_text(h.call("create_access_token", args));
  CHECK(rate.find("limits.maxCreatesPerHour (2) is used up for client 'test'; the next create is allowed at") != std::string::npos);
  auto calls = h.api.calls();
  CHECK(std::count(calls.begin(), calls.end(), "create") == 2);
  const json c = structured(h.call("get_token_ceiling"));
  CHECK(c["limits"]["maxCreatesPerHour"]["used"] == 2);
  CHECK(c["limits"]["maxLiveMinted"]["live"] == 1);
}

TEST_CASE("keys.delivery file: the raw key goes to a 0600 file and into no result, log or audit") {
  TempDir dir;
  std::string keys = dir.path() + "/keys";
  REQUIRE(safety::prepare_key_dir(keys).has_value());
  auto audit_log = audit::AuditLog::open(dir.path() + "/audit.jsonl");
  REQUIRE(audit_log.has_value());
  tools::BrokerOptions o;
  o.key_delivery = tools::BrokerOptions::KeyDelivery::File;
  o.keys_dir = keys;
  auto hp = safety_harness(o, nullptr, audit_log->get());
  Harness &h = *hp;
  h.initialize();
  json result = h.call("create_access_token", {{"name", "x"}, {"permissions", {"analytics:read"}}});
  const json r = structured(result);
  CHECK_FALSE(r.contains("key"));
  std::string path = r["keyFile"];
  CHECK(path == keys + "/" + r["token"]["id"].get<std::string>() + ".key");
  std::string key;
  std::ifstream(path) >> key;
  CHECK(key == "dft_newRAWkey0000000000000abcd");
  CHECK(result.dump().find(key) == std::string::npos);
  std::stringstream audit_text;
  audit_text << std::ifstream(dir.path() + "/audit.jsonl").rdbuf();
  CHECK(audit_text.str().find(key) == std::string::npos);
  CHECK(audit_text.str().find(r["token"]["id"].get<std::string>()) != std::string::npos);
}

TEST_CASE("the audit log records every call with its decision") {
  TempDir dir;
  auto audit_log = audit::AuditLog::open(dir.path() + "/audit.jsonl");
  auto hp = safety_harness({}, nullptr, audit_log->get());
  Harness &h = *hp;
  h.initialize();
  h.call("get_token_ceiling");
  h.call("create_access_token", {{"name", "x"}, {"permissions", {"*"}}});
  h.call("create_access_token", {{"name", "y"}, {"permissions", {"analytics:read"}}});
  h.api.fail_with = upstream::UpstreamError{upstream::ErrorKind::ServerError, 503, "down", "", true};
  h.call("list_access_tokens");
  std::vector<json> lines;
  std::ifstream in(dir.path() + "/audit.jsonl");
  for (std::string l; std::getline(in, l);)
    lines.push_back(json::parse(l));
  REQUIRE(lines.size() == 4);
  CHECK(lines[0]["tool"] == "get_token_ceiling");
  CHECK(lines[1]["decision"] == "refused");
  CHECK(lines[1]["reason"].get<std::string>().find("'*' (full access) is beyond the ceiling") != std::string::npos);
  CHECK(lines[2]["decision"] == "allowed");
  CHECK(lines[2]["upstreamStatus"] == 200);
  CHECK(lines[2]["tokenId"].is_string());
  CHECK(lines[2]["args"]["permissions"] == json{"analytics:read"});
  CHECK(lines[3]["decision"] == "failed");
  CHECK(lines[3]["upstreamStatus"] == 503);
  CHECK(lines[3]["client"] == "test");
  CHECK(lines[3]["transport"] == "stdio");
}

TEST_CASE("confirm writes: a client that cannot be asked is refused and told why") {
  tools::BrokerOptions o;
  o.confirm = safety::ConfirmMode::Writes;
  auto hp = safety_harness(o);
  Harness &h = *hp;
  h.initialize(); // no elicitation capability
  std::string text = error_text(h.call("create_access_token", {{"name", "x"}, {"permissions", {"funnels:write"}}}));
  CHECK(text.find("grants funnels:write, and this server asks the user to confirm such grants (confirm: writes), but "
                  "this client cannot be asked") != std::string::npos);
  structured(h.call("create_access_token", {{"name", "x"}, {"permissions", {"analytics:read"}}})); // not broad: no question
  auto calls = h.api.calls();
  CHECK(std::count(calls.begin(), calls.end(), "create") == 1);
}

TEST_CASE("confirm writes over the legacy protocol: elicitation/create, then yes mints and no does not") {
  tools::BrokerOptions o;
  o.confirm = safety::ConfirmMode::Writes;
  for (bool yes : {true, false}) {
    CAPTURE(yes);
    auto hp = safety_harness(o);
    Harness &h = *hp;
    h.initialize("2025-11-25", {{"elicitation", json::object()}});
    mcp::Step step = h.session->handle(
        tool_call(50, "create_access_token", json{{"name", "ops"}, {"permissions", {"funnels:write"}}}));
    REQUIRE(step.job.has_value());
    std::optional<json> reply;
    std::thread worker([&] { reply = run_job(*step.job); });
    json ask = h.wait_for([](const json &m) { return m.value("method", "") == "elicitation/create"; });
    REQUIRE(ask.is_object());
    CHECK(ask["params"]["mode"] == "form");
    CHECK(ask["params"]["message"].get<std::string>().find("funnels:write") != std::string::npos);
    json answer = yes ? json{{"action", "accept"}, {"content", {{"confirm", true}}}} : json{{"action", "decline"}};
    h.session->handle(json{{"jsonrpc", "2.0"}, {"id", ask["id"]}, {"result", answer}});
    worker.join();
    REQUIRE(reply.has_value());
    CHECK((*reply)["result"]["isError"] == !yes);
    auto calls = h.api.calls();
    CHECK(std::count(calls.begin(), calls.end(), "create") == (yes ? 1 : 0));
  }
}

TEST_CASE("a confirmation pending when the call is cancelled mints nothing, even if a yes arrives later") {
  tools::BrokerOptions o;
  o.confirm = safety::ConfirmMode::Writes;
  auto hp = safety_harness(o);
  Harness &h = *hp;
  h.initialize("2025-11-25", {{"elicitation", json::object()}});
  mcp::Step real = h.session->handle(
      tool_call(52, "create_access_token", json{{"name", "ops"}, {"permissions", {"funnels:write"}}}));
  REQUIRE(real.job.has_value());
  std::optional<json> reply;
  std::thread worker([&] { reply = run_job(*real.job); });
  json ask = h.wait_for([](const json &m) { return m.value("method", "") == "elicitation/create"; });
  REQUIRE(ask.is_object());
  h.session->cancel(52);
  worker.join();
  CHECK_FALSE(reply.has_value()); // cancelled: no reply
  h.session->handle(json{{"jsonrpc", "2.0"}, {"id", ask["id"]}, {"result", {{"action", "accept"}, {"content", {{"confirm", true}}}}}});
  auto calls = h.api.calls();
  CHECK(std::count(calls.begin(), calls.end(), "create") == 0);
}

TEST_CASE("confirm writes under 2026-07-28: input_required, a sealed requestState, then the retry") {
  tools::BrokerOptions o;
  o.confirm = safety::ConfirmMode::Writes;
  auto hp = safety_harness(o);
  Harness &h = *hp;
  json args{{"name", "ops"}, {"permissions", {"funnels:write"}}};
  json caps{{"elicitation", json::object()}};
  auto call = [&](json extra, json meta) {
    json params{{"name", "create_access_token"}, {"arguments", args}, {"_meta", meta}};
    for (auto &[k, v] : extra.items())
      params[k] = v;
    mcp::Step s = h.session->handle(json{{"jsonrpc", "2.0"}, {"id", ++h.next_id}, {"method", "tools/call"}, {"params", params}});
    REQUIRE(s.job.has_value());
    return *run_job(*s.job);
  };
  json first = call(json::object(), modern_meta(caps));
  REQUIRE(first["result"]["resultType"] == "input_required");
  const json &req = first["result"]["inputRequests"]["confirm_grant"];
  CHECK(req["method"] == "elicitation/create");
  CHECK(req["params"]["requestedSchema"]["properties"]["confirm"]["type"] == "boolean");
  std::string state = first["result"]["requestState"];
  CHECK(h.api.calls() == std::vector<std::string>{"list"});

  json yes{{"confirm_grant", {{"action", "accept"}, {"content", {{"confirm", true}}}}}};
  json done = call({{"inputResponses", yes}, {"requestState", state}}, modern_meta(caps));
  CHECK(done["result"]["resultType"] == "complete");
  CHECK(done["result"]["isError"] == false);
  json replay = call({{"inputResponses", yes}, {"requestState", state}}, modern_meta(caps));
  CHECK(replay["error"]["code"] == -32602);
  json no_answer = call({{"requestState", call(json::object(), modern_meta(caps))["result"]["requestState"]}}, modern_meta(caps));
  CHECK(no_answer["result"]["resultType"] == "input_required"); // asked again, not an error
  json no_caps = call(json::object(), modern_meta());
  CHECK(no_caps["error"]["code"] == -32021);
  CHECK(no_caps["error"]["data"] == json{{"requiredCapabilities", {{"elicitation", json::object()}}}});
  auto calls = h.api.calls();
  CHECK(std::count(calls.begin(), calls.end(), "create") == 1);
}

}
