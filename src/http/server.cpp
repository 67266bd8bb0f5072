#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace dfmcp::http {

namespace {

using Clock = std::chrono::steady_clock;

enum class Phase { Reading, Dispatched, Writing };

struct Connection {
  int fd = -1;
  std::uint64_t serial = 0;
  std::string remote;
  Phase phase = Phase::Reading;
  std::string in;
  std::string out;
  std::size_t out_off = 0;
  RequestParser parser;
  Clock::time_point deadline;
  bool in_request = false;      // bytes of a request have arrived
  bool sent_continue = false;
  bool close_after_write = false;
  bool streaming = false; // the handler began a streamed response; chunks go out as they come
  std::shared_ptr<CancelToken> cancel;
  std::shared_ptr<std::atomic<bool>> gone; // tells a streaming handler that the client left

  explicit Connection(const Limits &limits) : parser(limits) {}
};

struct Task {
  int fd;
  std::uint64_t serial;
  Request request;
  std::shared_ptr<CancelToken> cancel;
  std::shared_ptr<std::atomic<bool>> gone;
};

struct Completion {
  int fd;
  std::uint64_t serial;
  Response response;
  bool keep_alive;
  bool partial = false; // a chunk of a streamed response (raw bytes in `data`), not the end
  std::string data;
};

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out(size);
  out.append(data);
  out += "\r\n";
  return out;
}

Response plain_error(int status, std::string message) {
  Response r;
  r.status = status;
  r.set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(message) + "\n";
  r.close = true;
  return r;
}

std::string peer_name(const sockaddr_storage &addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto *a = reinterpret_cast<const sockaddr_in *>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto *a = reinterpret_cast<const sockaddr_in6 *>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

} // namespace

struct Server::Impl {
  ServerOptions options;
  Handler handler;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::unordered_map<int, std::unique_ptr<Connection>> connections;
  std::uint64_t next_serial = 0;

  std::mutex mutex; // guards tasks, completions, stats, workers_done
  std::condition_variable work_ready;
  std::deque<Task> tasks;
  std::vector<Completion> completions;
  bool workers_stop = false;
  std::vector<std::thread> workers;
  ServerStats counters;

  Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

