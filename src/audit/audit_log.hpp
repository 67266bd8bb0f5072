// The tamper-evident audit log (logging.auditFile): one JSON line per tool call, each carrying
// the SHA-256 of the line before it, so editing, removing or inserting a line breaks the chain at
// that point. The chain continues across restarts; a line cut short by a crash is detected, and
// repaired at the next start (the repair is itself recorded). Never holds a raw key or the parent
// token: strings are scrubbed before they are written.
#pragma once

#include "util/expected.hpp"
#include "util/json_input.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace dfmcp::audit {

struct Record {
  std::string transport; // "stdio" or "http"
  std::string client;
  std::string tool;
  json arguments = json::object(); // a summary: names, permissions, website ids, token id
  std::string decision;            // "allowed", "refused", "failed", "dry-run", "cancelled"
  std::string reason;              // why, for a refusal or failure
  std::optional<int> upstream_status;
  std::optional<std::string> token_id;
  std::optional<std::string> display_key;
};

inline constexpr const char *kGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string sha256_hex(std::string_view data);

class AuditLog {
public:
  // Opens (creating it, mode 0600) and locks the file for this process; reads where the chain
  // ends; repairs an incomplete last line. An error names the problem.
  static Expected<std::unique_ptr<AuditLog>, std::string> open(const std::string &path);
  ~AuditLog();

  // Appends one record (thread-safe). Returns false if the write failed (logged to stderr).
  bool append(const Record &record);
  // For a generic event line (start, stop, repair).
  bool append_event(const std::string &event, json details);
  // A line as it is (the caller scrubbed it): "seq", "time" and "prev" are set here.
  bool append_line(json line) { return write_line(std::move(line)); }

  std::uint64_t records() const;
  std::string head() const; // the hash the next line will carry as prev

private:
  AuditLog() = default;
  bool write_line(json line);

  mutable std::mutex mutex_;
  int fd_ = -1;
  std::string path_;
  std::uint64_t seq_ = 0;
  std::string prev_ = kGenesis;
};

struct VerifyReport {
  enum class Status { Intact, Broken, IncompleteTail };
  Status status = Status::Intact;
  std::uint64_t lines = 0;      // complete, valid lines read before any problem
  std::uint64_t bad_line = 0;   // 1-based, when not intact
  std::string problem;
  std::string head;             // hash of the last valid line (anchor it elsewhere to detect truncation)
};

// Checks the whole chain of `path`.
Expected<VerifyReport, std::string> verify(const std::string &path);
// Checks a chain given as its lines in order (a file's, or the state store's).
VerifyReport verify_chain(const std::vector<std::string> &lines);

} // namespace dfmcp::audit
