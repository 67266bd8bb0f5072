#include "transport/http_sessions.hpp"

#include <spdlog/spdlog.h>

namespace dfmcp::transport {

SessionTable::SessionTable(std::size_t max_per_client, std::chrono::milliseconds idle_timeout)
    : max_per_client_(max_per_client), idle_timeout_(idle_timeout) {}

void SessionTable::sweep(Clock::time_point now) {
  if (now - last_sweep_ < std::chrono::seconds(10))
    return;
  last_sweep_ = now;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.active == 0 && now - it->second.last_used > idle_timeout_) {
      --per_client_[it->second.identity];
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

bool SessionTable::make_room(std::size_t who) {
  if (per_client_[who] < max_per_client_)
    return true;
  auto victim = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
    if (it->second.identity == who && it->second.active == 0 &&
        (victim == sessions_.end() || it->second.last_used < victim->second.last_used))
      victim = it;
  if (victim == sessions_.end())
    return false;
  spdlog::info("http: a client reached its session limit ({}); ended its least recently used session",
               max_per_client_);
  sessions_.erase(victim);
  --per_client_[who];
  return true;
}

bool SessionTable::add(const std::string &id, std::shared_ptr<mcp::Session> session, std::size_t who) {
  std::lock_guard lock(mutex_);
  sweep(Clock::now());
  if (!make_room(who))
    return false;
  Entry entry;
  entry.session = std::move(session);
  entry.identity = who;
  entry.last_used = Clock::now();
  sessions_.emplace(id, std::move(entry));
  ++per_client_[who];
  return true;
}

std::optional<SessionTable::Lease> SessionTable::acquire(const std::string &id, std::size_t who) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.identity != who)
    return std::nullopt;
  it->second.last_used = Clock::now();
  ++it->second.active;
  return Lease{it->second.session, it->second.handle_mutex};
}

void SessionTable::release(const std::string &id) {
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    --it->second.active;
    it->second.last_used = Clock::now();
  }
}

std::shared_ptr<mcp::Session> SessionTable::remove(const std::string &id, std::size_t who) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.identity != who)
    return nullptr;
  auto session = std::move(it->second.session);
  sessions_.erase(it);
  --per_client_[who];
  return session;
}

std::size_t SessionTable::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::vector<std::shared_ptr<mcp::Session>> SessionTable::all() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<mcp::Session>> out;
  for (const auto &[id, e] : sessions_)
    out.push_back(e.session);
  return out;
}

} // namespace dfmcp::transport
