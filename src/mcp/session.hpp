// One MCP session (the stdio process, or one HTTP session): lifecycle, negotiated version, log
// level, and the tool calls in flight. It is dual-era: a request whose params._meta claims
// protocol 2026-07-28 is served statelessly (no initialize needed), anything else by the
// 2025-11-25 lifecycle. handle() is free of I/O: it returns the reply to send now
// and, for a tool call that waits on DataFast, a Job for the transport to run on another thread,
// so ping and cancellation are never held up by it.
#pragma once

#include "mcp/server.hpp"
#include "util/cancel.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace dfmcp::mcp {

struct Job {
  json id;
  // Runs the tool; returns the reply, or nullopt when the request was cancelled (no reply then).
  std::function<std::optional<json>()> run;
};

struct Step {
  std::optional<json> reply; // send now
  std::optional<Job> job;    // run off the reading thread; it produces the reply
  // For HTTP: the status to send `reply` with. 200, except for 2026-07-28 requests, where a
  // malformed request is 400 and an unknown method 404.
  int http_status = 200;
};

class Session {
public:
  // Sends a server-to-client notification (notifications/message); called from any thread.
  using Notify = std::function<void(const json &message)>;

  Session(const Server &server, std::string client, const policy::Ceiling &ceiling, Notify notify);

  Step handle_line(std::string_view line);
  Step handle(const json &message);

  bool initialized() const { return state_ != State::New; }
  // Cancels the request with this id if it is in flight (notifications/cancelled, a disconnect).
  void cancel(const json &id);
  const std::string &protocol_version() const { return version_; }
  std::size_t in_flight() const;
  // Cancels every call in flight; `hard` also aborts writes already sent (shutdown).
  void cancel_all(bool hard = false);

  static constexpr std::size_t kMaxInFlight = 64;
  static constexpr std::size_t kMaxLineBytes = 4u * 1024 * 1024;

private:
  enum class State { New, Initialized, Ready };

  Step request(const json &id, const std::string &method, const json &params);
  Step modern_request(const json &id, const std::string &method, const json &params);
  void notification(const std::string &method, const json &params);
  Step initialize(const json &id, const json &params);
  // `log_threshold`: the RFC 5424 rank from which tool events go to the client; -1 for none.
  // `modern`: shape the result for 2026-07-28.
  Step call_tool(const json &id, const json &params, bool modern, int log_threshold);
  Step set_level(const json &id, const json &params);
  void log_to_client(std::string_view level, const json &data, int threshold);

  const Server &server_;
  std::string client_;
  const policy::Ceiling &ceiling_;
  Notify notify_;
  State state_ = State::New;
  std::string version_;
  std::atomic<int> log_threshold_{-1}; // index into the RFC 5424 levels; -1: client asked for none

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<CancelToken>> in_flight_; // by id_key
};

} // namespace dfmcp::mcp
