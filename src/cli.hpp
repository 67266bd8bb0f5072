// The command line: `datafast-mcp [options]` serves MCP over stdio, `datafast-mcp check [options]`
// validates the configuration and prints the effective values. Parsing only; no I/O.
#pragma once

#include "config.hpp"
#include "util/expected.hpp"

#include <string>

namespace dfmcp {

enum class Command { Serve, Check };

struct CliRequest {
  Command command = Command::Serve;
  config::Options options;
};

// What to print and the exit code, when the command line alone settles it (--help, --version,
// a usage error: exit 2).
struct CliExit {
  int code = 0;
  std::string out;
  std::string err;
};

Expected<CliRequest, CliExit> parse_cli(int argc, const char *const *argv);

std::string version_text();

} // namespace dfmcp
