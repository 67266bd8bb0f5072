// One MCP session (the stdio process, or one HTTP session): lifecycle, negotiated version, log
// level, and the tool calls in flight. It is dual-era: a request whose params._meta claims
// protocol 2026-07-28 is served statelessly (no initialize needed), anything else by the
// 2025-11-25 lifecycle. handle() is free of I/O: it returns the reply to send now
// and, for a tool call that waits on DataFast, a Job for the transport to run while input is
// still read (stdio reads on another thread; HTTP serves each request on its own), so ping and
// cancellation are never held up by it.
#pragma once

#include "mcp/server.hpp"
#include "util/cancel.hpp"
#include "util/expected.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace dfmcp::mcp {

// A tool call's reply, serialized on the thread that ran the call.
struct JobReply {
  std::string text;      // the JSON-RPC response
  int http_status = 200; // for HTTP: 400 for a missing client capability (2026-07-28)
};

struct Job {
  json id;
  // Runs the tool; returns the reply, or nullopt when the request was cancelled (no reply then).
  std::function<std::optional<JobReply>()> run;
};

struct Step {
  std::optional<json> reply; // send now
  std::optional<Job> job;    // a call that waits on DataFast; it produces the reply
  // For HTTP: the status to send `reply` with. 200, except for 2026-07-28 requests, where a
  // malformed request is 400 and an unknown method 404.
  int http_status = 200;
  // Instead of `reply`: the reply already serialized, for results that never change (tools/list),
  // so a hot call costs neither a copy of the JSON tree nor its serialization.
  std::optional<std::string> reply_text = std::nullopt;

  bool has_reply() const { return reply || reply_text; }
  std::string serialized_reply() const { return reply_text ? *reply_text : dump_json(*reply); }
};

class Session {
public:
  // Sends a server-to-client message (a notification, or a request such as elicitation/create);
  // called from any thread. Returns whether it went out now: a transport that can only batch
  // messages into the eventual reply (HTTP without an event stream) returns false.
  using Notify = std::function<bool(const json &message)>;

  // `transport`: "stdio" or "http", for the audit log.
  Session(const Server &server, std::string client, const policy::Ceiling &ceiling, Notify notify,
          std::string transport = "stdio");

  Step handle_line(std::string_view line);
  // `outbox`, when given, carries this request's messages to the client (its log notifications
  // and elicitation requests) instead of the session's Notify: an HTTP request's own stream.
  Step handle(const json &message, const Notify &outbox = nullptr);

  bool initialized() const { return state_ != State::New; }
  // Cancels the request with this id if it is in flight (notifications/cancelled, a disconnect).
  void cancel(const json &id);
  const std::string &protocol_version() const { return version_; }
  std::size_t in_flight() const;
  // Cancels every call in flight; `hard` also aborts writes already sent (shutdown).
  void cancel_all(bool hard = false);

  // Sends a request to the client and waits for its response (2025-era protocol only): the
  // JSON-RPC result, or why there is none (the client's error, cancellation, timeout, or a
  // transport that cannot carry the request now).
  Expected<json, std::string> ask_client(const std::string &method, const json &params, CancelToken *cancel,
                                         std::chrono::milliseconds timeout, const Notify &outbox = nullptr);
  // How long a human gets to answer a confirmation.
  static constexpr std::chrono::minutes kAskTimeout{10};

  static constexpr std::size_t kMaxInFlight = 64;
  static constexpr std::size_t kMaxLineBytes = 4u * 1024 * 1024;

private:
  enum class State { New, Initialized, Ready };

  Step request(const json &id, const std::string &method, const json &params, const Notify &outbox);
  Step modern_request(const json &id, const std::string &method, const json &params, const Notify &outbox);
  void notification(const std::string &method, const json &params);
  Step initialize(const json &id, const json &params);
  // `log_threshold`: the RFC 5424 rank from which tool events go to the client; -1 for none.
  // `modern`: shape the result for 2026-07-28.
  Step call_tool(const json &id, const json &params, bool modern, int log_threshold, json client_capabilities,
                 Notify outbox);
  void response(const json &message);
  Step set_level(const json &id, const json &params);
  void log_to_client(std::string_view level, const json &data, int threshold, const Notify &outbox);

  const Server &server_;
  std::string client_;
  const policy::Ceiling &ceiling_;
  Notify notify_;
  State state_ = State::New;
  std::string version_;
  std::atomic<int> log_threshold_{-1}; // index into the RFC 5424 levels; -1: client asked for none
  std::string transport_;
  json client_capabilities_ = json::object(); // declared at initialize

  struct Pending { // a request this server sent to the client
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<json> response; // the whole JSON-RPC response
    bool abandoned = false;
  };
  std::map<std::string, std::shared_ptr<Pending>> asked_; // by id_key, under mutex_
  std::uint64_t next_ask_ = 0;

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<CancelToken>> in_flight_; // by id_key
};

} // namespace dfmcp::mcp
