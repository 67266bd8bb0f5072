// Revokes minted tokens whose lease is due (their lifetime is up, or the session they were bound
// to ended). A thread sleeps until the next lease falls due, or a poll interval (another instance
// may add leases), claims the due ones from the state store (each goes to one instance only),
// revokes each at DataFast (404 counts as done: it is gone either way), and records it. A failure
// stays due and is retried with capped exponential backoff. Every outcome is reported to the
// caller, which logs and audits it.
#pragma once

#include "state/store.hpp"
#include "upstream/account_api.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dfmcp::tools {

struct LeaseOutcome {
  std::string token_id;
  std::string client;
  enum class Kind { Revoked, AlreadyGone, Failed, StoreFailed } kind = Kind::Revoked;
  std::string detail;    // for Failed / StoreFailed: why (never a secret)
  int attempts = 0;      // revocations tried so far, this one included
  std::optional<state::Clock::time_point> retry_at; // for Failed
};

struct ReaperOptions {
  std::chrono::milliseconds poll{1000};        // the longest sleep: leases other instances add
  std::chrono::seconds claim_for{60};          // a claim outlives one revocation with its retries
  std::chrono::milliseconds backoff_base{2000};
  std::chrono::milliseconds backoff_max{5 * 60 * 1000};
  std::size_t batch = 16;
};

class LeaseReaper {
public:
  using Report = std::function<void(const LeaseOutcome &)>;
  LeaseReaper(state::Store &store, upstream::AccountApi &api, ReaperOptions options, Report report);
  ~LeaseReaper(); // stops the thread
  LeaseReaper(const LeaseReaper &) = delete;
  LeaseReaper &operator=(const LeaseReaper &) = delete;

  // Revokes every lease due at `now` (claiming in batches until none is left) on this thread;
  // returns what happened. The server calls it at start (overdue ones first), `sweep` once.
  std::vector<LeaseOutcome> sweep(state::Clock::time_point now);

  // Runs sweeps on a thread of its own until stop(). wake() makes it look now (a new lease, a
  // session that ended).
  void start();
  void wake();
  void stop();

  // The delay before attempt `attempts + 1` after `attempts` failures.
  std::chrono::milliseconds backoff(int attempts) const;

private:
  void loop();
  LeaseOutcome revoke(const state::DueLease &lease, state::Clock::time_point now);

  state::Store &store_;
  upstream::AccountApi &api_;
  ReaperOptions options_;
  Report report_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

} // namespace dfmcp::tools
