#include "transport/stdio.hpp"

#include "mcp/jsonrpc.hpp"
#include "mcp/session.hpp"

#include <spdlog/spdlog.h>

#include <poll.h>
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

// Runs tool calls off the reading thread. Threads start when work needs them (up to `count`),
// so a session that never calls a tool never starts one, and start-up starts none.
class WorkerPool {
public:
  WorkerPool(std::size_t count, LineWriter &writer) : writer_(writer), max_threads_(std::max<std::size_t>(count, 1)) {
    idle_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~WorkerPool() {
    finish();
    if (idle_fd_ >= 0)
      ::close(idle_fd_);
  }

  void submit(mcp::Job job) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(job));
      if (waiting_ < queue_.size() && threads_.size() < max_threads_)
        threads_.emplace_back([this] { work(); });
    }
    cv_.notify_one();
  }

  bool idle() {
    std::lock_guard lock(mutex_);
    return queue_.empty() && active_ == 0;
  }
  // Readable whenever the pool has become idle (a counter; read it to reset).
  int idle_fd() const { return idle_fd_; }

  // Runs what is queued, then joins.
  void finish() {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    cv_.notify_all();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (std::thread &t : threads)
      if (t.joinable())
        t.join();
  }

private:
  void work() {
    for (;;) {
      mcp::Job job;
      {
        std::unique_lock lock(mutex_);
        ++waiting_;
        cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
        --waiting_;
        if (queue_.empty())
          return;
        job = std::move(queue_.front());
        queue_.pop_front();
        ++active_;
      }
      if (auto reply = job.run())
        writer_.write_line(std::move(reply->text));
      std::lock_guard lock(mutex_);
      if (--active_ == 0 && queue_.empty()) {
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(idle_fd_, &one, sizeof one);
      }
    }
  }

  LineWriter &writer_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<mcp::Job> queue_;
  std::size_t active_ = 0;
  std::size_t waiting_ = 0; // threads waiting for a job
  const std::size_t max_threads_;
  bool closing_ = false;
  int idle_fd_ = -1;
  std::vector<std::thread> threads_;
};

constexpr std::chrono::milliseconds kWriteGrace{2000};

} // namespace

int run_stdio(const mcp::Server &server, const StdioOptions &options) {
  LineWriter writer(options.out_fd);
  mcp::Session session(server, "stdio", server.ceiling(), [&writer](const json &message) {
    writer.write(message);
    return !writer.broken();
  });
  WorkerPool pool(options.workers, writer);

  auto dispatch = [&](std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos)
      return; // blank lines are not messages
    mcp::Step step = session.handle_line(line);
    if (step.reply_text)
      writer.write_line(std::move(*step.reply_text));
    else if (step.reply)
      writer.write(*step.reply);
    if (step.job)
      pool.submit(std::move(*step.job));
  };

  std::string buffer;
  bool discarding = false; // inside a line that is over the limit
  std::size_t discarded = 0;
  std::vector<char> chunk(64 * 1024);
  bool signalled = false;

  for (;;) {
    if (writer.broken())
      break;
    pollfd fds[2] = {{options.in_fd, POLLIN, 0}, {options.signal_fd, POLLIN, 0}};
    int n = ::poll(fds, options.signal_fd >= 0 ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      spdlog::error("poll failed: {}", std::strerror(errno));
      break;
    }
    if (options.signal_fd >= 0 && (fds[1].revents & POLLIN)) {
      signalfd_siginfo info{};
      if (::read(options.signal_fd, &info, sizeof info) == sizeof info)
        spdlog::info("received {}; cancelling {} call(s) in flight and stopping",
                     strsignal(static_cast<int>(info.ssi_signo)), session.in_flight());
      signalled = true;
      break;
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
      continue;
    ssize_t got = ::read(options.in_fd, chunk.data(), chunk.size());
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      spdlog::error("reading stdin failed: {}", std::strerror(errno));
      break;
    }
    if (got == 0) { // end of input: a final line without a newline still counts
      if (!discarding && !buffer.empty())
        dispatch(buffer);
      break;
    }
    std::string_view data(chunk.data(), static_cast<std::size_t>(got));
    while (!data.empty()) {
      std::size_t nl = data.find('\n');
      if (discarding) {
        discarded += nl == std::string_view::npos ? data.size() : nl;
        if (nl == std::string_view::npos)
          break;
        writer.write(mcp::make_error(nullptr, mcp::code::kInvalidRequest,
                                     "invalid request: message of " + std::to_string(discarded) +
                                         " bytes exceeds the limit of " +
                                         std::to_string(mcp::Session::kMaxLineBytes)));
        spdlog::warn("dropped a message of {} bytes (over the limit)", discarded);
        discarding = false;
        data.remove_prefix(nl + 1);
        continue;
      }
      if (nl == std::string_view::npos) {
        buffer.append(data);
        if (buffer.size() > mcp::Session::kMaxLineBytes) {
          discarding = true;
          discarded = buffer.size();
          buffer.clear();
          buffer.shrink_to_fit();
        }
        break;
      }
      if (buffer.empty()) {
        dispatch(data.substr(0, nl));
      } else {
        buffer.append(data.substr(0, nl));
        dispatch(buffer);
        buffer.clear();
      }
      data.remove_prefix(nl + 1);
    }
  }

  // Drain: calls in flight finish and are answered. A stop signal (now or while draining) cancels
  // them; writes already sent get kWriteGrace to finish (so their outcome is known), then are
  // aborted too.
  using Clock = std::chrono::steady_clock;
  bool abort_pending = false; // a signal came: abort what still runs at abort_at
  Clock::time_point abort_at{};
  auto on_signal = [&] {
    spdlog::info("stopping: cancelling {} call(s) in flight", session.in_flight());
    session.cancel_all(false);
    abort_pending = true;
    abort_at = Clock::now() + kWriteGrace;
  };
  if (signalled)
    on_signal();
  else if (std::size_t pending = session.in_flight(); pending > 0)
    spdlog::info("input closed; finishing {} call(s) in flight", pending);
  while (!pool.idle()) {
    int timeout = -1;
    if (abort_pending)
      timeout = static_cast<int>(std::max<long>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(abort_at - Clock::now()).count()));
    pollfd fds[2] = {{pool.idle_fd(), POLLIN, 0}, {options.signal_fd, POLLIN, 0}};
    int n = ::poll(fds, options.signal_fd >= 0 ? 2 : 1, timeout);
    if (n < 0 && errno != EINTR)
      break;
    if (fds[0].revents & POLLIN) {
      std::uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(pool.idle_fd(), &count, sizeof count);
    }
    if (options.signal_fd >= 0 && (fds[1].revents & POLLIN)) {
      signalfd_siginfo info{};
      [[maybe_unused]] ssize_t r = ::read(options.signal_fd, &info, sizeof info);
      if (!abort_pending)
        on_signal();
    }
    if (n == 0 && abort_pending) {
      spdlog::warn("aborting {} call(s) still waiting on DataFast; a create or revoke among them "
                   "may or may not have been applied", session.in_flight());
      session.cancel_all(true);
      abort_pending = false;
    }
  }
  pool.finish();
  return 0;
}

} // namespace dfmcp::transport
