// dfmcp-bench: the benchmark driver (bench/README.md says what each figure means).
//
// It starts one DataFast sandbox (`datafast-mcp sandbox`), then measures datafast-mcp side by side
// with the floor (the least this machine can do for the same exchange) and the peer (the same
// tools on the official TypeScript SDK), every figure a median over runs taken alternately
// (A B C A B C ...). Progress goes to stderr; the table and then one JSON line go to stdout.
#include "load.hpp"
#include "proxy.hpp"
#include "support.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using json = nlohmann::json;
using namespace bench;
using std::chrono::milliseconds;

namespace {

// --- settings -----------------------------------------------------------------------------

struct Settings {
  bool quick = false;
  std::string server, floor_stdio, floor_http, node, peer_js, workdir, cat = "/bin/cat";
  std::string baseline; // an older datafast-mcp binary, for the front phase
  std::set<std::string> phases = {"start", "stdio", "create", "rss", "http", "tokens", "sessions"};
  int start_runs = 20;
  int stdio_calls = 2000, stdio_rounds = 7;
  int create_calls = 40, create_rounds = 5;
  int handshake_calls = 100;
  int rss_runs = 3;
  int http_rounds = 4;
  milliseconds http_warmup{200}, http_duration{1000};
  std::vector<int> http_clients = {1, 8, 64};
  int token_calls = 100, token_rounds = 5;
  int session_calls = 1000, session_rounds = 3;
  std::vector<int> session_counts = {1, 100, 1000};

  void make_quick() {
    quick = true;
    start_runs = 7;
    stdio_calls = 500;
    stdio_rounds = 3;
    create_calls = 15;
    create_rounds = 3;
    rss_runs = 1;
    http_rounds = 2;
    http_warmup = milliseconds(100);
    http_duration = milliseconds(300);
    token_calls = 30;
    token_rounds = 3;
    session_calls = 200;
    session_rounds = 2;
  }
};

const Clock::time_point g_t0 = Clock::now();

void progress(const std::string &what) {
  double s = std::chrono::duration<double>(Clock::now() - g_t0).count();
  std::fprintf(stderr, "[%6.1fs] %s\n", s, what.c_str());
  std::fflush(stderr);
}

std::string join(const std::vector<std::string> &v, const std::string &sep) {
  std::string out;
  for (const auto &s : v)
    out += (out.empty() ? "" : sep) + s;
  return out;
}

double round_to(double v, int digits) {
  if (std::isnan(v) || std::isinf(v))
    return v;
  double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

json num(double v, int digits = 1) {
  if (std::isnan(v) || std::isinf(v))
    return nullptr;
  return round_to(v, digits);
}

// --- the sandbox and the admin client -----------------------------------------------------

struct Sandbox {
  std::unique_ptr<Child> proc;
  std::string base_url, host, base_path, ca, token;
  int port = 0;
  std::vector<std::string> websites;

  std::string url_via(int via_port) const {
    return "https://" + host + ":" + std::to_string(via_port) + base_path;
  }
};

std::string read_text(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Sandbox start_sandbox(const Settings &s) {
  Sandbox sb;
  sb.ca = s.workdir + "/sandbox-ca.pem";
  std::string token_file = s.workdir + "/sandbox-token";
  Spawn spec;
  spec.argv = {s.server, "sandbox", "--ca-out", sb.ca, "--token-out", token_file};
  spec.pipe_stdin = false;
  sb.proc = std::make_unique<Child>(spec);
  json info = json::parse(sb.proc->read_line(milliseconds(30000)));
  sb.base_url = info.at("baseUrl").get<std::string>();
  sb.websites = info.at("websiteIds").get<std::vector<std::string>>();
  sb.token = read_text(token_file);
  while (!sb.token.empty() && (sb.token.back() == '\n' || sb.token.back() == '\r'))
    sb.token.pop_back();
  std::smatch m;
  static const std::regex re(R"(^https://([^:/]+):(\d+)(/.*)$)");
  if (!std::regex_match(sb.base_url, m, re))
    throw BenchError("unexpected sandbox baseUrl " + sb.base_url);
  sb.host = m[1];
  sb.port = std::stoi(m[2]);
  sb.base_path = m[3];
  return sb;
}

// The driver's own kept-alive HTTPS connection to the sandbox: it sets up the account, and its
// timed POST is the raw HTTPS floor of the create round trip.
class Admin {
public:
  explicit Admin(const Sandbox &sb) : sb_(sb), cli_(sb.host, sb.port) {
    cli_.set_ca_cert_path(sb.ca.c_str());
    cli_.enable_server_certificate_verification(true);
    cli_.set_keep_alive(true);
    cli_.set_tcp_nodelay(true);
    cli_.set_bearer_token_auth(sb.token.c_str());
    cli_.set_connection_timeout(5, 0);
    cli_.set_read_timeout(15, 0);
    cli_.set_write_timeout(15, 0);
  }

  json tokens() {
    auto r = send([&] { return cli_.Get((sb_.base_path + "/access-tokens").c_str()); });
    return json::parse(r->body).at("data");
  }

  // A create as datafast-mcp sends it (analytics:read on the ceiling's websites); returns the id.
  std::string create(const std::string &name, double *elapsed_us = nullptr) {
    json body{{"name", name}, {"permissions", {"analytics:read"}}, {"websiteIds", sb_.websites}};
    std::string text = body.dump();
    auto t0 = Clock::now();
    auto r = send([&] {
      return cli_.Post((sb_.base_path + "/access-tokens").c_str(), text, "application/json");
    });
    if (elapsed_us)
      *elapsed_us = us_since(t0, Clock::now());
    return json::parse(r->body).at("data").at(0).at("_id").get<std::string>();
  }

  void remove(const std::string &id) {
    send([&] { return cli_.Delete((sb_.base_path + "/access-tokens/" + id).c_str()); });
  }

  // A timed list (the raw floor of list_access_tokens).
  double timed_list() {
    auto t0 = Clock::now();
    send([&] { return cli_.Get((sb_.base_path + "/access-tokens").c_str()); });
    return us_since(t0, Clock::now());
  }

  // Own tokens other than the parent.
  std::vector<std::string> removable() {
    std::string display = "dft_" + sb_.token.substr(4, 3) + "..." + sb_.token.substr(sb_.token.size() - 4);
    std::vector<std::string> ids;
    for (const json &t : tokens())
      if (t.at("displayKey") != display)
        ids.push_back(t.at("_id").get<std::string>());
    return ids;
  }

private:
  template <typename F> httplib::Result send(F request) {
    auto r = request();
    if (!r) {
      // The sandbox closes connections idle for 60 s; cpp-httplib 0.11 does not notice before a
      // TLS request (platform-notes §3), so an idle admin connection gets one fresh retry.
      cli_.stop();
      r = request();
    }
    if (!r || r->status < 200 || r->status > 299)
      throw BenchError("sandbox request failed: " +
                       (r ? "HTTP " + std::to_string(r->status) + " " + r->body : httplib::to_string(r.error())));
    return r;
  }

  const Sandbox &sb_;
  httplib::SSLClient cli_;
};

// --- subjects -----------------------------------------------------------------------------

std::vector<std::string> server_flags(const Sandbox &sb, const std::string &upstream) {
  return {"--upstream-url", upstream, "--ca-file", sb.ca, "--permissions", "analytics:read,websites:read",
          "--websites", join(sb.websites, ",")};
}

// The same flags and parent token for either server, after its own command.
Spawn server_spec(std::vector<std::string> command, const Sandbox &sb, const std::vector<std::string> &extra,
                  const std::string &upstream) {
  Spawn spec;
  spec.argv = std::move(command);
  for (auto &f : server_flags(sb, upstream.empty() ? sb.base_url : upstream))
    spec.argv.push_back(f);
  for (auto &e : extra)
    spec.argv.push_back(e);
  spec.env_extra = {{"DATAFAST_TOKEN", sb.token}};
  return spec;
}

Spawn dfmcp_spec(const Settings &s, const Sandbox &sb, std::vector<std::string> extra = {},
                 const std::string &upstream = "") {
  return server_spec({s.server}, sb, extra, upstream);
}

Spawn peer_spec(const Settings &s, const Sandbox &sb, std::vector<std::string> extra = {},
                const std::string &upstream = "") {
  Spawn spec = server_spec({s.node, s.peer_js}, sb, extra, upstream);
  // Node reads these at start-up (NODE_EXTRA_CA_CERTS parses a whole CA bundle): a machine-wide
  // setting of the environment the driver runs in, not part of the peer.
  spec.env_remove = {"NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"};
  return spec;
}

Spawn plain_spec(std::vector<std::string> argv) {
  Spawn spec;
  spec.argv = std::move(argv);
  return spec;
}

std::string tools_list_line(int id) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":"tools/list","params":{}})";
}

std::string tool_call_line(int id, const std::string &name, const json &args) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"},
              {"params", {{"name", name}, {"arguments", args}}}}
      .dump();
}

