// The soak: the real binary over Streamable HTTP, against a sandbox DataFast account on loopback
// (real HTTPS, a CA made for this run), with a bounded number of concurrent clients mixing
// list/create/revoke/get_token_ceiling and a refused create, for a bounded time. Half the clients
// keep legacy sessions (ended and reopened every so often), half speak the stateless 2026-07-28
// protocol; every client reconnects every so often.
//
// It fails (exit 1) on any protocol error, an unexpected isError, a token lost (created but not
// in the next list, or still in the account at the end) or duplicated (a name or id twice, or
// more POSTs than creates), an audit chain that does not verify or misses a call, or memory or
// descriptors that keep growing after warm-up. It prints the figures as a table and a JSON line.
//
//   dfmcp_soak BINARY [--seconds N] [--clients N] [--no-memory-check]
#include "sandbox/sandbox.hpp"
#include "support/process.hpp"
#include "support/raw_http.hpp"
#include "util/json_input.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace dfmcp;
using namespace dfmcp::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char *kPermissions = "analytics:read,goals:read,websites:read";

struct Options {
  std::string binary;
  int seconds = 180;
  int clients = 16;
  bool memory_check = true;
};

// What every client saw, merged at the end.
struct Totals {
  std::mutex mutex;
  std::uint64_t requests = 0, creates = 0, revokes = 0, lists = 0, refusals = 0, reconnects = 0,
                sessions = 0;
  std::vector<std::string> problems;   // protocol errors, unexpected results: each one fails the run
  std::set<std::string> created_ids;   // every id a create returned
  std::set<std::string> revoked_ids;   // every id a revoke confirmed
  std::vector<double> latencies_ms;    // one per request
  void problem(std::string what) {
    std::lock_guard lock(mutex);
    if (problems.size() < 50)
      problems.push_back(std::move(what));
    else if (problems.size() == 50)
      problems.emplace_back("(more problems left out)");
  }
};

class Client {
public:
  Client(int index, int port, bool modern, Totals &totals)
      : index_(index), port_(port), modern_(modern), totals_(totals) {}

  void run(const std::atomic<bool> &stop) {
    std::vector<double> latencies;
    std::uint64_t requests = 0, creates = 0, revokes = 0, lists = 0, refusals = 0, reconnects = 0, sessions = 0;
    std::set<std::string> created, revoked;
    auto call = [&](const std::string &tool, json args) -> std::optional<json> {
      auto start = Clock::now();
      auto result = tool_call(tool, std::move(args));
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      ++requests;
      return result;
    };

    for (std::uint64_t round = 0; !stop.load(); ++round) {
      if (round % 25 == 0) { // a new connection every 25 rounds
        conn_.reset();
        if (round > 0)
          ++reconnects;
      }
      if (!modern_ && (session_.empty() || round % 50 == 0)) { // a new session every 50 rounds
        if (!session_.empty() && !end_session())
          return;
        if (!open_session())
          return;
        ++sessions;
      }
      const std::string name = "soak-c" + std::to_string(index_) + "-r" + std::to_string(round);

      // All websites, one, or two of them, in turn.
      json sites = json::array();
      for (std::size_t i = 0; i < round % 3; ++i)
        sites.push_back(sandbox::Account::seeded_website_ids()[i]);
      auto made = call("create_access_token",
                       {{"name", name}, {"permissions", {"analytics:read"}}, {"websiteIds", std::move(sites)}});
      if (!made)
        return;
      if (!ok(*made, "create"))
        return;
      const std::string id = (*made)["structuredContent"]["token"]["id"].get<std::string>();
      if (!created.insert(id).second)
        return fail("create returned an id it had returned before: " + id);
      ++creates;

      auto listed = call("list_access_tokens", json::object());
      if (!listed || !ok(*listed, "list"))
        return;
      ++lists;
      if (!holds(*listed, id))
        return fail("token " + id + " (" + name + ") was created but is not in the next list");

      if (round % 4 == 0) {
        auto ceiling = call("get_token_ceiling", json::object());
        if (!ceiling || !ok(*ceiling, "get_token_ceiling"))
          return;
      }
      if (round % 5 == 0) { // beyond the ceiling: refused, and never sent upstream
        auto refused = call("create_access_token", {{"name", name + "-x"}, {"permissions", {"payments:write"}}, {"websiteIds", json::array()}});
        if (!refused)
          return;
        if (!refused->value("isError", false))
          return fail("a create beyond the ceiling was not refused: " + refused->dump());
        ++refusals;
      }

      auto gone = call("revoke_access_token", {{"tokenId", id}});
      if (!gone || !ok(*gone, "revoke"))
        return;
      revoked.insert(id);
      ++revokes;
    }
    if (!modern_ && !session_.empty())
      end_session();

    std::lock_guard lock(totals_.mutex);
    totals_.requests += requests;
    totals_.creates += creates;
    totals_.revokes += revokes;
    totals_.lists += lists;
    totals_.refusals += refusals;
    totals_.reconnects += reconnects;
    totals_.sessions += sessions;
    for (const auto &id : created)
      if (!totals_.created_ids.insert(id).second)
        totals_.problems.push_back("two clients were given the same token id " + id);
    totals_.revoked_ids.insert(revoked.begin(), revoked.end());
    totals_.latencies_ms.insert(totals_.latencies_ms.end(), latencies.begin(), latencies.end());
  }

private:
  void fail(const std::string &what) { totals_.problem("client " + std::to_string(index_) + ": " + what); }

