#include "support/rpc.hpp"

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

TEST_CASE("get_token_ceiling shows the effective ceiling and the rules - without DataFast") {
  auto hp = listed_ceiling();
  Harness &h = *hp;
  const json &c = structured(h.call("get_token_ceiling"));
  CHECK(c["permissions"] == json{"analytics:read", "websites:read"});
  CHECK(c["websiteIds"] == json{kA, kB});
  CHECK(c["allPermissions"] == false);
  CHECK(c["allWebsites"] == false);
  CHECK(c["rules"].size() == 4);
  CHECK(h.api.calls().empty());

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
  REQUIRE(h.api.calls() == std::vector<std::string>{"create"});
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
  CHECK(h.api.calls() == std::vector<std::string>{"create"});
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
      CHECK(c == "list");
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
      CHECK(c == "list");
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
  CHECK_FALSE(step.job->run().has_value());
  auto calls = h.api.calls();
  REQUIRE(calls.size() == 2);
  CHECK(calls[0] == "create");
  CHECK(calls[1].starts_with("revoke "));
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
