#include "policy/ceiling.hpp"
#include "policy/name.hpp"
#include "policy/permission.hpp"

#include <doctest/doctest.h>

using namespace dfmcp;
using namespace dfmcp::policy;

namespace {

const std::string kSiteA = "65a1b2c3d4e5f60718293a01";
const std::string kSiteB = "65a1b2c3d4e5f60718293a02";
const std::string kSiteC = "65a1b2c3d4e5f60718293a03";

Ceiling ceiling(std::vector<std::string> perms, std::optional<std::vector<std::string>> sites) {
  auto c = make_ceiling({std::move(perms), std::move(sites)});
  REQUIRE(c.has_value());
  return *c;
}

Ceiling read_only() { return ceiling({"analytics:read", "websites:read"}, std::vector{kSiteA, kSiteB}); }
Ceiling everything() { return ceiling({"*"}, std::nullopt); }

std::string only_refusal(const Expected<CreatePlan, Refusals> &r) {
  REQUIRE_FALSE(r.has_value());
  REQUIRE(r.error().size() == 1);
  return r.error().front().to_string();
}

} // namespace

TEST_SUITE("policy") {

TEST_CASE("the vocabulary is the 18 documented permissions plus '*'") {
  CHECK(vocabulary().size() == 19);
  CHECK(vocabulary().front() == "analytics:read");
  CHECK(vocabulary().back() == "*");
  for (std::string_view name : vocabulary())
    CHECK(Permission::parse(name).has_value());
}

TEST_CASE("permissions are exact strings: no case folding - trimming or look-alikes") {
  for (const char *s : {"Analytics:read", "analytics:read ", " analytics:read", "analytics_read",
                        "analytics:Read", "analytics:reads", "analytics", "access-tokens:write",
                        "account:read", "*:read", "", "api-keys:wrіte" /* Cyrillic i */})
    CHECK_FALSE(Permission::parse(s).has_value());
}

TEST_CASE("an unknown permission gets a suggestion when one entry is meant") {
  CHECK(suggest_permission("Analytics:Read") == std::optional<std::string_view>("analytics:read"));
  CHECK(suggest_permission("api_keys:write") == std::optional<std::string_view>("api-keys:write"));
  CHECK(suggest_permission("analytics") == std::optional<std::string_view>("analytics:read"));
  CHECK_FALSE(suggest_permission("goals").has_value()); // goals:read or goals:write: ambiguous
  CHECK_FALSE(suggest_permission("xyz").has_value());
}

TEST_CASE("a create within the ceiling is allowed and sends permissions explicitly") {
  auto plan = check_create(read_only(), {"report bot", {"analytics:read"}, std::vector{kSiteA}});
  REQUIRE(plan.has_value());
  CHECK(plan->name == "report bot");
  CHECK(plan->permissions == std::vector<std::string>{"analytics:read"});
  CHECK(plan->website_ids == std::vector<std::string>{kSiteA});
  CHECK_FALSE(plan->websites_defaulted);
}

TEST_CASE("omitted websiteIds means every website of a listed ceiling") {
  auto plan = check_create(read_only(), {"bot", {"websites:read"}, std::nullopt});
  REQUIRE(plan.has_value());
  CHECK(plan->website_ids == std::vector<std::string>{kSiteA, kSiteB});
  CHECK(plan->websites_defaulted);
}

TEST_CASE("a permission beyond the ceiling is refused by name with what is allowed") {
  CHECK(only_refusal(check_create(read_only(), {"bot", {"analytics:read", "api-keys:write"}, std::nullopt})) ==
        "/permissions/1: 'api-keys:write' is beyond the ceiling; allowed: analytics:read, websites:read");
}

TEST_CASE("'*' is refused under a listed ceiling and allowed alone under a '*' ceiling") {
  CHECK(only_refusal(check_create(read_only(), {"bot", {"*"}, std::nullopt})) ==
        "/permissions/0: '*' (full access) is beyond the ceiling; allowed: analytics:read, websites:read");
  auto plan = check_create(everything(), {"bot", {"*"}, std::vector<std::string>{}});
  REQUIRE(plan.has_value());
  CHECK(plan->permissions == std::vector<std::string>{"*"});
  CHECK(plan->website_ids.empty());
}

TEST_CASE("'*' with other permissions is refused as ambiguous") {
  auto r = check_create(everything(), {"bot", {"analytics:read", "*"}, std::vector{kSiteA}});
  CHECK(only_refusal(r).starts_with("/permissions/1: '*' already grants every permission"));
}

TEST_CASE("an empty permission list is refused (DataFast would read it as full access)") {
  auto r = check_create(read_only(), {"bot", {}, std::nullopt});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().front().field == "/permissions");
  CHECK(r.error().front().message.find("empty") != std::string::npos);
}

TEST_CASE("a duplicated permission is refused") {
  CHECK(only_refusal(check_create(read_only(), {"bot", {"analytics:read", "analytics:read"}, std::nullopt})) ==
        "/permissions/1: 'analytics:read' is listed twice; list each permission once");
}

