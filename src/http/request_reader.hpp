// The HTTP/1.1 request front end: bytes in, a request or an error out. Parsing and framing are
// Boost.Beast's (its request parser, limits and chunked decoding); this adds the rules Beast leaves
// to the application (bare-LF lines answered at once, chunk-line and trailer caps, header count,
// HTTP version, one Host/Authorization/Origin, absolute-form targets). Pure and single-threaded so
// it can be tested and fuzzed alone. Implemented in http/server.cpp, the one Beast translation unit.
#pragma once

#include "http/message.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace dfmcp::http {

struct Limits {
  std::size_t max_header_bytes = 16 * 1024; // request line and header fields
  std::size_t max_headers = 100;
  std::size_t max_body_bytes = 1024 * 1024; // after chunked decoding
  std::size_t max_chunk_line = 1024;        // a chunk-size line with its extensions
};

struct ParseError {
  int status = 400;    // 400, 413, 431, 501, 505
  std::string message; // a short reason, sent as the response body
};

class RequestReader {
public:
  explicit RequestReader(Limits limits);
  ~RequestReader();
  RequestReader(RequestReader &&) noexcept;
  RequestReader &operator=(RequestReader &&) noexcept;

  enum class State { NeedMore, Complete, Failed };

  // Parses from the front of `data` and sets `consumed` to the bytes that belong to the request
  // so far; the caller drops them and presents the rest again with more bytes (NeedMore). After
  // Complete, take() gives the request and the reader is ready for the next one.
  State feed(std::string_view data, std::size_t &consumed);

  Request take();
  const ParseError &error() const;
  bool headers_done() const;
  bool expects_continue() const; // "Expect: 100-continue" from an HTTP/1.1 client
  bool started() const;          // bytes of a request have been seen
  void reset();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace dfmcp::http
