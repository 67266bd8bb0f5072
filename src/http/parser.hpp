// An incremental HTTP/1.1 request parser. Pure: bytes in, a request or an error out, so it can be
// tested and fuzzed alone. Limits are enforced while reading: the header section, the body
// (Content-Length or chunked) and the number of headers.
#pragma once

#include "http/message.hpp"

#include <cstddef>
#include <optional>
#include <string>

namespace dfmcp::http {

struct Limits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_headers = 100;
  std::size_t max_body_bytes = 1024 * 1024;
};

struct ParseError {
  int status = 400;    // 400, 411, 413, 431, 501, 505
  std::string message; // a short reason, sent as the response body
};

class RequestParser {
public:
  explicit RequestParser(Limits limits) : limits_(limits) {}

  enum class State { NeedMore, Complete, Failed };

  // Parses from the front of `buffer`, consuming what belongs to one request. After Complete,
  // take() gives the request and the parser is ready for the next one; bytes of a pipelined next
  // request stay in `buffer`.
  State parse(std::string &buffer);

  Request take();
  const ParseError &error() const { return error_; }
  bool headers_done() const { return phase_ != Phase::Headers; }
  bool expects_continue() const { return expect_continue_; }
  void reset();

private:
  enum class Phase { Headers, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailers, Done };

  State fail(int status, std::string message);
  State parse_head(std::string_view head);

  Limits limits_;
  Phase phase_ = Phase::Headers;
  Request request_;
  std::size_t content_length_ = 0;
  std::size_t chunk_left_ = 0;
  bool expect_continue_ = false;
  ParseError error_;
};

} // namespace dfmcp::http
