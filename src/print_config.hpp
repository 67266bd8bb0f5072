// The snippets `datafast-mcp print-config` prints: per MCP client, the exact text to paste into its
// config to start (stdio) or reach (Streamable HTTP) this server. Pure: no I/O, no environment.
// A token is never a value here, only a variable reference in the client's syntax (or a note).
#pragma once

#include "util/expected.hpp"

#include <optional>
#include <string>
#include <vector>

namespace dfmcp::print_config {

struct ClientSpec {
  std::string name;  // what --client takes, e.g. "claude-code"
  std::string title; // e.g. "Claude Code"
  bool stdio;        // a snippet that starts the server as a child process
  bool http;         // a snippet that connects to a running Streamable HTTP server
  std::string where; // the file the snippet goes in (per OS where it differs), or where to run it
  std::string secret_handling; // how the client gets the token without a literal in the file
};

// Every client, in the order --list-clients prints them.
const std::vector<ClientSpec> &clients();

struct Request {
  std::string client;                   // a ClientSpec::name
  std::string binary;                   // absolute path of this datafast-mcp (POSIX or Windows)
  std::optional<std::string> config;    // absolute path of the config file (added as --config)
  std::vector<std::string> extra_args;  // further server args (e.g. --permissions ...)
  std::optional<std::string> http_url;  // set: render the HTTP variant (http:// or https://)
  std::string token_env = "DATAFAST_TOKEN";               // stdio: env var of the parent token
  std::string http_token_env = "DATAFAST_MCP_HTTP_TOKEN"; // http: env var of the bearer token
  std::string server_name = "datafast";
  // Set: the snippet starts the server in this container image (`docker run -i --rm ...`)
  // instead of `binary`; `config` is then mounted read-only into the container.
  std::optional<std::string> docker_image;
};

// Where --docker mounts the config file inside the container.
inline constexpr const char *kContainerConfigPath = "/etc/datafast-mcp/config.json";

// The snippet, ending in a newline: JSON (2-space indent, keys in the order clients document
// them), TOML (Codex), YAML (Continue) or a POSIX shell command line (claude-code-cli). Claude
// Code's `.mcp.json` is "claude-code"; its `claude mcp add` line is the separate client
// "claude-code-cli", so each output can be pasted whole. Zed's settings are JSON with comments,
// so the Zed snippet opens with `//` lines saying where the token comes from.
//
// Errors name the problem: an unknown client (listing the known ones), HTTP asked of a client
// that cannot connect to HTTP servers (listing those that can), a relative or non-UTF-8 path, a
// malformed variable name, server name, URL or image name, --docker with an HTTP URL.
Expected<std::string, std::string> render(const Request &r);

} // namespace dfmcp::print_config
