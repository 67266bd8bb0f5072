#include "tools/lease_reaper.hpp"

#include "upstream/errors.hpp"

#include <algorithm>

namespace dfmcp::tools {

LeaseReaper::LeaseReaper(state::Store &store, upstream::AccountApi &api, ReaperOptions options, Report report)
    : store_(store), api_(api), options_(options), report_(std::move(report)) {}

LeaseReaper::~LeaseReaper() { stop(); }

std::chrono::milliseconds LeaseReaper::backoff(int attempts) const {
  auto delay = options_.backoff_base;
  for (int i = 1; i < attempts && delay < options_.backoff_max; ++i)
    delay *= 2;
  return std::min(delay, options_.backoff_max);
}

LeaseOutcome LeaseReaper::revoke(const state::DueLease &lease, state::Clock::time_point now) {
  LeaseOutcome out;
  out.token_id = lease.token_id;
  out.client = lease.client;
  out.attempts = lease.attempts + 1;
  auto revoked = api_.revoke(lease.token_id, nullptr);
  if (revoked || revoked.error().kind == upstream::ErrorKind::NotFound) {
    out.kind = revoked ? LeaseOutcome::Kind::Revoked : LeaseOutcome::Kind::AlreadyGone;
    // If this record fails, the claim lapses and the next pass meets a 404: done then.
    if (auto recorded = store_.mark_revoked(lease.token_id, now); !recorded) {
      out.kind = LeaseOutcome::Kind::StoreFailed;
      out.detail = "revoked at DataFast, but not recorded: " + recorded.error().message;
    }
    return out;
  }
  out.kind = LeaseOutcome::Kind::Failed;
  out.detail = upstream::describe(revoked.error(), "revoke the expired token " + lease.token_id, true);
  out.retry_at = now + backoff(out.attempts);
  if (auto kept = store_.lease_failed(lease.token_id, *out.retry_at, out.detail); !kept)
    out.detail += " (and the retry could not be recorded: " + kept.error().message + ")";
  return out;
}

std::vector<LeaseOutcome> LeaseReaper::sweep(state::Clock::time_point now) {
  std::vector<LeaseOutcome> outcomes;
  for (;;) {
    auto due = store_.claim_due(now, options_.claim_for, options_.batch);
    if (!due) {
      LeaseOutcome failed;
      failed.kind = LeaseOutcome::Kind::StoreFailed;
      failed.detail = "cannot read the due leases: " + due.error().message;
      if (report_)
        report_(failed);
      outcomes.push_back(std::move(failed));
      break;
    }
    for (const state::DueLease &lease : *due) {
      LeaseOutcome o = revoke(lease, now);
      if (report_)
        report_(o);
      outcomes.push_back(std::move(o));
    }
    if (due->size() < options_.batch)
      break;
  }
  return outcomes;
}

void LeaseReaper::start() {
  std::lock_guard lock(mutex_);
  if (!thread_.joinable())
    thread_ = std::thread([this] { loop(); });
}

void LeaseReaper::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  changed_.notify_all();
}

void LeaseReaper::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable())
    thread_.join();
}

void LeaseReaper::loop() {
  for (;;) {
    auto now = state::Clock::now();
    store_.heartbeat(now);
    sweep(now);
    auto until = std::chrono::steady_clock::now() + options_.poll;
    if (auto next = store_.next_due(); next && *next) {
      auto in = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(**next - state::Clock::now()),
                         std::chrono::milliseconds(0));
      until = std::min(until, std::chrono::steady_clock::now() + in);
    }
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, until, [&] { return stopping_ || woken_; });
    if (stopping_)
      return;
    woken_ = false;
  }
}

} // namespace dfmcp::tools
