// Tools: their definitions (from schemas/), handlers, and the context a call runs in. A handler
// turns validated arguments into a result; refusals and upstream failures are results with
// isError, never exceptions.
#pragma once

#include "policy/ceiling.hpp"
#include "util/cancel.hpp"
#include "util/expected.hpp"
#include "util/json_input.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace dfmcp::tools {

// Where a call comes from and what bounds it. The ceiling is per caller (stdio: the server's).
struct ToolContext {
  const policy::Ceiling *ceiling = nullptr;
  CancelToken *cancel = nullptr;
  std::string client;    // a name for logs and audit ("stdio", or an HTTP client's name)
  std::string transport; // "stdio" or "http"
  // Sends a notifications/message to the client (if it asked for logs); may be empty.
  std::function<void(std::string_view level, const json &data)> notify;

  // Asking the user (confirmation of broad grants):
  bool modern = false;              // protocol 2026-07-28 (stateless; no server-to-client requests)
  json client_capabilities = json::object();
  // Legacy: sends elicitation/create and waits for the answer (the ElicitResult, or why not).
  // Empty when the client or the transport cannot be asked.
  std::function<Expected<json, std::string>(const json &params)> elicit;
  // 2026-07-28: what the client sent back with a retried call.
  json input_responses;  // null when absent
  std::string request_state;
};

struct ToolResult {
  bool is_error = false;
  // On success, the structuredContent object serialized (the reply's text block carries the same
  // JSON); on failure, the message. Only the text is kept: replies are written from it.
  std::string text;
  // Optional: `text` already as a JSON string literal, for a result served many times.
  std::shared_ptr<const std::string> text_json;
  // 2026-07-28: the call needs input first ({"inputRequests":..., "requestState":...}).
  std::optional<json> input_required;
  // A JSON-RPC error instead of a result (e.g. -32021 when a required client capability is
  // missing), with the HTTP status it travels with.
  struct ProtocolError {
    int code;
    std::string message;
    json data;
    int http_status;
  };
  std::optional<ProtocolError> protocol_error;

  static ToolResult success(json structured);
  static ToolResult failure(std::string message);
  // {"content":[{"type":"text","text":...}], "structuredContent":..., "isError":...}, or the
  // input_required result.
  json to_json() const;
};

struct Tool {
  std::string name; // its tools/list entry is schemas/tools/<name>.json, read when first listed
  bool calls_upstream = true; // may wait on DataFast (stdio and HTTP run it off the parsing path)
  std::function<ToolResult(const json &arguments, ToolContext &context)> handler;
};

class ToolRegistry {
public:
  // Every tool is added before the registry is shared between threads.
  void add(Tool tool);
  const Tool *find(std::string_view name) const;
  // Keeps only the named tools (--tools, --read-only): the others are gone from tools/list and
  // unknown when called. Before the registry is shared or listed.
  void retain(const std::vector<std::string> &names);
  std::vector<std::string> names() const;
  // The tools/list result, built on first use (thread-safe; start-up and the initialize reply do
  // not need it): {"tools":[...]} in a stable order.
  const json &list_result() const;

private:
  std::map<std::string, Tool, std::less<>> tools_;
  mutable std::once_flag list_once_;
  mutable json list_result_;
};

} // namespace dfmcp::tools
