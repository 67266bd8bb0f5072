#include "policy/permission.hpp"
#include "support/rpc.hpp"
#include "tools/schemas.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace dfmcp;
using namespace dfmcp::test;

namespace {

const std::string kGolden = std::string(DFMCP_SOURCE_DIR) + "/tests/golden/tools_list.json";

json tools_list() {
  Harness h(make_test_ceiling({"*"}, std::nullopt));
  h.initialize();
  json r = h.request("tools/list");
  REQUIRE(r.contains("result"));
  return r["result"];
}

bool contains_ref(const json &j) {
  if (j.is_object()) {
    if (j.contains("$ref"))
      return true;
    for (const auto &[k, v] : j.items())
      if (contains_ref(v))
        return true;
  } else if (j.is_array()) {
    for (const json &v : j)
      if (contains_ref(v))
        return true;
  }
  return false;
}

} // namespace

TEST_SUITE("schemas") {

TEST_CASE("tools/list matches the committed snapshot (UPDATE_GOLDEN=1 rewrites it)") {
  json list = tools_list();
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::ofstream(kGolden) << list.dump(2) << "\n";
  }
  std::ifstream in(kGolden);
  REQUIRE_MESSAGE(in.good(), "missing " << kGolden << "; run with UPDATE_GOLDEN=1");
  std::stringstream text;
  text << in.rdbuf();
  CHECK(json::parse(text.str()) == list);
}

TEST_CASE("every tool has a title - a description - object schemas and the agreed annotations") {
  json list = tools_list();
  std::map<std::string, json> expected = {
      {"list_access_tokens", {{"readOnlyHint", true}, {"openWorldHint", true}}},
      {"create_access_token", {{"readOnlyHint", false}, {"destructiveHint", false}}},
      {"revoke_access_token", {{"readOnlyHint", false}, {"destructiveHint", true}, {"idempotentHint", true}}},
      {"get_token_ceiling", {{"readOnlyHint", true}, {"openWorldHint", false}}},
      {"list_websites", {{"readOnlyHint", true}, {"destructiveHint", false}, {"openWorldHint", false}}},
  };
  REQUIRE(list["tools"].size() == expected.size());
  for (const json &tool : list["tools"]) {
    std::string name = tool["name"];
    CAPTURE(name);
    REQUIRE(expected.count(name) == 1);
    CHECK(tool["title"].is_string());
    CHECK(tool["description"].get<std::string>().size() > 80);
    CHECK(tool["inputSchema"]["type"] == "object");
    CHECK(tool["inputSchema"]["additionalProperties"] == false);
    CHECK(tool["outputSchema"]["type"] == "object");
    for (const auto &[k, v] : expected[name].items())
      CHECK(tool["annotations"][k] == v);
    CHECK_FALSE(contains_ref(tool));
  }
}

TEST_CASE("the permission enum of create_access_token is the one vocabulary") {
  json create = tools::tool_definition("create_access_token");
  json items = create["inputSchema"]["properties"]["permissions"]["items"];
  std::vector<std::string> vocab(policy::vocabulary().begin(), policy::vocabulary().end());
  CHECK(items["enum"].get<std::vector<std::string>>() == vocab);
  CHECK(items["type"] == "string");
}

TEST_CASE("every schema file has a tool and every tool a schema file") {
  Harness h(make_test_ceiling({"*"}, std::nullopt));
  CHECK(tools::defined_tool_names() == h.registry.names());
}

TEST_CASE("descriptions teach the ceiling and asking for the least") {
  std::string create = tools::tool_definition("create_access_token")["description"];
  CHECK(create.find("ceiling") != std::string::npos);
  CHECK(create.find("least") != std::string::npos);
  CHECK(create.find("once") != std::string::npos);
}

}
