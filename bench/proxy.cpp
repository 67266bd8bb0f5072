#include "proxy.hpp"

#include "support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bench {

namespace {

// Walks TLS records in the client-to-server stream and counts ClientHellos.
class RecordScanner {
public:
  explicit RecordScanner(std::atomic<std::uint64_t> &hellos) : hellos_(hellos) {}
  void feed(const unsigned char *p, std::size_t n) {
    while (n > 0) {
      if (skip_ > 0) { // inside a record's payload
        if (want_first_byte_) {
          if (type_ == 22 && p[0] == 1)
            ++hellos_;
          want_first_byte_ = false;
        }
        std::size_t take = std::min(skip_, n);
        skip_ -= take;
        p += take;
        n -= take;
        continue;
      }
      header_[have_++] = *p++;
      --n;
      if (have_ == 5) {
        type_ = header_[0];
        skip_ = (static_cast<std::size_t>(header_[3]) << 8) | header_[4];
        want_first_byte_ = skip_ > 0;
        have_ = 0;
      }
    }
  }

private:
  std::atomic<std::uint64_t> &hellos_;
  unsigned char header_[5] = {};
  std::size_t have_ = 0;
  std::size_t skip_ = 0;
  unsigned type_ = 0;
  bool want_first_byte_ = false;
};

bool send_all(int fd, const char *p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

} // namespace

CountingProxy::CountingProxy(std::string target_host, int target_port)
    : target_host_(std::move(target_host)), target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0)
    throw BenchError(std::string("proxy: cannot listen: ") + std::strerror(errno));
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  acceptor_ = std::thread([this] { accept_loop(); });
}

CountingProxy::~CountingProxy() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t w = ::write(stop_fd_, &one, sizeof one);
  acceptor_.join();
  std::vector<std::thread> relays;
  {
    std::lock_guard lock(mutex_);
    relays.swap(relays_);
  }
  for (std::thread &t : relays)
    t.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
}

void CountingProxy::accept_loop() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno == EINTR)
      continue;
    if (p[1].revents & POLLIN)
      return;
    if (!(p[0].revents & POLLIN))
      continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    ++connections_;
    std::lock_guard lock(mutex_);
    relays_.emplace_back([this, fd] { relay(fd); });
  }
}

void CountingProxy::relay(int client_fd) {
  int one = 1;
  ::setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int server_fd = -1;
  try {
    server_fd = tcp_connect(target_host_, target_port_);
  } catch (const BenchError &) {
    ::close(client_fd);
    return;
  }
  RecordScanner scanner(client_hellos_);
  char buf[65536];
  for (;;) {
    pollfd p[3] = {{client_fd, POLLIN, 0}, {server_fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[2].revents & POLLIN)
      break;
    bool closed = false;
    for (int side = 0; side < 2 && !closed; ++side) {
      if (!(p[side].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      int from = side == 0 ? client_fd : server_fd;
      int to = side == 0 ? server_fd : client_fd;
      ssize_t n = ::recv(from, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        closed = true;
        break;
      }
      if (side == 0)
        scanner.feed(reinterpret_cast<const unsigned char *>(buf), static_cast<std::size_t>(n));
      if (!send_all(to, buf, static_cast<std::size_t>(n)))
        closed = true;
    }
    if (closed)
      break;
  }
  ::close(client_fd);
  ::close(server_fd);
}

} // namespace bench
