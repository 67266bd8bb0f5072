// The lease reaper: due tokens revoked once (even with two instances sweeping one database), 404
// counted as done, failures retried with backoff, and a running reaper on time.
#include "state/file_store.hpp"
#include "state/postgres_store.hpp"
#include "support/pg_cluster.hpp"
#include "tools/lease_reaper.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

using namespace dfmcp;
using namespace dfmcp::state;
using namespace std::chrono_literals;

namespace {

// Records every DELETE; answers each id as told (ok, 404, or a 503).
class RevokeRecorder final : public upstream::AccountApi {
public:
  std::map<std::string, upstream::ErrorKind> fail; // by id; absent: revoked
  std::chrono::milliseconds timeout() const override { return 5s; }
  Expected<std::vector<model::AccessToken>, upstream::UpstreamError> list(CancelToken *, upstream::Deadline) override {
    return std::vector<model::AccessToken>{};
  }
  Expected<std::vector<model::Website>, upstream::UpstreamError> list_websites(CancelToken *,
                                                                              upstream::Deadline) override {
    return std::vector<model::Website>{};
  }
  Expected<model::CreatedToken, upstream::UpstreamError> create(const policy::CreatePlan &, CancelToken *,
                                                                upstream::Deadline) override {
    return unexpected(upstream::UpstreamError(upstream::ErrorKind::ServerError, 500, "not here"));
  }
  Expected<Ok, upstream::UpstreamError> revoke(const std::string &id, CancelToken *, upstream::Deadline) override {
    std::lock_guard lock(mutex);
    revoked.push_back(id);
    changed.notify_all();
    if (auto it = fail.find(id); it != fail.end())
      return unexpected(upstream::UpstreamError(it->second, it->second == upstream::ErrorKind::NotFound ? 404 : 503,
                                                "no"));
    return Ok{};
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> revoked;
};

MintedToken token(const std::string &id, Clock::time_point now, Clock::time_point expires) {
  return {id, "c", "dft_abc...wxyz", "job", now, expires, std::nullopt};
}

void mint(Store &s, const MintedToken &m) {
  auto slot = s.reserve_create(m.client, {}, m.created_at);
  REQUIRE(slot);
  REQUIRE(s.finish_create(std::get<Slot>(*slot), m));
}

std::unique_ptr<Store> memory_store() {
  auto s = open_file_store({});
  REQUIRE(s);
  return std::move(*s);
}

} // namespace

TEST_SUITE("lease-reaper") {

TEST_CASE("a sweep revokes what is due, counts 404 as done, and retries a failure with backoff") {
  auto store = memory_store();
  RevokeRecorder api;
  api.fail["gone"] = upstream::ErrorKind::NotFound;
  api.fail["flaky"] = upstream::ErrorKind::ServerError;
  auto now = Clock::now();
  mint(*store, token("due", now - 1h, now - 1s));
  mint(*store, token("gone", now - 1h, now - 1s));
  mint(*store, token("flaky", now - 1h, now - 1s));
  mint(*store, token("later", now, now + 1h));
  std::vector<tools::LeaseOutcome> reported;
  tools::ReaperOptions o;
  tools::LeaseReaper reaper(*store, api, o, [&](const tools::LeaseOutcome &x) { reported.push_back(x); });
  auto out = reaper.sweep(now);
  REQUIRE(out.size() == 3);
  CHECK(reported.size() == 3);
  std::map<std::string, tools::LeaseOutcome> by_id;
  for (auto &x : out)
    by_id[x.token_id] = x;
  CHECK(by_id["due"].kind == tools::LeaseOutcome::Kind::Revoked);
  CHECK(by_id["gone"].kind == tools::LeaseOutcome::Kind::AlreadyGone);
  CHECK(by_id["flaky"].kind == tools::LeaseOutcome::Kind::Failed);
  CHECK(by_id["flaky"].attempts == 1);
  REQUIRE(by_id["flaky"].retry_at);
  CHECK(*by_id["flaky"].retry_at - now == reaper.backoff(1));
  auto live = store->live_minted("");
  REQUIRE(live);
  REQUIRE(live->size() == 2); // flaky (still due later) and later
  // Before the retry time nothing is sent; after it, the failure is tried again.
  CHECK(reaper.sweep(now + 1s).empty());
  api.fail.erase("flaky");
  auto again = reaper.sweep(now + reaper.backoff(1));
  REQUIRE(again.size() == 1);
  CHECK(again[0].token_id == "flaky");
  CHECK(again[0].kind == tools::LeaseOutcome::Kind::Revoked);
  CHECK(again[0].attempts == 2);
  std::vector<std::string> sent = api.revoked;
  std::sort(sent.begin(), sent.end());
  CHECK(sent == std::vector<std::string>{"due", "flaky", "flaky", "gone"}); // "later" never
}

TEST_CASE("backoff doubles from the base and stops at the cap") {
  auto store = memory_store();
  RevokeRecorder api;
  tools::ReaperOptions o;
  o.backoff_base = 1000ms;
  o.backoff_max = 5000ms;
  tools::LeaseReaper reaper(*store, api, o, nullptr);
  CHECK(reaper.backoff(1) == 1000ms);
  CHECK(reaper.backoff(2) == 2000ms);
  CHECK(reaper.backoff(3) == 4000ms);
  CHECK(reaper.backoff(4) == 5000ms);
  CHECK(reaper.backoff(40) == 5000ms);
}

TEST_CASE("a running reaper revokes a token when its lifetime is up, without being told") {
  auto store = memory_store();
  RevokeRecorder api;
  auto now = Clock::now();
  mint(*store, token("soon", now, now + 300ms));
  tools::ReaperOptions o;
  o.poll = 100ms;
  tools::LeaseReaper reaper(*store, api, o, nullptr);
  reaper.start();
  {
    std::unique_lock lock(api.mutex);
    REQUIRE(api.changed.wait_for(lock, 10s, [&] { return !api.revoked.empty(); })); // a guard, not a delay
    CHECK(Clock::now() >= now + 300ms); // not before its time
    CHECK(api.revoked == std::vector<std::string>{"soon"});
  }
  reaper.stop();
}

TEST_CASE("two instances sweeping one database revoke each due token exactly once") {
  static test::PgCluster cluster; // this file's own cluster (the state tests have theirs)
  std::string url = cluster.create_database();
  auto a = open_postgres_store(Secret(url), 5s);
  auto b = open_postgres_store(Secret(url), 5s);
  REQUIRE(a);
  REQUIRE(b);
  auto now = Clock::now();
  for (int i = 0; i < 40; ++i)
    mint(**a, token("T" + std::to_string(i), now - 1h, now - 1s));
  RevokeRecorder api; // one DataFast for both instances
  tools::LeaseReaper ra(**a, api, {}, nullptr);
  tools::LeaseReaper rb(**b, api, {}, nullptr);
  std::thread ta([&] { ra.sweep(now); });
  std::thread tb([&] { rb.sweep(now); });
  ta.join();
  tb.join();
  std::map<std::string, int> times;
  for (const std::string &id : api.revoked)
    ++times[id];
  CHECK(times.size() == 40);
  for (const auto &[id, n] : times)
    CHECK_MESSAGE(n == 1, id);
  CHECK((*a)->live_minted("")->empty());
}

}