TEST_CASE("an unknown permission is refused by name even under a '*' ceiling") {
  auto r = check_create(everything(), {"bot", {"Analytics:read"}, std::vector{kSiteA}});
  std::string msg = only_refusal(r);
  CHECK(msg.starts_with("/permissions/0: 'Analytics:read' is not a DataFast permission (did you mean 'analytics:read'?"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().front().kind == RefusalKind::InvalidArgument);
}

TEST_CASE("a website beyond the ceiling is refused by id") {
  CHECK(only_refusal(check_create(read_only(), {"bot", {"analytics:read"}, std::vector{kSiteA, kSiteC}})) ==
        "/websiteIds/1: website '" + kSiteC + "' is beyond the ceiling; allowed: " + kSiteA + ", " + kSiteB);
}

TEST_CASE("[] (all websites) is refused under a listed ceiling") {
  std::string msg = only_refusal(check_create(read_only(), {"bot", {"analytics:read"}, std::vector<std::string>{}}));
  CHECK(msg.starts_with("/websiteIds: [] means all websites of the account, which is beyond the ceiling"));
}

TEST_CASE("under a '*' website ceiling the agent must say which websites") {
  std::string msg = only_refusal(check_create(everything(), {"bot", {"analytics:read"}, std::nullopt}));
  CHECK(msg.starts_with("/websiteIds: required under this ceiling"));
  auto some = check_create(everything(), {"bot", {"analytics:read"}, std::vector{kSiteC}});
  REQUIRE(some.has_value());
  CHECK(some->website_ids == std::vector<std::string>{kSiteC});
}

TEST_CASE("duplicated or malformed website ids are refused") {
  CHECK(only_refusal(check_create(read_only(), {"bot", {"analytics:read"}, std::vector{kSiteA, kSiteA}})) ==
        "/websiteIds/1: website '" + kSiteA + "' is listed twice; list each website once");
  CHECK(only_refusal(check_create(everything(), {"bot", {"analytics:read"}, std::vector<std::string>{"../x"}})) ==
        "/websiteIds/0: '../x' is not a website id (1 to 64 letters, digits, '_' or '-')");
}

TEST_CASE("every problem of a request is reported at once") {
  auto r = check_create(read_only(), {"", {"team:write", "nope"}, std::vector<std::string>{}});
  REQUIRE_FALSE(r.has_value());
  std::vector<std::string> fields;
  for (const Refusal &x : r.error())
    fields.push_back(x.field);
  CHECK(fields == std::vector<std::string>{"/name", "/permissions/1", "/permissions/0", "/websiteIds"});
}

TEST_CASE("names: 1 to 100 characters - valid UTF-8 - no control characters - not blank") {
  CHECK_FALSE(name_problem("weekly report sub-agent").has_value());
  CHECK_FALSE(name_problem(std::string(100, 'x')).has_value());
  CHECK_FALSE(name_problem("rapport hebdo \xC3\xA9t\xC3\xA9").has_value()); // é: 2 bytes, 1 character
  CHECK(name_problem(std::string(100, 'x') + "\xC3\xA9") == std::optional<std::string>("101 characters long; at most 100 are allowed"));
  CHECK(name_problem("") == std::optional<std::string>("empty; give a label of 1 to 100 characters"));
  CHECK(name_problem("a\nb") == std::optional<std::string>("contains the control character U+000A at character 2; control characters are not allowed"));
  CHECK(name_problem("a\x7F").has_value());
  CHECK(name_problem("evil\xE2\x80\xAEtxt.exe").has_value()); // U+202E right-to-left override
  CHECK(name_problem("   ").has_value());
  CHECK(name_problem("\xC3\x28").has_value()); // invalid UTF-8
  CHECK(name_problem("\xED\xA0\x80").has_value()); // a UTF-16 surrogate
}

TEST_CASE("exceeds lists what of an existing token lies beyond the ceiling") {
  CHECK(exceeds(read_only(), {{"analytics:read"}, {kSiteA}}).empty());
  CHECK(exceeds(read_only(), {{"analytics:read", "team:write"}, {kSiteA, kSiteC}}) ==
        std::vector<std::string>{"permission 'team:write'", "website '" + kSiteC + "'"});
  CHECK(exceeds(read_only(), {{"*"}, {}}) ==
        std::vector<std::string>{"permission '*' (full access)", "all websites"});
  CHECK(exceeds(read_only(), {{"visitors:read"}, {kSiteA}}) ==
        std::vector<std::string>{"permission 'visitors:read' (unknown to this server)"});
  CHECK(exceeds(everything(), {{"*"}, {}}).empty());
}

TEST_CASE("revoke: only within the ceiling - never the server's own token") {
  CHECK(check_revoke(read_only(), {{"analytics:read"}, {kSiteA}}, "t1", false).has_value());
  auto beyond = check_revoke(read_only(), {{"analytics:read"}, {}}, "t2", false);
  REQUIRE_FALSE(beyond.has_value());
  CHECK(beyond.error().front().kind == RefusalKind::BeyondCeiling);
  CHECK(beyond.error().front().message.find("all websites") != std::string::npos);
  auto own = check_revoke(everything(), {{"*"}, {}}, "t3", true);
  REQUIRE_FALSE(own.has_value());
  CHECK(own.error().front().kind == RefusalKind::NotAllowed);
  CHECK(own.error().front().message.find("the token this server runs on") != std::string::npos);
}

TEST_CASE("a configured ceiling must be unambiguous") {
  auto empty_sites = make_ceiling({{"analytics:read"}, std::vector<std::string>{}});
  REQUIRE_FALSE(empty_sites.has_value());
  CHECK(empty_sites.error().front().field == "websiteIds");
  CHECK(empty_sites.error().front().message.find("ambiguous") != std::string::npos);
  CHECK_FALSE(make_ceiling({{}, std::nullopt}).has_value());
  CHECK_FALSE(make_ceiling({{"analytics:reed"}, std::nullopt}).has_value());
  CHECK_FALSE(make_ceiling({{"*", "analytics:read"}, std::nullopt}).has_value());
  CHECK_FALSE(make_ceiling({{"analytics:read"}, std::vector<std::string>{"a b"}}).has_value());
}

}
