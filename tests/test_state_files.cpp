// state::Store on files (no state.url): the same decisions as the PostgreSQL store for one process,
// and what survives a restart.
#include "audit/audit_log.hpp"
#include "state/file_store.hpp"
#include "support/process.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace dfmcp;
using namespace dfmcp::state;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Store> open_files(const test::TempDir &dir, bool audit = false) {
  FileStoreOptions o;
  o.ledger_file = dir.path() + "/ledger.jsonl";
  if (audit)
    o.audit_file = dir.path() + "/audit.jsonl";
  auto s = open_file_store(o);
  REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
  return std::move(*s);
}

Slot reserve_ok(Store &s, const std::string &client, const Limits &limits, Clock::time_point now) {
  auto r = s.reserve_create(client, limits, now);
  REQUIRE(r);
  REQUIRE(std::holds_alternative<Slot>(*r));
  return std::get<Slot>(*r);
}

MintedToken minted(const std::string &id, Clock::time_point now, std::optional<Clock::time_point> expires = std::nullopt,
                   std::optional<std::string> session = std::nullopt) {
  return {id, "c", "dft_abc...wxyz", "job", now, expires, std::move(session)};
}

} // namespace

TEST_SUITE("state-files") {

TEST_CASE("quotas: the hour counts allowed creates, not failed ones; pending ones count as live") {
  test::TempDir dir;
  auto s = open_files(dir);
  auto now = Clock::now();
  REQUIRE(s->finish_create(reserve_ok(*s, "c", {2, std::nullopt}, now), std::nullopt)); // failed: released
  Slot a = reserve_ok(*s, "c", {2, std::nullopt}, now);
  REQUIRE(s->finish_create(a, minted("T1", now)));
  Slot b = reserve_ok(*s, "c", {2, 2}, now);
  auto third = s->reserve_create("c", {2, std::nullopt}, now + 1s);
  REQUIRE(third);
  REQUIRE(std::holds_alternative<QuotaRefusal>(*third));
  CHECK(std::get<QuotaRefusal>(*third).which == QuotaRefusal::Which::CreatesPerHour);
  CHECK(std::get<QuotaRefusal>(*third).used == 2);
  auto live = s->reserve_create("c", {std::nullopt, 2}, now); // T1 minted + b pending
  REQUIRE(live);
  REQUIRE(std::holds_alternative<QuotaRefusal>(*live));
  CHECK(std::get<QuotaRefusal>(*live).which == QuotaRefusal::Which::LiveMinted);
  REQUIRE(s->finish_create(b, std::nullopt));
  CHECK(std::holds_alternative<Slot>(*s->reserve_create("c", {std::nullopt, 2}, now)));
}

TEST_CASE("a restart keeps the ledger and its leases; a session-bound token of the old process is due at once") {
  test::TempDir dir;
  auto now = Clock::now();
  {
    auto s = open_files(dir);
    REQUIRE(s->finish_create(reserve_ok(*s, "c", {}, now), minted("E1", now, now + 1h)));
    REQUIRE(s->finish_create(reserve_ok(*s, "c", {}, now), minted("S1", now, std::nullopt, "sess")));
    REQUIRE(s->finish_create(reserve_ok(*s, "c", {}, now), minted("R1", now)));
    REQUIRE(s->mark_revoked("R1", now));
    CHECK(s->claim_due(now, 30s, 10)->empty()); // nothing due yet in this process
    // A second process cannot share the files.
    FileStoreOptions o;
    o.ledger_file = dir.path() + "/ledger.jsonl";
    auto second = open_file_store(o);
    REQUIRE_FALSE(second);
    CHECK(second.error().message == "'" + dir.path() + "/ledger.jsonl' is in use by another datafast-mcp process "
                                    "(instances that share a state use state.url)");
  }
  auto s = open_files(dir);
  auto live = s->live_minted("c");
  REQUIRE(live);
  std::set<std::string> ids;
  for (const MintedToken &m : *live)
    ids.insert(m.id);
  CHECK(ids == std::set<std::string>{"E1", "S1"});
  auto e1 = s->find_minted("E1");
  REQUIRE(e1);
  REQUIRE((*e1)->expires_at);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(*(*e1)->expires_at - (now + 1h)).count() == 0);
  auto due = s->claim_due(Clock::now(), 30s, 10);
  REQUIRE(due);
  REQUIRE(due->size() == 1);
  CHECK((*due)[0].token_id == "S1");
  CHECK(s->claim_due(now + 10s, 30s, 10)->empty()); // E1 is not due; S1 is claimed
  // An hour on: E1 is due, and S1 again, since its claim lapsed without a revocation.
  CHECK(s->claim_due(now + 1h, 30s, 10)->size() == 2);
}

TEST_CASE("a failed revocation stays due from its retry time, across a restart too") {
  test::TempDir dir;
  auto now = Clock::now();
  {
    auto s = open_files(dir);
    REQUIRE(s->finish_create(reserve_ok(*s, "c", {}, now), minted("F1", now - 10s, now - 1s)));
    REQUIRE(s->claim_due(now, 30s, 10)->size() == 1);
    REQUIRE(s->lease_failed("F1", now + 20s, "DataFast answered 503"));
    CHECK(s->claim_due(now + 10s, 30s, 10)->empty());
  }
  auto s = open_files(dir);
  CHECK(s->claim_due(now + 10s, 30s, 10)->empty());
  auto due = s->claim_due(now + 21s, 30s, 10);
  REQUIRE(due);
  REQUIRE(due->size() == 1);
  CHECK((*due)[0].attempts == 1);
}

TEST_CASE("the audit chain on a file: appended lines chain, and audit_lines reads them back") {
  test::TempDir dir;
  auto s = open_files(dir, true);
  std::string last;
  for (int i = 0; i < 5; ++i) {
    auto h = s->append_audit(json{{"n", i}});
    REQUIRE(h);
    last = *h;
  }
  auto lines = s->audit_lines();
  REQUIRE(lines);
  REQUIRE(lines->size() == 5);
  CHECK(audit::sha256_hex(lines->back()) == last);
  auto report = audit::verify(dir.path() + "/audit.jsonl");
  REQUIRE(report);
  CHECK(report->status == audit::VerifyReport::Status::Intact);
}

TEST_CASE("confirmation states: accepted once, forgotten after they expire") {
  test::TempDir dir;
  auto s = open_files(dir);
  auto now = Clock::now();
  CHECK(*s->use_state("n", now + 10s, now));
  CHECK_FALSE(*s->use_state("n", now + 10s, now));
  CHECK(*s->use_state("n", now + 30s, now + 11s)); // the old one expired: a sealed state would be expired too
}

}