// An MCP client on a child's stdio.
class StdioMcp {
public:
  StdioMcp(const Spawn &spec, std::string name) : name_(std::move(name)), child_(spec) {
    std::string reply = call(initialize_line(1));
    if (reply.find("\"result\"") == std::string::npos)
      throw BenchError(name_ + ": initialize failed: " + reply.substr(0, 300));
    child_.write(R"({"jsonrpc":"2.0","method":"notifications/initialized"})" "\n");
  }
  std::string call(const std::string &line) {
    child_.write(line + "\n");
    return child_.read_line();
  }
  int next_id() { return ++id_; }
  // A tool call whose result must not be an error; returns structuredContent.
  json tool(const std::string &tool, const json &args) {
    std::string reply = call(tool_call_line(next_id(), tool, args));
    json j = json::parse(reply);
    if (!j.contains("result") || j["result"].value("isError", false))
      throw BenchError(name_ + ": " + tool + " failed: " + reply.substr(0, 500));
    return j["result"].value("structuredContent", json::object());
  }
  Child &child() { return child_; }
  const std::string &name() const { return name_; }

private:
  std::string name_;
  Child child_;
  int id_ = 1000;
};

// --- results ------------------------------------------------------------------------------

struct Target {
  std::string name, comparison;
  double value = NAN;
  double bound = NAN;
  bool higher_is_better = false; // value >= bound, else value <= bound
  std::optional<bool> met() const {
    if (std::isnan(value))
      return std::nullopt;
    return higher_is_better ? value >= bound : value <= bound;
  }
};

struct Report {
  json figures = json::object();
  std::vector<Target> targets;
  std::vector<std::string> table;
  std::vector<std::string> errors;

  void line(const std::string &s) { table.push_back(s); }
  void target(std::string name, std::string comparison, double value, double bound, bool higher) {
    targets.push_back({std::move(name), std::move(comparison), value, bound, higher});
  }
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
std::string fmt(const char *f, double v) { // f: a printf format with one double
  if (std::isnan(v))
    return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
#pragma GCC diagnostic pop

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w)
    s.append(w - s.size(), ' ');
  return s;
}
std::string lpad(std::string s, std::size_t w) {
  if (s.size() < w)
    s.insert(0, w - s.size(), ' ');
  return s;
}

// --- phase: process start to initialize reply --------------------------------------------

double start_once(const Spawn &spec, const std::string &who) {
  Child c(spec);
  c.write(initialize_line(1) + "\n");
  std::string line = c.read_line(milliseconds(60000));
  double us = us_since(c.started(), Clock::now());
  if (line.find("\"result\"") == std::string::npos)
    throw BenchError(who + ": no initialize result: " + line.substr(0, 300));
  c.close_stdin();
  c.finish(milliseconds(10000));
  return us;
}

void phase_start(const Settings &s, const Sandbox &sb, Report &rep) {
  struct Subject {
    std::string key;
    Spawn spec;
    std::vector<double> us;
  };
  std::vector<Subject> subjects = {{"datafast_mcp", dfmcp_spec(s, sb), {}},
                                   {"floor", plain_spec({s.floor_stdio, "--once"}), {}},
                                   {"peer", peer_spec(s, sb), {}}};
  for (auto &sub : subjects) // one unrecorded run each: page cache and loader caches warm
    start_once(sub.spec, sub.key);
  for (int r = 0; r < s.start_runs; ++r) {
    for (auto &sub : subjects)
      sub.us.push_back(start_once(sub.spec, sub.key));
  }
  double d = median(subjects[0].us) / 1000, f = median(subjects[1].us) / 1000, p = median(subjects[2].us) / 1000;
  progress("start: datafast-mcp " + fmt("%.2f", d) + " ms, floor " + fmt("%.2f", f) + " ms, peer " +
           fmt("%.1f", p) + " ms");
  rep.figures["start_to_initialize_ms"] = {
      {"datafast_mcp", num(d, 3)}, {"floor", num(f, 3)}, {"peer", num(p, 2)},
      {"datafast_mcp_min", num(*std::min_element(subjects[0].us.begin(), subjects[0].us.end()) / 1000, 3)},
      {"floor_min", num(*std::min_element(subjects[1].us.begin(), subjects[1].us.end()) / 1000, 3)},
      {"peer_min", num(*std::min_element(subjects[2].us.begin(), subjects[2].us.end()) / 1000, 2)},
      {"runs", s.start_runs}};
  rep.line("Process start to initialize reply (stdio), median of " + std::to_string(s.start_runs) + " alternated runs");
  rep.line("  datafast-mcp " + fmt("%8.2f", d) + " ms   floor (empty C++ program, same libs) " + fmt("%7.2f", f) +
           " ms   peer (TS SDK) " + fmt("%8.1f", p) + " ms");
  rep.line("  datafast-mcp / floor = " + fmt("%.2f", d / f) + "x (target <= 1.5x);  peer / datafast-mcp = " +
           fmt("%.1f", p / d) + "x (target >= 30x)");
  rep.target("start_vs_floor", "datafast-mcp start / floor start", d / f, 1.5, false);
  rep.target("start_vs_peer", "peer start / datafast-mcp start", p / d, 30, true);
}

// --- phase: tools/list round trip on stdio ------------------------------------------------

