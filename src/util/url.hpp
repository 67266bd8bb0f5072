// The upstream base URL: https only, host, port, base path.
#pragma once

#include "util/expected.hpp"

#include <string>
#include <string_view>

namespace dfmcp {

struct HttpsUrl {
  std::string host;
  int port = 443;
  std::string base_path; // "" or "/api/v1/admin" (no trailing slash)
  bool host_is_ip = false;

  std::string origin() const;    // https://host[:port]
  std::string to_string() const; // origin + base_path
};

// Accepts https://host[:port][/path] with a DNS name or an IPv4 address; refuses other schemes,
// user info, queries, fragments and IPv6 literals, with a message saying what is wrong.
Expected<HttpsUrl, std::string> parse_https_url(std::string_view text);

} // namespace dfmcp
