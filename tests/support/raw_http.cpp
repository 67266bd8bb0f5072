#include "support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace dfmcp::test {

namespace {
using Clock = std::chrono::steady_clock;

int remaining(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}
} // namespace

RawConnection::RawConnection(int port, const char *source) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (source != nullptr) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr *>(&from), sizeof from) != 0)
      throw std::runtime_error(std::string("bind to ") + source + " failed");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
}

RawConnection::~RawConnection() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void RawConnection::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

std::optional<std::string> RawConnection::read_until_closed(std::chrono::milliseconds guard) {
  auto deadline = Clock::now() + guard;
  std::string out = std::move(buffer_);
  buffer_.clear();
  char buf[4096];
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining(deadline)) <= 0)
      return std::nullopt;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<RawResponse> RawConnection::read_response(std::chrono::milliseconds guard) {
  auto deadline = Clock::now() + guard;
  auto fill = [&]() -> bool {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining(deadline)) <= 0)
      return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  for (;;) {
    std::size_t end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (!fill())
        return std::nullopt;
      continue;
    }
    RawResponse r;
    std::string head = buffer_.substr(0, end);
    std::size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    r.status = std::stoi(status_line.substr(9, 3));
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      std::string line = head.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
      std::size_t colon = line.find(':');
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[lower(line.substr(0, colon))] = value;
      pos = e == std::string::npos ? head.size() : e + 2;
    }
    if (r.status == 100) { // interim response: skip it
      buffer_.erase(0, end + 4);
      continue;
    }
    if (lower(r.header("transfer-encoding")) == "chunked") {
      buffer_.erase(0, end + 4);
      for (;;) { // size line, data, CRLF ... until the 0-size chunk and its final CRLF
        std::size_t size_end;
        while ((size_end = buffer_.find("\r\n")) == std::string::npos)
          if (!fill())
            return std::nullopt;
        std::size_t size = std::stoul(buffer_.substr(0, size_end), nullptr, 16);
        while (buffer_.size() < size_end + 2 + size + 2)
          if (!fill())
            return std::nullopt;
        r.body += buffer_.substr(size_end + 2, size);
        r.chunks.push_back(buffer_.substr(size_end + 2, size));
        buffer_.erase(0, size_end + 2 + size + 2);
        if (size == 0)
          return r;
      }
    }
    std::size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buffer_.size() < end + 4 + length)
      if (!fill())
        return std::nullopt;
    r.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return r;
  }
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds guard) {
  auto deadline = Clock::now() + guard;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining(deadline)) <= 0)
      return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return true;
    if (n < 0)
      return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

std::string http_request(const std::string &method, const std::string &target, int port,
                         const std::map<std::string, std::string> &headers, const std::string &body) {
  std::string req = method + " " + target + " HTTP/1.1\r\n";
  bool has_host = false;
  for (const auto &[k, v] : headers) {
    has_host = has_host || lower(k) == "host";
    req += k + ": " + v + "\r\n";
  }
  if (!has_host)
    req += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  return req;
}

std::optional<RawResponse> http_exchange(int port, const std::string &method, const std::string &target,
                                         const std::map<std::string, std::string> &headers,
                                         const std::string &body) {
  RawConnection c(port);
  if (!c.send(http_request(method, target, port, headers, body)))
    return std::nullopt;
  return c.read_response();
}

} // namespace dfmcp::test
