// POSIX implementation of platform/system.hpp (Linux, macOS and the BSDs). A Windows port adds its
// own file beside this one; nothing else in src/ changes.
#include "platform/system.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

namespace dfmcp::platform {

namespace {

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

const char *signal_name(int sig) {
  switch (sig) {
  case SIGTERM: return "SIGTERM";
  case SIGINT: return "SIGINT";
  case SIGHUP: return "SIGHUP";
  default: return "a stop signal";
  }
}

void set_cloexec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

} // namespace

// --- StopSignals --------------------------------------------------------------------------------

StopSignals::StopSignals() {
  sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  watcher_ = std::thread([this] { watch(); });
}

StopSignals::~StopSignals() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  // The watcher has the signal blocked too, so this one stays pending for it and sigwait takes it.
  pthread_kill(watcher_.native_handle(), SIGHUP);
  watcher_.join();
}

void StopSignals::watch() {
  sigset_t set = stop_set();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0)
      continue;
    std::function<void(std::string_view)> handler;
    std::string name = signal_name(sig);
    {
      std::lock_guard lock(mutex_);
      if (closing_)
        return;
      last_ = name;
      arrived_.notify_all();
      if (handler_)
        handler = handler_;
      else
        undelivered_ = name;
    }
    if (handler)
      handler(name);
  }
}

void StopSignals::on_stop(std::function<void(std::string_view name)> handler) {
  std::optional<std::string> pending;
  {
    std::lock_guard lock(mutex_);
    handler_ = handler;
    pending.swap(undelivered_);
  }
  if (pending && handler)
    handler(*pending);
}

std::string StopSignals::wait() {
  std::unique_lock lock(mutex_);
  arrived_.wait(lock, [&] { return last_.has_value(); });
  return *last_;
}

// --- Input --------------------------------------------------------------------------------------

Input::Input(int fd) : fd_(fd) {
  int fds[2];
  if (::pipe(fds) == 0) {
    wake_read_ = fds[0];
    wake_write_ = fds[1];
    set_cloexec(wake_read_);
    set_cloexec(wake_write_);
  }
}

Input::~Input() {
  for (int fd : {wake_read_, wake_write_})
    if (fd >= 0)
      ::close(fd);
}

Input::Read Input::read(char *buffer, std::size_t capacity) {
  if (wake_read_ < 0)
    return {Status::Failed, 0, "cannot make a pipe"};
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return {Status::Failed, 0, std::strerror(errno)};
    }
    if (fds[1].revents != 0) // left unread, so that it stays interrupted
      return {Status::Interrupted, 0, {}};
    if (fds[0].revents & POLLNVAL)
      return {Status::Failed, 0, "not an open descriptor"};
    if (fds[0].revents == 0)
      continue;
    ssize_t got = ::read(fd_, buffer, capacity);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      return {Status::Failed, 0, std::strerror(errno)};
    }
    if (got == 0)
      return {Status::End, 0, {}};
    return {Status::Data, static_cast<std::size_t>(got), {}};
  }
}

void Input::interrupt() {
  if (wake_write_ >= 0) {
    char one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_write_, &one, 1);
  }
}

// --- the rest -----------------------------------------------------------------------------------

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void guard_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF)
      ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
}

void ignore_broken_pipes() { std::signal(SIGPIPE, SIG_IGN); }

void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

std::optional<std::string> executable_path() {
#if defined(__linux__)
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec)
    return self.string();
#elif defined(__APPLE__)
  char buf[4096];
  std::uint32_t size = sizeof buf;
  if (_NSGetExecutablePath(buf, &size) == 0) {
    std::error_code ec;
    auto canonical = std::filesystem::canonical(buf, ec);
    return ec ? std::string(buf) : canonical.string();
  }
#endif
  return std::nullopt;
}

bool write_file(const std::string &path, std::string_view content, bool secret) {
  mode_t mode = secret ? 0600 : 0644;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return false;
  bool ok = ::fchmod(fd, mode) == 0 && write_all(fd, content);
  return ::close(fd) == 0 && ok;
}

} // namespace dfmcp::platform
