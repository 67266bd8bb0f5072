// The safety state that every instance of a deployment must share: the mint ledger (what this
// deployment minted, for whom, with which lease), create quotas, due leases, used confirmation
// states and the audit chain. Each operation is one decision, taken atomically across every
// instance that shares the store. Backends: PostgreSQL (state.url) here; the files of one
// process (mint.ledgerFile, logging.auditFile) are the embedded default.
#pragma once

#include "util/expected.hpp"
#include "util/json_input.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace dfmcp::state {

using Clock = std::chrono::system_clock;

struct StoreError {
  std::string message;     // never a password
  bool unavailable = false; // the database cannot be reached (creates and revokes are refused)
};

struct MintedToken {
  std::string id;
  std::string client;
  std::string display_key;
  std::string name;
  Clock::time_point created_at;
  std::optional<Clock::time_point> expires_at; // a lifetime: revoked when due
  std::optional<std::string> session;          // ends with this session (endWithSession)
};

struct Limits {
  std::optional<int> creates_per_hour;
  std::optional<int> live_minted;
};

// A create the quotas allowed: it counts against them until finish_create says how it ended.
struct Slot {
  std::int64_t id = 0;
};

struct QuotaRefusal {
  enum class Which { CreatesPerHour, LiveMinted } which;
  int limit = 0;
  int used = 0;
  std::optional<Clock::time_point> retry_at; // for CreatesPerHour: when the oldest create leaves the hour
};

// A lease whose token is due for revocation, claimed by one instance.
struct DueLease {
  std::string token_id;
  std::string client;
  int attempts = 0; // failed revocations so far
};

class Store {
public:
  virtual ~Store() = default;

  // "PostgreSQL postgresql://dfmcp:***@127.0.0.1:5432/app", for logs and `check`.
  virtual std::string describe() const = 0;
  // Reachable now (for `check` and the start-up line).
  virtual Expected<Ok, StoreError> ping() = 0;

  // --- quotas and the mint ledger
  // Checks `client`'s limits and, when they allow one more create, holds a slot that counts
  // against both until finish_create. Atomic across instances.
  virtual Expected<std::variant<Slot, QuotaRefusal>, StoreError> reserve_create(const std::string &client,
                                                                               const Limits &limits,
                                                                               Clock::time_point now) = 0;
  // The create ended: minted (the slot becomes the ledger entry, with its lease) or not (the slot
  // is released).
  virtual Expected<Ok, StoreError> finish_create(const Slot &slot, const std::optional<MintedToken> &minted) = 0;
  virtual Expected<std::optional<MintedToken>, StoreError> find_minted(const std::string &token_id) = 0;
  // Minted for `client` and not revoked (every client when empty).
  virtual Expected<std::vector<MintedToken>, StoreError> live_minted(const std::string &client) = 0;
  virtual Expected<Ok, StoreError> mark_revoked(const std::string &token_id, Clock::time_point now) = 0;

  // --- leases
  // The tokens bound to `session` become due now.
  virtual Expected<std::size_t, StoreError> end_session(const std::string &session, Clock::time_point now) = 0;
  // Takes up to `max` due leases (expiry or retry time passed, not claimed by a live claim) for
  // the caller alone: no other caller gets them until `claim_for` has passed, so a token is
  // revoked once even with many instances, and still revoked when its claimer dies. A token bound
  // to a session of an instance that stopped beating (stale_after) is due too: its session is gone.
  virtual Expected<std::vector<DueLease>, StoreError> claim_due(Clock::time_point now, std::chrono::seconds claim_for,
                                                                std::size_t max,
                                                                std::chrono::seconds stale_after = std::chrono::seconds(30)) = 0;
  // This instance is alive (its sessions' tokens are not due merely for being bound).
  virtual Expected<Ok, StoreError> heartbeat(Clock::time_point now) = 0;
  // A claimed lease failed: it stays due, from `retry_at` on; `why` is kept for `check`.
  virtual Expected<Ok, StoreError> lease_failed(const std::string &token_id, Clock::time_point retry_at,
                                                const std::string &why) = 0;
  // When the next lease falls due (nullopt: none pending).
  virtual Expected<std::optional<Clock::time_point>, StoreError> next_due() = 0;

  // --- confirmation states (2026-07-28 requestState)
  // The key that seals them, the same for every instance (made on first use).
  virtual Expected<std::string, StoreError> sealing_key() = 0;
  // Records a state's nonce as used; true the first time across every instance.
  virtual Expected<bool, StoreError> use_state(const std::string &nonce, Clock::time_point expires,
                                               Clock::time_point now) = 0;

  // --- the audit chain
  // Appends one line, serialized with every other instance's: sets "seq", "time" and "prev" (the
  // SHA-256 of the line before), returns the new line's hash.
  virtual Expected<std::string, StoreError> append_audit(json line) = 0;
  // Every line in order, as stored (for `audit verify`).
  virtual Expected<std::vector<std::string>, StoreError> audit_lines() = 0;
};

} // namespace dfmcp::state
