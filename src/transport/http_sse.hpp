// Server-Sent Events on the response to one POST: the messages a request's tool call sends the
// client while it runs (log notifications, elicitation requests) go out as events before the
// reply, when the client accepts text/event-stream. One SseOutbox per request, handed to the
// session with that request (no thread-local state). Thread-safe.
#pragma once

#include "http/server.hpp"
#include "mcp/session.hpp"

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dfmcp::transport {

std::string sse_event_text(std::string_view message);

class SseOutbox {
public:
  // `enabled`: the client accepts an event stream; `head_headers`: sent with the stream's head
  // (an allowed Origin's CORS headers).
  SseOutbox(http::ResponseStream &stream, bool enabled, std::vector<http::Header> head_headers);

  // Sends one message as an event, beginning the stream first; false when it cannot go out.
  bool send(const json &message);
  bool begun() const;
  // A Notify for mcp::Session::handle that sends through this outbox.
  mcp::Session::Notify notifier();

private:
  http::ResponseStream &stream_;
  bool enabled_;
  std::vector<http::Header> head_headers_;
  mutable std::mutex mutex_;
  bool begun_ = false;
};

} // namespace dfmcp::transport