  ~Impl() {
    for (auto &[fd, c] : connections)
      ::close(fd);
    for (int fd : {listen_fd, epoll_fd, wake_fd})
      if (fd >= 0)
        ::close(fd);
  }

  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof one);
  }

  void watch(int fd, std::uint32_t events, bool add) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
  }

  // --- workers -------------------------------------------------------------------------------

  // A worker's view of its connection while the handler runs; pushes chunks to the event loop.
  class Stream final : public ResponseStream {
  public:
    Stream(Impl &impl, int fd, std::uint64_t serial, std::shared_ptr<std::atomic<bool>> gone)
        : impl_(impl), fd_(fd), serial_(serial), gone_(std::move(gone)) {}
    bool begin(int status, const std::vector<Header> &headers) override {
      if (started_ || *gone_)
        return false;
      std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
      for (const Header &h : headers)
        head += h.name + ": " + h.value + "\r\n";
      head += "Transfer-Encoding: chunked\r\n\r\n";
      started_ = true;
      push(std::move(head));
      return true;
    }
    bool write(std::string_view data) override {
      if (!started_ || *gone_)
        return false;
      if (!data.empty())
        push(chunk(data));
      return true;
    }
    bool started() const override { return started_; }

  private:
    void push(std::string bytes) {
      {
        std::lock_guard lock(impl_.mutex);
        impl_.completions.push_back({fd_, serial_, Response{}, true, true, std::move(bytes)});
      }
      impl_.wake();
    }
    Impl &impl_;
    int fd_;
    std::uint64_t serial_;
    std::shared_ptr<std::atomic<bool>> gone_;
    bool started_ = false;
  };

  void start_workers() {
    for (std::size_t i = 0; i < options.workers; ++i)
      workers.emplace_back([this] { work(); });
  }

  void work() {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mutex);
        work_ready.wait(lock, [&] { return workers_stop || !tasks.empty(); });
        if (tasks.empty())
          return;
        task = std::move(tasks.front());
        tasks.pop_front();
      }
      Stream stream(*this, task.fd, task.serial, task.gone);
      Response response;
      try {
        response = handler(task.request, *task.cancel, stream);
      } catch (const std::exception &e) {
        spdlog::error("http: handler failed: {}", e.what());
        response = plain_error(500, "internal error");
      }
      bool keep_alive = task.request.keep_alive() && !response.close;
      {
        std::lock_guard lock(mutex);
        completions.push_back({task.fd, task.serial, std::move(response), keep_alive, false, {}});
      }
      wake();
    }
  }

  void stop_workers() {
    {
      std::lock_guard lock(mutex);
      workers_stop = true;
    }
    work_ready.notify_all();
    for (std::thread &t : workers)
      if (t.joinable())
        t.join();
  }

  // --- connections ---------------------------------------------------------------------------

  void close_connection(Connection &c) {
    if (c.gone)
      *c.gone = true;
    if (c.cancel && c.phase == Phase::Dispatched)
      c.cancel->cancel(); // the client is gone: stop waiting on its behalf
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    {
      std::lock_guard lock(mutex);
      --counters.open_connections;
    }
    connections.erase(c.fd); // destroys c
  }

  void accept_all() {
    for (;;) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr *>(&addr), &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR)
          continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
          spdlog::warn("http: accept failed: {}", std::strerror(errno));
        return;
      }
      if (connections.size() >= options.max_connections) {
        std::string busy = serialize(plain_error(503, "too many connections"));
        [[maybe_unused]] ssize_t n = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL);
        ::close(fd);
        std::lock_guard lock(mutex);
        ++counters.rejected_busy;
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Connection>(options.limits);
      c->fd = fd;
      c->serial = ++next_serial;
      c->remote = peer_name(addr);
      c->deadline = Clock::now() + options.idle_timeout;
      watch(fd, EPOLLIN | EPOLLRDHUP, true);
      connections.emplace(fd, std::move(c));
      std::lock_guard lock(mutex);
      ++counters.connections_accepted;
      ++counters.open_connections;
    }
  }

  void respond(Connection &c, const Response &response, bool keep_alive) {
    c.close_after_write = !keep_alive || response.close || stopping;
    if (c.streaming) { // the head went out already: the body is the last chunk, then the end
      if (!response.body.empty())
        c.out += chunk(response.body);
      c.out += "0\r\n\r\n";
      c.streaming = false;
      c.phase = Phase::Writing;
      c.deadline = Clock::now() + options.write_timeout;
      flush(c);
      return;
    }
    Response copy_needed_for_close;
    if (c.close_after_write && !response.close) {
      copy_needed_for_close = response;
      copy_needed_for_close.close = true;
      c.out = serialize(copy_needed_for_close);
    } else {
      c.out = serialize(response);
    }
    c.out_off = 0;
    c.phase = Phase::Writing;
    c.deadline = Clock::now() + options.write_timeout;
    flush(c);
  }

  // Writes what it can; on completion either closes or goes back to reading.
  void flush(Connection &c) {
    while (c.out_off < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        watch(c.fd, EPOLLOUT, false); // not RDHUP: level-triggered, it would spin while we wait

        return;
      }
      if (n <= 0) {
        close_connection(c);
        return;
      }
      c.out_off += static_cast<std::size_t>(n);
    }
    if (c.close_after_write) {
      close_connection(c);
      return;
    }
    c.out.clear();
    if (c.out.capacity() > 64 * 1024)
      c.out.shrink_to_fit();
    c.out_off = 0;
    c.phase = Phase::Reading;
    c.in_request = false;
    c.sent_continue = false;
    c.cancel.reset();
    c.gone.reset();
    c.deadline = Clock::now() + options.idle_timeout;
    watch(c.fd, EPOLLIN | EPOLLRDHUP, false);
    if (!c.in.empty())
      process(c); // a pipelined request is already here
  }

  // Writes what a streaming handler has produced so far; the handler is still running.
  void write_stream(Connection &c) {
    while (c.out_off < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        watch(c.fd, EPOLLOUT | EPOLLRDHUP, false);
        return;
      }
      if (n <= 0) {
        close_connection(c);
        return;
      }
      c.out_off += static_cast<std::size_t>(n);
    }
    c.out.clear();
    c.out_off = 0;
    watch(c.fd, EPOLLRDHUP, false);
  }

  // Runs the parser over what has been read; dispatches a complete request.
  void process(Connection &c) {
    if (!c.in_request && !c.in.empty()) {
      c.in_request = true;
      c.deadline = Clock::now() + options.header_timeout;
    }
    bool had_headers = c.parser.headers_done();
    RequestParser::State state = c.parser.parse(c.in);
    if (state == RequestParser::State::Failed) {
      const ParseError &e = c.parser.error();
      respond(c, plain_error(e.status, e.message), false);
      return;
    }
    if (state == RequestParser::State::NeedMore) {
      if (!had_headers && c.parser.headers_done()) {
        c.deadline = Clock::now() + options.body_timeout;
        if (c.parser.expects_continue() && !c.sent_continue) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          [[maybe_unused]] ssize_t n = ::send(c.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
          c.sent_continue = true;
        }
      }
      return;
    }
    Request request = c.parser.take();
    request.remote = c.remote;
    if (c.in.capacity() > 64 * 1024 && c.in.empty())
      c.in.shrink_to_fit();
    bool busy = false;
    {
      std::lock_guard lock(mutex);
      ++counters.requests;
      busy = tasks.size() >= options.max_queue;
      if (busy) {
        ++counters.rejected_busy;
      } else {
        c.phase = Phase::Dispatched;
        c.cancel = std::make_shared<CancelToken>();
        c.gone = std::make_shared<std::atomic<bool>>(false);
        tasks.push_back({c.fd, c.serial, std::move(request), c.cancel, c.gone});
      }
    }
    if (busy) {
      Response r = plain_error(503, "server busy; retry shortly");
      r.set("Retry-After", "1");
      respond(c, r, false);
      return;
    }
    work_ready.notify_one();
    // While the handler runs, only a hang-up matters: stop reading (pipelined bytes wait).
    watch(c.fd, EPOLLRDHUP, false);
  }

  void on_readable(Connection &c) {
    char buf[64 * 1024];
    for (int round = 0; round < 4; ++round) { // bounded, so one client cannot starve the others
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (n <= 0) {
        close_connection(c);
        return;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < sizeof buf)
        break;
    }
    process(c);
  }

  void drain_completions() {
    std::uint64_t value;
    [[maybe_unused]] ssize_t n = ::read(wake_fd, &value, sizeof value);
    std::vector<Completion> done;
    {
      std::lock_guard lock(mutex);
      done.swap(completions);
    }
    for (Completion &d : done) {
      auto it = connections.find(d.fd);
      if (it == connections.end() || it->second->serial != d.serial ||
          it->second->phase != Phase::Dispatched)
        continue; // the client left while the handler ran
      Connection &c = *it->second;
      if (d.partial) {
        c.streaming = true;
        c.out += d.data;
        write_stream(c);
        continue;
      }
      respond(c, d.response, d.keep_alive);
    }
  }

  void sweep_deadlines() {
    auto now = Clock::now();
    std::vector<int> expired;
    for (auto &[fd, c] : connections)
      if (c->phase != Phase::Dispatched && c->deadline <= now)
        expired.push_back(fd);
    for (int fd : expired) {
      Connection &c = *connections.at(fd);
      {
        std::lock_guard lock(mutex);
        ++counters.timed_out;
      }
      if (c.phase == Phase::Reading && c.in_request)
        respond(c, plain_error(408, "request not received in time"), false);
      else
        close_connection(c);
    }
  }

  void begin_shutdown() {
    if (listen_fd >= 0) {
      ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
      ::close(listen_fd);
      listen_fd = -1;
    }
    std::vector<int> idle;
    for (auto &[fd, c] : connections)
      if (c->phase == Phase::Reading)
        idle.push_back(fd);
    for (int fd : idle)
      close_connection(*connections.at(fd));
    spdlog::info("http: stopping: accepting no more connections; finishing {} request(s) in flight",
                 connections.size());
  }
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() {
  stop();
  impl_->stop_workers();
}