void phase_stdio(const Settings &s, const Sandbox &sb, Report &rep) {
  StdioMcp dfmcp(dfmcp_spec(s, sb), "datafast-mcp");
  StdioMcp peer(peer_spec(s, sb), "peer");
  // The floor that answers with datafast-mcp's own bytes: capture them once.
  std::string captured = dfmcp.call(tools_list_line(7));
  json parsed = json::parse(captured);
  std::size_t tools = parsed.at("result").at("tools").size();
  std::string peer_reply = peer.call(tools_list_line(7));
  std::size_t peer_tools = json::parse(peer_reply).at("result").at("tools").size();
  // The peer implements the first four tools; datafast-mcp also has list_websites (issue 16).
  if (tools != 5 || peer_tools != 4)
    throw BenchError("tools/list: expected 5 tools (peer 4), datafast-mcp has " + std::to_string(tools) + ", peer " +
                     std::to_string(peer_tools));
  std::string reply_file = s.workdir + "/tools-list-reply.json";
  std::ofstream(reply_file, std::ios::binary) << captured << "\n";

  struct Subject {
    std::string key, label;
    std::function<std::string(const std::string &)> call;
    std::unique_ptr<Child> owned;
    std::vector<double> medians, p99s;
  };
  std::vector<Subject> subjects;
  subjects.push_back({"datafast_mcp", "datafast-mcp", [&](const std::string &l) { return dfmcp.call(l); }, nullptr, {}, {}});
  auto line_child = [&](std::string key, std::string label, std::vector<std::string> argv) {
    Subject sub{std::move(key), std::move(label), nullptr, std::make_unique<Child>(plain_spec(std::move(argv))), {}, {}};
    Child *c = sub.owned.get();
    sub.call = [c](const std::string &l) {
      c->write(l + "\n");
      return c->read_line();
    };
    subjects.push_back(std::move(sub));
  };
  line_child("pipe_echo", "pipe echo (cat)", {s.cat});
  line_child("floor_line_echo", "C++ line echo (same libs)", {s.floor_stdio, "--echo"});
  line_child("floor_fixed_reply", "C++ fixed reply (same bytes)", {s.floor_stdio, "--reply", reply_file});
  subjects.push_back({"peer", "peer (TS SDK)", [&](const std::string &l) { return peer.call(l); }, nullptr, {}, {}});

  int id = 10;
  for (auto &sub : subjects) // warm-up
    for (int i = 0; i < std::min(200, s.stdio_calls); ++i)
      sub.call(tools_list_line(++id));
  for (int r = 0; r < s.stdio_rounds; ++r) {
    for (auto &sub : subjects) {
      std::vector<double> us;
      us.reserve(static_cast<std::size_t>(s.stdio_calls));
      for (int i = 0; i < s.stdio_calls; ++i) {
        std::string line = tools_list_line(++id);
        auto t0 = Clock::now();
        std::string reply = sub.call(line);
        us.push_back(us_since(t0, Clock::now()));
        if (reply.size() < 20)
          throw BenchError(sub.label + ": short reply " + reply);
      }
      sub.medians.push_back(median(us));
      sub.p99s.push_back(percentile(us, 99));
    }
  }
  json fig = {{"calls_per_run", s.stdio_calls}, {"runs", s.stdio_rounds}, {"reply_bytes", captured.size() + 1},
              {"peer_reply_bytes", peer_reply.size() + 1}};
  rep.line("");
  rep.line("tools/list round trip on stdio, median of per-run medians (" + std::to_string(s.stdio_rounds) + " runs x " +
           std::to_string(s.stdio_calls) + " sequential calls)");
  for (auto &sub : subjects) {
    double m = median(sub.medians), p = median(sub.p99s);
    fig[sub.key] = num(m, 2);
    fig[sub.key + "_p99"] = num(p, 2);
    rep.line("  " + pad(sub.label, 32) + lpad(fmt("%.1f", m), 9) + " us   p99 " + lpad(fmt("%.1f", p), 8) + " us");
  }
  double d = fig["datafast_mcp"].get<double>(), cat = fig["pipe_echo"].get<double>();
  rep.line("  datafast-mcp / pipe echo = " + fmt("%.2f", d / cat) + "x (target <= 3x); datafast-mcp reply " +
           std::to_string(captured.size() + 1) + " bytes");
  progress("stdio tools/list: datafast-mcp " + fmt("%.1f", d) + " us, pipe echo " + fmt("%.1f", cat) + " us");
  rep.figures["stdio_tools_list_us"] = fig;
  rep.target("stdio_tools_list_vs_pipe_echo", "datafast-mcp tools/list / pipe echo (cat)", d / cat, 3, false);
}

// --- phase: create_access_token round trip -------------------------------------------------

std::string created_id(const json &structured) { return structured.at("token").at("id").get<std::string>(); }

void phase_create(const Settings &s, const Sandbox &sb, Report &rep) {
  Admin admin(sb);
  StdioMcp dfmcp(dfmcp_spec(s, sb), "datafast-mcp");
  StdioMcp peer(peer_spec(s, sb), "peer");
  int n = 0;
  auto mcp_create = [&](StdioMcp &m, double *create_us, double *revoke_us) {
    std::string line = tool_call_line(m.next_id(), "create_access_token",
                                      {{"name", "bench-" + std::to_string(++n)}, {"permissions", {"analytics:read"}}});
    auto t0 = Clock::now();
    std::string reply = m.call(line);
    double us = us_since(t0, Clock::now());
    json j = json::parse(reply);
    if (!j.contains("result") || j["result"].value("isError", false))
      throw BenchError(m.name() + ": create failed: " + reply.substr(0, 500));
    std::string id = created_id(j["result"]["structuredContent"]);
    std::string revoke = tool_call_line(m.next_id(), "revoke_access_token", {{"tokenId", id}});
    auto t1 = Clock::now();
    std::string rr = m.call(revoke);
    double rus = us_since(t1, Clock::now());
    if (rr.find("\"isError\":true") != std::string::npos || rr.find("\"result\"") == std::string::npos)
      throw BenchError(m.name() + ": revoke failed: " + rr.substr(0, 500));
    if (create_us)
      *create_us = us;
    if (revoke_us)
      *revoke_us = rus;
  };
  auto floor_create = [&](double *create_us, double *revoke_us) {
    std::string id = admin.create("bench-floor-" + std::to_string(++n), create_us);
    auto t1 = Clock::now();
    admin.remove(id);
    if (revoke_us)
      *revoke_us = us_since(t1, Clock::now());
  };
  for (int i = 0; i < 3; ++i) { // warm-up: connections, the parent's scope, JIT
    mcp_create(dfmcp, nullptr, nullptr);
    floor_create(nullptr, nullptr);
    mcp_create(peer, nullptr, nullptr);
  }
  std::vector<double> d_med, f_med, p_med, d_rev, f_rev, p_rev;
  for (int r = 0; r < s.create_rounds; ++r) {
    for (int who = 0; who < 3; ++who) {
      std::vector<double> c, v;
      for (int i = 0; i < s.create_calls; ++i) {
        double cu = 0, ru = 0;
        if (who == 0)
          mcp_create(dfmcp, &cu, &ru);
        else if (who == 1)
          floor_create(&cu, &ru);
        else
          mcp_create(peer, &cu, &ru);
        c.push_back(cu);
        v.push_back(ru);
      }
      (who == 0 ? d_med : who == 1 ? f_med : p_med).push_back(median(c));
      (who == 0 ? d_rev : who == 1 ? f_rev : p_rev).push_back(median(v));
    }
  }
  double d = median(d_med), f = median(f_med), p = median(p_med);
  rep.figures["create_round_trip_us"] = {{"datafast_mcp", num(d)}, {"raw_https_floor", num(f)}, {"peer", num(p)},
                                         {"revoke_datafast_mcp", num(median(d_rev))},
                                         {"revoke_raw_https_delete", num(median(f_rev))},
                                         {"revoke_peer", num(median(p_rev))},
                                         {"calls_per_run", s.create_calls}, {"runs", s.create_rounds}};
  rep.line("");
  rep.line("create_access_token round trip against the sandbox, median of per-run medians (" +
           std::to_string(s.create_rounds) + " runs x " + std::to_string(s.create_calls) + " creates, each revoked)");
  rep.line("  datafast-mcp (stdio)        " + lpad(fmt("%.1f", d), 9) + " us");
  rep.line("  raw HTTPS POST (reused conn)" + lpad(fmt("%.1f", f), 9) + " us");
  rep.line("  peer (TS SDK, stdio)        " + lpad(fmt("%.1f", p), 9) + " us");
  rep.line("  datafast-mcp / raw HTTPS = " + fmt("%.2f", d / f) + "x (target <= 1.2x);  revoke: datafast-mcp " +
           fmt("%.1f", median(d_rev)) + " us (GET + DELETE), raw DELETE " + fmt("%.1f", median(f_rev)) + " us");
  progress("create: datafast-mcp " + fmt("%.1f", d) + " us, raw HTTPS " + fmt("%.1f", f) + " us, peer " + fmt("%.1f", p) + " us");
  rep.target("create_vs_raw_https", "datafast-mcp create / raw reused-connection HTTPS POST", d / f, 1.2, false);

  // Handshakes: the same calls through the counting relay (a separate pass, so the relay's hop
  // never shows in the latency above).
  json hs = json::object();
  for (int who = 0; who < 2; ++who) {
    CountingProxy proxy(sb.host, sb.port);
    std::string via = sb.url_via(proxy.port());
    StdioMcp m(who == 0 ? dfmcp_spec(s, sb, {}, via) : peer_spec(s, sb, {}, via), who == 0 ? "datafast-mcp" : "peer");
    for (int i = 0; i < s.handshake_calls; ++i)
      mcp_create(m, nullptr, nullptr);
    std::uint64_t conns = proxy.connections(), hellos = proxy.client_hellos();
    int upstream_requests = s.handshake_calls * 3 + 1; // create POST; revoke GET + DELETE; the first scope GET
    hs[who == 0 ? "datafast_mcp" : "peer"] = {{"create_calls", s.handshake_calls},
                                              {"revoke_calls", s.handshake_calls},
                                              {"upstream_requests_about", upstream_requests},
                                              {"tcp_connections", conns},
                                              {"tls_handshakes", hellos},
                                              {"handshakes_per_100_create_calls",
                                               num(100.0 * static_cast<double>(hellos) / s.handshake_calls, 2)},
                                              {"handshakes_per_connection",
                                               num(conns ? static_cast<double>(hellos) / static_cast<double>(conns) : NAN, 2)}};
    if (who == 0) {
      rep.line("  TLS handshakes over " + std::to_string(s.handshake_calls) + " creates + " +
               std::to_string(s.handshake_calls) + " revokes (~" + std::to_string(upstream_requests) +
               " upstream requests): datafast-mcp " + std::to_string(hellos) + " handshake(s) on " +
               std::to_string(conns) + " connection(s)");
      // Met: one handshake per connection, and connections reused (not one per call).
      double per_conn = conns ? static_cast<double>(hellos) / static_cast<double>(conns) : NAN;
      rep.target("handshakes_per_connection", "TLS handshakes per upstream connection (exactly 1)",
                 per_conn == 1.0 ? 1.0 : (std::isnan(per_conn) ? NAN : 99.0), 1.0, false);
      rep.target("handshakes_per_100_calls", "TLS handshakes per 100 sequential create calls (one reused connection)",
                 100.0 * static_cast<double>(hellos) / s.handshake_calls, 1.0, false);
    } else {
      rep.line("                                                                     peer " + std::to_string(hellos) +
               " handshake(s) on " + std::to_string(conns) + " connection(s)");
    }
  }
  rep.figures["tls_handshakes"] = hs;
}

