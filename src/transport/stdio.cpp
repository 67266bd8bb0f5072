#include "transport/stdio.hpp"

#include "mcp/jsonrpc.hpp"
#include "mcp/session.hpp"

#include <spdlog/spdlog.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace dfmcp::transport {

namespace {

// Writes whole lines; one message never interleaves with another.
class LineWriter {
public:
  explicit LineWriter(int fd) : fd_(fd) {}

  void write(const json &message) { write_line(dump_json(message)); }
  void write_line(std::string line) {
    line.push_back('\n');
    std::lock_guard lock(mutex_);
    if (broken_)
      return;
    std::size_t done = 0;
    while (done < line.size()) {
      ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        broken_ = true;
        spdlog::info("stdout closed ({}); stopping", std::strerror(errno));
        return;
      }
      done += static_cast<std::size_t>(n);
    }
  }
  bool broken() const {
    std::lock_guard lock(mutex_);
    return broken_;
  }

private:
  int fd_;
  mutable std::mutex mutex_;
  bool broken_ = false;
};

constexpr std::chrono::milliseconds kWriteGrace{2000};

// The serving loop. The threads that run no call wait together on stdin (epoll, one woken per
// event, stdin armed for one wake-up at a time). The one woken reads, answers at once what needs
// no waiting (ping, tools/list, refusals, get_token_ceiling), arms stdin again for the others, and
// runs the call it read, if any, itself. So a call starts on the thread that read it and no other
// thread has to be woken for it: on the two-core machine of bench/README.md a hand-off to another
// thread cost about a quarter of a create's time in this process. Input is watched all the time
// (ping and cancellations are answered while calls run): a thread that takes a call makes sure
// another one is left waiting, starting it if needed, up to `workers` calls at once and one more
// thread. Calls read beyond that wait in a queue; a thread that finishes one takes the next.
// Threads start when first needed: a session that never calls a tool starts none.
class Loop {
public:
  Loop(const StdioOptions &options, mcp::Session &session, LineWriter &writer)
      : options_(options), session_(session), writer_(writer),
        max_running_(std::max<std::size_t>(options.workers, 1)), in_fd_(options.in_fd), chunk_(64 * 1024) {
    idle_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC | EFD_SEMAPHORE);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0 || idle_fd_ < 0 || wake_fd_ < 0) {
      spdlog::error("cannot set up the stdio loop: {}", std::strerror(errno));
      ended_ = true;
      return;
    }
    if (!watch(in_fd_, EPOLL_CTL_ADD, EPOLLIN | EPOLLONESHOT)) {
      // stdin is something epoll cannot watch (a regular file, /dev/null): a thread copies it
      // into a pipe, which it can.
      int pipe_fds[2];
      if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        spdlog::error("cannot read stdin: {}", std::strerror(errno));
        ended_ = true;
        return;
      }
      in_fd_ = pipe_fds[0];
      pump_ = std::thread([from = options.in_fd, to = pipe_fds[1]] {
        sigset_t pipe_signal; // a write to the closed pipe (the loop ended first) fails, quietly
        sigemptyset(&pipe_signal);
        sigaddset(&pipe_signal, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
        std::vector<char> buf(64 * 1024);
        for (;;) {
          ssize_t n = ::read(from, buf.data(), buf.size());
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0 || !write_all(to, buf.data(), static_cast<std::size_t>(n)))
            break;
        }
        ::close(to);
      });
      if (!watch(in_fd_, EPOLL_CTL_ADD, EPOLLIN | EPOLLONESHOT)) {
        spdlog::error("cannot read stdin: {}", std::strerror(errno));
        ended_ = true;
        return;
      }
    }
    if (options_.signal_fd >= 0) {
      // Non-blocking: near the end, a thread woken for it and the drainer may both try to read
      // one signal; the one that finds it gone must not wait for another.
      ::fcntl(options_.signal_fd, F_SETFL, ::fcntl(options_.signal_fd, F_GETFL) | O_NONBLOCK);
      watch(options_.signal_fd, EPOLL_CTL_ADD, EPOLLIN | EPOLLONESHOT);
    }
    watch(wake_fd_, EPOLL_CTL_ADD, EPOLLIN);
  }

  ~Loop() {
    if (pump_.joinable()) {
      ::close(in_fd_); // a pump still copying gets EPIPE and stops
      pump_.join();
    }
    for (int fd : {epoll_fd_, wake_fd_, idle_fd_})
      if (fd >= 0)
        ::close(fd);
  }

  // Serves on the calling thread (and helpers) until input ends and every call is answered.
  void run() {
    serve();
    for (;;) { // once input has ended, only a thread being joined can start another
      std::vector<std::thread> helpers;
      {
        std::lock_guard lock(mutex_);
        helpers.swap(helpers_);
      }
      if (helpers.empty())
        break;
      for (std::thread &t : helpers)
        t.join();
    }
  }