Expected<int, std::string> Server::listen() {
  Impl &m = *impl_;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo *found = nullptr;
  std::string port = std::to_string(m.options.port);
  if (int rc = ::getaddrinfo(m.options.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return unexpected("cannot resolve '" + m.options.host + "': " + gai_strerror(rc));
  std::string why = "no address";
  for (addrinfo *a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
      continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) {
      m.listen_fd = fd;
      break;
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (m.listen_fd < 0)
    return unexpected("cannot listen on " + m.options.host + ":" + port + ": " + why);

  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(m.listen_fd, reinterpret_cast<sockaddr *>(&bound), &len);
  int actual = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port)
                                           : ntohs(reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
  m.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  m.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (m.epoll_fd < 0 || m.wake_fd < 0)
    return unexpected(std::string("cannot set up the event loop: ") + std::strerror(errno));
  m.watch(m.listen_fd, EPOLLIN, true);
  m.watch(m.wake_fd, EPOLLIN, true);
  if (m.options.stop_fd >= 0)
    m.watch(m.options.stop_fd, EPOLLIN, true);
  return actual;
}

void Server::run() {
  Impl &m = *impl_;
  m.start_workers();
  std::vector<epoll_event> events(256);
  auto next_sweep = Clock::now();
  std::optional<Clock::time_point> shutdown_deadline;

  for (;;) {
    if (m.stopping && !shutdown_deadline) {
      m.begin_shutdown();
      shutdown_deadline = Clock::now() + m.options.shutdown_grace;
    }
    if (shutdown_deadline) {
      if (m.connections.empty())
        break;
      if (Clock::now() >= *shutdown_deadline) {
        spdlog::warn("http: {} connection(s) still busy after the shutdown grace period; closing",
                     m.connections.size());
        std::vector<int> fds;
        for (auto &[fd, c] : m.connections)
          fds.push_back(fd);
        for (int fd : fds)
          m.close_connection(*m.connections.at(fd));
        break;
      }
    }
    int n = ::epoll_wait(m.epoll_fd, events.data(), static_cast<int>(events.size()), 250);
    if (n < 0 && errno != EINTR) {
      spdlog::error("http: epoll_wait failed: {}", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[static_cast<std::size_t>(i)].data.fd;
      std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
      if (fd == m.listen_fd) {
        m.accept_all();
        continue;
      }
      if (fd == m.wake_fd) {
        m.drain_completions();
        continue;
      }
      if (fd == m.options.stop_fd) {
        char buf[256];
        [[maybe_unused]] ssize_t r = ::read(fd, buf, sizeof buf);
        m.stopping = true;
        continue;
      }
      auto it = m.connections.find(fd);
      if (it == m.connections.end())
        continue;
      Connection &c = *it->second;
      if (c.phase == Phase::Dispatched) {
        if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
          m.close_connection(c); // cancels the handler's work
        else if ((ev & EPOLLOUT) && c.streaming)
          m.write_stream(c);
        continue;
      }
      if (c.phase == Phase::Writing) {
        if (ev & (EPOLLHUP | EPOLLERR))
          m.close_connection(c);
        else if (ev & EPOLLOUT)
          m.flush(c);
        continue;
      }
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        m.on_readable(c);
    }
    if (Clock::now() >= next_sweep) {
      m.sweep_deadlines();
      next_sweep = Clock::now() + std::chrono::milliseconds(250);
    }
  }
  m.stop_workers();
}

void Server::stop() {
  impl_->stopping = true;
  if (impl_->wake_fd >= 0)
    impl_->wake();
}

ServerStats Server::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

} // namespace dfmcp::http
