// An in-memory AccountApi that records every call, for tool and session tests that need no TLS.
// Refusal tests assert calls() stays empty: nothing would have reached DataFast.
#pragma once

#include "upstream/account_api.hpp"

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace dfmcp::test {

class FakeAccountApi final : public upstream::AccountApi {
public:
  std::vector<model::AccessToken> tokens;
  std::vector<model::Website> websites;
  std::optional<upstream::UpstreamError> websites_fail_with; // list_websites fails with this when set
  std::optional<upstream::UpstreamError> fail_with; // every call fails with this when set
  // Runs at the start of every call, outside the lock (a test holds calls here to keep them in
  // flight). Set it before any call is made.
  std::function<void()> on_call;

  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<policy::CreatePlan> created() const {
    std::lock_guard lock(mutex_);
    return created_;
  }

  std::chrono::milliseconds timeout() const override { return std::chrono::seconds(5); }

  Expected<std::vector<model::AccessToken>, upstream::UpstreamError> list(CancelToken *, upstream::Deadline) override {
    if (on_call)
      on_call();
    std::lock_guard lock(mutex_);
    calls_.push_back("list");
    if (fail_with)
      return unexpected(*fail_with);
    return tokens;
  }

  Expected<model::CreatedToken, upstream::UpstreamError> create(const policy::CreatePlan &plan, CancelToken *,
                                                                upstream::Deadline) override {
    if (on_call)
      on_call();
    std::lock_guard lock(mutex_);
    calls_.push_back("create");
    if (fail_with)
      return unexpected(*fail_with);
    created_.push_back(plan);
    model::AccessToken t;
    t.id = "6600000000000000000000" + std::to_string(10 + created_.size());
    t.name = plan.name;
    t.display_key = "dft_new...abcd";
    t.scope = "user";
    t.permissions = plan.permissions;
    t.website_ids = plan.website_ids;
    tokens.push_back(t);
    return model::CreatedToken{t, Secret("dft_newRAWkey0000000000000abcd")};
  }

  Expected<Ok, upstream::UpstreamError> revoke(const std::string &id, CancelToken *, upstream::Deadline) override {
    if (on_call)
      on_call();
    std::lock_guard lock(mutex_);
    calls_.push_back("revoke " + id);
    if (fail_with)
      return unexpected(*fail_with);
    std::erase_if(tokens, [&](const model::AccessToken &t) { return t.id == id; });
    return Ok{};
  }

  Expected<std::vector<model::Website>, upstream::UpstreamError> list_websites(CancelToken *,
                                                                               upstream::Deadline) override {
    if (on_call)
      on_call();
    std::lock_guard lock(mutex_);
    calls_.push_back("websites");
    if (fail_with)
      return unexpected(*fail_with);
    if (websites_fail_with)
      return unexpected(*websites_fail_with);
    return websites;
  }

private:
  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
  std::vector<policy::CreatePlan> created_;
};

} // namespace dfmcp::test
