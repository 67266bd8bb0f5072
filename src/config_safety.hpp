// The agent-safety part of the configuration (internal to config.cpp): keys, mint, revoke,
// limits, confirm, logging.auditFile and upstream.scopeTtlMs.
#pragma once

#include "config.hpp"
#include "util/json_input.hpp"

namespace dfmcp::config {

struct SafetySections {
  const json *keys = nullptr;
  const json *mint = nullptr;
  const json *revoke = nullptr;
  const json *limits = nullptr;
  const json *confirm = nullptr;
  std::optional<std::string> audit_file;  // logging.auditFile (read with the logging section)
  std::optional<long long> scope_ttl_ms;  // upstream.scopeTtlMs
};

Expected<SafetyConfig, ConfigError> load_safety(const SafetySections &file, const Options &options,
                                                const std::string &where);

} // namespace dfmcp::config
