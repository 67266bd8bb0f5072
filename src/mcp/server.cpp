#include "mcp/server.hpp"

#include "mcp/modern.hpp"

#include <algorithm>

namespace dfmcp::mcp {

namespace {
constexpr const char *kInstructions =
    "This server manages DataFast account tokens (dft_) for the account it runs on: list them, "
    "mint narrower ones for sub-agents or tasks, and revoke them. Every token minted or revoked "
    "here must stay within a fixed ceiling of permissions and websites; requests beyond it are "
    "refused and never reach DataFast. Call get_token_ceiling first, then ask create_access_token "
    "for the least the task needs. A new token's raw key is shown once, in the create result.";
// The tool list and capabilities change only with the binary, so clients may cache them.
constexpr int kToolsListTtlMs = 3600 * 1000;
constexpr int kDiscoverTtlMs = 3600 * 1000;
} // namespace

bool is_supported_version(std::string_view version) {
  return std::find(kProtocolVersions.begin(), kProtocolVersions.end(), version) !=
         kProtocolVersions.end();
}

Server::Server(const tools::ToolRegistry &tools, policy::Ceiling ceiling)
    : tools_(tools), ceiling_(std::move(ceiling)) {}

void Server::build_tools_lists() const {
  std::call_once(lists_once_, [this] {
    json modern = tools_.list_result();
    modern["ttlMs"] = kToolsListTtlMs;
    modern["cacheScope"] = "public"; // the same for every caller
    stamp_modern(modern);
    tools_list_text_ = dump_json(tools_.list_result());
    modern_tools_list_text_ = dump_json(modern);
  });
}

const std::string &Server::tools_list_text() const {
  build_tools_lists();
  return tools_list_text_;
}

const std::string &Server::modern_tools_list_text() const {
  build_tools_lists();
  return modern_tools_list_text_;
}

void Server::stamp_modern(json &result) {
  if (!result.contains("resultType"))
    result["resultType"] = "complete";
  result["_meta"][modern::kServerInfoKey] = json{{"name", "datafast-mcp"}, {"version", DFMCP_VERSION}};
}

std::optional<std::string> Server::call_result_text(const tools::ToolResult &r, bool modern) {
  if (r.protocol_error || r.input_required)
    return std::nullopt;
  static const std::string meta = [] {
    json stamped = json::object();
    stamp_modern(stamped);
    return dump_json(stamped["_meta"]);
  }();
  // Keys in nlohmann's order (sorted): _meta, content, isError, resultType, structuredContent.
  std::string text = r.text_json ? *r.text_json : quote_json_string(r.text);
  std::string out;
  out.reserve(text.size() + (r.is_error ? 0 : r.text.size()) + meta.size() + 128);
  out += '{';
  if (modern) {
    out += "\"_meta\":";
    out += meta;
    out += ',';
  }
  out += "\"content\":[{\"text\":";
  out += text;
  out += ",\"type\":\"text\"}],\"isError\":";
  out += r.is_error ? "true" : "false";
  if (modern)
    out += ",\"resultType\":\"complete\"";
  if (!r.is_error) {
    out += ",\"structuredContent\":";
    out += r.text; // ToolResult::success made it: the structured content, serialized
  }
  out += '}';
  return out;
}

json Server::discover_result() const {
  json r{{"supportedVersions", {modern::kVersion}},
         {"capabilities", {{"tools", {{"listChanged", false}}}}},
         {"instructions", kInstructions},
         {"ttlMs", kDiscoverTtlMs},
         {"cacheScope", "public"}};
  stamp_modern(r);
  return r;
}

json Server::initialize_result(std::string_view version) const {
  return json{{"protocolVersion", version},
              {"capabilities", {{"tools", {{"listChanged", false}}}, {"logging", json::object()}}},
              {"serverInfo",
               {{"name", "datafast-mcp"},
                {"title", "DataFast token broker"},
                {"version", DFMCP_VERSION},
                {"description", "Lists, mints and revokes DataFast account tokens under a ceiling"}}},
              {"instructions", kInstructions}};
}

} // namespace dfmcp::mcp
