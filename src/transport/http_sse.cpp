#include "transport/http_sse.hpp"

namespace dfmcp::transport {

namespace {
const std::vector<http::Header> kSseHeaders = {{"Content-Type", "text/event-stream"},
                                               {"Cache-Control", "no-cache, no-transform"},
                                               {"X-Accel-Buffering", "no"}};
} // namespace

std::string sse_event_text(std::string_view message) {
  std::string out = "event: message\ndata: ";
  out += message;
  out += "\n\n";
  return out;
}

SseOutbox::SseOutbox(http::ResponseStream &stream, bool enabled, std::vector<http::Header> head_headers)
    : stream_(stream), enabled_(enabled), head_headers_(std::move(head_headers)) {}

bool SseOutbox::send(const json &message) {
  if (!enabled_)
    return false;
  std::lock_guard lock(mutex_);
  if (!begun_) {
    std::vector<http::Header> headers = kSseHeaders;
    headers.insert(headers.end(), head_headers_.begin(), head_headers_.end());
    if (!stream_.begin(200, headers))
      return false;
    begun_ = true;
  }
  return stream_.write(sse_event_text(dump_json(message)));
}

bool SseOutbox::begun() const {
  std::lock_guard lock(mutex_);
  return begun_;
}

mcp::Session::Notify SseOutbox::notifier() {
  return [this](const json &message) { return send(message); };
}

} // namespace dfmcp::transport
