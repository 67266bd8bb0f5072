#include "audit/audit_log.hpp"

#include "secret.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <vector>

namespace dfmcp::audit {

namespace {

std::string now_iso() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

// Scrubs every string in a JSON value (keys included): an audit line never holds a key.
json scrubbed(const json &value) {
  if (value.is_string())
    return scrub_secrets(value.get<std::string>());
  if (value.is_array()) {
    json out = json::array();
    for (const json &v : value)
      out.push_back(scrubbed(v));
    return out;
  }
  if (value.is_object()) {
    json out = json::object();
    for (const auto &[k, v] : value.items())
      out[scrub_secrets(k)] = scrubbed(v);
    return out;
  }
  return value;
}

bool read_all(int fd, std::string &out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    if (n == 0)
      return true;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

} // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

Expected<std::unique_ptr<AuditLog>, std::string> AuditLog::open(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return unexpected("cannot open '" + path + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return unexpected("'" + path + "' is in use by another datafast-mcp process (one writer per audit file)");
  }
  std::string content;
  if (::lseek(fd, 0, SEEK_SET) < 0 || !read_all(fd, content)) {
    ::close(fd);
    return unexpected("cannot read '" + path + "': " + std::strerror(errno));
  }
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->fd_ = fd;
  log->path_ = path;

  // An incomplete last line is what a crash mid-write leaves: cut it off, and say so in the log.
  std::size_t complete = content.rfind('\n');
  complete = complete == std::string::npos ? 0 : complete + 1;
  std::size_t lost = content.size() - complete;
  if (lost > 0) {
    if (::ftruncate(fd, static_cast<off_t>(complete)) != 0)
      return unexpected("cannot repair the incomplete last line of '" + path + "': " + std::strerror(errno));
    content.resize(complete);
  }
  if (!content.empty()) {
    std::size_t start = content.rfind('\n', content.size() - 2);
    start = start == std::string::npos ? 0 : start + 1;
    std::string last = content.substr(start, content.size() - 1 - start);
    auto parsed = parse_json(last);
    if (!parsed || !parsed->is_object() || !(*parsed).contains("seq") || !(*parsed)["seq"].is_number_unsigned())
      return unexpected("the last line of '" + path + "' is not an audit record; check the file with "
                        "datafast-mcp audit verify");
    log->seq_ = (*parsed)["seq"].get<std::uint64_t>();
    log->prev_ = sha256_hex(last);
  }
  if (lost > 0) {
    spdlog::warn("audit: '{}' ended with an incomplete line ({} bytes, an interrupted write); removed it "
                 "and recorded the repair", path, lost);
    log->append_event("repaired", json{{"removedBytes", lost}});
  }
  return log;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0)
    ::close(fd_); // releases the lock
}

bool AuditLog::write_line(json line) {
  std::lock_guard lock(mutex_);
  line["seq"] = seq_ + 1;
  line["time"] = now_iso();
  line["prev"] = prev_;
  std::string text = dump_json(line);
  std::string out = text + "\n";
  // One write of the whole line (O_APPEND): a crash can cut it short, never interleave it.
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::write(fd_, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      spdlog::error("audit: writing to '{}' failed: {}", path_, std::strerror(errno));
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  ::fdatasync(fd_);
  ++seq_;
  prev_ = sha256_hex(text);
  return true;
}

bool AuditLog::append(const Record &r) {
  json line{{"transport", r.transport},
            {"client", r.client},
            {"tool", r.tool},
            {"args", scrubbed(r.arguments)},
            {"decision", r.decision}};
  if (!r.reason.empty())
    line["reason"] = scrub_secrets(r.reason);
  if (r.upstream_status)
    line["upstreamStatus"] = *r.upstream_status;
  if (r.token_id)
    line["tokenId"] = scrub_secrets(*r.token_id);
  if (r.display_key)
    line["displayKey"] = scrub_secrets(*r.display_key);
  return write_line(std::move(line));
}

bool AuditLog::append_event(const std::string &event, json details) {
  json line = scrubbed(details);
  line["event"] = event;
  return write_line(std::move(line));
}

std::uint64_t AuditLog::records() const {
  std::lock_guard lock(mutex_);
  return seq_;
}

std::string AuditLog::head() const {
  std::lock_guard lock(mutex_);
  return prev_;
}

VerifyReport verify_chain(const std::vector<std::string> &lines) {
  VerifyReport report;
  std::string prev = kGenesis;
  std::uint64_t n = 0;
  for (const std::string &line : lines) {
    ++n;
    auto parsed = parse_json(line);
    auto fail = [&](std::string why) {
      report.status = VerifyReport::Status::Broken;
      report.bad_line = n;
      report.problem = "line " + std::to_string(n) + ": " + why;
    };
    if (!parsed || !parsed->is_object()) {
      fail("not a JSON audit record (edited or corrupted)");
      break;
    }
    const json &j = *parsed;
    if (!j.contains("prev") || !j["prev"].is_string() || j["prev"] != prev) {
      fail(n == 1 ? "does not start the chain (lines were removed from the start)"
                  : "does not carry the hash of line " + std::to_string(n - 1) +
                        ": line " + std::to_string(n - 1) + " was edited, or lines were removed or inserted here");
      break;
    }
    if (!j.contains("seq") || !j["seq"].is_number_unsigned() || j["seq"].get<std::uint64_t>() != n) {
      fail("sequence number " + (j.contains("seq") ? dump_json(j["seq"]) : std::string("missing")) +
           ", expected " + std::to_string(n));
      break;
    }
    prev = sha256_hex(line);
    report.lines = n;
  }
  report.head = prev;
  return report;
}

Expected<VerifyReport, std::string> verify(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return unexpected("cannot open '" + path + "'");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines;
  std::size_t pos = 0;
  bool incomplete = false;
  while (pos < content.size()) {
    std::size_t end = content.find('\n', pos);
    if (end == std::string::npos) {
      incomplete = true;
      break;
    }
    lines.push_back(content.substr(pos, end - pos));
    pos = end + 1;
  }
  VerifyReport report = verify_chain(lines);
  if (incomplete && report.status == VerifyReport::Status::Intact) {
    std::uint64_t n = lines.size() + 1;
    report.status = VerifyReport::Status::IncompleteTail;
    report.bad_line = n;
    report.problem = "line " + std::to_string(n) + " is incomplete (no newline): a write was "
                     "interrupted, e.g. by a crash; the " + std::to_string(n - 1) +
                     " lines before it are intact, and the server removes it at its next start";
  }
  return report;
}

} // namespace dfmcp::audit
