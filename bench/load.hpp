// A closed-loop HTTP/1.1 load generator: N kept-alive connections, each sending its request again
// as soon as the previous answer is complete, driven by one epoll thread (so the driver spends as
// little CPU as it can on this 2-core machine). Latency is measured per request from the first
// byte sent to the last byte received.
#pragma once

#include "support.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace bench {

struct LoadConfig {
  std::string host;
  int port = 0;
  std::vector<std::string> requests; // one per connection (each may carry its own session id)
  std::chrono::milliseconds warmup{200};
  std::chrono::milliseconds duration{1000};
};

struct LoadResult {
  double seconds = 0;          // the measured window
  std::uint64_t completed = 0; // answers completed inside the window
  std::uint64_t errors = 0;    // answers other than 2xx (any time), or lost connections
  std::vector<double> latencies_us;
  std::string first_error;
  double rps() const { return seconds > 0 ? static_cast<double>(completed) / seconds : 0; }
};

LoadResult run_load(const LoadConfig &config);

} // namespace bench
