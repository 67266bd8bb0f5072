// A raw HTTP/1.1 client over a loopback socket for transport tests: it sends exact bytes and reads
// exact responses, so tests can check status lines, headers, keep-alive, pipelining and what a
// slow or broken client sees. Reads wait on poll() with a guard deadline.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dfmcp::test {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers; // names lower-cased
  std::string body;                // decoded (chunks joined)
  std::vector<std::string> chunks; // a chunked response's chunks, in order
  std::string header(const std::string &lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

class RawConnection {
public:
  // `source`: the local IPv4 address to connect from (another 127.x address), or the default.
  explicit RawConnection(int port, const char *source = nullptr);
  ~RawConnection();
  RawConnection(const RawConnection &) = delete;
  RawConnection &operator=(const RawConnection &) = delete;

  bool send(std::string_view bytes);
  // The next response, or nullopt if the connection closed or the guard passed first.
  std::optional<RawResponse> read_response(std::chrono::milliseconds guard = std::chrono::seconds(10));
  // True when the server closed the connection (EOF) within the guard.
  bool closed_by_peer(std::chrono::milliseconds guard = std::chrono::seconds(10));
  void shutdown_write();
  // Every byte until the server closes the connection (raw, unparsed), or nullopt at the guard.
  std::optional<std::string> read_until_closed(std::chrono::milliseconds guard = std::chrono::seconds(10));
  int fd() const { return fd_; }

private:
  int fd_ = -1;
  std::string buffer_;
};

// "POST /mcp HTTP/1.1\r\nHost: ...\r\n<extra>Content-Length: n\r\n\r\n<body>"
std::string http_request(const std::string &method, const std::string &target, int port,
                         const std::map<std::string, std::string> &headers, const std::string &body);

// One request on a fresh connection.
std::optional<RawResponse> http_exchange(int port, const std::string &method, const std::string &target,
                                         const std::map<std::string, std::string> &headers,
                                         const std::string &body);

} // namespace dfmcp::test