// --- phase: peak RSS ----------------------------------------------------------------------

std::uint64_t rss_workload(const Spawn &spec, const std::string &who) {
  StdioMcp m(spec, who);
  for (int i = 0; i < 1000; ++i)
    m.call(tools_list_line(m.next_id()));
  for (int i = 0; i < 50; ++i)
    m.tool("get_token_ceiling", json::object());
  for (int i = 0; i < 20; ++i)
    m.tool("list_access_tokens", json::object());
  for (int i = 0; i < 20; ++i) {
    json c = m.tool("create_access_token", {{"name", "bench-rss-" + std::to_string(i)}, {"permissions", {"analytics:read"}}});
    m.tool("revoke_access_token", {{"tokenId", created_id(c)}});
  }
  std::uint64_t hwm = vm_hwm(m.child().pid());
  m.child().close_stdin();
  m.child().finish();
  return hwm;
}

void phase_rss(const Settings &s, const Sandbox &sb, Report &rep) {
  std::vector<double> d, p;
  for (int r = 0; r < s.rss_runs; ++r) {
    d.push_back(static_cast<double>(rss_workload(dfmcp_spec(s, sb), "datafast-mcp")));
    p.push_back(static_cast<double>(rss_workload(peer_spec(s, sb), "peer")));
  }
  double dm = median(d), pm = median(p);
  rep.figures["peak_rss_bytes"] = {
      {"datafast_mcp", static_cast<std::uint64_t>(dm)}, {"peer", static_cast<std::uint64_t>(pm)}, {"runs", s.rss_runs},
      {"workload", "stdio: initialize, 1000 tools/list, 50 get_token_ceiling, 20 list_access_tokens, 20 create+revoke"}};
  rep.line("");
  rep.line("Peak RSS (VmHWM) after the same stdio workload (initialize, 1000 tools/list, 50 get_token_ceiling,");
  rep.line("20 list_access_tokens, 20 create + revoke), median of " + std::to_string(s.rss_runs) + " runs");
  rep.line("  datafast-mcp " + fmt("%.1f", dm / 1048576) + " MiB   peer " + fmt("%.1f", pm / 1048576) +
           " MiB   datafast-mcp / peer = " + fmt("%.3f", dm / pm) + " (target <= 0.2)");
  progress("rss: datafast-mcp " + fmt("%.1f", dm / 1048576) + " MiB, peer " + fmt("%.1f", pm / 1048576) + " MiB");
  rep.target("peak_rss_vs_peer", "datafast-mcp VmHWM / peer VmHWM", dm / pm, 0.2, false);
}

// --- HTTP ---------------------------------------------------------------------------------

struct HttpServerProc {
  std::string key, label;
  std::unique_ptr<Child> proc;
  Url url;
  bool floor = false, peer = false;
};

HttpServerProc start_http(std::string key, std::string label, const Spawn &spec, const std::string &announce,
                          bool floor, bool peer) {
  HttpServerProc h;
  h.key = std::move(key);
  h.label = std::move(label);
  h.floor = floor;
  h.peer = peer;
  h.proc = std::make_unique<Child>(spec);
  std::string line = h.proc->wait_stderr(announce, milliseconds(60000));
  static const std::regex re(R"((http://[0-9.]+:[0-9]+[^ ;,]*))");
  std::smatch m;
  if (!std::regex_search(line, m, re))
    throw BenchError(h.label + ": no URL in '" + line + "'");
  h.url = parse_url(m[1]);
  if (floor)
    h.url.path = "/";
  return h;
}

enum class Era { Legacy, Stateless };
enum class Call { List, Ceiling };

const char *era_name(Era e) { return e == Era::Legacy ? "legacy" : "stateless"; }
const char *call_name(Call c) { return c == Call::List ? "tools/list" : "get_token_ceiling"; }

const char *kLegacyVersion = "2025-11-25";
const char *kModernVersion = "2026-07-28";

std::string legacy_body(Call c) {
  return c == Call::List ? R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}})"
                         : R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_token_ceiling","arguments":{}}})";
}

