// JSON-RPC 2.0 framing for MCP: classifying an incoming message and building replies. No I/O.
#pragma once

#include "util/expected.hpp"
#include "util/json_input.hpp"

#include <optional>
#include <string>

namespace dfmcp::mcp {

namespace code {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
} // namespace code

struct Incoming {
  enum class Kind { Request, Notification, Response };
  Kind kind = Kind::Request;
  json id;          // string or integer for requests; null otherwise
  std::string method;
  json params;      // an object, or null when absent
};

json make_result(const json &id, json result);
// The same reply, serialized, around a result that is already serialized (byte for byte what
// dump_json(make_result(id, parse(result_text))) gives), for results that never change.
std::string make_result_text(const json &id, std::string_view result_text);
json make_error(const json &id, int code, std::string message, std::optional<json> data = std::nullopt);

// Sorts a parsed message into request / notification / response. An invalid message yields the
// error reply to send (id null when the id itself is unusable), or null when nothing may be sent
// (a malformed notification).
Expected<Incoming, json> classify(const json &message);

// The key under which a request id is tracked (1 and "1" are different ids).
std::string id_key(const json &id);

} // namespace dfmcp::mcp