private:
  static bool write_all(int fd, const char *data, std::size_t size) {
    while (size > 0) {
      ssize_t n = ::write(fd, data, size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }

  bool watch(int fd, int op, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    return ::epoll_ctl(epoll_fd_, op, fd, &ev) == 0;
  }

  static void add(int fd, std::uint64_t n) {
    [[maybe_unused]] ssize_t r = ::write(fd, &n, sizeof n);
  }

  void serve() {
    for (;;) {
      if (take_queued())
        continue;
      {
        std::lock_guard lock(mutex_);
        if (ended_)
          return;
      }
      // One event per wake-up: the others stay armed for the other threads, so a stop signal
      // is never left behind a call this thread goes on to run.
      epoll_event event{};
      int n = ::epoll_wait(epoll_fd_, &event, 1, -1);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        spdlog::error("waiting for stdin failed: {}", std::strerror(errno));
        if (end_input({}, false))
          drain();
        return;
      }
      if (n == 0)
        continue;
      int fd = event.data.fd;
      if (fd == wake_fd_) { // a queued call, or the end: looked at on the next turn
        std::uint64_t one;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &one, sizeof one);
      } else if (fd == options_.signal_fd) {
        signalfd_siginfo info{};
        if (::read(options_.signal_fd, &info, sizeof info) == sizeof info)
          spdlog::info("received {}; cancelling {} call(s) in flight and stopping",
                       strsignal(static_cast<int>(info.ssi_signo)), session_.in_flight());
        // (Nothing to read: the drainer took it, and acts on it.)
        if (end_input({}, true))
          drain();
        return;
      } else if (fd == in_fd_ && !read_turn()) {
        return;
      }
    }
  }

  // Runs a queued call when one waits and fewer than max_running_ run.
  bool take_queued() {
    std::unique_lock lock(mutex_);
    if (queue_.empty() || running_ >= max_running_)
      return false;
    mcp::Job job = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    keep_a_watcher();
    lock.unlock();
    execute(job);
    return true;
  }

  // Called with mutex_ held by a thread about to run a call: if every thread now runs one, starts
  // another to watch stdin (running_ < max_running_ + 1 threads, so there is room for it).
  void keep_a_watcher() {
    if (!ended_ && helpers_.size() + 1 == running_)
      helpers_.emplace_back([this] { serve(); });
  }

  void execute(mcp::Job &job) {
    if (auto reply = job.run())
      writer_.write_line(std::move(reply->text));
    std::lock_guard lock(mutex_);
    if (--running_ == 0 && queue_.empty())
      add(idle_fd_, 1);
  }

  // The thread woken for stdin. stdin is not watched again until it is armed again below, so no
  // other thread reads meanwhile. Returns false when input has ended (this thread drained).
  bool read_turn() {
    std::vector<mcp::Job> jobs;
    bool done;
    {
      std::lock_guard reader(reader_mutex_); // never contended: it orders one reader before the next
      done = read_once(jobs);
    }
    {
      std::lock_guard lock(mutex_);
      if (ended_) // a stop signal came meanwhile: nobody reads on
        done = true;
    }
    if (done) {
      if (end_input(std::move(jobs), false))
        drain();
      return false;
    }
    if (!watch(in_fd_, EPOLL_CTL_MOD, EPOLLIN | EPOLLONESHOT)) {
      int err = errno;
      bool ended;
      {
        std::lock_guard lock(mutex_);
        ended = ended_;
      }
      if (!ended) // after the end, stdin is no longer in the set: nothing went wrong
        spdlog::error("watching stdin failed: {}", std::strerror(err));
      if (end_input(std::move(jobs), false))
        drain();
      return false;
    }
    if (jobs.empty())
      return true;
    std::optional<mcp::Job> mine;
    std::size_t queued = 0;
    {
      std::lock_guard lock(mutex_);
      auto it = jobs.begin();
      if (running_ < max_running_) {
        mine = std::move(*it++);
        ++running_;
        keep_a_watcher();
      }
      for (; it != jobs.end(); ++it, ++queued)
        queue_.push_back(std::move(*it));
    }
    if (queued > 0)
      add(wake_fd_, queued); // one waiting thread per call
    if (mine)
      execute(*mine);
    return true;
  }

  // Input has ended (end of file, a stop signal, an error, or a closed stdout). Returns true for
  // the first thread to say so, which then drains; the others leave.
  bool end_input(std::vector<mcp::Job> jobs, bool signalled) {
    std::vector<json> late; // calls read while a stop signal was being handled
    bool first = false;
    {
      std::lock_guard lock(mutex_);
      for (mcp::Job &job : jobs) {
        if (ended_ && signalled_)
          late.push_back(job.id);
        queue_.push_back(std::move(job));
      }
      // Queued calls are taken by threads finishing theirs; with none running, one is started.
      if (!queue_.empty() && running_ == 0)
        helpers_.emplace_back([this] {
          while (take_queued()) {
          }
        });
      if (!ended_) {
        first = true;
        ended_ = true;
        signalled_ = signalled;
      } else if (signalled) { // the drainer must hear of it
        late_signal_ = true;
        add(idle_fd_, 1);
      }
    }
    // They missed the drainer's cancellation: cancelled here, they end without a request sent.
    for (const json &id : late)
      session_.cancel(id);
    if (!first)
      return false;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, in_fd_, nullptr);
    if (options_.signal_fd >= 0) // from now on only drain() reads it
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, options_.signal_fd, nullptr);
    add(wake_fd_, std::uint64_t{1} << 32); // every waiting thread wakes, sees the end and leaves
    return true;
  }

  // Answers one line; a call that must wait on DataFast comes back as a job instead.
  std::optional<mcp::Job> dispatch(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos)
      return std::nullopt; // blank lines are not messages
    mcp::Step step = session_.handle_line(line);
    if (step.reply_text)
      writer_.write_line(std::move(*step.reply_text));
    else if (step.reply)
      writer_.write(*step.reply);
    return std::move(step.job);
  }

  // Splits `data` into lines and answers them; calls to run are added to `jobs`.
  void take_lines(std::string_view data, std::vector<mcp::Job> &jobs) {
    while (!data.empty()) {
      std::size_t nl = data.find('\n');
      if (discarding_) {
        discarded_ += nl == std::string_view::npos ? data.size() : nl;
        if (nl == std::string_view::npos)
          break;
        writer_.write(mcp::make_error(nullptr, mcp::code::kInvalidRequest,
                                      "invalid request: message of " + std::to_string(discarded_) +
                                          " bytes exceeds the limit of " +
                                          std::to_string(mcp::Session::kMaxLineBytes)));
        spdlog::warn("dropped a message of {} bytes (over the limit)", discarded_);
        discarding_ = false;
        data.remove_prefix(nl + 1);
        continue;
      }
      if (nl == std::string_view::npos) {
        buffer_.append(data);
        if (buffer_.size() > mcp::Session::kMaxLineBytes) {
          discarding_ = true;
          discarded_ = buffer_.size();
          buffer_.clear();
          buffer_.shrink_to_fit();
        }
        break;
      }
      std::optional<mcp::Job> job;
      if (buffer_.empty()) {
        job = dispatch(data.substr(0, nl));
      } else {
        buffer_.append(data.substr(0, nl));
        job = dispatch(buffer_);
        buffer_.clear();
      }
      if (job)
        jobs.push_back(std::move(*job));
      data.remove_prefix(nl + 1);
    }
  }

  // One read() (stdin was reported readable, so it does not block). Returns true when input has
  // ended.
  bool read_once(std::vector<mcp::Job> &jobs) {
    if (writer_.broken())
      return true;
    ssize_t got = ::read(in_fd_, chunk_.data(), chunk_.size());
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN)
        return false;
      spdlog::error("reading stdin failed: {}", std::strerror(errno));
      return true;
    }
    if (got == 0) { // end of input: a final line without a newline still counts
      if (!discarding_ && !buffer_.empty())
        if (auto job = dispatch(buffer_))
          jobs.push_back(std::move(*job));
      buffer_.clear();
      return true;
    }
    take_lines(std::string_view(chunk_.data(), static_cast<std::size_t>(got)), jobs);
    return false;
  }

  // After input ends: calls in flight finish and are answered. A stop signal (now or while
  // draining) cancels them; writes already sent get kWriteGrace to finish (so their outcome is
  // known), then are aborted too.
  void drain() {
    using Clock = std::chrono::steady_clock;
    bool abort_pending = false; // a signal came: abort what still runs at abort_at
    Clock::time_point abort_at{};
    auto on_signal = [&] {
      spdlog::info("stopping: cancelling {} call(s) in flight", session_.in_flight());
      session_.cancel_all(false);
      abort_pending = true;
      abort_at = Clock::now() + kWriteGrace;
    };
    bool signalled;
    {
      std::lock_guard lock(mutex_);
      signalled = signalled_;
    }
    if (signalled)
      on_signal();
    else if (std::size_t pending = session_.in_flight(); pending > 0)
      spdlog::info("input closed; finishing {} call(s) in flight", pending);
    for (;;) {
      bool late_signal;
      {
        std::lock_guard lock(mutex_);
        if (queue_.empty() && running_ == 0)
          break;
        late_signal = std::exchange(late_signal_, false);
      }
      if (late_signal && !abort_pending)
        on_signal();
      int timeout = -1;
      if (abort_pending)
        timeout = static_cast<int>(std::max<long>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(abort_at - Clock::now()).count()));
      pollfd fds[2] = {{idle_fd_, POLLIN, 0}, {options_.signal_fd, POLLIN, 0}};
      int n = ::poll(fds, options_.signal_fd >= 0 ? 2 : 1, timeout);
      if (n < 0 && errno != EINTR)
        break;
      if (fds[0].revents & POLLIN) {
        std::uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(idle_fd_, &count, sizeof count);
      }
      if (options_.signal_fd >= 0 && (fds[1].revents & POLLIN)) {
        signalfd_siginfo info{};
        // Nothing to read: a thread woken for it took it first, and says so through late_signal_.
        if (::read(options_.signal_fd, &info, sizeof info) > 0 && !abort_pending)
          on_signal();
      }
      if (n == 0 && abort_pending) {
        spdlog::warn("aborting {} call(s) still waiting on DataFast; a create or revoke among them "
                     "may or may not have been applied", session_.in_flight());
        session_.cancel_all(true);
        abort_pending = false;
      }
    }
  }

  const StdioOptions &options_;
  mcp::Session &session_;
  LineWriter &writer_;
  const std::size_t max_running_; // calls run at once
  int in_fd_;                     // stdin, or the pump's pipe
  int epoll_fd_ = -1;
  int wake_fd_ = -1; // a count of queued calls for waiting threads to take (and many at the end)
  int idle_fd_ = -1; // readable whenever no call runs or waits, or a late signal came (drain())
  std::thread pump_;

  std::mutex mutex_; // guards the fields below, up to the reader's own
  std::deque<mcp::Job> queue_; // calls read while max_running_ ran
  std::size_t running_ = 0;
  bool ended_ = false; // input ended: nobody reads again
  bool signalled_ = false;
  bool late_signal_ = false; // a signal another thread read after the end
  std::vector<std::thread> helpers_;

  // The reader's own: only the thread woken for stdin touches these.
  std::mutex reader_mutex_;
  std::vector<char> chunk_;
  std::string buffer_; // a line read in part
  bool discarding_ = false; // inside a line that is over the limit
  std::size_t discarded_ = 0;
};

} // namespace

int run_stdio(const mcp::Server &server, const StdioOptions &options) {
  LineWriter writer(options.out_fd);
  mcp::Session session(server, "stdio", server.ceiling(), [&writer](const json &message) {
    writer.write(message);
    return !writer.broken();
  });
  Loop loop(options, session, writer);
  loop.run();
  return 0;
}

} // namespace dfmcp::transport
