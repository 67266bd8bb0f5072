// Fuzz target bodies (see targets.cpp).
#pragma once

#include <string_view>

namespace dfmcp::fuzz {

void session(std::string_view input);      // JSON-RPC/MCP lines through a session
void config(std::string_view input);       // config file text through the loader
void upstream(std::string_view input);     // DataFast answers through the parsers
void http_request(std::string_view input); // bytes through the HTTP parser and the MCP endpoint

} // namespace dfmcp::fuzz
