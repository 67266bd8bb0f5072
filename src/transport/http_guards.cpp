#include "transport/http_guards.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dfmcp::transport {

using http::iequals;

http::Response json_response(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

http::Response json_response(int status, const json &body) { return json_response(status, dump_json(body)); }

http::Response refusal(int status, const std::string &message, int code) {
  return json_response(status, mcp::make_error(nullptr, code, message));
}

bool accepts(const std::string *accept, std::string_view type) {
  if (accept == nullptr)
    return true; // no Accept header means anything
  std::string_view v = *accept;
  std::string_view major = type.substr(0, type.find('/'));
  std::size_t pos = 0;
  while (pos <= v.size()) {
    std::size_t comma = v.find(',', pos);
    std::string_view item = v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (iequals(item, type) || item == "*/*" || iequals(item, std::string(major) + "/*"))
      return true;
    if (comma == std::string_view::npos)
      break;
    pos = comma + 1;
  }
  return false;
}

bool is_json_content_type(const std::string *ct) {
  if (ct == nullptr)
    return false;
  std::string_view v = *ct;
  v = v.substr(0, v.find(';'));
  while (!v.empty() && v.back() == ' ')
    v.remove_suffix(1);
  return iequals(v, "application/json");
}

std::vector<http::Header> cors_headers(const std::string &origin) {
  return {{"Access-Control-Allow-Origin", origin},
          {"Vary", "Origin"},
          {"Access-Control-Expose-Headers", "Mcp-Session-Id"}};
}

namespace {

// "localhost", "localhost:8080", "[::1]:9" ...: a loopback name with an optional numeric port.
bool is_loopback_host(std::string_view host) {
  std::string_view name = host;
  if (std::size_t colon = host.rfind(':'); colon != std::string_view::npos && host.back() != ']') {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    name = host.substr(0, colon);
  }
  return iequals(name, "localhost") || name == "127.0.0.1" || name == "[::1]";
}

} // namespace

RequestGuards::RequestGuards(const HttpEndpointOptions &options) : options_(options) {
  std::string port = std::to_string(options.port);
  for (const char *h : {"127.0.0.1", "localhost", "[::1]"}) {
    loopback_origins_.push_back(std::string("http://") + h + ":" + port);
    if (options.port == 80)
      loopback_origins_.push_back(std::string("http://") + h);
  }
}

std::optional<http::Response> RequestGuards::check_host(const http::Request &req) const {
  if (!options_.loopback && options_.allowed_hosts.empty())
    return std::nullopt; // behind a proxy the Host varies; set allowedHosts to check it
  const std::string *host = req.header("Host");
  if (host == nullptr)
    return refusal(400, "Bad Request: a Host header is required");
  auto match = [&](const std::string &h) { return iequals(h, *host); };
  if ((options_.loopback && is_loopback_host(*host)) ||
      std::any_of(options_.allowed_hosts.begin(), options_.allowed_hosts.end(), match))
    return std::nullopt;
  spdlog::warn("http: refused Host '{}' from {} (DNS rebinding protection)", *host, req.remote);
  return refusal(403, "Forbidden: Host '" + *host + "' is not allowed");
}

bool RequestGuards::origin_allowed(const std::string &origin) const {
  auto match = [&](const std::string &o) { return iequals(o, origin); };
  return std::any_of(options_.allowed_origins.begin(), options_.allowed_origins.end(), match) ||
         (options_.loopback && std::any_of(loopback_origins_.begin(), loopback_origins_.end(), match));
}

Expected<std::size_t, http::Response> RequestGuards::authenticate(const http::Request &req) const {
  if (req.query.find("access_token=") != std::string::npos) {
    http::Response r = refusal(401, "Unauthorized: tokens are not accepted in the query string; "
                                    "send Authorization: Bearer <token>");
    r.set("WWW-Authenticate", "Bearer realm=\"datafast-mcp\", error=\"invalid_request\"");
    return unexpected(std::move(r));
  }
  if (options_.identities.size() == 1 && options_.identities[0].token.empty())
    return std::size_t{0}; // authentication off (loopback only)
  const std::string *auth = req.header("Authorization");
  std::string presented;
  if (auth != nullptr && auth->size() > 7 && iequals(std::string_view(*auth).substr(0, 7), "Bearer "))
    presented = auth->substr(7);
  // Compare against every identity, in constant time each, so timing tells nothing.
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < options_.identities.size(); ++i)
    if (constant_time_equal(presented, options_.identities[i].token.reveal()) && !presented.empty())
      found = i;
  if (found)
    return *found;
  http::Response r = refusal(401, auth == nullptr ? "Unauthorized: send Authorization: Bearer <token>"
                                                  : "Unauthorized: the bearer token is not valid");
  r.set("WWW-Authenticate", auth == nullptr ? "Bearer realm=\"datafast-mcp\""
                                            : "Bearer realm=\"datafast-mcp\", error=\"invalid_token\"");
  spdlog::info("http: {} {} from {}: 401 ({})", req.method, req.path, req.remote,
               auth == nullptr ? "no token" : "invalid token");
  return unexpected(std::move(r));
}

} // namespace dfmcp::transport
