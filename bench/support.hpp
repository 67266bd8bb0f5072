// Shared pieces of the benchmark driver: child processes with piped stdio, line reading with
// guard timeouts, /proc memory figures, statistics, and a minimal HTTP/1.1 client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double us_since(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --- statistics ---------------------------------------------------------------------------

double median(std::vector<double> v);
double percentile(std::vector<double> v, double p); // p in [0, 100], nearest rank

// --- child processes ----------------------------------------------------------------------

struct Spawn {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env_extra; // added to (or replacing in) the driver's env
  std::vector<std::string> env_remove;          // left out of the child's env
  bool pipe_stdin = true;
  bool pipe_stdout = true;
  bool capture_stderr = true; // read by a thread; lines kept and matched against waiters
};

class Child {
public:
  // Starts the process (posix_spawn). Throws BenchError when it cannot.
  explicit Child(const Spawn &spec);
  ~Child(); // closes pipes, SIGKILLs the child if still running, reaps it
  Child(const Child &) = delete;
  Child &operator=(const Child &) = delete;

  pid_t pid() const { return pid_; }
  Clock::time_point started() const { return started_; }

  // Writes all of `data` to the child's stdin (blocking). Throws on a broken pipe.
  void write(std::string_view data);
  // Reads one line (without '\n') from the child's stdout; throws after `guard` with no line.
  std::string read_line(std::chrono::milliseconds guard = std::chrono::milliseconds(30000));
  // Waits for a stderr line containing `needle`; returns the line. Throws after `guard`.
  std::string wait_stderr(std::string_view needle,
                          std::chrono::milliseconds guard = std::chrono::milliseconds(30000));
  std::string stderr_text() const;

  void close_stdin();
  // Waits for exit up to `guard`, then SIGKILLs. Returns the wait status (or -1).
  int finish(std::chrono::milliseconds guard = std::chrono::milliseconds(10000));
  void signal(int sig);

private:
  pid_t pid_ = -1;
  int in_fd_ = -1, out_fd_ = -1, err_fd_ = -1;
  bool reaped_ = false;
  int status_ = -1;
  Clock::time_point started_;
  std::string out_buf_;
  std::thread err_thread_;
  mutable std::mutex err_mutex_;
  std::string err_text_;
  bool err_closed_ = false;
  std::shared_ptr<void> err_cv_; // a std::condition_variable, kept out of this header
};

// /proc/PID/status figures in bytes (VmHWM: peak resident set; VmRSS: current).
std::uint64_t vm_hwm(pid_t pid);
std::uint64_t vm_rss(pid_t pid);

// --- HTTP/1.1 -----------------------------------------------------------------------------

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  const std::string *header(std::string_view name) const; // case-insensitive
};

// Parses one response from the front of `buf`. Returns the bytes it used (0: incomplete).
// Throws BenchError on a malformed head. `body_wanted` false skips copying the body.
std::size_t parse_response(std::string_view buf, HttpResponse &out, bool body_wanted = true);

struct Url {
  std::string host;
  int port = 0;
  std::string path;
};
Url parse_url(const std::string &url); // http://HOST:PORT/PATH only

// Builds a POST request's bytes.
std::string http_post(const Url &url, const std::string &path, const std::string &body,
                      const std::vector<std::pair<std::string, std::string>> &headers);
std::string http_delete(const Url &url, const std::string &path,
                        const std::vector<std::pair<std::string, std::string>> &headers);

int tcp_connect(const std::string &host, int port); // blocking, TCP_NODELAY

// One kept-alive connection, blocking, one request at a time.
class HttpConnection {
public:
  HttpConnection(const std::string &host, int port);
  ~HttpConnection();
  HttpConnection(const HttpConnection &) = delete;
  HttpConnection &operator=(const HttpConnection &) = delete;
  HttpResponse exchange(std::string_view request,
                        std::chrono::milliseconds guard = std::chrono::milliseconds(30000));

private:
  int fd_ = -1;
  std::string buf_;
};

// --- MCP helpers --------------------------------------------------------------------------

std::string initialize_line(int id, const std::string &version = "2025-11-25");

} // namespace bench
