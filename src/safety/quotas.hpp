// limits.maxCreatesPerHour: creates per client in a sliding hour (in memory: a restart resets it).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace dfmcp::safety {

class CreateRate {
public:
  using Clock = std::chrono::system_clock;
  // When `client` may create again if `limit` creates in the last hour are used up; nullopt when
  // one is allowed now.
  std::optional<Clock::time_point> next_allowed(const std::string &client, int limit, Clock::time_point now = Clock::now());
  int used(const std::string &client, Clock::time_point now = Clock::now());
  void record(const std::string &client, Clock::time_point now = Clock::now());

private:
  void prune(std::deque<Clock::time_point> &q, Clock::time_point now);
  std::mutex mutex_;
  std::map<std::string, std::deque<Clock::time_point>> creates_;
};

} // namespace dfmcp::safety
