#include "transport/stdio.hpp"

#include "mcp/jsonrpc.hpp"
#include "mcp/session.hpp"
#include "platform/system.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace dfmcp::transport {

void StopSwitch::request(std::string why) {
  std::lock_guard lock(mutex_);
  if (why_)
    return;
  why_ = std::move(why);
  if (fn_) // under the lock: unsubscribe() waits for it, so the subscriber outlives the call
    fn_(*why_);
}

void StopSwitch::subscribe(std::function<void(const std::string &why)> fn) {
  std::lock_guard lock(mutex_);
  fn_ = std::move(fn);
  if (why_ && fn_)
    fn_(*why_);
}

void StopSwitch::unsubscribe() {
  std::lock_guard lock(mutex_);
  fn_ = nullptr;
}

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
    if (!platform::write_all(fd_, line)) {
      broken_ = true;
      spdlog::info("stdout closed; stopping");
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

// After a stop, writes already sent to DataFast get this long to finish (so their outcome is
// known) before they are aborted too.
constexpr std::chrono::milliseconds kWriteGrace{2000};

// The serving loop: the thread that calls run() reads; tool calls go to up to `workers` threads,
// started when first needed (a session that never calls a tool starts none); calls beyond that
// wait in a queue. Input is read all the time, so ping and cancellations are answered while calls
// run.
class Loop {
public:
  Loop(const StdioOptions &options, mcp::Session &session, LineWriter &writer, platform::Input &input)
      : session_(session), writer_(writer), input_(input),
        max_workers_(std::max<std::size_t>(options.workers, 1)) {}

  void run() {
    read_all();
    drain();
  }

  // From any thread (the stop-signal watcher): cancels the calls in flight at once, and ends the
  // reading.
  void stop(const std::string &why) {
    {
      std::lock_guard lock(mutex_);
      if (stop_why_)
        return;
      stop_why_ = why;
    }
    input_.interrupt();
    spdlog::info("received {}; cancelling {} call(s) in flight and stopping", why, session_.in_flight());
    session_.cancel_all(false);
    std::lock_guard lock(mutex_);
    cancelled_at_ = std::chrono::steady_clock::now();
    changed_.notify_all();
  }

private:
  // Reads until end of input, a stop, a read failure or a closed stdout.
  void read_all() {
    std::vector<char> chunk(64 * 1024);
    while (!writer_.broken()) {
      platform::Input::Read r = input_.read(chunk.data(), chunk.size());
      switch (r.status) {
      case platform::Input::Status::Data:
        take_lines(std::string_view(chunk.data(), r.size));
        continue;
      case platform::Input::Status::End: // a final line without a newline still counts
        if (!discarding_ && !buffer_.empty())
          dispatch(buffer_);
        return;
      case platform::Input::Status::Interrupted:
        return;
      case platform::Input::Status::Failed:
        spdlog::error("reading stdin failed: {}", r.error);
        return;
      }
    }
  }

  // Splits `data` into lines and answers them. A line over the limit is skipped as it streams
  // by (never held whole) and answered with one error.
  void take_lines(std::string_view data) {
    while (!data.empty()) {
      std::size_t nl = data.find('\n');
      if (discarding_) {
        discarded_ += nl == std::string_view::npos ? data.size() : nl;
        if (nl == std::string_view::npos)
          return;
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
        return;
      }
      if (buffer_.empty()) {
        dispatch(data.substr(0, nl));
      } else {
        buffer_.append(data.substr(0, nl));
        dispatch(buffer_);
        buffer_.clear();
      }
      data.remove_prefix(nl + 1);
    }
  }

  // Answers one line now; a call that must wait on DataFast goes to a worker.
  void dispatch(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos)
      return; // blank lines are not messages
    mcp::Step step = session_.handle_line(line);
    if (step.reply_text)
      writer_.write_line(std::move(*step.reply_text));
    else if (step.reply)
      writer_.write(*step.reply);
    if (step.job)
      enqueue(std::move(*step.job));
  }

  void enqueue(mcp::Job job) {
    json id = job.id;
    bool late;
    {
      std::lock_guard lock(mutex_);
      late = stop_why_.has_value();
      queue_.push_back(std::move(job));
      if (queue_.size() > idle_ && workers_.size() < max_workers_)
        workers_.emplace_back([this] { work(); });
      else
        work_.notify_one();
    }
    // Read after the stop cancelled what was in flight: cancelled here, it ends without a request.
    if (late)
      session_.cancel(id);
  }

  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ++idle_;
      work_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      --idle_;
      if (queue_.empty())
        return; // closing
      mcp::Job job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
      lock.unlock();
      if (auto reply = job.run())
        writer_.write_line(std::move(reply->text));
      lock.lock();
      if (--running_ == 0 && queue_.empty())
        changed_.notify_all();
    }
  }

  // After input ends: calls in flight finish and are answered, unless a stop (now or while
  // draining) cancelled them.
  void drain() {
    using Clock = std::chrono::steady_clock;
    std::unique_lock lock(mutex_);
    if (!stop_why_ && (running_ > 0 || !queue_.empty()))
      spdlog::info("input closed; finishing {} call(s) in flight", running_ + queue_.size());
    bool aborted = false;
    for (;;) {
      if (queue_.empty() && running_ == 0)
        break;
      // After a stop has cancelled the calls, writes already sent get kWriteGrace, then are
      // aborted too.
      if (cancelled_at_ && !aborted && Clock::now() >= *cancelled_at_ + kWriteGrace) {
        aborted = true;
        lock.unlock();
        spdlog::warn("aborting {} call(s) still waiting on DataFast; a create or revoke among them "
                     "may or may not have been applied",
                     session_.in_flight());
        session_.cancel_all(true);
        lock.lock();
        continue;
      }
      if (cancelled_at_ && !aborted)
        changed_.wait_until(lock, *cancelled_at_ + kWriteGrace);
      else
        changed_.wait(lock);
    }
    closing_ = true;
    work_.notify_all();
    std::vector<std::thread> workers = std::move(workers_);
    lock.unlock();
    for (std::thread &t : workers)
      t.join();
  }

  mcp::Session &session_;
  LineWriter &writer_;
  platform::Input &input_;
  const std::size_t max_workers_;

  std::mutex mutex_; // guards the fields below, up to the reader's own
  std::condition_variable work_;    // a call was queued, or closing
  std::condition_variable changed_; // no call runs or waits, or a stop came
  std::deque<mcp::Job> queue_;
  std::vector<std::thread> workers_;
  std::size_t idle_ = 0;    // workers waiting for a call
  std::size_t running_ = 0; // calls being run
  bool closing_ = false;
  std::optional<std::string> stop_why_;
  std::optional<std::chrono::steady_clock::time_point> cancelled_at_; // a stop cancelled the calls

  // The reader's own.
  std::string buffer_;      // a line read in part
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
  platform::Input input(options.in_fd);
  Loop loop(options, session, writer, input);
  if (options.stop)
    options.stop->subscribe([&loop](const std::string &why) { loop.stop(why); });
  loop.run();
  if (options.stop)
    options.stop->unsubscribe();
  return 0;
}

} // namespace dfmcp::transport
