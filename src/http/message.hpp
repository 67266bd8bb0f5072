// HTTP/1.1 request and response values shared by the request reader, the server and the MCP
// endpoint, and the wire form of a response.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dfmcp::http {

struct Header {
  std::string name; // as received; compare with iequals
  std::string value;
};

bool iequals(std::string_view a, std::string_view b);

struct Request {
  std::string method;
  std::string target; // as received: path plus query
  std::string path;   // target without the query
  std::string query;  // after '?', without it
  int minor_version = 1;
  std::vector<Header> headers;
  std::string body;
  std::string remote; // peer address, for logs

  // The first value of a header (case-insensitive name), or nullptr.
  const std::string *header(std::string_view name) const;
  std::size_t header_count(std::string_view name) const;
  bool keep_alive() const; // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive
                          // and without Transfer-Encoding
};

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;
  bool close = false; // close the connection after this response

  void set(std::string name, std::string value);
  const std::string *header(std::string_view name) const;
};

std::string_view reason_phrase(int status);

// The wire form of `response` (status line, headers, Content-Length, body).
std::string serialize(const Response &response, bool head_only = false);

} // namespace dfmcp::http
