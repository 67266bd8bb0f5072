// Tools: their definitions (from schemas/), handlers, and the context a call runs in. A handler
// turns validated arguments into a result; refusals and upstream failures are results with
// isError, never exceptions.
#pragma once

#include "policy/ceiling.hpp"
#include "util/cancel.hpp"
#include "util/json_input.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dfmcp::tools {

// Where a call comes from and what bounds it. The ceiling is per caller (stdio: the server's).
struct ToolContext {
  const policy::Ceiling *ceiling = nullptr;
  CancelToken *cancel = nullptr;
  std::string client; // a name for logs ("stdio", or an HTTP client's name)
  // Sends a notifications/message to the client (if it asked for logs); may be empty.
  std::function<void(std::string_view level, const json &data)> notify;
};

struct ToolResult {
  bool is_error = false;
  json structured; // the structuredContent object (success only)
  std::string text;

  static ToolResult success(json structured);
  static ToolResult failure(std::string message);
  // {"content":[{"type":"text","text":...}], "structuredContent":..., "isError":...}
  json to_json() const;
};

struct Tool {
  json definition;           // the tools/list entry
  bool calls_upstream = true; // runs off the reading thread (it may wait on DataFast)
  std::function<ToolResult(const json &arguments, ToolContext &context)> handler;
  std::string name() const { return definition.at("name").get<std::string>(); }
};

class ToolRegistry {
public:
  void add(Tool tool);
  const Tool *find(std::string_view name) const;
  std::vector<std::string> names() const;
  // The tools/list result, built once: {"tools":[...]} in a stable order.
  const json &list_result() const { return list_result_; }

private:
  std::map<std::string, Tool, std::less<>> tools_;
  json list_result_ = json{{"tools", json::array()}};
};

} // namespace dfmcp::tools