  bool ok(const json &result, const char *what) {
    if (result.value("isError", false)) {
      fail(std::string(what) + " failed: " + result.dump());
      return false;
    }
    return true;
  }

  static bool holds(const json &list_result, const std::string &id) {
    for (const auto &t : list_result["structuredContent"]["tokens"])
      if (t.value("id", "") == id)
        return t.value("withinCeiling", false);
    return false;
  }

  std::map<std::string, std::string> headers(const std::string &method, const std::string &tool = "") const {
    std::map<std::string, std::string> h{{"Content-Type", "application/json"},
                                         {"Accept", "application/json, text/event-stream"}};
    if (modern_) {
      h["MCP-Protocol-Version"] = "2026-07-28";
      h["Mcp-Method"] = method;
      if (!tool.empty())
        h["Mcp-Name"] = tool;
    } else if (!session_.empty()) {
      h["MCP-Protocol-Version"] = "2025-11-25";
      h["Mcp-Session-Id"] = session_;
    }
    return h;
  }

  // One request on the client's kept-alive connection; nullopt (and a problem) when the
  // exchange failed at the HTTP level.
  std::optional<RawResponse> exchange(const std::string &method, const std::map<std::string, std::string> &h,
                                      const std::string &body, const std::string &what) {
    if (!conn_)
      conn_ = std::make_unique<RawConnection>(port_);
    if (!conn_->send(http_request(method, "/mcp", port_, h, body))) {
      fail(what + ": the server closed the connection");
      return std::nullopt;
    }
    auto r = conn_->read_response(std::chrono::seconds(60));
    if (!r) {
      fail(what + ": no HTTP response");
      return std::nullopt;
    }
    if (r->header("connection") == "close")
      conn_.reset();
    return r;
  }

