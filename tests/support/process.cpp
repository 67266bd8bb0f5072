#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace dfmcp::test {

namespace {
using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::condition_variable g_stderr_cv;
} // namespace

std::unique_ptr<Child> Child::spawn(const std::vector<std::string> &argv,
                                    const std::map<std::string, std::string> &env) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);

  // The child starts with default signal handling and an empty mask whatever the test runner has.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char *> args;
  for (const std::string &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (const auto &[k, v] : env)
    env_strings.push_back(k + "=" + v);
  std::vector<char *> envp;
  for (std::string &e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  auto child = std::unique_ptr<Child>(new Child());
  int rc = posix_spawn(&child->pid_, argv[0].c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    throw std::runtime_error("posix_spawn failed for " + argv[0]);
  }
  child->in_ = in[1];
  child->out_ = out[0];
  child->err_ = err[0];
  Child *self = child.get();
  child->err_reader_ = std::thread([self] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(self->err_, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      {
        std::lock_guard lock(self->err_mutex_);
        self->stderr_all_.append(buf, static_cast<std::size_t>(n));
      }
      g_stderr_cv.notify_all();
    }
    g_stderr_cv.notify_all();
  });
  return child;
}

Child::~Child() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait(5s);
  }
  if (in_ >= 0)
    close(in_);
  if (out_ >= 0)
    close(out_);
  if (err_reader_.joinable())
    err_reader_.join();
  if (err_ >= 0)
    close(err_);
}

void Child::write(std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(in_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw std::runtime_error("writing to the child's stdin failed");
    done += static_cast<std::size_t>(n);
  }
}

std::optional<std::string> Child::read_line(std::chrono::milliseconds guard) {
  auto deadline = Clock::now() + guard;
  for (;;) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    pollfd p{out_, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return std::nullopt;
    char buf[65536];
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return std::nullopt;
    pending_.append(buf, static_cast<std::size_t>(n));
    stdout_all_.append(buf, static_cast<std::size_t>(n));
  }
}

std::string Child::drain_stdout(std::chrono::milliseconds guard) {
  auto deadline = Clock::now() + guard;
  std::string out = pending_;
  pending_.clear();
  for (;;) {
    pollfd p{out_, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return out;
    char buf[65536];
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return out;
    out.append(buf, static_cast<std::size_t>(n));
    stdout_all_.append(buf, static_cast<std::size_t>(n));
  }
}

void Child::close_stdin() {
  if (in_ >= 0) {
    close(in_);
    in_ = -1;
  }
}

void Child::signal(int sig) { ::kill(pid_, sig); }

std::optional<int> Child::wait(std::chrono::milliseconds guard) {
  if (status_)
    return status_;
  // A pidfd becomes readable when the child exits: no polling loop, no sleep.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int r;
    do
      r = ::poll(&p, 1, static_cast<int>(guard.count()));
    while (r < 0 && errno == EINTR);
    ::close(pidfd);
    if (r == 0)
      return std::nullopt;
  }
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, pidfd >= 0 ? WNOHANG : 0);
  if (r != pid_)
    return std::nullopt;
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  // The child is gone, so its stderr reaches EOF: collect the rest before anyone reads it.
  if (err_reader_.joinable())
    err_reader_.join();
  return status_;
}

std::string Child::all_stderr() {
  std::lock_guard lock(err_mutex_);
  return stderr_all_;
}

bool Child::wait_for_stderr(std::string_view needle, std::chrono::milliseconds guard) {
  std::unique_lock lock(err_mutex_);
  return g_stderr_cv.wait_for(lock, guard, [&] {
    return stderr_all_.find(needle) != std::string::npos;
  });
}

ProcessStats process_stats(pid_t pid) {
  ProcessStats st;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:"))
      st.rss_kib = std::stol(line.substr(6));
    else if (line.starts_with("Threads:"))
      st.threads = std::stol(line.substr(8));
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); ++it)
    ++st.fds;
  return st;
}

RunResult run(const std::vector<std::string> &argv, const std::map<std::string, std::string> &env,
              std::string_view input) {
  auto child = Child::spawn(argv, env);
  if (!input.empty())
    child->write(input);
  child->close_stdin();
  RunResult r;
  r.out = child->drain_stdout(30s);
  auto code = child->wait(30s);
  r.code = code.value_or(-1);
  r.err = child->all_stderr();
  return r;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "dfmcp-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string &name, std::string_view content) const {
  std::string p = path_ + "/" + name;
  std::ofstream f(p, std::ios::binary);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  return p;
}

} // namespace dfmcp::test
