// state::Store on a real PostgreSQL 15 (a throwaway cluster this process starts): every decision
// holds across two stores on one database, as it must across two instances of a deployment.
#include "audit/audit_log.hpp"
#include "state/postgres.hpp"
#include "state/postgres_store.hpp"
#include "support/pg_cluster.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

using namespace dfmcp;
using namespace dfmcp::state;
using namespace std::chrono_literals;

namespace {

test::PgCluster &cluster() {
  static test::PgCluster c;
  return c;
}

std::unique_ptr<Store> open_store(const std::string &url) {
  auto s = open_postgres_store(Secret(url), 5s);
  REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
  return std::move(*s);
}

MintedToken minted(const std::string &id, const std::string &client, Clock::time_point now,
                   std::optional<Clock::time_point> expires = std::nullopt,
                   std::optional<std::string> session = std::nullopt) {
  return {id, client, "dft_abc...wxyz", "job " + id, now, expires, std::move(session)};
}

Slot reserve_ok(Store &s, const std::string &client, const Limits &limits, Clock::time_point now) {
  auto r = s.reserve_create(client, limits, now);
  REQUIRE(r);
  REQUIRE(std::holds_alternative<Slot>(*r));
  return std::get<Slot>(*r);
}

} // namespace

TEST_SUITE("state-postgres") {

TEST_CASE("redact_url hides the password in every form a URL or connection string takes") {
  CHECK(redact_url("postgresql://app:hunter22@db.example:5432/dfmcp?sslmode=require") ==
        "postgresql://app:***@db.example:5432/dfmcp?sslmode=require");
  CHECK(redact_url("postgresql://db.example/dfmcp?user=app&password=hunter22") ==
        "postgresql://db.example/dfmcp?user=app&password=***");
  CHECK(redact_url("host=db user=app password=hunter22 dbname=x") == "host=db user=app password=*** dbname=x");
  CHECK(redact_url("postgresql://app@db/x") == "postgresql://app@db/x");
}

TEST_CASE("the schema is created at open, and opening again (or twice at once) migrates nothing twice") {
  std::string url = cluster().create_database();
  std::vector<std::thread> openers;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i)
    openers.emplace_back([&] {
      if (open_postgres_store(Secret(url), 5s))
        ++opened;
    });
  for (auto &t : openers)
    t.join();
  CHECK(opened == 4);
  auto conn = PgConnection::open(Secret(url), 5s);
  REQUIRE(conn);
  auto v = (*conn)->exec("SELECT count(*), max(version) FROM dfmcp_schema_version");
  REQUIRE(v);
  CHECK(v->integer(0, 0) == 1); // one migration row: the lock made the others wait, then skip
  CHECK(v->integer(0, 1) == kSchemaVersion);
}

TEST_CASE("a database migrated by a newer build is refused, saying so") {
  std::string url = cluster().create_database();
  open_store(url);
  auto conn = PgConnection::open(Secret(url), 5s);
  REQUIRE(conn);
  REQUIRE((*conn)->exec("INSERT INTO dfmcp_schema_version VALUES (99)"));
  auto s = open_postgres_store(Secret(url), 5s);
  REQUIRE_FALSE(s);
  CHECK(s.error().message == "the database's datafast-mcp schema is version 99; this build knows up to version 1: "
                             "run the newer datafast-mcp, or another database");
}

TEST_CASE("the hourly create quota holds in total across two instances racing for it") {
  std::string url = cluster().create_database();
  auto a = open_store(url);
  auto b = open_store(url);
  Limits limits{5, std::nullopt};
  auto now = Clock::now();
  std::atomic<int> allowed{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i)
    threads.emplace_back([&, i] {
      Store &s = i % 2 == 0 ? *a : *b;
      auto r = s.reserve_create("ci", limits, now);
      REQUIRE(r);
      if (auto *slot = std::get_if<Slot>(&*r)) {
        ++allowed;
        REQUIRE(s.finish_create(*slot, minted("id" + std::to_string(i), "ci", now)));
      } else {
        ++refused;
      }
    });
  for (auto &t : threads)
    t.join();
  CHECK(allowed == 5);
  CHECK(refused == 7);
  // Another client has its own hour; an hour later this one may create again.
  CHECK(std::holds_alternative<Slot>(*a->reserve_create("other", limits, now)));
  auto full = b->reserve_create("ci", limits, now + 1s);
  REQUIRE(full);
  REQUIRE(std::holds_alternative<QuotaRefusal>(*full));
  const auto &q = std::get<QuotaRefusal>(*full);
  CHECK(q.which == QuotaRefusal::Which::CreatesPerHour);
  CHECK(q.used == 5);
  REQUIRE(q.retry_at);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(*q.retry_at - (now + 1h)).count() == 0);
  auto later = a->reserve_create("ci", limits, now + 1h + 1ms);
  REQUIRE(later);
  CHECK(std::holds_alternative<Slot>(*later));
}

