#include "mcp/modern.hpp"

#include "mcp/jsonrpc.hpp"

#include <algorithm>
#include <array>

namespace dfmcp::mcp::modern {

namespace {
constexpr std::array<std::string_view, 8> kLevels = {"debug", "info",     "notice", "warning",
                                                     "error", "critical", "alert",  "emergency"};
}

bool claims_modern(const json &message) {
  if (!message.is_object())
    return false;
  auto params = message.find("params");
  if (params == message.end() || !params->is_object())
    return false;
  auto meta = params->find("_meta");
  return meta != params->end() && meta->is_object() && meta->contains(kProtocolVersionKey);
}

Expected<Envelope, json> read_envelope(const json &id, const json &params) {
  auto invalid = [&](std::string what) {
    return unexpected(make_error(id, code::kInvalidParams, "invalid params: " + what));
  };
  if (!params.is_object() || !params.contains("_meta") || !params["_meta"].is_object())
    return invalid("params._meta is required under protocol " + std::string(kVersion));
  const json &meta = params["_meta"];
  auto version = meta.find(kProtocolVersionKey);
  if (version == meta.end() || !version->is_string())
    return invalid(std::string("_meta[\"") + kProtocolVersionKey + "\"] (a string) is required");
  auto caps = meta.find(kClientCapabilitiesKey);
  if (caps == meta.end() || !caps->is_object())
    return invalid(std::string("_meta[\"") + kClientCapabilitiesKey + "\"] (an object) is required");
  Envelope env;
  env.version = version->get<std::string>();
  if (auto info = meta.find(kClientInfoKey); info != meta.end()) {
    if (!info->is_object())
      return invalid(std::string("_meta[\"") + kClientInfoKey + "\"] must be an object");
    if (info->contains("name") && (*info)["name"].is_string())
      env.client_name = (*info)["name"].get<std::string>();
  }
  if (auto level = meta.find(kLogLevelKey); level != meta.end()) {
    bool ok = level->is_string() &&
              std::find(kLevels.begin(), kLevels.end(), level->get<std::string>()) != kLevels.end();
    if (!ok)
      return invalid(std::string("_meta[\"") + kLogLevelKey +
                     "\"] must be one of debug, info, notice, warning, error, critical, alert, emergency");
    env.log_level = level->get<std::string>();
  }
  return env;
}

json unsupported_version(const json &id, const std::string &requested) {
  return make_error(id, kUnsupportedVersion, "Unsupported protocol version",
                    json{{"supported", {kVersion}}, {"requested", requested}});
}

std::optional<std::string> decode_header_value(std::string_view value) {
  constexpr std::string_view prefix = "=?base64?", suffix = "?=";
  if (value.size() < prefix.size() + suffix.size() || !value.starts_with(prefix) || !value.ends_with(suffix))
    return std::string(value);
  std::string_view b64 = value.substr(prefix.size(), value.size() - prefix.size() - suffix.size());
  if (b64.size() % 4 != 0)
    return std::nullopt;
  auto decode = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < b64.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = b64[i + static_cast<std::size_t>(k)];
      if (c == '=' && i + 4 == b64.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0 || (v[k] = decode(c)) < 0)
        return std::nullopt;
    }
    unsigned n = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                 (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out.push_back(static_cast<char>((n >> 16) & 0xFF));
    if (pad < 2)
      out.push_back(static_cast<char>((n >> 8) & 0xFF));
    if (pad < 1)
      out.push_back(static_cast<char>(n & 0xFF));
  }
  return out;
}

} // namespace dfmcp::mcp::modern
