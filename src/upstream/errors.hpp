// Upstream failures as values, and the messages agents and logs see for them. Messages never carry
// a secret: DataFast's own text is scrubbed and shortened before it is quoted.
#pragma once

#include <string>
#include <string_view>

namespace dfmcp::upstream {

enum class ErrorKind {
  Unauthorized,     // 401: the parent token is missing, revoked or invalid
  Forbidden,        // 403: the parent token lacks a permission or website access
  NotFound,         // 404
  BadRequest,       // 400 / 422: DataFast rejected the input
  RateLimited,      // 429
  ServerError,      // 5xx
  UnexpectedStatus, // anything else, redirects included (never followed)
  Timeout,          // no complete answer within the deadline
  Tls,              // certificate or handshake failure: nothing was sent
  Connection,       // could not connect, or the connection broke
  BadResponse,      // an answer that is not what the API documents
  Cancelled,        // the caller cancelled
};

struct UpstreamError {
  UpstreamError() = default;
  UpstreamError(ErrorKind k, int s, std::string d, std::string ra = "", bool sent = true, int tries = 1)
      : kind(k), status(s), detail(std::move(d)), retry_after(std::move(ra)), request_sent(sent), attempts(tries) {}

  ErrorKind kind = ErrorKind::Connection;
  int status = 0;          // HTTP status when there was one
  std::string detail;      // DataFast's message or the transport's reason (scrubbed)
  std::string retry_after; // Retry-After header, for 429 and 503
  bool request_sent = true; // false when the request certainly never reached DataFast
  int attempts = 1;         // how many times it was sent (GET and DELETE are retried)
};

// "list_access_tokens: DataFast rejected this server's token (HTTP 401: ...)". `operation` names
// what was attempted; `write` says whether it could have changed something upstream.
std::string describe(const UpstreamError &error, std::string_view operation, bool write);

// DataFast's error text made safe to quote: secrets scrubbed, control characters dropped, at most
// `limit` bytes (cut on a UTF-8 boundary).
std::string sanitize_detail(std::string_view text, std::size_t limit = 300);

} // namespace dfmcp::upstream