TEST_CASE("a create that failed does not count against the hour; a pending one counts as live") {
  std::string url = cluster().create_database();
  auto s = open_store(url);
  auto now = Clock::now();
  Slot failed = reserve_ok(*s, "c", {1, std::nullopt}, now);
  REQUIRE(s->finish_create(failed, std::nullopt));
  Slot ok = reserve_ok(*s, "c", {1, std::nullopt}, now); // the failed one was released
  // Live: one pending slot counts, so a second create under maxLiveMinted 1 waits for it.
  auto second = s->reserve_create("c", {std::nullopt, 1}, now);
  REQUIRE(second);
  REQUIRE(std::holds_alternative<QuotaRefusal>(*second));
  CHECK(std::get<QuotaRefusal>(*second).which == QuotaRefusal::Which::LiveMinted);
  REQUIRE(s->finish_create(ok, minted("T1", "c", now)));
  auto live = s->live_minted("c");
  REQUIRE(live);
  REQUIRE(live->size() == 1);
  CHECK((*live)[0].id == "T1");
  REQUIRE(s->mark_revoked("T1", now));
  CHECK(std::holds_alternative<Slot>(*s->reserve_create("c", {std::nullopt, 1}, now)));
}

TEST_CASE("a token minted through one instance is found, live and revocable through the other") {
  std::string url = cluster().create_database();
  auto a = open_store(url);
  auto b = open_store(url);
  auto now = Clock::now();
  Slot slot = reserve_ok(*a, "ci", {}, now);
  REQUIRE(a->finish_create(slot, minted("665f00000000000000000001", "ci", now, now + 60s)));
  auto found = b->find_minted("665f00000000000000000001");
  REQUIRE(found);
  REQUIRE(found->has_value());
  CHECK((*found)->client == "ci");
  REQUIRE((*found)->expires_at);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(*(*found)->expires_at - (now + 60s)).count() == 0);
  REQUIRE(b->mark_revoked("665f00000000000000000001", now));
  CHECK(a->live_minted("ci")->empty());
}

TEST_CASE("a due lease is claimed by exactly one of two instances racing, and again after a failure") {
  std::string url = cluster().create_database();
  auto a = open_store(url);
  auto b = open_store(url);
  auto now = Clock::now();
  for (int i = 0; i < 20; ++i)
    REQUIRE(a->finish_create(reserve_ok(*a, "ci", {}, now),
                             minted("L" + std::to_string(i), "ci", now - 10s, now - 1s)));
  REQUIRE(a->finish_create(reserve_ok(*a, "ci", {}, now), minted("future", "ci", now, now + 1h)));
  std::mutex m;
  std::multiset<std::string> claimed;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      Store &s = i % 2 ? *a : *b;
      for (;;) {
        auto got = s.claim_due(now, 30s, 3);
        REQUIRE(got);
        if (got->empty())
          return;
        std::lock_guard lock(m);
        for (const DueLease &d : *got)
          claimed.insert(d.token_id);
      }
    });
  for (auto &t : threads)
    t.join();
  CHECK(claimed.size() == 20);
  CHECK(std::set<std::string>(claimed.begin(), claimed.end()).size() == 20); // none twice
  CHECK(claimed.count("future") == 0);
  // A claim holds until it times out: a claimer that died leaves the lease to the others then.
  CHECK(b->claim_due(now + 10s, 30s, 100)->empty());
  CHECK(b->claim_due(now + 31s, 30s, 100)->size() == 20);
  // A failure puts it back, due at the retry time, with the attempt counted.
  REQUIRE(a->lease_failed("L0", now + 40s, "DataFast answered 503"));
  auto again = a->claim_due(now + 100s, 30s, 100);
  REQUIRE(again);
  bool seen = false;
  for (const DueLease &d : *again)
    if (d.token_id == "L0") {
      seen = true;
      CHECK(d.attempts == 1);
    }
  CHECK(seen);
  auto next = a->next_due();
  REQUIRE(next);
  REQUIRE(next->has_value());
}