  std::optional<json> rpc(const std::string &method, json params, const std::string &tool = "") {
    const int id = ++next_id_;
    if (modern_)
      params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                         {"io.modelcontextprotocol/clientCapabilities", json::object()}};
    json message{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
    const std::string what = method + (tool.empty() ? "" : " " + tool);
    auto r = exchange("POST", headers(method, tool), message.dump(), what);
    if (!r)
      return std::nullopt;
    if (r->status != 200) {
      fail(what + ": HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 300));
      return std::nullopt;
    }
    auto reply = parse_json(r->body);
    if (!reply || !reply->is_object() || reply->value("jsonrpc", "") != "2.0" || !reply->contains("id") ||
        (*reply)["id"] != id) {
      fail(what + ": not a JSON-RPC reply to id " + std::to_string(id) + ": " + r->body.substr(0, 300));
      return std::nullopt;
    }
    if (reply->contains("error") || !reply->contains("result")) {
      fail(what + ": JSON-RPC error " + reply->dump());
      return std::nullopt;
    }
    return (*reply)["result"];
  }

  std::optional<json> tool_call(const std::string &tool, json args) {
    auto result = rpc("tools/call", {{"name", tool}, {"arguments", std::move(args)}}, tool);
    if (result && modern_ && result->value("resultType", "complete") != "complete") {
      fail(tool + ": resultType " + result->value("resultType", ""));
      return std::nullopt;
    }
    return result;
  }

  bool open_session() {
    session_.clear();
    json params{{"protocolVersion", "2025-11-25"},
                {"capabilities", json::object()},
                {"clientInfo", {{"name", "soak-" + std::to_string(index_)}, {"version", "1"}}}};
    json message{{"jsonrpc", "2.0"}, {"id", ++next_id_}, {"method", "initialize"}, {"params", params}};
    auto r = exchange("POST", headers("initialize"), message.dump(), "initialize");
    if (!r)
      return false;
    session_ = r->header("mcp-session-id");
    if (r->status != 200 || session_.empty()) {
      fail("initialize: HTTP " + std::to_string(r->status) + ", session id '" + session_ + "'");
      return false;
    }
    auto note = exchange("POST", headers("notifications/initialized"),
                         R"({"jsonrpc":"2.0","method":"notifications/initialized"})", "initialized");
    if (!note)
      return false;
    if (note->status != 202) {
      fail("notifications/initialized: HTTP " + std::to_string(note->status));
      return false;
    }
    return true;
  }

  bool end_session() {
    auto r = exchange("DELETE", headers(""), "", "DELETE session");
    session_.clear();
    if (!r)
      return false;
    if (r->status != 200 && r->status != 204) {
      fail("DELETE session: HTTP " + std::to_string(r->status));
      return false;
    }
    return true;
  }

  int index_;
  int port_;
  bool modern_;
  Totals &totals_;
  std::unique_ptr<RawConnection> conn_;
  std::string session_;
  int next_id_ = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

int usage(const char *why) {
  std::fprintf(stderr, "dfmcp_soak: %s\nusage: dfmcp_soak BINARY [--seconds N] [--clients N] [--no-memory-check]\n", why);
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    try {
      if (a == "--seconds" && i + 1 < argc)
        o.seconds = std::stoi(argv[++i]);
      else if (a == "--clients" && i + 1 < argc)
        o.clients = std::stoi(argv[++i]);
      else if (a == "--no-memory-check")
        o.memory_check = false;
      else if (a == "-h" || a == "--help")
        return usage("a soak of the HTTP server against the sandbox"), 0;
      else if (!a.starts_with("-") && o.binary.empty())
        o.binary = a;
      else
        return usage(("unknown argument " + a).c_str());
    } catch (const std::exception &) {
      return usage(("not a number after " + a).c_str());
    }
  }
  if (o.binary.empty())
    return usage("the datafast-mcp binary is required");
  // The sandbox account holds at most 20 tokens per user, 3 of them seeded: one live token per
  // client fits.
  if (o.seconds < 10 || o.clients < 2 || o.clients > 16)
    return usage("--seconds must be at least 10 and --clients between 2 and 16");

  auto sb = sandbox::Sandbox::start();
  TempDir dir;
  const std::string ca = dir.write("ca.pem", sb->ca_pem());
  const std::string audit_file = dir.path() + "/audit.jsonl";
  auto child = Child::spawn({o.binary, "--upstream-url", sb->base_url(), "--ca-file", ca, "--permissions", kPermissions,
                        "--websites", "*", "--http", "127.0.0.1:0", "--log-level", "info", "--audit-file", audit_file,
                        "--ledger-file", dir.path() + "/ledger.jsonl"},
                       {{"DATAFAST_TOKEN", sb->parent_token().reveal()}});
  if (!child->wait_for_stderr("serving MCP over HTTP at http://127.0.0.1:")) {
    std::fprintf(stderr, "dfmcp_soak: the server did not start:\n%s\n", child->all_stderr().c_str());
    return 1;
  }
  const std::string err = child->all_stderr();
  const int port = std::stoi(err.substr(err.find("http://127.0.0.1:") + 17));
  const pid_t pid = child->pid();
  const std::size_t tokens_before = [&] {
    std::size_t n = 0;
    sb->with_account([&](sandbox::Account &a) { n = a.tokens().size(); });
    return n;
  }();

  Totals totals;
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<std::thread> threads;
  const auto started = Clock::now();
  const ProcessStats at_start = process_stats(pid);
  for (int i = 0; i < o.clients; ++i) // all made first: a thread must not read the vector while it grows
    clients.push_back(std::make_unique<Client>(i, port, i % 2 == 1, totals));
  for (auto &client : clients)
    threads.emplace_back([&stop, c = client.get()] { c->run(stop); });

  // Samples every second; the warm-up is the first fifth of the run (at least 5 s).
  const auto warm_up = std::max(std::chrono::seconds(5), std::chrono::seconds(o.seconds / 5));
  const auto end = started + std::chrono::seconds(o.seconds);
  ProcessStats warm{}, last{}, peak{};
  bool warmed = false;
  std::mutex m;
  std::condition_variable cv;
  for (auto next = started + std::chrono::seconds(1); Clock::now() < end; next += std::chrono::seconds(1)) {
    {
      std::unique_lock lock(m);
      cv.wait_until(lock, std::min(next, end)); // a sampling interval, not a synchronisation
    }
    last = process_stats(pid);
    peak.rss_kib = std::max(peak.rss_kib, last.rss_kib);
    peak.fds = std::max(peak.fds, last.fds);
    peak.threads = std::max(peak.threads, last.threads);
    if (!warmed && Clock::now() >= started + warm_up) {
      warm = last;
      warmed = true;
    }
    std::lock_guard lock(totals.mutex);
    if (!totals.problems.empty())
      break;
  }
  stop = true;
  for (auto &t : threads)
    t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();

  // Nothing lost, nothing duplicated: every created token was revoked and is gone from the
  // account; the sandbox saw exactly one POST per create the server allowed, each name once.
  std::size_t tokens_after = 0;
  std::set<std::string> leftover;
  sb->with_account([&](sandbox::Account &a) {
    tokens_after = a.tokens().size();
    for (const auto &t : a.tokens())
      if (totals.created_ids.count(t.id))
        leftover.insert(t.id);
  });
  std::size_t posts = 0, deletes = 0;
  std::map<std::string, int> posted_names;
  for (const auto &r : sb->requests()) {
    if (r.method == "POST") {
      ++posts;
      if (auto body = parse_json(r.body))
        ++posted_names[body->value("name", "")];
    } else if (r.method == "DELETE") {
      ++deletes;
    }
  }
  if (!leftover.empty())
    totals.problems.push_back(std::to_string(leftover.size()) + " created token(s) still in the account");
  if (tokens_after != tokens_before && totals.problems.empty())
    totals.problems.push_back("the account held " + std::to_string(tokens_before) + " tokens before and " +
                              std::to_string(tokens_after) + " after");
  if (posts != totals.creates)
    totals.problems.push_back(std::to_string(posts) + " POSTs reached DataFast for " + std::to_string(totals.creates) +
                              " creates (a refused create was sent, or a POST twice)");
  for (const auto &[name, n] : posted_names)
    if (n != 1)
      totals.problems.push_back("the name " + name + " was posted " + std::to_string(n) + " times");
  if (totals.revoked_ids != totals.created_ids && totals.problems.empty())
    totals.problems.push_back("not every created token was revoked");

  // The audit log: one record per tool call made, and a chain that verifies.
  child->signal(SIGTERM);
  std::optional<int> exit_code = child->wait(std::chrono::seconds(30));
  if (exit_code != 0)
    totals.problems.push_back("the server did not exit cleanly on SIGTERM (" +
                              (exit_code ? std::to_string(*exit_code) : std::string("still running")) +
                              "): " + child->all_stderr().substr(0, 2000));
  std::ifstream audit(audit_file);
  std::uint64_t audited_creates = 0, audited_revokes = 0, audited_refusals = 0;
  for (std::string line; std::getline(audit, line);) {
    auto rec = parse_json(line);
    if (!rec)
      continue;
    const std::string tool = rec->value("tool", ""), decision = rec->value("decision", "");
    audited_creates += tool == "create_access_token" && decision == "allowed";
    audited_refusals += tool == "create_access_token" && decision == "refused";
    audited_revokes += tool == "revoke_access_token" && decision == "allowed";
  }
  if (audited_creates != totals.creates || audited_revokes != totals.revokes || audited_refusals != totals.refusals)
    totals.problems.push_back("the audit log holds " + std::to_string(audited_creates) + " creates, " +
                              std::to_string(audited_revokes) + " revokes and " + std::to_string(audited_refusals) +
                              " refusals; the clients made " + std::to_string(totals.creates) + ", " +
                              std::to_string(totals.revokes) + " and " + std::to_string(totals.refusals));
  RunResult verify = run({o.binary, "audit", "verify", audit_file}, {});
  if (verify.code != 0)
    totals.problems.push_back("audit verify exited " + std::to_string(verify.code) + ": " + verify.out + verify.err);

  // Flat after warm-up: memory within 10% + 2 MiB of the warm figure, descriptors within the
  // clients' own connections (each may be between a close and a reconnect).
  const long rss_limit = warm.rss_kib + warm.rss_kib / 10 + 2048;
  const long fd_limit = warm.fds + o.clients;
  if (o.memory_check && warmed && last.rss_kib > rss_limit)
    totals.problems.push_back("RSS grew after warm-up: " + std::to_string(warm.rss_kib) + " KiB -> " +
                              std::to_string(last.rss_kib) + " KiB (limit " + std::to_string(rss_limit) + ")");
  if (o.memory_check && warmed && last.fds > fd_limit)
    totals.problems.push_back("descriptors grew after warm-up: " + std::to_string(warm.fds) + " -> " +
                              std::to_string(last.fds));

  const double p50 = percentile(totals.latencies_ms, 0.50), p99 = percentile(totals.latencies_ms, 0.99);
  std::printf("soak: %d clients (%d legacy sessions, %d stateless 2026-07-28) for %.0f s\n", o.clients,
              (o.clients + 1) / 2, o.clients / 2, elapsed);
  std::printf("  requests      %10llu  (%.0f/s; tool call p50 %.2f ms, p99 %.2f ms)\n",
              static_cast<unsigned long long>(totals.requests), static_cast<double>(totals.requests) / elapsed, p50,
              p99);
  std::printf("  creates       %10llu  (POSTs upstream: %zu)\n", static_cast<unsigned long long>(totals.creates), posts);
  std::printf("  revokes       %10llu  (DELETEs upstream: %zu)\n", static_cast<unsigned long long>(totals.revokes),
              deletes);
  std::printf("  refusals      %10llu  (never sent upstream)\n", static_cast<unsigned long long>(totals.refusals));
  std::printf("  sessions      %10llu  reconnects %llu\n", static_cast<unsigned long long>(totals.sessions),
              static_cast<unsigned long long>(totals.reconnects));
  std::printf("  RSS KiB       start %ld, after warm-up %ld, end %ld, peak %ld\n", at_start.rss_kib, warm.rss_kib,
              last.rss_kib, peak.rss_kib);
  std::printf("  descriptors   start %ld, after warm-up %ld, end %ld, peak %ld\n", at_start.fds, warm.fds, last.fds,
              peak.fds);
  std::printf("  threads       start %ld, end %ld, peak %ld\n", at_start.threads, last.threads, peak.threads);
  std::printf("  audit         %llu creates, %llu revokes, %llu refusals; verify exit %d\n",
              static_cast<unsigned long long>(audited_creates), static_cast<unsigned long long>(audited_revokes),
              static_cast<unsigned long long>(audited_refusals), verify.code);
  json line{{"clients", o.clients},         {"seconds", elapsed},       {"requests", totals.requests},
            {"creates", totals.creates},    {"revokes", totals.revokes}, {"refusals", totals.refusals},
            {"posts", posts},               {"p50_ms", p50},             {"p99_ms", p99},
            {"rss_kib_start", at_start.rss_kib}, {"rss_kib_warm", warm.rss_kib}, {"rss_kib_end", last.rss_kib},
            {"fds_start", at_start.fds},    {"fds_warm", warm.fds},      {"fds_end", last.fds},
            {"problems", totals.problems.size()}};
  std::printf("%s\n", line.dump().c_str());
  if (totals.requests == 0)
    totals.problems.push_back("no request was made");
  for (const auto &p : totals.problems)
    std::fprintf(stderr, "soak: FAILED: %s\n", p.c_str());
  return totals.problems.empty() ? 0 : 1;
}
