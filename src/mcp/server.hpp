// What every MCP session of this process shares: the tools, the server's identity and the
// protocol versions it speaks. No I/O.
#pragma once

#include "policy/ceiling.hpp"
#include "tools/registry.hpp"
#include "util/json_input.hpp"

#include <array>
#include <mutex>
#include <string>
#include <string_view>

namespace dfmcp::mcp {

// Newest first; initialize echoes a supported request and otherwise answers with the first.
inline constexpr std::array<std::string_view, 3> kProtocolVersions = {"2025-11-25", "2025-06-18",
                                                                      "2025-03-26"};
bool is_supported_version(std::string_view version);

class Server {
public:
  Server(const tools::ToolRegistry &tools, policy::Ceiling ceiling);

  const tools::ToolRegistry &tools() const { return tools_; }
  const policy::Ceiling &ceiling() const { return ceiling_; }
  json initialize_result(std::string_view version) const;

  // 2026-07-28 results: server/discover, tools/list (with caching hints), and the stamp every
  // modern result carries (resultType, serverInfo in _meta).
  json discover_result() const;
  // Both tools/list results, serialized once, on first use (thread-safe): they change only with
  // the binary, and start-up (the initialize reply) does not need them.
  const std::string &tools_list_text() const;
  const std::string &modern_tools_list_text() const;
  static void stamp_modern(json &result);
  // A plain CallToolResult (not input_required, not a protocol error) serialized directly, with
  // the structured content dumped once (it is the text already): byte for byte what dumping
  // to_json(), stamped when modern, gives. nullopt for the other kinds.
  static std::optional<std::string> call_result_text(const tools::ToolResult &r, bool modern);

private:
  const tools::ToolRegistry &tools_;
  policy::Ceiling ceiling_;
  void build_tools_lists() const;
  mutable std::once_flag lists_once_;
  mutable std::string tools_list_text_;
  mutable std::string modern_tools_list_text_;
};

} // namespace dfmcp::mcp
