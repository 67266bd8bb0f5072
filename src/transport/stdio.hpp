// MCP over stdio: newline-delimited JSON on two file descriptors. Thin: framing, a writer that
// keeps each message on its own line, and a few threads that take turns reading stdin and run the
// tool calls that wait on DataFast on the thread that read them. Everything else is
// mcp::Session's.
#pragma once

#include "mcp/server.hpp"

#include <cstddef>

namespace dfmcp::transport {

struct StdioOptions {
  int in_fd = 0;
  int out_fd = 1;
  int signal_fd = -1;      // readable when the process should stop (a signalfd), or -1
  std::size_t workers = 4; // tool calls served at once (one more thread keeps reading)
};

// Serves one session until end of input (in-flight calls finish and are answered), a signal
// (in-flight calls are cancelled), or a closed output. Returns the process exit code (0).
int run_stdio(const mcp::Server &server, const StdioOptions &options);

} // namespace dfmcp::transport
