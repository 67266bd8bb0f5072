// The command line: `datafast-mcp [options]` serves MCP over stdio, `datafast-mcp check [options]`
// validates the configuration and prints the effective values. Parsing only; no I/O.
#pragma once

#include "config.hpp"
#include "util/expected.hpp"

#include <optional>
#include <string>
#include <vector>

namespace dfmcp {

enum class Command { Serve, Check, Sandbox, AuditVerify, PrintConfig };

struct PrintConfigOptions {
  std::string client;
  bool list_clients = false;
  std::optional<std::string> http_url;
  std::optional<std::string> config;
  std::optional<std::string> docker_image;
  std::string server_name = "datafast";
  std::string token_env = "DATAFAST_TOKEN";
  std::string http_token_env = "DATAFAST_MCP_HTTP_TOKEN";
  std::vector<std::string> server_args; // after --
};

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
  PrintConfigOptions print_config;
  bool offline = false;   // check --offline
  std::string audit_path; // audit verify FILE
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
