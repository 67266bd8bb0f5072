#include "safety/quotas.hpp"

namespace dfmcp::safety {

void CreateRate::prune(std::deque<Clock::time_point> &q, Clock::time_point now) {
  while (!q.empty() && now - q.front() >= std::chrono::hours(1))
    q.pop_front();
}

std::optional<CreateRate::Clock::time_point> CreateRate::next_allowed(const std::string &client, int limit,
                                                                     Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto &q = creates_[client];
  prune(q, now);
  if (static_cast<int>(q.size()) < limit)
    return std::nullopt;
  // The oldest of the last `limit` creates leaves the window first.
  return q[q.size() - static_cast<std::size_t>(limit)] + std::chrono::hours(1);
}

int CreateRate::used(const std::string &client, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto &q = creates_[client];
  prune(q, now);
  return static_cast<int>(q.size());
}

void CreateRate::record(const std::string &client, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  creates_[client].push_back(now);
}

} // namespace dfmcp::safety
