#include "safety/confirm.hpp"
#include "safety/key_store.hpp"
#include "safety/ledger.hpp"
#include "safety/quotas.hpp"
#include "support/process.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>

using namespace dfmcp;
using namespace dfmcp::test;

namespace {
policy::CreatePlan plan(std::vector<std::string> perms, std::vector<std::string> sites) {
  return {"x", std::move(perms), std::move(sites), false};
}
mode_t mode_of(const std::string &path) {
  struct stat st{};
  ::stat(path.c_str(), &st);
  return st.st_mode & 0777;
}
} // namespace

TEST_SUITE("safety") {

TEST_CASE("which creates need a human's yes") {
  using safety::ConfirmMode;
  CHECK(safety::create_needs_confirmation(ConfirmMode::Never, plan({"*"}, {})).empty());
  CHECK(safety::create_needs_confirmation(ConfirmMode::Writes, plan({"analytics:read"}, {"a"})).empty());
  CHECK(safety::create_needs_confirmation(ConfirmMode::Writes, plan({"funnels:read", "funnels:write"}, {"a"})) ==
        "grants funnels:write");
  CHECK(safety::create_needs_confirmation(ConfirmMode::Writes, plan({"*"}, {"a"})) == "grants full access (*)");
  CHECK(safety::create_needs_confirmation(ConfirmMode::Writes, plan({"analytics:read"}, {})) == "grants all websites");
  CHECK_FALSE(safety::create_needs_confirmation(ConfirmMode::Always, plan({"analytics:read"}, {"a"})).empty());
}

TEST_CASE("form elicitation: allowed when declared, unless only URL mode is") {
  CHECK(safety::allows_form_elicitation({{"elicitation", json::object()}}));
  CHECK(safety::allows_form_elicitation({{"elicitation", {{"form", json::object()}}}}));
  CHECK(safety::allows_form_elicitation({{"elicitation", {{"form", json::object()}, {"url", json::object()}}}}));
  CHECK_FALSE(safety::allows_form_elicitation({{"elicitation", {{"url", json::object()}}}}));
  CHECK_FALSE(safety::allows_form_elicitation(json::object()));
}

TEST_CASE("only an explicit yes confirms") {
  CHECK(safety::confirmed({{"action", "accept"}, {"content", {{"confirm", true}}}}));
  CHECK_FALSE(safety::confirmed({{"action", "accept"}, {"content", {{"confirm", false}}}}));
  CHECK_FALSE(safety::confirmed({{"action", "accept"}, {"content", {{"confirm", "true"}}}}));
  CHECK_FALSE(safety::confirmed({{"action", "accept"}}));
  CHECK_FALSE(safety::confirmed({{"action", "decline"}, {"content", {{"confirm", true}}}}));
  CHECK_FALSE(safety::confirmed({{"action", "cancel"}}));
}

TEST_CASE("sealed requestState: bound to client, tool and arguments - accepted once") {
  safety::StateSealer sealer;
  json args{{"name", "x"}, {"permissions", {"*"}}};
  std::string state = sealer.seal("alice", "create_access_token", args);
  using Check = safety::StateSealer::Check;
  CHECK(sealer.open(state, "bob", "create_access_token", args) == Check::Invalid);
  CHECK(sealer.open(state, "alice", "revoke_access_token", args) == Check::Invalid);
  CHECK(sealer.open(state, "alice", "create_access_token", json{{"name", "y"}}) == Check::Invalid);
  std::string tampered = state;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  CHECK(sealer.open(tampered, "alice", "create_access_token", args) == Check::Invalid);
  CHECK(sealer.open(state, "alice", "create_access_token", args) == Check::Valid);
  CHECK(sealer.open(state, "alice", "create_access_token", args) == Check::Replayed);
  safety::StateSealer other; // another process: another key
  CHECK(other.open(sealer.seal("alice", "t", args), "alice", "t", args) == Check::Invalid);
  std::string expired = sealer.seal("alice", "t", args, std::chrono::seconds(-1));
  CHECK(sealer.open(expired, "alice", "t", args) == Check::Expired);
}

TEST_CASE("creates per hour: a sliding window per client, and when the next one is allowed") {
  safety::CreateRate rate;
  auto t0 = std::chrono::system_clock::now();
  using namespace std::chrono_literals;
  rate.record("a", t0);
  rate.record("a", t0 + 10min);
  CHECK_FALSE(rate.next_allowed("a", 3, t0 + 20min).has_value());
  rate.record("a", t0 + 20min);
  auto next = rate.next_allowed("a", 3, t0 + 30min);
  REQUIRE(next.has_value());
  CHECK(*next == t0 + 1h);
  CHECK_FALSE(rate.next_allowed("b", 3, t0 + 30min).has_value()); // per client
  CHECK_FALSE(rate.next_allowed("a", 3, t0 + 61min).has_value()); // the first left the window
  CHECK(rate.used("a", t0 + 61min) == 2);
}

TEST_CASE("the mint ledger survives a restart when it has a file") {
  TempDir dir;
  std::string path = dir.path() + "/ledger.jsonl";
  {
    auto ledger = safety::Ledger::open(path);
    REQUIRE(ledger.has_value());
    (*ledger)->minted({"t1", "alice", "dft_abc...wxyz", "agent:one", "2026-01-01T00:00:00Z"});
    (*ledger)->minted({"t2", "bob", "dft_def...wxyz", "agent:two", "2026-01-01T00:00:00Z"});
    (*ledger)->revoked("t1");
  }
  CHECK(mode_of(path) == 0600);
  auto again = safety::Ledger::open(path);
  REQUIRE(again.has_value());
  CHECK_FALSE((*again)->find("t1").has_value());
  REQUIRE((*again)->find("t2").has_value());
  CHECK((*again)->find("t2")->client == "bob");
  CHECK((*again)->live_ids("bob") == std::vector<std::string>{"t2"});
  CHECK((*again)->live_ids("alice").empty());
}

TEST_CASE("key files: directory 0700, files 0600, never overwritten, never a path from DataFast") {
  TempDir dir;
  std::string keys = dir.path() + "/keys";
  REQUIRE(safety::prepare_key_dir(keys).has_value());
  CHECK(mode_of(keys) == 0700);
  auto path = safety::store_key(keys, "665f0b3c4d2e1a0012345678", Secret("dft_rawKEY0000000000000abcd"));
  REQUIRE(path.has_value());
  CHECK(mode_of(*path) == 0600);
  std::string content;
  std::ifstream(*path) >> content;
  CHECK(content == "dft_rawKEY0000000000000abcd");
  CHECK_FALSE(safety::store_key(keys, "665f0b3c4d2e1a0012345678", Secret("dft_other00000000000000xyz")).has_value());
  CHECK_FALSE(safety::store_key(keys, "../escape", Secret("dft_other00000000000000xyz")).has_value());
  std::string open_dir = dir.path() + "/open";
  ::mkdir(open_dir.c_str(), 0755);
  auto refused = safety::prepare_key_dir(open_dir);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().find("accessible to group or others") != std::string::npos);
}

TEST_CASE("the effective ceiling is the configured one intersected with the parent's scope") {
  auto c = policy::make_ceiling({{"analytics:read", "websites:read", "team:write"}, std::vector<std::string>{"a", "b"}});
  REQUIRE(c.has_value());
  auto e = policy::intersect(*c, {{"analytics:read", "team:read"}, {"b", "c"}});
  CHECK(e.permissions.names() == std::vector<std::string>{"analytics:read"});
  CHECK(e.websites.ids == std::vector<std::string>{"b"});
  auto all = policy::intersect(*c, {{"*"}, {}});
  CHECK(all.permissions.names() == c->permissions.names());
  CHECK(all.websites.ids == c->websites.ids);
  auto star = policy::make_ceiling({{"*"}, std::nullopt});
  auto from_parent = policy::intersect(*star, {{"goals:read", "unknown:perm"}, {"x"}});
  CHECK(from_parent.permissions.names() == std::vector<std::string>{"goals:read"});
  CHECK(from_parent.websites.ids == std::vector<std::string>{"x"});
  CHECK_FALSE(from_parent.websites.all);
}

}
