// Who may call the /mcp endpoint and what it accepts: the options the request guards, the session
// table and the endpoint share. Values only.
#pragma once

#include "policy/ceiling.hpp"
#include "secret.hpp"

#include <chrono>
#include <cstddef>
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
  int port = 0;                             // the bound port, for the Origin check
  std::size_t max_sessions = 1000;          // per client: one client cannot end another's
  std::chrono::milliseconds session_idle_timeout{30 * 60 * 1000};
};

} // namespace dfmcp::transport
