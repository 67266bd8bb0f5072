// Runs the real datafast-mcp binary as a child process with pipes on stdin, stdout and stderr, for
// the integration tests. Reads wait on poll() with a guard deadline that only stops a broken test
// from hanging; nothing here sleeps to synchronise.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace dfmcp::test {

using namespace std::chrono_literals;

class Child {
public:
  // Starts `argv` (argv[0] is the executable path) with exactly `env` as its environment.
  static std::unique_ptr<Child> spawn(const std::vector<std::string> &argv,
                                      const std::map<std::string, std::string> &env);
  ~Child();

  void write(std::string_view bytes);
  void write_line(std::string_view line) { write(std::string(line) + "\n"); }
  // The next line of stdout, or nullopt at end of output or when `guard` passes.
  std::optional<std::string> read_line(std::chrono::milliseconds guard = 10s);
  void close_stdin();
  void signal(int sig);
  // Exit status (128 + signal when killed), or nullopt if it has not exited within `guard`.
  std::optional<int> wait(std::chrono::milliseconds guard = 10s);
  // Reads the rest of stdout until EOF (guarded) and returns it.
  std::string drain_stdout(std::chrono::milliseconds guard = 10s);

  std::string all_stdout() const { return stdout_all_; } // every byte read from stdout so far
  pid_t pid() const { return pid_; }
  std::string all_stderr(); // what the child wrote to stderr so far; all of it once wait() returned
  // Blocks until stderr contains `needle` (or the guard passes).
  bool wait_for_stderr(std::string_view needle, std::chrono::milliseconds guard = 10s);

private:
  Child() = default;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string pending_; // stdout bytes after the last returned line
  std::string stdout_all_;
  std::mutex err_mutex_;
  std::string stderr_all_;
  std::thread err_reader_;
  std::optional<int> status_;
};

// A process's resident memory (VmRSS, KiB), thread count and open descriptors, from /proc.
struct ProcessStats {
  long rss_kib = 0;
  long threads = 0;
  long fds = 0;
};
ProcessStats process_stats(pid_t pid);

// The run-a-command-to-completion case (check, --help, config errors).
struct RunResult {
  int code = -1;
  std::string out, err;
};
RunResult run(const std::vector<std::string> &argv, const std::map<std::string, std::string> &env,
              std::string_view input = "");

// A fresh temporary directory, removed with its files on destruction.
class TempDir {
public:
  TempDir();
  ~TempDir();
  const std::string &path() const { return path_; }
  std::string write(const std::string &name, std::string_view content) const;

private:
  std::string path_;
};

} // namespace dfmcp::test
