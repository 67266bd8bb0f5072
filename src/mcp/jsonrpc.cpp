#include "mcp/jsonrpc.hpp"

namespace dfmcp::mcp {

json make_result(const json &id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

std::string make_result_text(const json &id, std::string_view result_text) {
  std::string id_text = dump_json(id);
  std::string out;
  out.reserve(result_text.size() + id_text.size() + 32);
  out += "{\"id\":";
  out += id_text;
  out += ",\"jsonrpc\":\"2.0\",\"result\":";
  out += result_text;
  out += '}';
  return out;
}

json make_error(const json &id, int code, std::string message, std::optional<json> data) {
  json error{{"code", code}, {"message", std::move(message)}};
  if (data)
    error["data"] = std::move(*data);
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

std::string id_key(const json &id) { return dump_json(id); }

Expected<Incoming, json> classify(const json &message) {
  if (message.is_array())
    return unexpected(make_error(nullptr, code::kInvalidRequest,
                                 message.empty()
                                     ? "invalid request: an empty array is not a message"
                                     : "invalid request: batches (JSON arrays) are not supported "
                                       "since MCP 2025-06-18; send one message per line"));
  if (!message.is_object())
    return unexpected(make_error(nullptr, code::kInvalidRequest,
                                 "invalid request: a message must be a JSON object, got " +
                                     json_type_name(message)));

  auto id_it = message.find("id");
  bool has_id = id_it != message.end();
  bool id_ok = has_id && (id_it->is_string() || id_it->is_number_integer() ||
                          id_it->is_number_unsigned());
  json reply_id = id_ok ? *id_it : json(nullptr);

  // A notification (a method, no id) is never answered, even when malformed.
  auto method_it = message.find("method");
  if (!has_id && method_it != message.end()) {
    auto v = message.find("jsonrpc");
    if (!method_it->is_string() || v == message.end() || *v != "2.0")
      return unexpected(json(nullptr));
    Incoming in;
    in.kind = Incoming::Kind::Notification;
    in.method = method_it->get<std::string>();
    auto params = message.find("params");
    in.params = (params != message.end() && params->is_object()) ? *params : json(nullptr);
    return in;
  }

  auto version = message.find("jsonrpc");
  if (version == message.end() || *version != "2.0")
    return unexpected(make_error(reply_id, code::kInvalidRequest,
                                 "invalid request: \"jsonrpc\" must be \"2.0\""));

  auto method = method_it;
  if (method == message.end()) {
    if (message.contains("result") || message.contains("error")) {
      Incoming in;
      in.kind = Incoming::Kind::Response;
      in.id = reply_id;
      return in;
    }
    return unexpected(make_error(reply_id, code::kInvalidRequest,
                                 "invalid request: \"method\" is missing"));
  }
  if (!id_ok)
    return unexpected(make_error(nullptr, code::kInvalidRequest,
                                 id_it->is_null()
                                     ? "invalid request: \"id\" must not be null"
                                     : "invalid request: \"id\" must be a string or an integer, got " +
                                           json_type_name(*id_it)));
  if (!method->is_string())
    return unexpected(make_error(reply_id, code::kInvalidRequest,
                                 "invalid request: \"method\" must be a string, got " +
                                     json_type_name(*method)));
  Incoming in;
  in.kind = Incoming::Kind::Request;
  in.id = reply_id;
  in.method = method->get<std::string>();
  auto params = message.find("params");
  if (params != message.end()) {
    if (params->is_array())
      return unexpected(make_error(reply_id, code::kInvalidParams,
                                   "invalid params: MCP params must be an object, not an array"));
    if (!params->is_object())
      return unexpected(make_error(reply_id, code::kInvalidRequest,
                                   "invalid request: \"params\" must be an object, got " +
                                       json_type_name(*params)));
    in.params = *params;
  }
  return in;
}

} // namespace dfmcp::mcp
