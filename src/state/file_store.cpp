#include "state/file_store.hpp"

#include "audit/audit_log.hpp"
#include "util/random.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

namespace dfmcp::state {

namespace {

long long to_ms(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point from_ms(long long v) { return Clock::time_point(std::chrono::milliseconds(v)); }

struct Entry {
  MintedToken token;
  bool revoked = false;
  std::optional<Clock::time_point> due;
  std::optional<Clock::time_point> claimed_until;
  int attempts = 0;
  std::string last_error;
};

struct SlotEntry {
  std::string client;
  Clock::time_point at;
  enum class State { Pending, Minted, Released } state = State::Pending;
};

class FileStore final : public Store {
public:
  std::string describe() const override {
    return ledger_path_ ? "files (mint ledger " + *ledger_path_ + ")" : std::string("memory (no mint.ledgerFile)");
  }
  Expected<Ok, StoreError> ping() override { return Ok{}; }

  // Reads the ledger, then holds it open and locked for appending.
  Expected<Ok, StoreError> open_ledger(const std::string &path) {
    ledger_path_ = path;
    std::ifstream in(path);
    std::string line;
    std::size_t n = 0;
    auto now = Clock::now();
    while (std::getline(in, line)) {
      ++n;
      auto j = parse_json(line);
      if (!j || !j->is_object() || !j->contains("event") || !j->contains("tokenId") || !(*j)["tokenId"].is_string()) {
        if (in.peek() == EOF && !line.empty())
          break; // an incomplete last line (an interrupted write): ignored
        return unexpected(StoreError{"line " + std::to_string(n) + " of '" + path + "' is not a ledger entry", false});
      }
      std::string id = (*j)["tokenId"].get<std::string>();
      const json &e = (*j)["event"];
      if (e == "minted") {
        Entry entry;
        entry.token = {id,  j->value("client", ""), j->value("displayKey", ""), j->value("name", ""),
                       now, std::nullopt,           std::nullopt};
        if (auto it = j->find("createdMs"); it != j->end() && it->is_number_integer())
          entry.token.created_at = from_ms(it->get<long long>());
        if (auto it = j->find("expiresMs"); it != j->end() && it->is_number_integer()) {
          entry.token.expires_at = from_ms(it->get<long long>());
          entry.due = entry.token.expires_at;
        }
        if (auto it = j->find("session"); it != j->end() && it->is_string()) {
          entry.token.session = it->get<std::string>();
          entry.due = now; // its session ended with the process that wrote it
        }
        entries_[id] = std::move(entry);
      } else if (e == "revoked") {
        entries_.erase(id);
      } else if (e == "leaseFailed") {
        if (auto it = entries_.find(id); it != entries_.end()) {
          ++it->second.attempts;
          if (auto r = j->find("retryMs"); r != j->end() && r->is_number_integer())
            it->second.due = std::max(from_ms(r->get<long long>()), it->second.token.session ? now : from_ms(0));
          it->second.last_error = j->value("error", "");
        }
      }
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
      return unexpected(StoreError{"cannot open '" + path + "': " + std::strerror(errno), false});
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return unexpected(StoreError{"'" + path + "' is in use by another datafast-mcp process (instances that "
                                   "share a state use state.url)",
                                   false});
    }
    fd_ = fd;
    return Ok{};
  }

  Expected<Ok, StoreError> open_audit(const std::string &path) {
    auto opened = audit::AuditLog::open(path);
    if (!opened)
      return unexpected(StoreError{opened.error(), false});
    audit_ = std::move(*opened);
    audit_path_ = path;
    return Ok{};
  }

  ~FileStore() override {
    if (fd_ >= 0)
      ::close(fd_);
  }

  Expected<std::variant<Slot, QuotaRefusal>, StoreError> reserve_create(const std::string &client,
                                                                       const Limits &limits,
                                                                       Clock::time_point now) override {
    using Out = std::variant<Slot, QuotaRefusal>;
    std::lock_guard lock(mutex_);
    if (limits.creates_per_hour) {
      int used = 0;
      std::optional<Clock::time_point> oldest;
      for (const auto &[id, s] : slots_)
        if (s.client == client && s.at > now - std::chrono::hours(1) && s.state != SlotEntry::State::Released) {
          ++used;
          oldest = oldest ? std::min(*oldest, s.at) : s.at;
        }
      if (used >= *limits.creates_per_hour)
        return Out{QuotaRefusal{QuotaRefusal::Which::CreatesPerHour, *limits.creates_per_hour, used,
                                oldest ? std::optional(*oldest + std::chrono::hours(1)) : std::nullopt}};
    }
    if (limits.live_minted) {
      int used = 0;
      for (const auto &[id, e] : entries_)
        used += e.token.client == client && !e.revoked;
      for (const auto &[id, s] : slots_)
        used += s.client == client && s.state == SlotEntry::State::Pending;
      if (used >= *limits.live_minted)
        return Out{QuotaRefusal{QuotaRefusal::Which::LiveMinted, *limits.live_minted, used, std::nullopt}};
    }
    std::int64_t id = ++next_slot_;
    slots_[id] = {client, now, SlotEntry::State::Pending};
    // Only the last hour matters: older slots go.
    std::erase_if(slots_, [&](const auto &kv) {
      return kv.second.state != SlotEntry::State::Pending && kv.second.at <= now - std::chrono::hours(1);
    });
    return Out{Slot{id}};
  }

  Expected<Ok, StoreError> finish_create(const Slot &slot, const std::optional<MintedToken> &minted) override {
    std::lock_guard lock(mutex_);
    if (auto it = slots_.find(slot.id); it != slots_.end())
      it->second.state = minted ? SlotEntry::State::Minted : SlotEntry::State::Released;
    if (!minted)
      return Ok{};
    Entry e;
    e.token = *minted;
    e.due = minted->expires_at;
    entries_[minted->id] = e;
    json line{{"event", "minted"},
              {"tokenId", minted->id},
              {"client", minted->client},
              {"displayKey", minted->display_key},
              {"name", minted->name},
              {"createdMs", to_ms(minted->created_at)}};
    if (minted->expires_at)
      line["expiresMs"] = to_ms(*minted->expires_at);
    if (minted->session)
      line["session"] = *minted->session;
    return append(line);
  }

  Expected<std::optional<MintedToken>, StoreError> find_minted(const std::string &token_id) override {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(token_id);
    if (it == entries_.end())
      return std::optional<MintedToken>();
    return std::optional<MintedToken>(it->second.token);
  }

  Expected<std::vector<MintedToken>, StoreError> live_minted(const std::string &client) override {
    std::lock_guard lock(mutex_);
    std::vector<MintedToken> out;
    for (const auto &[id, e] : entries_)
      if (!e.revoked && (client.empty() || e.token.client == client))
        out.push_back(e.token);
    std::sort(out.begin(), out.end(), [](const MintedToken &a, const MintedToken &b) { return a.created_at < b.created_at; });
    return out;
  }

  Expected<Ok, StoreError> mark_revoked(const std::string &token_id, Clock::time_point now) override {
    std::lock_guard lock(mutex_);
    if (entries_.erase(token_id) == 0)
      return Ok{};
    return append(json{{"event", "revoked"}, {"tokenId", token_id}, {"timeMs", to_ms(now)}});
  }

  Expected<std::size_t, StoreError> end_session(const std::string &session, Clock::time_point now) override {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto &[id, e] : entries_)
      if (!e.revoked && e.token.session == session) {
        e.due = e.due ? std::min(*e.due, now) : now;
        ++n;
      }
    return n;
  }

  Expected<std::vector<DueLease>, StoreError> claim_due(Clock::time_point now, std::chrono::seconds claim_for,
                                                        std::size_t max, std::chrono::seconds) override {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<Clock::time_point, std::string>> due;
    for (const auto &[id, e] : entries_)
      if (!e.revoked && e.due && *e.due <= now && (!e.claimed_until || *e.claimed_until <= now))
        due.emplace_back(*e.due, id);
    std::sort(due.begin(), due.end());
    std::vector<DueLease> out;
    for (const auto &[when, id] : due) {
      if (out.size() >= max)
        break;
      Entry &e = entries_[id];
      e.claimed_until = now + claim_for;
      out.push_back({id, e.token.client, e.attempts});
    }
    return out;
  }

  Expected<Ok, StoreError> heartbeat(Clock::time_point) override { return Ok{}; }

  Expected<Ok, StoreError> lease_failed(const std::string &token_id, Clock::time_point retry_at,
                                        const std::string &why) override {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(token_id);
    if (it == entries_.end())
      return Ok{};
    ++it->second.attempts;
    it->second.due = retry_at;
    it->second.claimed_until.reset();
    it->second.last_error = why;
    return append(json{{"event", "leaseFailed"}, {"tokenId", token_id}, {"retryMs", to_ms(retry_at)}, {"error", why}});
  }

  Expected<std::optional<Clock::time_point>, StoreError> next_due() override {
    std::lock_guard lock(mutex_);
    std::optional<Clock::time_point> next;
    for (const auto &[id, e] : entries_)
      if (!e.revoked && e.due) {
        Clock::time_point at = e.claimed_until ? std::max(*e.due, *e.claimed_until) : *e.due;
        next = next ? std::min(*next, at) : at;
      }
    return next;
  }

  Expected<std::string, StoreError> sealing_key() override {
    std::lock_guard lock(mutex_);
    if (key_.empty())
      key_ = random_hex(32);
    return key_;
  }

  Expected<bool, StoreError> use_state(const std::string &nonce, Clock::time_point expires,
                                       Clock::time_point now) override {
    std::lock_guard lock(mutex_);
    std::erase_if(used_, [&](const auto &kv) { return kv.second < now; });
    return used_.emplace(nonce, expires).second;
  }

  Expected<std::string, StoreError> append_audit(json line) override {
    if (!audit_)
      return std::string();
    if (!audit_->append_line(std::move(line)))
      return unexpected(StoreError{"cannot write to the audit file '" + audit_path_ + "'", false});
    return audit_->head();
  }

  Expected<std::vector<std::string>, StoreError> audit_lines() override {
    std::vector<std::string> out;
    if (!audit_)
      return out;
    std::ifstream in(audit_path_, std::ios::binary);
    for (std::string line; std::getline(in, line);)
      out.push_back(line);
    return out;
  }

private:
  // Called with mutex_ held.
  Expected<Ok, StoreError> append(const json &line) {
    if (fd_ < 0)
      return Ok{};
    std::string out = dump_json(line) + "\n";
    if (::write(fd_, out.data(), out.size()) != static_cast<ssize_t>(out.size()))
      return unexpected(StoreError{"cannot write to the mint ledger '" + *ledger_path_ + "': " + std::strerror(errno),
                                   false});
    ::fdatasync(fd_);
    return Ok{};
  }

  std::mutex mutex_;
  std::map<std::string, Entry> entries_; // live (not revoked) minted tokens, by id
  std::map<std::int64_t, SlotEntry> slots_;
  std::int64_t next_slot_ = 0;
  std::map<std::string, Clock::time_point> used_;
  std::string key_;
  std::optional<std::string> ledger_path_;
  int fd_ = -1;
  std::unique_ptr<audit::AuditLog> audit_;
  std::string audit_path_;
};

} // namespace

Expected<std::unique_ptr<Store>, StoreError> open_file_store(const FileStoreOptions &options) {
  auto store = std::make_unique<FileStore>();
  if (options.ledger_file)
    if (auto ok = store->open_ledger(*options.ledger_file); !ok)
      return unexpected(ok.error());
  if (options.audit_file)
    if (auto ok = store->open_audit(*options.audit_file); !ok)
      return unexpected(ok.error());
  return std::unique_ptr<Store>(std::move(store));
}

} // namespace dfmcp::state
