#include "load.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bench {

namespace {

struct Conn {
  int fd = -1;
  const std::string *request = nullptr;
  std::size_t sent = 0;
  std::string in;
  Clock::time_point sent_at;
  bool waiting = false; // a request is out, its answer not complete
  bool dead = false;
};

} // namespace

LoadResult run_load(const LoadConfig &config) {
  LoadResult result;
  std::vector<Conn> conns(config.requests.size());
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    throw BenchError(std::string("epoll_create1: ") + std::strerror(errno));
  for (std::size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = tcp_connect(config.host, config.port);
    ::fcntl(conns[i].fd, F_SETFL, ::fcntl(conns[i].fd, F_GETFL) | O_NONBLOCK);
    conns[i].request = &config.requests[i];
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }

  auto set_out = [&](std::size_t i, bool want) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_MOD, conns[i].fd, &ev);
  };
  auto kill = [&](Conn &c, const std::string &why) {
    if (c.dead)
      return;
    c.dead = true;
    c.waiting = false;
    ++result.errors;
    if (result.first_error.empty())
      result.first_error = why;
    ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
  };
  // Sends what remains of the current request; returns false when the socket is full.
  auto push = [&](std::size_t i) {
    Conn &c = conns[i];
    while (c.sent < c.request->size()) {
      ssize_t n = ::send(c.fd, c.request->data() + c.sent, c.request->size() - c.sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        set_out(i, true);
        return;
      }
      if (n <= 0) {
        kill(c, std::string("send: ") + std::strerror(errno));
        return;
      }
      c.sent += static_cast<std::size_t>(n);
    }
  };
  auto start = [&](std::size_t i, Clock::time_point now) {
    Conn &c = conns[i];
    c.sent = 0;
    c.sent_at = now;
    c.waiting = true;
    push(i);
  };

  const Clock::time_point t0 = Clock::now();
  const Clock::time_point window_start = t0 + config.warmup;
  const Clock::time_point window_end = window_start + config.duration;
  const Clock::time_point guard_end = window_end + std::chrono::seconds(15);
  result.latencies_us.reserve(1 << 16);
  for (std::size_t i = 0; i < conns.size(); ++i)
    start(i, t0);

  std::vector<epoll_event> events(256);
  HttpResponse resp;
  char buf[65536];
  for (;;) {
    Clock::time_point now = Clock::now();
    std::size_t outstanding = 0;
    for (const Conn &c : conns)
      outstanding += c.waiting ? 1 : 0;
    if (now >= window_end && outstanding == 0)
      break;
    if (now >= guard_end) {
      for (Conn &c : conns)
        if (c.waiting)
          kill(c, "no answer within 15 s after the window");
      break;
    }
    int timeout = now < window_end
                      ? static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(window_end - now).count()) + 1
                      : 1000;
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout);
    if (n < 0 && errno != EINTR)
      throw BenchError(std::string("epoll_wait: ") + std::strerror(errno));
    for (int k = 0; k < n; ++k) {
      std::size_t i = events[static_cast<std::size_t>(k)].data.u64;
      Conn &c = conns[i];
      if (c.dead)
        continue;
      std::uint32_t ev = events[static_cast<std::size_t>(k)].events;
      if (ev & EPOLLOUT) {
        set_out(i, false);
        push(i);
      }
      if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        continue;
      for (;;) {
        ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got < 0 && errno == EINTR)
          continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
          break;
        if (got <= 0) {
          kill(c, got == 0 ? "the server closed a kept-alive connection" : std::string("recv: ") + std::strerror(errno));
          break;
        }
        c.in.append(buf, static_cast<std::size_t>(got));
      }
      if (c.dead)
        continue;
      std::size_t used = 0;
      try {
        used = parse_response(c.in, resp, false);
      } catch (const BenchError &e) {
        kill(c, e.what());
        continue;
      }
      if (used == 0)
        continue;
      Clock::time_point done = Clock::now();
      if (resp.status < 200 || resp.status > 299) {
        ++result.errors;
        if (result.first_error.empty()) {
          HttpResponse full;
          parse_response(c.in, full, true);
          result.first_error = "HTTP " + std::to_string(resp.status) + ": " + full.body.substr(0, 300);
        }
      }
      c.in.erase(0, used);
      c.waiting = false;
      if (done >= window_start && done < window_end) {
        ++result.completed;
        result.latencies_us.push_back(us_since(c.sent_at, done));
      }
      if (done < window_end)
        start(i, done);
    }
  }
  result.seconds = std::chrono::duration<double>(config.duration).count();
  for (Conn &c : conns)
    if (c.fd >= 0)
      ::close(c.fd);
  ::close(ep);
  return result;
}

} // namespace bench
