// The command line: `datafast-mcp [options]` serves MCP over stdio, `datafast-mcp check [options]`
// validates the configuration and prints the effective values. Parsing only; no I/O.
#pragma once

#include "config.hpp"
#include "util/expected.hpp"

#include <string>

namespace dfmcp {

enum class Command { Serve, Check, Sandbox };

// `datafast-mcp sandbox`: only the built-in DataFast account, for other programs to use.
struct SandboxOptions {
  std::string listen = "127.0.0.1:0";
  std::string ca_out;    // where to write the CA certificate (PEM)
  std::string token_out; // where to write the sandbox parent token (mode 0600)
};

struct CliRequest {
  Command command = Command::Serve;
  config::Options options;
  SandboxOptions sandbox;
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
