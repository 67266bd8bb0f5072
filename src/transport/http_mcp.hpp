// MCP over Streamable HTTP: the /mcp endpoint's rules on top of http::Server (request guards in
// http_guards, sessions in http_sessions, event streams in http_sse). Locked down by default:
// Host (for loopback binds) and Origin are checked on every request, a bearer token identifies
// the client (and its ceiling) on every request, never through a session.
// Dual-era: a request claiming 2026-07-28 in params._meta is served statelessly; anything else
// follows 2025-11-25 (initialize mints an Mcp-Session-Id; later requests need it).
#pragma once

#include "http/server.hpp"
#include "mcp/server.hpp"
#include "transport/http_options.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dfmcp::transport {

class McpHttpEndpoint {
public:
  McpHttpEndpoint(const mcp::Server &server, HttpEndpointOptions options);
  ~McpHttpEndpoint();

  // Runs on an http::Server worker. `disconnect` fires when the client goes away.
  http::Response handle(const http::Request &request, CancelToken &disconnect, http::ResponseStream &stream);

  std::size_t session_count() const;
  // Cancels every call in flight in every session (shutdown).
  void cancel_all(bool hard);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct HttpRunOptions {
  http::ServerOptions server;
  HttpEndpointOptions endpoint;
  // Called once listening, with the endpoint URL (for the announcement on stderr).
  std::function<void(const std::string &url)> on_listening;
};

// Serves until stopped (a stop signal when options.server.stop_on_signals); returns the exit
// code (0 on a clean stop, 1 if it cannot listen).
int run_http(const mcp::Server &server, HttpRunOptions options);

} // namespace dfmcp::transport
