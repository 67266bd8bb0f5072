#include "transport/stdio.hpp"

#include "mcp/jsonrpc.hpp"
#include "mcp/session.hpp"

#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
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

  void write(const json &message) {
    std::string line = dump_json(message);
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

class WorkerPool {
public:
  WorkerPool(std::size_t count, LineWriter &writer) : writer_(writer) {
    for (std::size_t i = 0; i < count; ++i)
      threads_.emplace_back([this] { work(); });
  }
  ~WorkerPool() { finish(); }

  void submit(mcp::Job job) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  // Runs what is queued, then joins.
  void finish() {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    cv_.notify_all();
    for (std::thread &t : threads_)
      if (t.joinable())
        t.join();
  }

private:
  void work() {
    for (;;) {
      mcp::Job job;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
        if (queue_.empty())
          return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      if (auto reply = job.run())
        writer_.write(*reply);
    }
  }

  LineWriter &writer_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<mcp::Job> queue_;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

} // namespace

int run_stdio(const mcp::Server &server, const StdioOptions &options) {
  LineWriter writer(options.out_fd);
  mcp::Session session(server, "stdio", server.ceiling(),
                       [&writer](const json &message) { writer.write(message); });
  WorkerPool pool(options.workers, writer);

  auto dispatch = [&](std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos)
      return; // blank lines are not messages
    mcp::Step step = session.handle_line(line);
    if (step.reply)
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

  if (signalled)
    session.cancel_all();
  else if (std::size_t pending = session.in_flight(); pending > 0)
    spdlog::info("input closed; finishing {} call(s) in flight", pending);
  pool.finish();
  return 0;
}

} // namespace dfmcp::transport
