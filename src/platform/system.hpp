// The operating system, behind a small portable face: stop signals, an input that another thread
// can interrupt, whole writes, standard descriptors, the descriptor limit, this executable's path.
// The one place in src/ that makes system calls no other platform has (system.cpp, POSIX); every
// other file reaches the OS through the standard library, Asio, or this header.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace dfmcp::platform {

// Turns SIGTERM, SIGINT and SIGHUP from a sudden death into an orderly stop: they are blocked in
// the constructing thread (so in every thread it starts afterwards: construct this before any
// other thread) and taken by a watcher thread of its own, which reports each one.
class StopSignals {
public:
  StopSignals();
  ~StopSignals(); // stops watching; the signals stay blocked
  StopSignals(const StopSignals &) = delete;
  StopSignals &operator=(const StopSignals &) = delete;

  // `handler` runs on the watcher thread for each stop signal, with its name ("SIGTERM"). A
  // signal that came before any handler was set is handed to the first one, on this thread.
  void on_stop(std::function<void(std::string_view name)> handler);
  // Blocks until a stop signal arrives (or has arrived); returns its name.
  std::string wait();

private:
  void watch();

  std::mutex mutex_;
  std::condition_variable arrived_;
  std::function<void(std::string_view)> handler_;
  std::optional<std::string> undelivered_; // came while no handler was set
  std::optional<std::string> last_;
  bool closing_ = false;
  std::thread watcher_;
};

// A readable descriptor (stdin: a pipe, a terminal, a regular file or /dev/null) whose blocking
// read() another thread can interrupt. Does not own the descriptor.
class Input {
public:
  explicit Input(int fd);
  ~Input();
  Input(const Input &) = delete;
  Input &operator=(const Input &) = delete;

  enum class Status { Data, End, Interrupted, Failed };
  struct Read {
    Status status;
    std::size_t size = 0; // bytes read, for Data
    std::string error;    // for Failed
  };
  // Waits for bytes, the end of input or interrupt(); once interrupted, every later read says so.
  Read read(char *buffer, std::size_t capacity);
  // Thread-safe.
  void interrupt();
  bool ok() const { return wake_read_ >= 0; }

private:
  int fd_;
  int wake_read_ = -1;
  int wake_write_ = -1;
};

// Writes all of `data` to `fd`; false when the descriptor is closed or broken (no SIGPIPE).
bool write_all(int fd, std::string_view data);

// Opens /dev/null on any of descriptors 0, 1 and 2 that the parent left closed, so that no file
// this process opens later takes their number (protocol output or logs would go into it).
void guard_standard_fds();
// A write to a closed pipe or socket is an error value, not a death.
void ignore_broken_pipes();
// Raises the soft limit on open descriptors to the hard limit (each HTTP client holds one).
void raise_fd_limit();
// The absolute path of the running executable, when the OS tells it.
std::optional<std::string> executable_path();
// Writes `content` to `path` (created or truncated), readable by the owner only when `secret`.
bool write_file(const std::string &path, std::string_view content, bool secret);

} // namespace dfmcp::platform
