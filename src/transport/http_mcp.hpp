// MCP over Streamable HTTP: the /mcp endpoint's rules on top of http::Server. Locked down by
// default: Host (for loopback binds) and Origin are checked on every request, a bearer token
// identifies the client (and its ceiling) on every request, never through a session.
// Dual-era: a request claiming 2026-07-28 in params._meta is served statelessly; anything else
// follows 2025-11-25 (initialize mints an Mcp-Session-Id; later requests need it).
#pragma once

#include "http/server.hpp"
#include "mcp/server.hpp"
#include "secret.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dfmcp::transport {

struct HttpIdentity {
  std::string name;               // for logs ("default", or the client's name)
  Secret token;                   // empty: no authentication (loopback only)
  const policy::Ceiling *ceiling; // this client's ceiling
};

struct HttpEndpointOptions {
  std::string path = "/mcp";
  // Who may call. With auth off, one identity with an empty token.
  std::vector<HttpIdentity> identities;
  std::vector<std::string> allowed_origins; // besides the server's own loopback origins
  std::vector<std::string> allowed_hosts;   // Host values accepted besides the loopback names
  bool loopback = true;                     // bound to loopback: check Host (DNS rebinding)
  int port = 0;                             // the bound port, for the Host and Origin checks
  std::size_t max_sessions = 1000;
  std::chrono::milliseconds session_idle_timeout{30 * 60 * 1000};
};

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

// Serves until the stop fd fires; returns the exit code (0 on a clean stop, 1 if it cannot listen).
int run_http(const mcp::Server &server, HttpRunOptions options);

} // namespace dfmcp::transport
