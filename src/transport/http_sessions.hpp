// The table of 2025-era HTTP sessions: id -> session, owned by the client (identity) that opened
// it. Caps are per client: when a client is at its cap, its own least recently used idle session
// makes room, never another client's. Sessions idle past the timeout end. Thread-safe.
#pragma once

#include "mcp/session.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dfmcp::transport {

class SessionTable {
public:
  SessionTable(std::size_t max_per_client, std::chrono::milliseconds idle_timeout);

  // Adds `session` for client `who` under `id`; false when that client's sessions are all busy.
  bool add(const std::string &id, std::shared_ptr<mcp::Session> session, std::size_t who);

  // A session in use by one request: release() it when the request is done.
  struct Lease {
    std::shared_ptr<mcp::Session> session;
    std::shared_ptr<std::mutex> handle_mutex; // Session::handle is not reentrant
  };
  // The session `id` if client `who` owns it (another client's is as good as unknown).
  std::optional<Lease> acquire(const std::string &id, std::size_t who);
  void release(const std::string &id);
  // Ends session `id` if `who` owns it; returns it (to cancel its calls), or null.
  std::shared_ptr<mcp::Session> remove(const std::string &id, std::size_t who);

  std::size_t size() const;
  std::vector<std::shared_ptr<mcp::Session>> all() const;

private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::shared_ptr<mcp::Session> session;
    std::size_t identity = 0;
    Clock::time_point last_used;
    int active = 0;
    std::shared_ptr<std::mutex> handle_mutex = std::make_shared<std::mutex>();
  };
  void sweep(Clock::time_point now);          // under mutex_
  bool make_room(std::size_t who);            // under mutex_

  std::size_t max_per_client_;
  std::chrono::milliseconds idle_timeout_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> sessions_;
  std::unordered_map<std::size_t, std::size_t> per_client_; // identity -> open sessions
  Clock::time_point last_sweep_ = Clock::now();
};

} // namespace dfmcp::transport
