// The mint ledger: which tokens this server minted, and for which client. It is what
// list_access_tokens' mintedHere, revoke.scope "minted" and limits.maxLiveMinted rely on.
// In memory, and in mint.ledgerFile (JSON lines, mode 0600) when configured, so lineage survives
// restarts.
#pragma once

#include "util/expected.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dfmcp::safety {

struct Minted {
  std::string id;
  std::string client;
  std::string display_key;
  std::string name;
  std::string created_at; // ISO-8601 UTC
};

class Ledger {
public:
  Ledger() = default; // in memory only
  // Loads and then appends to `path` (created if missing); an error names the problem.
  static Expected<std::unique_ptr<Ledger>, std::string> open(const std::string &path);
  ~Ledger();

  void minted(const Minted &entry);
  void revoked(const std::string &id);
  std::optional<Minted> find(const std::string &id) const;
  // Ids minted for `client` and not revoked through this server.
  std::vector<std::string> live_ids(const std::string &client) const;
  bool persistent() const { return fd_ >= 0; }

private:
  void append(const std::string &line);
  mutable std::mutex mutex_;
  std::map<std::string, Minted> minted_; // by token id; revoked ones removed
  int fd_ = -1;
};

std::string utc_now_iso();

} // namespace dfmcp::safety
