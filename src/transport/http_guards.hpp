// The checks every /mcp request passes before any protocol work: Host (DNS rebinding), Origin and
// the CORS headers that answer it, media types, and the bearer token that names the client. Also
// the JSON refusal shapes they answer with. Pure functions of the request; no session state.
#pragma once

#include "http/message.hpp"
#include "mcp/jsonrpc.hpp"
#include "transport/http_options.hpp"
#include "util/expected.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dfmcp::transport {

http::Response json_response(int status, std::string body);
http::Response json_response(int status, const json &body);
// A transport-level refusal, as a JSON-RPC error without an id (the request may not even be one).
http::Response refusal(int status, const std::string &message, int code = mcp::code::kInvalidRequest);

// Whether an Accept header value admits `type` (no header admits anything).
bool accepts(const std::string *accept, std::string_view type);
bool is_json_content_type(const std::string *content_type);

// The CORS headers for an allowed Origin (never a wildcard).
std::vector<http::Header> cors_headers(const std::string &origin);

class RequestGuards {
public:
  explicit RequestGuards(const HttpEndpointOptions &options);

  // On a loopback bind, the loopback names with any port (or none) pass, like the official
  // TypeScript SDK's localhost host check; `allowedHosts` values pass exactly. Else 403.
  std::optional<http::Response> check_host(const http::Request &request) const;
  bool origin_allowed(const std::string &origin) const;
  // The index of the identity the bearer token names, or the 401 refusal.
  Expected<std::size_t, http::Response> authenticate(const http::Request &request) const;

private:
  const HttpEndpointOptions &options_;
  std::vector<std::string> loopback_origins_; // "http://127.0.0.1:PORT", ...
};

} // namespace dfmcp::transport
