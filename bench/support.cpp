#include "support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <sstream>

extern char **environ;

namespace bench {

// --- statistics ---------------------------------------------------------------------------

double median(std::vector<double> v) {
  if (v.empty())
    return std::nan("");
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return std::nan("");
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// --- child processes ----------------------------------------------------------------------

namespace {

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

std::string describe(const std::vector<std::string> &argv) {
  std::string s;
  for (const auto &a : argv)
    s += (s.empty() ? "" : " ") + a;
  return s;
}

} // namespace

Child::Child(const Spawn &spec) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if ((spec.pipe_stdin && ::pipe2(in, O_CLOEXEC) != 0) || (spec.pipe_stdout && ::pipe2(out, O_CLOEXEC) != 0) ||
      (spec.capture_stderr && ::pipe2(err, O_CLOEXEC) != 0))
    throw BenchError(std::string("pipe: ") + std::strerror(errno));

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (spec.pipe_stdin)
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  else
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (spec.pipe_stdout)
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  else
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (spec.capture_stderr)
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  else
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

  // The environment: ours, with the extras added or replaced.
  std::vector<std::string> env_strings;
  for (char **e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    std::string key(kv.substr(0, kv.find('=')));
    if (!spec.env_extra.count(key) &&
        std::find(spec.env_remove.begin(), spec.env_remove.end(), key) == spec.env_remove.end())
      env_strings.emplace_back(kv);
  }
  for (const auto &[k, v] : spec.env_extra)
    env_strings.push_back(k + "=" + v);
  std::vector<char *> envp;
  for (auto &s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  started_ = Clock::now();
  int rc = ::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  for (int fd : {in[0], out[1], err[1]})
    if (fd >= 0)
      ::close(fd);
  if (rc != 0) {
    for (int fd : {in[1], out[0], err[0]})
      if (fd >= 0)
        ::close(fd);
    throw BenchError("cannot start " + describe(spec.argv) + ": " + std::strerror(rc));
  }
  in_fd_ = in[1];
  out_fd_ = out[0];
  err_fd_ = err[0];
  err_cv_ = std::make_shared<std::condition_variable>();
  if (err_fd_ >= 0) {
    err_thread_ = std::thread([this] {
      char buf[8192];
      for (;;) {
        ssize_t n = ::read(err_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
          continue;
        std::lock_guard lock(err_mutex_);
        if (n <= 0) {
          err_closed_ = true;
          static_cast<std::condition_variable *>(err_cv_.get())->notify_all();
          return;
        }
        err_text_.append(buf, static_cast<std::size_t>(n));
        // Keep the captured text bounded (a chatty server logs a line per session).
        if (err_text_.size() > (8u << 20))
          err_text_.erase(0, err_text_.size() - (4u << 20));
        static_cast<std::condition_variable *>(err_cv_.get())->notify_all();
      }
    });
  }
}

Child::~Child() {
  close_stdin();
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    finish(std::chrono::milliseconds(5000));
  }
  if (out_fd_ >= 0)
    ::close(out_fd_);
  if (err_thread_.joinable())
    err_thread_.join();
  if (err_fd_ >= 0)
    ::close(err_fd_);
}

void Child::write(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(in_fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw BenchError("child " + std::to_string(pid_) + ": writing its stdin failed: " + std::strerror(errno));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string Child::read_line(std::chrono::milliseconds guard) {
  auto deadline = Clock::now() + guard;
  std::size_t scanned = 0;
  for (;;) {
    std::size_t nl = out_buf_.find('\n', scanned);
    if (nl != std::string::npos) {
      std::string line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    scanned = out_buf_.size();
    pollfd p{out_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      throw BenchError("child " + std::to_string(pid_) + ": no line on stdout within " +
                       std::to_string(guard.count()) + " ms; stderr: " + stderr_text().substr(0, 2000));
    char buf[65536];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw BenchError("child " + std::to_string(pid_) + ": stdout closed; stderr: " + stderr_text().substr(0, 2000));
    out_buf_.append(buf, static_cast<std::size_t>(n));
  }
}

std::string Child::wait_stderr(std::string_view needle, std::chrono::milliseconds guard) {
  auto *cv = static_cast<std::condition_variable *>(err_cv_.get());
  std::unique_lock lock(err_mutex_);
  std::size_t at = std::string::npos;
  bool ok = cv->wait_for(lock, guard, [&] {
    at = err_text_.find(needle);
    return at != std::string::npos || err_closed_;
  });
  if (!ok || at == std::string::npos)
    throw BenchError("child " + std::to_string(pid_) + ": no '" + std::string(needle) + "' on stderr; stderr: " +
                     err_text_.substr(0, 2000));
  std::size_t begin = err_text_.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  std::size_t end = err_text_.find('\n', at);
  return err_text_.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string Child::stderr_text() const {
  std::lock_guard lock(err_mutex_);
  return err_text_;
}

void Child::close_stdin() {
  if (in_fd_ >= 0) {
    ::close(in_fd_);
    in_fd_ = -1;
  }
}

void Child::signal(int sig) {
  if (!reaped_)
    ::kill(pid_, sig);
}

int Child::finish(std::chrono::milliseconds guard) {
  if (reaped_)
    return status_;
  // Waits on a pidfd (readable when the child exits), so no polling and no sleeping.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  int st = 0;
  if (pidfd >= 0) {
    auto deadline = Clock::now() + guard;
    for (;;) {
      pollfd p{pidfd, POLLIN, 0};
      int r = ::poll(&p, 1, remaining_ms(deadline));
      if (r < 0 && errno == EINTR)
        continue;
      if (r == 0)
        ::kill(pid_, SIGKILL); // the guard passed
      break;
    }
    ::close(pidfd);
  } else {
    ::kill(pid_, SIGKILL); // no pidfd (old kernel): do not wait on a guess
  }
  ::waitpid(pid_, &st, 0);
  reaped_ = true;
  status_ = st;
  return st;
}

namespace {
std::uint64_t proc_status_kb(pid_t pid, const char *key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  std::string prefix = std::string(key) + ":";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0)
      return std::stoull(line.substr(prefix.size())) * 1024;
  return 0;
}
} // namespace

std::uint64_t vm_hwm(pid_t pid) { return proc_status_kb(pid, "VmHWM"); }
std::uint64_t vm_rss(pid_t pid) { return proc_status_kb(pid, "VmRSS"); }

// --- HTTP/1.1 -----------------------------------------------------------------------------

namespace {
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}
} // namespace

const std::string *HttpResponse::header(std::string_view name) const {
  for (const auto &[k, v] : headers)
    if (iequals(k, name))
      return &v;
  return nullptr;
}

std::size_t parse_response(std::string_view buf, HttpResponse &out, bool body_wanted) {
  std::size_t head_end = buf.find("\r\n\r\n");
  if (head_end == std::string_view::npos)
    return 0;
  std::string_view head = buf.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/")
    throw BenchError("malformed HTTP status line: " + std::string(status_line.substr(0, 80)));
  out.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  out.headers.clear();
  out.body.clear();
  long long content_length = -1;
  bool chunked = false;
  std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos)
      e = head.size();
    std::string_view line = head.substr(pos, e - pos);
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
      if (iequals(name, "Content-Length"))
        content_length = std::atoll(std::string(value).c_str());
      else if (iequals(name, "Transfer-Encoding") && value.find("chunked") != std::string_view::npos)
        chunked = true;
      out.headers.emplace_back(std::string(name), std::string(value));
    }
    pos = e + 2;
  }
  std::size_t body_start = head_end + 4;
  if (chunked) {
    std::size_t p = body_start;
    for (;;) {
      std::size_t e = buf.find("\r\n", p);
      if (e == std::string_view::npos)
        return 0;
      std::size_t size = std::stoul(std::string(buf.substr(p, e - p)), nullptr, 16);
      if (buf.size() < e + 2 + size + 2)
        return 0;
      if (size == 0) {
        // No trailers from the servers benchmarked here: "0\r\n\r\n".
        return e + 4;
      }
      if (body_wanted)
        out.body.append(buf.substr(e + 2, size));
      p = e + 2 + size + 2;
    }
  }
  std::size_t length = content_length < 0 ? 0 : static_cast<std::size_t>(content_length);
  if (buf.size() < body_start + length)
    return 0;
  if (body_wanted)
    out.body.assign(buf.substr(body_start, length));
  return body_start + length;
}

Url parse_url(const std::string &url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    throw BenchError("not an http URL: " + url);
  std::string rest = url.substr(scheme.size());
  std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  Url u;
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::size_t colon = authority.rfind(':');
  u.host = authority.substr(0, colon);
  u.port = std::stoi(authority.substr(colon + 1));
  return u;
}

namespace {
std::string request_head(const char *method, const Url &url, const std::string &path,
                         const std::vector<std::pair<std::string, std::string>> &headers) {
  std::string r = std::string(method) + " " + path + " HTTP/1.1\r\nHost: " + url.host + ":" +
                  std::to_string(url.port) + "\r\n";
  for (const auto &[k, v] : headers)
    r += k + ": " + v + "\r\n";
  return r;
}
} // namespace

std::string http_post(const Url &url, const std::string &path, const std::string &body,
                      const std::vector<std::pair<std::string, std::string>> &headers) {
  std::string r = request_head("POST", url, path, headers);
  r += "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: " +
       std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

std::string http_delete(const Url &url, const std::string &path,
                        const std::vector<std::pair<std::string, std::string>> &headers) {
  return request_head("DELETE", url, path, headers) + "Content-Length: 0\r\n\r\n";
}

int tcp_connect(const std::string &host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw BenchError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    throw BenchError("not an IPv4 address: " + host);
  }
  if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    throw BenchError("connect " + host + ":" + std::to_string(port) + ": " + std::strerror(e));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

HttpConnection::HttpConnection(const std::string &host, int port) : fd_(tcp_connect(host, port)) {}
HttpConnection::~HttpConnection() {
  if (fd_ >= 0)
    ::close(fd_);
}

HttpResponse HttpConnection::exchange(std::string_view request, std::chrono::milliseconds guard) {
  auto deadline = Clock::now() + guard;
  while (!request.empty()) {
    ssize_t n = ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw BenchError(std::string("HTTP send: ") + std::strerror(errno));
    request.remove_prefix(static_cast<std::size_t>(n));
  }
  HttpResponse resp;
  for (;;) {
    if (!buf_.empty()) {
      std::size_t used = parse_response(buf_, resp);
      if (used > 0) {
        buf_.erase(0, used);
        return resp;
      }
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      throw BenchError("HTTP: no complete answer within " + std::to_string(guard.count()) + " ms");
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw BenchError("HTTP: connection closed before a complete answer");
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
}

// --- MCP helpers --------------------------------------------------------------------------

std::string initialize_line(int id, const std::string &version) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"initialize","params":{"protocolVersion":")" + version +
         R"(","capabilities":{},"clientInfo":{"name":"dfmcp-bench","version":"1"}}})";
}

} // namespace bench
