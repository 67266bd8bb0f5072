// The "http" part of the configuration (internal to config.cpp).
#pragma once

#include "config.hpp"
#include "util/json_input.hpp"

namespace dfmcp::config {

// Reads and validates the "http" object of the config file (nullptr when absent) together with
// the HTTP flags. Clients' ceilings must lie within `server_ceiling`. `where` names the file.
Expected<HttpConfig, ConfigError> load_http(const json *section, const Options &options,
                                            const Env &env, const policy::Ceiling &server_ceiling,
                                            const std::string &where);

// "[::1]:8787" / "127.0.0.1:0" / "localhost:8787" -> host and port.
Expected<std::pair<std::string, int>, std::string> parse_listen(const std::string &text);
bool is_loopback_host(const std::string &host);

} // namespace dfmcp::config
