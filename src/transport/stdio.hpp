// MCP over stdio: newline-delimited JSON on two file descriptors. Thin: one thread reads stdin
// and answers at once what needs no waiting (ping, tools/list, refusals, cancellations); tool
// calls that wait on DataFast go to a small pool of workers; one writer keeps every message on a
// line of its own. Everything else is mcp::Session's.
#pragma once

#include "mcp/server.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace dfmcp::transport {

// Ends a run the way a stop signal does: calls in flight are cancelled (writes already sent to
// DataFast get a short grace to finish), nothing more is read, and run_stdio returns. Safe from
// any thread, before or during the run; the first request counts.
class StopSwitch {
public:
  void request(std::string why);

  // For the transport: `fn` runs at once when a stop was already requested, else on request.
  void subscribe(std::function<void(const std::string &why)> fn);
  void unsubscribe();

private:
  std::mutex mutex_;
  std::optional<std::string> why_;
  std::function<void(const std::string &)> fn_;
};

struct StdioOptions {
  int in_fd = 0;
  int out_fd = 1;
  std::shared_ptr<StopSwitch> stop; // optional
  std::size_t workers = 4;          // tool calls served at once; more wait their turn
};

// Serves one session until end of input (calls in flight finish and are answered), a stop
// (calls in flight are cancelled), or a closed output. Returns the process exit code (0).
int run_stdio(const mcp::Server &server, const StdioOptions &options);

} // namespace dfmcp::transport
