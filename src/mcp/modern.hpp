// MCP 2026-07-28 ("modern", stateless): every request carries its protocol version and client
// capabilities in params._meta. These helpers read that envelope; the session and the HTTP
// transport share them so both check a request the same way and in the same order.
#pragma once

#include "util/expected.hpp"
#include "util/json_input.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace dfmcp::mcp::modern {

inline constexpr std::string_view kVersion = "2026-07-28";
inline constexpr const char *kProtocolVersionKey = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char *kClientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char *kClientInfoKey = "io.modelcontextprotocol/clientInfo";
inline constexpr const char *kLogLevelKey = "io.modelcontextprotocol/logLevel";
inline constexpr const char *kServerInfoKey = "io.modelcontextprotocol/serverInfo";

inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kUnsupportedVersion = -32022;

// True when a message claims the modern protocol: params._meta carries a protocol version key.
bool claims_modern(const json &message);

struct Envelope {
  std::string version;
  std::optional<std::string> client_name;
  std::optional<std::string> log_level; // RFC 5424 name, when the request asks for log messages
};

// Reads params._meta; an error is the -32602 reply to send (HTTP 400).
Expected<Envelope, json> read_envelope(const json &id, const json &params);

// The -32022 reply for a version this server does not serve (HTTP 400).
json unsupported_version(const json &id, const std::string &requested);

// Decodes an MCP header value: "=?base64?...?=" is Base64 of UTF-8; anything else is literal.
// nullopt when the Base64 is invalid.
std::optional<std::string> decode_header_value(std::string_view value);

} // namespace dfmcp::mcp::modern
