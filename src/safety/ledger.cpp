#include "safety/ledger.hpp"

#include "util/json_input.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

namespace dfmcp::safety {

std::string utc_now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Expected<std::unique_ptr<Ledger>, std::string> Ledger::open(const std::string &path) {
  auto ledger = std::make_unique<Ledger>();
  {
    std::ifstream in(path);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      auto j = parse_json(line);
      if (!j || !j->is_object() || !j->contains("event") || !j->contains("tokenId") || !(*j)["tokenId"].is_string()) {
        if (in.peek() == EOF && !line.empty())
          break; // an incomplete last line (interrupted write): ignore it
        return unexpected("line " + std::to_string(n) + " of '" + path + "' is not a ledger entry");
      }
      std::string id = (*j)["tokenId"].get<std::string>();
      if ((*j)["event"] == "minted")
        ledger->minted_[id] = Minted{id, j->value("client", ""), j->value("displayKey", ""), j->value("name", ""),
                                     j->value("time", "")};
      else if ((*j)["event"] == "revoked")
        ledger->minted_.erase(id);
    }
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return unexpected("cannot open '" + path + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return unexpected("'" + path + "' is in use by another datafast-mcp process");
  }
  ledger->fd_ = fd;
  return ledger;
}

Ledger::~Ledger() {
  if (fd_ >= 0)
    ::close(fd_);
}

void Ledger::append(const std::string &line) {
  if (fd_ < 0)
    return;
  std::string out = line + "\n";
  if (::write(fd_, out.data(), out.size()) != static_cast<ssize_t>(out.size()))
    spdlog::error("mint ledger: write failed: {}", std::strerror(errno));
  ::fdatasync(fd_);
}

void Ledger::minted(const Minted &e) {
  std::lock_guard lock(mutex_);
  minted_[e.id] = e;
  if (fd_ >= 0) // kept in memory only: nothing to format
    append(dump_json(json{{"event", "minted"}, {"tokenId", e.id}, {"client", e.client},
                        {"displayKey", e.display_key}, {"name", e.name}, {"time", e.created_at}}));
}

void Ledger::revoked(const std::string &id) {
  std::lock_guard lock(mutex_);
  if (minted_.erase(id) > 0 && fd_ >= 0)
    append(dump_json(json{{"event", "revoked"}, {"tokenId", id}, {"time", utc_now_iso()}}));
}

std::optional<Minted> Ledger::find(const std::string &id) const {
  std::lock_guard lock(mutex_);
  auto it = minted_.find(id);
  if (it == minted_.end())
    return std::nullopt;
  return it->second;
}

std::vector<std::string> Ledger::live_ids(const std::string &client) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto &[id, e] : minted_)
    if (e.client == client)
      out.push_back(id);
  return out;
}

} // namespace dfmcp::safety