std::string modern_body(Call c) {
  std::string meta = R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"dfmcp-bench","version":"1"}})";
  return c == Call::List ? R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{)" + meta + "}}"
                         : R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_token_ceiling","arguments":{},)" +
                               meta + "}}";
}

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string open_session(HttpConnection &c, const Url &u) {
  HttpResponse r = c.exchange(http_post(u, u.path, initialize_line(1), {}));
  const std::string *sid = r.header("Mcp-Session-Id");
  if (r.status != 200 || sid == nullptr)
    throw BenchError("initialize over HTTP failed: HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 300));
  std::string id = *sid;
  HttpResponse n = c.exchange(http_post(u, u.path, R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
                                        {{"Mcp-Session-Id", id}, {"MCP-Protocol-Version", kLegacyVersion}}));
  if (n.status != 202 && n.status != 200)
    throw BenchError("notifications/initialized over HTTP: HTTP " + std::to_string(n.status));
  return id;
}

void close_session(HttpConnection &c, const Url &u, const std::string &sid) {
  c.exchange(http_delete(u, u.path, {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", kLegacyVersion}}));
}

// The request bytes a subject gets for one call in one era, given a session (legacy).
std::string http_request(const HttpServerProc &h, Era era, Call c, const std::string &sid) {
  if (h.floor) // the same bytes as datafast-mcp's legacy request; the path picks the fixed body
    return http_post(h.url, c == Call::List ? "/list" : "/call", legacy_body(c),
                     {{"Mcp-Session-Id", "floor"}, {"MCP-Protocol-Version", kLegacyVersion}});
  if (era == Era::Legacy)
    return http_post(h.url, h.url.path, legacy_body(c), {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", kLegacyVersion}});
  // 2026-07-28: no session; _meta in the body and the three headers. The SDK 1.x peer answers 400
  // to a MCP-Protocol-Version it does not know, so it gets its own newest version in the header
  // (and serves the request statelessly, the SDK way: a fresh server and transport per request).
  Headers hs = {{"MCP-Protocol-Version", h.peer ? kLegacyVersion : kModernVersion},
                {"Mcp-Method", c == Call::List ? "tools/list" : "tools/call"}};
  if (c == Call::Ceiling)
    hs.emplace_back("Mcp-Name", "get_token_ceiling");
  return http_post(h.url, h.url.path, modern_body(c), hs);
}

LoadResult http_run(const Settings &s, const HttpServerProc &h, Era era, Call c, int clients) {
  std::vector<std::string> sids;
  std::unique_ptr<HttpConnection> setup;
  LoadConfig cfg;
  cfg.host = h.url.host;
  cfg.port = h.url.port;
  cfg.warmup = s.http_warmup;
  cfg.duration = s.http_duration;
  if (era == Era::Legacy && !h.floor) {
    setup = std::make_unique<HttpConnection>(h.url.host, h.url.port);
    for (int i = 0; i < clients; ++i)
      sids.push_back(open_session(*setup, h.url));
  }
  for (int i = 0; i < clients; ++i)
    cfg.requests.push_back(http_request(h, era, c, sids.empty() ? "" : sids[static_cast<std::size_t>(i)]));
  LoadResult r = run_load(cfg);
  for (const auto &sid : sids)
    close_session(*setup, h.url, sid);
  return r;
}

// Checks that one request of each kind gets a 200 with a JSON-RPC result.
void http_check(const HttpServerProc &h) {
  HttpConnection conn(h.url.host, h.url.port);
  std::string sid = h.floor ? "" : open_session(conn, h.url);
  for (Era e : {Era::Legacy, Era::Stateless})
    for (Call c : {Call::List, Call::Ceiling}) {
      HttpResponse r = conn.exchange(http_request(h, e, c, sid));
      if (r.status != 200 || r.body.find("\"result\"") == std::string::npos ||
          r.body.find("\"isError\":true") != std::string::npos)
        throw BenchError(h.label + ": " + era_name(e) + " " + call_name(c) + ": HTTP " + std::to_string(r.status) +
                         " " + r.body.substr(0, 300));
    }
  if (!h.floor)
    close_session(conn, h.url, sid);
}

// Captures datafast-mcp's answers, so that the floor serves the same bytes.
std::pair<std::string, std::string> capture_http_bodies(const HttpServerProc &h) {
  HttpConnection conn(h.url.host, h.url.port);
  std::string sid = open_session(conn, h.url);
  std::string list = conn.exchange(http_request(h, Era::Legacy, Call::List, sid)).body;
  std::string call = conn.exchange(http_request(h, Era::Legacy, Call::Ceiling, sid)).body;
  close_session(conn, h.url, sid);
  return {list, call};
}

void phase_http(const Settings &s, const Sandbox &sb, Report &rep) {
  std::vector<HttpServerProc> subjects;
  subjects.push_back(start_http("datafast_mcp", "datafast-mcp", dfmcp_spec(s, sb, {"--http", "127.0.0.1:0"}),
                                "serving MCP over HTTP at", false, false));
  auto [list_body, call_body] = capture_http_bodies(subjects[0]);
  std::string list_file = s.workdir + "/http-list-body.json", call_file = s.workdir + "/http-call-body.json";
  std::ofstream(list_file, std::ios::binary) << list_body;
  std::ofstream(call_file, std::ios::binary) << call_body;
  subjects.push_back(start_http("floor", "floor (cpp-httplib, fixed body)", plain_spec({s.floor_http, list_file, call_file}),
                                "serving HTTP at", true, false));
  subjects.push_back(start_http("peer", "peer (TS SDK)", peer_spec(s, sb, {"--http", "127.0.0.1:0"}),
                                "serving MCP over HTTP at", false, true));
  for (auto &h : subjects)
    http_check(h);

  struct Cell {
    std::vector<double> rps, p50, p99;
    std::uint64_t errors = 0;
    std::string first_error;
  };
  std::map<std::string, Cell> cells; // subject|era|call|clients
  auto key = [](const std::string &who, Era e, Call c, int n) {
    return who + "|" + era_name(e) + "|" + call_name(c) + "|" + std::to_string(n);
  };
  for (int r = 0; r < s.http_rounds; ++r) {
    progress("http: round " + std::to_string(r + 1) + "/" + std::to_string(s.http_rounds));
    for (Era e : {Era::Legacy, Era::Stateless})
      for (Call c : {Call::List, Call::Ceiling})
        for (int n : s.http_clients)
          for (auto &h : subjects) {
            LoadResult res = http_run(s, h, e, c, n);
            Cell &cell = cells[key(h.key, e, c, n)];
            cell.rps.push_back(res.rps());
            cell.p50.push_back(percentile(res.latencies_us, 50));
            cell.p99.push_back(percentile(res.latencies_us, 99));
            cell.errors += res.errors;
            if (cell.first_error.empty())
              cell.first_error = res.first_error;
          }
  }
  json rows = json::array();
  rep.line("");
  rep.line("HTTP throughput and latency, kept-alive clients, median of " + std::to_string(s.http_rounds) +
           " alternated runs of " + std::to_string(s.http_duration.count()) + " ms");
  rep.line("  " + pad("era / call", 30) + lpad("clients", 7) + lpad("datafast-mcp req/s", 20) + lpad("p50 us", 9) +
           lpad("p99 us", 9) + lpad("floor req/s", 13) + lpad("peer req/s", 12) + lpad("peer p99", 10) +
           lpad("vs floor", 10) + lpad("vs peer", 9));
  for (Era e : {Era::Legacy, Era::Stateless})
    for (Call c : {Call::List, Call::Ceiling})
      for (int n : s.http_clients) {
        Cell &d = cells[key("datafast_mcp", e, c, n)];
        Cell &f = cells[key("floor", e, c, n)];
        Cell &p = cells[key("peer", e, c, n)];
        double drps = median(d.rps), frps = median(f.rps), prps = median(p.rps);
        double dp50 = median(d.p50), dp99 = median(d.p99);
        for (auto *who : {&d, &f, &p}) {
          (void)who;
        }
        auto row = [&](const std::string &subject, Cell &cell) {
          rows.push_back({{"subject", subject}, {"era", era_name(e)}, {"call", call_name(c)}, {"clients", n},
                          {"rps", num(median(cell.rps), 0)}, {"p50_us", num(median(cell.p50))},
                          {"p99_us", num(median(cell.p99))}, {"errors", cell.errors},
                          {"first_error", cell.first_error}});
        };
        row("datafast_mcp", d);
        row("floor", f);
        row("peer", p);
        std::string label = std::string(era_name(e)) + " " + call_name(c);
        rep.line("  " + pad(label, 30) + lpad(std::to_string(n), 7) + lpad(fmt("%.0f", drps), 20) +
                 lpad(fmt("%.0f", dp50), 9) + lpad(fmt("%.0f", dp99), 9) + lpad(fmt("%.0f", frps), 13) +
                 lpad(fmt("%.0f", prps), 12) + lpad(fmt("%.0f", median(p.p99)), 10) +
                 lpad(fmt("%.2fx", drps / frps), 10) + lpad(fmt("%.1fx", drps / prps), 9) +
                 (d.errors + f.errors + p.errors ? "  errors d/f/p " + std::to_string(d.errors) + "/" +
                                                       std::to_string(f.errors) + "/" + std::to_string(p.errors)
                                                 : ""));
        std::string tag = std::string(era_name(e)) + "_" + (c == Call::List ? "tools_list" : "get_token_ceiling") + "_" +
                          std::to_string(n);
        rep.target("http_vs_floor_" + tag, "datafast-mcp req/s / floor req/s (" + label + ", " + std::to_string(n) + " clients)",
                   drps / frps, 0.7, true);
        rep.target("http_vs_peer_" + tag, "datafast-mcp req/s / peer req/s (" + label + ", " + std::to_string(n) + " clients)",
                   drps / prps, 5, true);
        if (n == s.http_clients.back())
          rep.target("http_p99_over_p50_" + std::string(era_name(e)) + "_" + (c == Call::List ? "tools_list" : "get_token_ceiling"),
                     "datafast-mcp p99 / p50 at " + std::to_string(n) + " clients (" + label + ")", dp99 / dp50, 2, false);
        if (d.errors)
          rep.errors.push_back("http " + label + " " + std::to_string(n) + " clients: datafast-mcp errors: " + d.first_error);
        if (p.errors)
          rep.errors.push_back("http " + label + " " + std::to_string(n) + " clients: peer errors: " + p.first_error);
        if (f.errors)
          rep.errors.push_back("http " + label + " " + std::to_string(n) + " clients: floor errors: " + f.first_error);
      }
  rep.figures["http"] = rows;
  std::uint64_t dh = vm_hwm(subjects[0].proc->pid()), ph = vm_hwm(subjects[2].proc->pid()),
                fh = vm_hwm(subjects[1].proc->pid());
  rep.figures["http_peak_rss_bytes"] = {{"datafast_mcp", dh}, {"peer", ph}, {"floor", fh}};
  rep.line("  peak RSS after the HTTP runs: datafast-mcp " + fmt("%.1f", static_cast<double>(dh) / 1048576) +
           " MiB, floor " + fmt("%.1f", static_cast<double>(fh) / 1048576) + " MiB, peer " +
           fmt("%.1f", static_cast<double>(ph) / 1048576) + " MiB");
  for (auto &h : subjects) {
    h.proc->signal(SIGTERM);
    h.proc->finish(milliseconds(20000));
  }
}

// --- phase: growth with the number of tokens ----------------------------------------------

void phase_tokens(const Settings &s, const Sandbox &sb, Report &rep) {
  Admin admin(sb);
  for (const std::string &id : admin.removable()) // the account down to the parent alone
    admin.remove(id);
  StdioMcp dfmcp(dfmcp_spec(s, sb), "datafast-mcp");
  StdioMcp peer(peer_spec(s, sb), "peer");
  auto list_once = [&](StdioMcp &m, std::size_t expect) {
    std::string line = tool_call_line(m.next_id(), "list_access_tokens", json::object());
    auto t0 = Clock::now();
    std::string reply = m.call(line);
    double us = us_since(t0, Clock::now());
    json j = json::parse(reply);
    std::size_t count = j.at("result").at("structuredContent").at("count").get<std::size_t>();
    if (count != expect)
      throw BenchError(m.name() + ": list_access_tokens saw " + std::to_string(count) + " tokens, expected " +
                       std::to_string(expect));
    return us;
  };
  json fig = json::object();
  rep.line("");
  rep.line("Growth with the tokens in the account: list_access_tokens round trip on stdio, median of " +
           std::to_string(s.token_rounds) + " runs x " + std::to_string(s.token_calls) + " calls");
  std::map<int, std::array<double, 3>> at;
  std::vector<std::string> added;
  for (int tokens : {1, 20}) {
    while (static_cast<int>(admin.removable().size()) + 1 < tokens)
      added.push_back(admin.create("bench-fill-" + std::to_string(added.size())));
    std::vector<double> dm, fm, pm;
    for (int i = 0; i < 20; ++i) { // warm-up
      list_once(dfmcp, static_cast<std::size_t>(tokens));
      list_once(peer, static_cast<std::size_t>(tokens));
      admin.timed_list();
    }
    for (int r = 0; r < s.token_rounds; ++r) {
      std::vector<double> a, b, c;
      for (int i = 0; i < s.token_calls; ++i)
        a.push_back(list_once(dfmcp, static_cast<std::size_t>(tokens)));
      for (int i = 0; i < s.token_calls; ++i)
        b.push_back(admin.timed_list());
      for (int i = 0; i < s.token_calls; ++i)
        c.push_back(list_once(peer, static_cast<std::size_t>(tokens)));
      dm.push_back(median(a));
      fm.push_back(median(b));
      pm.push_back(median(c));
    }
    at[tokens] = {median(dm), median(fm), median(pm)};
    fig[std::to_string(tokens)] = {{"datafast_mcp_us", num(at[tokens][0])}, {"raw_https_get_us", num(at[tokens][1])},
                                   {"peer_us", num(at[tokens][2])}};
    rep.line("  " + lpad(std::to_string(tokens), 2) + " token(s): datafast-mcp " + lpad(fmt("%.1f", at[tokens][0]), 8) +
             " us   raw HTTPS GET " + lpad(fmt("%.1f", at[tokens][1]), 8) + " us   peer " +
             lpad(fmt("%.1f", at[tokens][2]), 8) + " us");
  }
  fig["growth_1_to_20"] = {{"datafast_mcp", num(at[20][0] / at[1][0], 2)}, {"raw_https_get", num(at[20][1] / at[1][1], 2)},
                           {"peer", num(at[20][2] / at[1][2], 2)}};
  fig["datafast_mcp_us_per_extra_token"] = num((at[20][0] - at[1][0]) / 19, 2);
  rep.line("  growth 1 -> 20 tokens: datafast-mcp " + fmt("%.2f", at[20][0] / at[1][0]) + "x (" +
           fmt("%.1f", (at[20][0] - at[1][0]) / 19) + " us per token), raw GET " + fmt("%.2f", at[20][1] / at[1][1]) +
           "x, peer " + fmt("%.2f", at[20][2] / at[1][2]) + "x");
  for (const std::string &id : added)
    admin.remove(id);
  rep.figures["tokens_growth_list_access_tokens"] = fig;
  progress("tokens: list at 1 token " + fmt("%.1f", at[1][0]) + " us, at 20 " + fmt("%.1f", at[20][0]) + " us");
}

// --- phase: growth with the number of legacy sessions -------------------------------------

// --- the HTTP front end against a baseline binary (issue 13) -------------------------------
// datafast-mcp and an older build of it (--baseline), same sandbox, alternated rounds:
// throughput at 1, 8 and 64 clients in both eras; a normal client's p99 while 200 connections
// trickle their header sections; memory per idle connection.
void phase_front(const Settings &s, const Sandbox &sb, Report &rep) {
  if (s.baseline.empty())
    throw BenchError("the front phase needs --baseline <an older datafast-mcp binary>");
  std::vector<HttpServerProc> subjects;
  subjects.push_back(start_http("datafast_mcp", "datafast-mcp", dfmcp_spec(s, sb, {"--http", "127.0.0.1:0"}),
                                "serving MCP over HTTP at", false, false));
  subjects.push_back(start_http("baseline", "baseline", server_spec({s.baseline}, sb, {"--http", "127.0.0.1:0"}, ""),
                                "serving MCP over HTTP at", false, false));
  for (auto &h : subjects)
    http_check(h);
  std::map<std::string, std::vector<double>> rps, p99; // subject|era|clients
  for (int r = 0; r < s.http_rounds; ++r) {
    progress("front: round " + std::to_string(r + 1) + "/" + std::to_string(s.http_rounds));
    for (Era e : {Era::Legacy, Era::Stateless})
      for (int n : s.http_clients)
        for (auto &h : subjects) {
          LoadResult res = http_run(s, h, e, Call::List, n);
          std::string k = h.key + "|" + era_name(e) + "|" + std::to_string(n);
          rps[k].push_back(res.rps());
          p99[k].push_back(percentile(res.latencies_us, 99));
          if (res.errors)
            rep.errors.push_back("front " + k + ": " + std::to_string(res.errors) + " errors: " + res.first_error);
        }
  }
  json rows = json::array();
  rep.line("");
  rep.line("HTTP front end: tools/list, kept-alive clients, median of " + std::to_string(s.http_rounds) +
           " alternated runs of " + std::to_string(s.http_duration.count()) + " ms; baseline = " + s.baseline);
  rep.line("  " + pad("era", 12) + lpad("clients", 8) + lpad("req/s", 10) + lpad("p99 us", 9) + lpad("baseline req/s", 16) +
           lpad("p99 us", 9) + lpad("ratio", 8));
  for (Era e : {Era::Legacy, Era::Stateless})
    for (int n : s.http_clients) {
      std::string tail = std::string("|") + era_name(e) + "|" + std::to_string(n);
      double d = median(rps["datafast_mcp" + tail]), b = median(rps["baseline" + tail]);
      double dp = median(p99["datafast_mcp" + tail]), bp = median(p99["baseline" + tail]);
      rows.push_back({{"era", era_name(e)}, {"clients", n}, {"rps", num(d, 0)}, {"p99_us", num(dp)},
                      {"baseline_rps", num(b, 0)}, {"baseline_p99_us", num(bp)}, {"ratio", num(d / b, 3)}});
      rep.line("  " + pad(era_name(e), 12) + lpad(std::to_string(n), 8) + lpad(fmt("%.0f", d), 10) + lpad(fmt("%.0f", dp), 9) +
               lpad(fmt("%.0f", b), 16) + lpad(fmt("%.0f", bp), 9) + lpad(fmt("%.2fx", d / b), 8));
      rep.target(std::string("front_vs_baseline_") + era_name(e) + "_" + std::to_string(n),
                 std::string("req/s / baseline req/s (") + era_name(e) + " tools/list, " + std::to_string(n) + " clients)",
                 d / b, 0.9, true);
    }
  rep.figures["front"] = rows;

  // 200 connections trickling their header sections (a byte each per second) while one normal
  // client runs; then memory per idle connection.
  json slow = json::object(), idle = json::object();
  for (auto &h : subjects) {
    std::vector<int> fds;
    for (int i = 0; i < 200; ++i) {
      int fd = tcp_connect(h.url.host, h.url.port);
      std::string head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
      (void)!::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
      fds.push_back(fd);
    }
    std::atomic<bool> stop{false};
    std::thread drip([&] {
      while (!stop)
        for (int fd : fds) {
          if (stop)
            break;
          (void)!::send(fd, "a", 1, MSG_NOSIGNAL);
          std::this_thread::sleep_for(milliseconds(5));
        }
    });
    Settings longer = s;
    longer.http_duration = milliseconds(3000);
    LoadResult res = http_run(longer, h, Era::Legacy, Call::List, 1);
    stop = true;
    drip.join();
    for (int fd : fds)
      ::close(fd);
    double p = percentile(res.latencies_us, 99);
    slow[h.key] = {{"p99_us", num(p)}, {"rps", num(res.rps(), 0)}, {"errors", res.errors}};
    if (h.key == "datafast_mcp")
      rep.target("front_slow_headers_p99_us", "a normal client's p99 (us) beside 200 slow-header connections", p, 20000,
                 false);

    std::uint64_t before = vm_rss(h.proc->pid());
    std::vector<std::unique_ptr<HttpConnection>> kept;
    for (int i = 0; i < 250; ++i) {
      kept.push_back(std::make_unique<HttpConnection>(h.url.host, h.url.port));
      kept.back()->exchange(http_request(h, Era::Stateless, Call::List, ""));
    }
    std::uint64_t after = vm_rss(h.proc->pid());
    double per = (static_cast<double>(after) - static_cast<double>(before)) / 250;
    idle[h.key] = {{"bytes_per_idle_connection", num(per, 0)}};
  }
  rep.figures["front_slow_headers"] = slow;
  rep.figures["front_idle_connection"] = idle;
  rep.line("  normal client's p99 beside 200 slow-header connections: datafast-mcp " +
           slow["datafast_mcp"]["p99_us"].dump() + " us, baseline " + slow["baseline"]["p99_us"].dump() + " us");
  rep.line("  memory per idle kept-alive connection (RSS growth / 250): datafast-mcp " +
           idle["datafast_mcp"]["bytes_per_idle_connection"].dump() + " B, baseline " +
           idle["baseline"]["bytes_per_idle_connection"].dump() + " B");
  progress("front: slow-header p99 " + slow["datafast_mcp"]["p99_us"].dump() + " us; idle connection " +
           idle["datafast_mcp"]["bytes_per_idle_connection"].dump() + " B");
  for (auto &h : subjects) {
    h.proc->signal(SIGTERM);
    h.proc->finish(milliseconds(20000));
  }
}

void phase_sessions(const Settings &s, const Sandbox &sb, Report &rep) {
  struct Subject {
    HttpServerProc h;
    std::unique_ptr<HttpConnection> conn; // opens sessions, then measures on the first one
    std::vector<std::string> sids;
    std::uint64_t base_rss = 0;
    json fig = json::object();
  };
  std::vector<Subject> subjects;
  subjects.push_back({start_http("datafast_mcp", "datafast-mcp", dfmcp_spec(s, sb, {"--http", "127.0.0.1:0"}),
                                 "serving MCP over HTTP at", false, false), nullptr, {}, 0, json::object()});
  subjects.push_back({start_http("peer", "peer", peer_spec(s, sb, {"--http", "127.0.0.1:0"}),
                                 "serving MCP over HTTP at", false, true), nullptr, {}, 0, json::object()});
  auto measure = [&](Subject &sub, int calls) {
    std::string req = http_request(sub.h, Era::Legacy, Call::List, sub.sids.front());
    std::vector<double> us;
    for (int i = 0; i < calls; ++i) {
      auto t0 = Clock::now();
      HttpResponse r = sub.conn->exchange(req);
      us.push_back(us_since(t0, Clock::now()));
      if (r.status != 200)
        throw BenchError(sub.h.label + ": tools/list with sessions open: HTTP " + std::to_string(r.status));
    }
    return us;
  };
  for (auto &sub : subjects) { // warm-up, then the baseline
    sub.conn = std::make_unique<HttpConnection>(sub.h.url.host, sub.h.url.port);
    std::string sid = open_session(*sub.conn, sub.h.url);
    sub.sids.push_back(sid);
    measure(sub, 500);
    close_session(*sub.conn, sub.h.url, sid);
    sub.sids.clear();
    sub.base_rss = vm_rss(sub.h.proc->pid());
  }
  rep.line("");
  rep.line("Growth with open legacy sessions (idle, each initialized): tools/list latency on one of them over HTTP,");
  rep.line("and memory per idle session = (VmRSS now - VmRSS before any session) / sessions");
  for (int n : s.session_counts) {
    for (auto &sub : subjects)
      while (static_cast<int>(sub.sids.size()) < n)
        sub.sids.push_back(open_session(*sub.conn, sub.h.url));
    std::vector<std::vector<double>> med(subjects.size()), p99(subjects.size());
    for (int r = 0; r < s.session_rounds; ++r)
      for (std::size_t i = 0; i < subjects.size(); ++i) {
        auto us = measure(subjects[i], s.session_calls);
        med[i].push_back(median(us));
        p99[i].push_back(percentile(us, 99));
      }
    std::string text = "  " + lpad(std::to_string(n), 4) + " session(s):";
    for (std::size_t i = 0; i < subjects.size(); ++i) {
      Subject &sub = subjects[i];
      std::uint64_t rss = vm_rss(sub.h.proc->pid());
      double per = (static_cast<double>(rss) - static_cast<double>(sub.base_rss)) / n;
      sub.fig[std::to_string(n)] = {{"latency_us", num(median(med[i]))}, {"p99_us", num(median(p99[i]))},
                                    {"rss_bytes", rss}, {"bytes_per_idle_session", num(per, 0)}};
      text += "  " + sub.h.label + " " + fmt("%.1f", median(med[i])) + " us (p99 " + fmt("%.1f", median(p99[i])) +
              "), " + fmt("%.0f", per) + " B/session;";
    }
    rep.line(text);
  }
  for (auto &sub : subjects) {
    sub.fig["baseline_rss_bytes"] = sub.base_rss;
    rep.figures["sessions_growth"][sub.h.key] = sub.fig;
    for (const auto &sid : sub.sids)
      close_session(*sub.conn, sub.h.url, sid);
    sub.conn.reset();
    sub.h.proc->signal(SIGTERM);
    sub.h.proc->finish(milliseconds(20000));
  }
  json &d = rep.figures["sessions_growth"]["datafast_mcp"];
  std::string last = std::to_string(s.session_counts.back());
  rep.line("  datafast-mcp: " + d[last]["bytes_per_idle_session"].dump() + " bytes per idle session at " + last +
           " sessions; http.maxSessions (default 1000) bounds the total");
  progress("sessions: datafast-mcp " + d[last]["bytes_per_idle_session"].dump() + " B per idle session");
}

// --- main ---------------------------------------------------------------------------------

// The 1-, 5- and 15-minute load averages: other work on the machine shows here.
std::string loadavg() {
  std::string text = read_text("/proc/loadavg");
  std::istringstream in(text);
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

int usage() {
  std::fprintf(stderr,
               "usage: dfmcp-bench --server BIN --floor-stdio BIN --floor-http BIN --node BIN --peer JS\n"
               "                   --workdir DIR [--quick] [--phases start,stdio,create,rss,http,tokens,sessions]\n"
               "                   [--baseline BIN  (with --phases front: the HTTP front end against BIN)]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  std::signal(SIGPIPE, SIG_IGN);
  Settings s;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        throw BenchError("missing value after " + a);
      return argv[++i];
    };
    if (a == "--server") s.server = next();
    else if (a == "--floor-stdio") s.floor_stdio = next();
    else if (a == "--floor-http") s.floor_http = next();
    else if (a == "--node") s.node = next();
    else if (a == "--peer") s.peer_js = next();
    else if (a == "--workdir") s.workdir = next();
    else if (a == "--baseline") s.baseline = next();
    else if (a == "--quick") s.make_quick();
    else if (a == "--phases") {
      s.phases.clear();
      std::stringstream ss(next());
      for (std::string p; std::getline(ss, p, ',');)
        s.phases.insert(p);
    } else
      return usage();
  }
  if (s.server.empty() || s.floor_stdio.empty() || s.floor_http.empty() || s.node.empty() || s.peer_js.empty() ||
      s.workdir.empty())
    return usage();

  Report rep;
  utsname u{};
  ::uname(&u);
  rep.figures["suite"] = "datafast-mcp bench";
  rep.figures["mode"] = s.quick ? "quick" : "full";
  rep.figures["machine"] = {{"cpus", std::thread::hardware_concurrency()}, {"kernel", std::string(u.release)},
                            {"loadavg_at_start", loadavg()}};
  progress(std::string("datafast-mcp bench (") + (s.quick ? "quick" : "full") + "): starting the sandbox");
  Sandbox sb;
  try {
    sb = start_sandbox(s);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "dfmcp-bench: cannot start the sandbox: %s\n", e.what());
    return 1;
  }

  struct Phase {
    const char *name;
    void (*run)(const Settings &, const Sandbox &, Report &);
  };
  const Phase phases[] = {{"start", phase_start},   {"stdio", phase_stdio},   {"create", phase_create},
                          {"rss", phase_rss},       {"http", phase_http},     {"tokens", phase_tokens},
                          {"sessions", phase_sessions}, {"front", phase_front}};
  for (const Phase &p : phases) {
    if (!s.phases.count(p.name))
      continue;
    progress(std::string("phase ") + p.name);
    try {
      p.run(s, sb, rep);
    } catch (const std::exception &e) {
      rep.errors.push_back(std::string(p.name) + ": " + e.what());
      progress(std::string("phase ") + p.name + " FAILED: " + e.what());
    }
  }
  sb.proc->signal(SIGTERM);
  sb.proc->finish(milliseconds(10000));

  // The targets, each marked met or missed.
  json targets = json::array();
  int met = 0, missed = 0;
  rep.line("");
  rep.line("Targets (issue 7)");
  for (const Target &t : rep.targets) {
    auto m = t.met();
    targets.push_back({{"name", t.name}, {"what", t.comparison}, {"value", num(t.value, 3)},
                       {"target", std::string(t.higher_is_better ? ">= " : "<= ") + fmt("%g", t.bound)},
                       {"status", !m ? "not measured" : *m ? "met" : "missed"}});
    if (m && *m)
      ++met;
    else if (m)
      ++missed;
    rep.line("  " + pad(!m ? "n/a" : *m ? "met" : "MISSED", 7) + pad(t.name, 46) + lpad(fmt("%.3f", t.value), 10) + "  " +
             (t.higher_is_better ? ">= " : "<= ") + fmt("%g", t.bound));
  }
  if (rep.figures.contains("sessions_growth") && rep.figures["sessions_growth"].contains("datafast_mcp")) {
    const json &per = rep.figures["sessions_growth"]["datafast_mcp"][std::to_string(s.session_counts.back())]
                                 ["bytes_per_idle_session"];
    targets.push_back({{"name", "memory_per_idle_session_bytes"},
                       {"what", "datafast-mcp memory per idle legacy session at " +
                                    std::to_string(s.session_counts.back()) + " sessions (bytes)"},
                       {"value", per},
                       {"target", "reported; the count is bounded by http.maxSessions (default 1000)"},
                       {"status", "reported"}});
    rep.line("  " + pad("info", 7) + pad("memory_per_idle_session_bytes", 46) + lpad(per.dump(), 10) +
             "  reported; bounded by http.maxSessions");
  }
  rep.line("  " + std::to_string(met) + " met, " + std::to_string(missed) + " missed");
  for (const auto &e : rep.errors)
    rep.line("  error: " + e);
  double total = std::chrono::duration<double>(Clock::now() - g_t0).count();
  rep.figures["targets"] = targets;
  rep.figures["targets_met"] = met;
  rep.figures["targets_missed"] = missed;
  rep.figures["errors"] = rep.errors;
  rep.figures["duration_s"] = num(total, 1);
  rep.figures["machine"]["loadavg_at_end"] = loadavg();
  rep.line("Load average at start " + rep.figures["machine"]["loadavg_at_start"].get<std::string>() + ", at end " +
           loadavg() + " (other work on this machine skews every figure; see bench/README.md)");
  rep.line("Total " + fmt("%.0f", total) + " s");

  for (const auto &l : rep.table)
    std::cout << l << "\n";
  std::cout << rep.figures.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
  return rep.errors.empty() ? 0 : 1;
}