TEST_CASE("ending a session makes its bound tokens due now, and only those") {
  std::string url = cluster().create_database();
  auto s = open_store(url);
  auto now = Clock::now();
  REQUIRE(s->finish_create(reserve_ok(*s, "c", {}, now), minted("S1", "c", now, std::nullopt, "sess-a")));
  REQUIRE(s->finish_create(reserve_ok(*s, "c", {}, now), minted("S2", "c", now, now + 1h, "sess-a")));
  REQUIRE(s->finish_create(reserve_ok(*s, "c", {}, now), minted("S3", "c", now, std::nullopt, "sess-b")));
  CHECK(s->claim_due(now, 30s, 10)->empty());
  auto ended = s->end_session("sess-a", now);
  REQUIRE(ended);
  CHECK(*ended == 2);
  auto due = s->claim_due(now, 30s, 10);
  REQUIRE(due);
  std::set<std::string> ids;
  for (const DueLease &d : *due)
    ids.insert(d.token_id);
  CHECK(ids == std::set<std::string>{"S1", "S2"});
}

TEST_CASE("tokens bound to the sessions of an instance that died become due when its heartbeat goes stale") {
  std::string url = cluster().create_database();
  auto a = open_store(url);
  auto b = open_store(url);
  auto now = Clock::now();
  REQUIRE(a->heartbeat(now));
  REQUIRE(a->finish_create(reserve_ok(*a, "c", {}, now), minted("B1", "c", now, std::nullopt, "sess-x")));
  CHECK(b->claim_due(now + 10s, 30s, 10, 30s)->empty()); // a still beats: its session may be alive
  auto due = b->claim_due(now + 31s, 30s, 10, 30s);      // a stopped beating: the session is gone
  REQUIRE(due);
  REQUIRE(due->size() == 1);
  CHECK((*due)[0].token_id == "B1");
}

TEST_CASE("a confirmation state is accepted once across instances, with one sealing key for all") {
  std::string url = cluster().create_database();
  auto a = open_store(url);
  auto b = open_store(url);
  auto ka = a->sealing_key();
  auto kb = b->sealing_key();
  REQUIRE(ka);
  REQUIRE(kb);
  CHECK(ka->size() == 64);
  CHECK(*ka == *kb);
  auto now = Clock::now();
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      auto r = (i % 2 ? *a : *b).use_state("nonce-1", now + 600s, now);
      REQUIRE(r);
      if (*r)
        ++accepted;
    });
  for (auto &t : threads)
    t.join();
  CHECK(accepted == 1);
  CHECK(*a->use_state("nonce-2", now + 600s, now));
}

TEST_CASE("audit appends from two instances at once make one unbroken chain") {
  std::string url = cluster().create_database();
  auto a = open_store(url);
  auto b = open_store(url);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int j = 0; j < 25; ++j)
        REQUIRE((i % 2 ? *a : *b).append_audit(json{{"tool", "t"}, {"n", i * 100 + j}}));
    });
  for (auto &t : threads)
    t.join();
  auto lines = a->audit_lines();
  REQUIRE(lines);
  REQUIRE(lines->size() == 100);
  audit::VerifyReport report = audit::verify_chain(*lines);
  CHECK(report.status == audit::VerifyReport::Status::Intact);
  CHECK(report.lines == 100);
  // An edit anywhere breaks it at that line.
  (*lines)[41].replace((*lines)[41].find("\"tool\":\"t\""), 10, "\"tool\":\"x\"");
  report = audit::verify_chain(*lines);
  CHECK(report.status == audit::VerifyReport::Status::Broken);
  CHECK(report.bad_line == 43);
}

TEST_CASE("the database down: calls fail as unavailable, without the password; back up: they work again") {
  std::string url = cluster().create_database();
  auto s = open_store(url);
  auto now = Clock::now();
  REQUIRE(s->ping());
  REQUIRE(cluster().stop());
  auto down = s->reserve_create("c", {}, now);
  REQUIRE_FALSE(down);
  CHECK(down.error().unavailable);
  CHECK(down.error().message.find("pw-s3cret-XYZ") == std::string::npos);
  CHECK(down.error().message.find("127.0.0.1") != std::string::npos); // says where it tried
  auto reopened = open_postgres_store(Secret(url), 2s);
  REQUIRE_FALSE(reopened);
  CHECK(reopened.error().message.find("pw-s3cret-XYZ") == std::string::npos);
  cluster().start();
  CHECK(s->ping());
  auto up = s->reserve_create("c", {}, now);
  CHECK(up);
}

}
