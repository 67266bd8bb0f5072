// Websites by name (issue 16) against the HTTPS sandbox: GET /websites, list_websites and its
// filtering by the effective ceiling (per client too), the missing-permission error, domains
// beside ids in messages, and create_access_token's `websites` (domains resolved to ids).
#include "mcp/server.hpp"
#include "mcp/session.hpp"
#include "sandbox/sandbox.hpp"
#include "support/rpc.hpp"
#include "support/sandbox_client.hpp"
#include "tools/token_tools.hpp"

using namespace dfmcp;
using namespace dfmcp::test;
using Fault = sandbox::Fault;

namespace {

const std::string kA = "65a1b2c3d4e5f60718293a01"; // shop.example, owner
const std::string kB = "65a1b2c3d4e5f60718293a02"; // blog.example, member
const std::string kC = "65a1b2c3d4e5f60718293a03"; // docs.example, viewer

// The real tools over the real upstream client, against a sandbox; one session per client, each
// with its own ceiling (as the HTTP transport gives each client).
struct World {
  std::unique_ptr<sandbox::Sandbox> sb = sandbox::Sandbox::start(sandbox_options());
  std::unique_ptr<upstream::AccountApi> api = upstream::make_http_account_api(client_config(*sb));
  tools::ToolRegistry registry;
  std::shared_ptr<tools::Broker> broker;
  std::unique_ptr<mcp::Server> server;
  std::vector<std::unique_ptr<policy::Ceiling>> ceilings;
  std::vector<std::unique_ptr<mcp::Session>> sessions;
  int next_id = 1;

  explicit World(policy::Ceiling ceiling) {
    broker = tools::register_token_tools(registry, *api, sb->parent_token());
    server = std::make_unique<mcp::Server>(registry, std::move(ceiling));
  }

  // A client with `ceiling` (nullptr: the server's); returns its index.
  std::size_t client(const std::string &name, const policy::Ceiling *ceiling = nullptr) {
    if (ceiling) ceilings.push_back(std::make_unique<policy::Ceiling>(*ceiling));
    const policy::Ceiling &c = ceiling ? *ceilings.back() : server->ceiling();
    sessions.push_back(
        std::make_unique<mcp::Session>(*server, name, c, [](const json &) { return true; }));
    std::size_t i = sessions.size() - 1;
    send(i, {{"jsonrpc", "2.0"},
             {"id", next_id++},
             {"method", "initialize"},
             {"params",
              {{"protocolVersion", "2025-11-25"},
               {"capabilities", json::object()},
               {"clientInfo", {{"name", name}, {"version", "1"}}}}}});
    send(i, {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    return i;
  }

  json send(std::size_t i, const json &message) {
    mcp::Step step = sessions[i]->handle(message);
    if (step.job) {
      auto reply = run_job(*step.job);
      return reply ? *reply : json(nullptr);
    }
    return reply_of(step);
  }

  json call(std::size_t i, const std::string &tool, json args = json::object()) {
    json r = send(i, {{"jsonrpc", "2.0"},
                      {"id", next_id++},
                      {"method", "tools/call"},
                      {"params", {{"name", tool}, {"arguments", std::move(args)}}}});
    REQUIRE(r.contains("result"));
    return r["result"];
  }

  std::size_t requests(const std::string &method, const std::string &path_suffix = "") const {
    std::size_t n = 0;
    for (const auto &r : sb->requests())
      n += r.method == method && (path_suffix.empty() || r.path.ends_with(path_suffix));
    return n;
  }
};

std::vector<std::string> domains_of(const json &listed) {
  std::vector<std::string> out;
  for (const json &w : listed["websites"])
    out.push_back(w["domain"]);
  return out;
}

} // namespace

TEST_SUITE("websites") {

  TEST_CASE("the sandbox serves GET /websites with domains and roles - 403 without websites:read") {
    auto sb = sandbox::Sandbox::start(sandbox_options());
    auto api = upstream::make_http_account_api(client_config(*sb));
    auto listed = api->list_websites(nullptr);
    REQUIRE(listed.has_value());
    REQUIRE(listed->size() == 3);
    CHECK((*listed)[0].id == kA);
    CHECK((*listed)[0].domain == "shop.example");
    CHECK((*listed)[0].name == std::optional<std::string>("Shop"));
    CHECK((*listed)[0].role == model::WebsiteRole::Owner);
    CHECK((*listed)[0].timezone == "Europe/Paris");
    CHECK((*listed)[0].currency == "EUR");
    CHECK_FALSE((*listed)[0].tracking_id.empty());
    CHECK((*listed)[1].role == model::WebsiteRole::Member);
    CHECK((*listed)[2].role == model::WebsiteRole::Viewer);
    CHECK_FALSE((*listed)[2].name.has_value());

    SUBCASE("a token limited to some websites sees only those") {
      sb->with_account([](sandbox::Account &a) { a.set_parent_websites({kB}); });
      auto scoped = api->list_websites(nullptr);
      REQUIRE(scoped.has_value());
      REQUIRE(scoped->size() == 1);
      CHECK((*scoped)[0].domain == "blog.example");
    }
    SUBCASE("a parent without websites:read gets DataFast's 403 envelope") {
      sb->with_account([](sandbox::Account &a) {
        a.set_parent_permissions({"api-keys:read", "api-keys:write"});
      });
      auto refused = api->list_websites(nullptr);
      REQUIRE_FALSE(refused.has_value());
      CHECK(refused.error().kind == upstream::ErrorKind::Forbidden);
      CHECK(refused.error().status == 403);
      CHECK(refused.error().detail.find("websites:read") != std::string::npos);
    }
    SUBCASE("faults apply to the route like to the others") {
      sb->inject(Fault::of(Fault::Kind::Garbage, "GET").at("/websites"));
      auto broken = api->list_websites(nullptr);
      REQUIRE_FALSE(broken.has_value());
      CHECK(broken.error().kind == upstream::ErrorKind::BadResponse);
      CHECK(api->list(nullptr).has_value()); // the fault was for /websites only
      CHECK(api->list_websites(nullptr).has_value());
    }
    SUBCASE("only GET") {
      auto account = sandbox::Account();
      auto r =
          account.handle("POST", "/websites", "Bearer " + account.parent_token().reveal(), "{}");
      CHECK(r.status == 405);
    }
  }

  TEST_CASE("website entries are parsed strictly") {
    auto ok = upstream::parse_websites(
        R"({"status":"success","data":[{"_id":"abc","domain":"a.example","name":null,"role":"owner"}]})");
    REQUIRE(ok.has_value());
    CHECK((*ok)[0].domain == "a.example");
    for (const char *bad :
         {R"({"status":"success","data":[{"_id":"abc","name":"x","role":"owner"}]})",
          R"({"status":"success","data":[{"domain":"a.example","role":"owner"}]})",
          R"({"status":"success","data":[{"_id":"abc","domain":"a.example","role":"admin"}]})",
          R"({"status":"success","data":[{"_id":"abc","domain":"a.example"}]})",
          R"({"status":"success","data":[{"_id":"a/b","domain":"a.example","role":"owner"}]})",
          R"({"status":"success","data":[{"_id":"abc","domain":7,"role":"owner"}]})",
          R"({"status":"success","data":{}})"}) {
      CAPTURE(bad);
      auto r = upstream::parse_websites(bad);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().kind == upstream::ErrorKind::BadResponse);
    }
  }

  TEST_CASE("list_websites shows only websites within the effective ceiling - per client") {
    World w(make_test_ceiling({"analytics:read", "websites:read"}, std::vector{kA, kB}));
    policy::Ceiling reporting = make_test_ceiling({"analytics:read"}, std::vector{kA});
    std::size_t server_client = w.client("default");
    std::size_t reporting_client = w.client("reporting", &reporting);

    json all = structured(w.call(server_client, "list_websites"));
    CHECK(domains_of(all) == std::vector<std::string>{"shop.example", "blog.example"});
    CHECK(all["count"] == 2);
    CHECK(all["allWebsites"] == false);
    CHECK(all["websites"][0] == json{{"id", kA},
                                     {"domain", "shop.example"},
                                     {"name", "Shop"},
                                     {"role", "owner"},
                                     {"withinCeiling", true}});
    CHECK(all["websites"][1]["role"] == "member");

    json mine = structured(w.call(reporting_client, "list_websites"));
    CHECK(domains_of(mine) == std::vector<std::string>{"shop.example"});
    CHECK(w.call(reporting_client, "list_websites")["structuredContent"].dump().find(
              "docs.example") == std::string::npos);

    SUBCASE("the list is read once and trusted for upstream.scopeTtlMs") {
      CHECK(w.requests("GET", "/websites") == 1);
    }
    SUBCASE("the parent's own scope narrows it too (configured within the parent's websites)") {
      World fresh(make_test_ceiling({"analytics:read"}, std::vector{kA, kB}));
      fresh.sb->with_account([](sandbox::Account &a) { a.set_parent_websites({kA, kC}); });
      std::size_t c = fresh.client("default");
      structured(fresh.call(c, "list_access_tokens")); // learns the parent's scope
      CHECK(domains_of(structured(fresh.call(c, "list_websites"))) ==
            std::vector<std::string>{"shop.example"});
    }
  }

  TEST_CASE(
      "list_websites under a ceiling of all websites lists every website the parent can access") {
    World w(make_test_ceiling({"*"}, std::nullopt));
    std::size_t c = w.client("default");
    json all = structured(w.call(c, "list_websites"));
    CHECK(domains_of(all) ==
          std::vector<std::string>{"shop.example", "blog.example", "docs.example"});
    CHECK(all["allWebsites"] == true);
    CHECK(all["websites"][2]["name"].is_null());
  }

  TEST_CASE("a parent without websites:read: list_websites says so - the other tools still work") {
    World w(make_test_ceiling({"analytics:read"}, std::vector{kA, kB}));
    w.sb->with_account([](sandbox::Account &a) {
      a.set_parent_permissions({"analytics:read", "api-keys:read", "api-keys:write"});
    });
    std::size_t c = w.client("default");
    std::string text = error_text(w.call(c, "list_websites"));
    CHECK(
        text ==
        "list_websites: DataFast refused to list the websites (HTTP 403: Missing permission: "
        "websites:read). This server's own DataFast token lacks websites:read, so websites cannot "
        "be listed or named by domain here; the other tools still work: name websites by id "
        "(websiteIds). Whoever runs the server can add websites:read to its token.");

    json ceiling = structured(w.call(c, "get_token_ceiling"));
    CHECK(ceiling["websites"] ==
          json{{{"id", kA}, {"domain", nullptr}}, {{"id", kB}, {"domain", nullptr}}});
    json listed = structured(w.call(c, "list_access_tokens"));
    CHECK(listed["count"] == 3);
    json created = structured(
        w.call(c, "create_access_token",
               {{"name", "by id"}, {"permissions", {"analytics:read"}}, {"websiteIds", {kA}}}));
    CHECK(created["token"]["websiteIds"] == json{kA});
    // The refusal is remembered for the TTL: one request, not one per call.
    CHECK(w.requests("GET", "/websites") == 1);

    SUBCASE("create by domain cannot resolve: a clear error - nothing created") {
      std::size_t posts = w.requests("POST");
      std::string why = error_text(w.call(c, "create_access_token",
                                          {{"name", "by domain"},
                                           {"permissions", {"analytics:read"}},
                                           {"websites", {"shop.example"}}}));
      CHECK(why.starts_with(
          "create_access_token: resolving websites by domain: DataFast refused to list the "
          "websites (HTTP 403: Missing permission: websites:read)."));
      CHECK(why.find("the other tools still work") != std::string::npos);
      CHECK(w.requests("POST") == posts);
    }
  }

  TEST_CASE("domains stand beside ids in get_token_ceiling - list_access_tokens and refusals") {
    World w(make_test_ceiling({"analytics:read", "websites:read"}, std::vector{kA, kB}));
    w.sb->with_account(
        [](sandbox::Account &a) { a.add_token("docs reader", {"analytics:read"}, {kC}); });
    std::size_t c = w.client("default");

    json ceiling = structured(w.call(c, "get_token_ceiling"));
    CHECK(ceiling["websites"] ==
          json{{{"id", kA}, {"domain", "shop.example"}}, {{"id", kB}, {"domain", "blog.example"}}});
    CHECK(ceiling["configured"]["websites"] == ceiling["websites"]);
    CHECK(ceiling["rules"][1] ==
          "websiteIds: any of shop.example (" + kA + "), blog.example (" + kB +
              "); omit it for all of them; [] (all websites of the account) is not allowed");

    json listed = structured(w.call(c, "list_access_tokens"));
    json docs;
    for (const json &t : listed["tokens"])
      if (t["name"] == "docs reader") docs = t;
    REQUIRE(docs.is_object());
    CHECK(docs["websites"] == json{{{"id", kC}, {"domain", "docs.example"}}});
    CHECK(docs["exceeds"] == json{"website 'docs.example' (" + kC + ")"});

    // A refusal names the domain beside the id, and reaches no upstream.
    std::size_t before = w.sb->request_count();
    std::string text = error_text(
        w.call(c, "create_access_token",
               {{"name", "docs"}, {"permissions", {"analytics:read"}}, {"websiteIds", {kC}}}));
    CHECK(text ==
          "Refused: the request goes beyond this server's token ceiling. Nothing was sent to "
          "DataFast.\n"
          "- /websiteIds/0: website 'docs.example' (" +
              kC +
              ") is beyond the ceiling; allowed: "
              "shop.example (" +
              kA + "), blog.example (" + kB +
              ")\n"
              "Call get_token_ceiling to see what fits, and ask for the least the task needs.");
    text = error_text(w.call(
        c, "create_access_token",
        {{"name", "all"}, {"permissions", {"analytics:read"}}, {"websiteIds", json::array()}}));
    CHECK(text.find("allowed: any of shop.example (" + kA + "), blog.example (" + kB + ")") !=
          std::string::npos);
    text = error_text(
        w.call(c, "create_access_token",
               {{"name", "twice"}, {"permissions", {"analytics:read"}}, {"websiteIds", {kA, kA}}}));
    CHECK(text.find("/websiteIds/1: website 'shop.example' (" + kA + ") is listed twice") !=
          std::string::npos);
    CHECK(w.sb->request_count() == before);

    // Revoke: the token is read first (that is how its scope is known); nothing is deleted.
    text = error_text(w.call(c, "revoke_access_token", {{"tokenId", docs["id"]}}));
    CHECK(text.find("(website 'docs.example' (" + kC + "))") != std::string::npos);
    CHECK(text.find("websites shop.example (" + kA + "), blog.example (" + kB + ")") !=
          std::string::npos);
    CHECK(w.requests("DELETE") == 0);
  }

  TEST_CASE("create_access_token takes websites by domain - resolved to ids before the ceiling") {
    World w(make_test_ceiling({"analytics:read", "websites:read"}, std::vector{kA, kB}));
    std::size_t c = w.client("default");
    auto create = [&](json websites) {
      return w.call(c, "create_access_token",
                    {{"name", "reporting"},
                     {"permissions", {"analytics:read"}},
                     {"websites", std::move(websites)}});
    };

    SUBCASE("exact - ignoring case - and DataFast receives ids") {
      json created = structured(create({"SHOP.example", "blog.EXAMPLE"}));
      CHECK(created["token"]["websiteIds"] == json{kA, kB});
      CHECK(created["token"]["websites"] == json{{{"id", kA}, {"domain", "shop.example"}},
                                                 {{"id", kB}, {"domain", "blog.example"}}});
      json body;
      for (const auto &r : w.sb->requests())
        if (r.method == "POST") body = json::parse(r.body);
      CHECK(body["websiteIds"] == json{kA, kB});
      CHECK_FALSE(body.contains("websites"));
    }
    SUBCASE("an unknown domain is refused naming it - nothing created") {
      std::string text = error_text(create({"shop.example", "nope.example"}));
      CHECK(text == "Refused. Nothing was sent to DataFast.\n- /websites/1: 'nope.example' is not "
                    "the domain of a "
                    "website this server's token can access (domains match exactly, ignoring "
                    "case); the websites "
                    "it may name: shop.example, blog.example");
      CHECK(w.requests("POST") == 0);
    }
    SUBCASE("a domain of two websites is ambiguous - nothing created") {
      const std::string kDup = "65a1b2c3d4e5f60718293a04";
      w.sb->with_account([&](sandbox::Account &a) {
        a.websites().push_back(
            {kDup, "Shop.Example", "Shop again", "df_dup", "UTC", "USD", "owner"});
      });
      std::string text = error_text(create({"shop.example"}));
      CHECK(text.find("/websites/0: 'shop.example' is the domain of 2 websites (" + kA + ", " +
                      kDup + "); name them by id instead") != std::string::npos);
      CHECK(w.requests("POST") == 0);
    }
    SUBCASE("a domain beyond the ceiling is refused with its id - nothing created") {
      std::string text = error_text(create({"docs.example"}));
      CHECK(text.find("- /websites/0: website 'docs.example' (" + kC +
                      ") is beyond the ceiling; allowed: "
                      "shop.example (" +
                      kA + "), blog.example (" + kB + ")") != std::string::npos);
      CHECK(w.requests("POST") == 0);
    }
    SUBCASE("websites and websiteIds together are refused before any request") {
      std::string text = error_text(w.call(c, "create_access_token",
                                           {{"name", "both"},
                                            {"permissions", {"analytics:read"}},
                                            {"websiteIds", {kA}},
                                            {"websites", {"shop.example"}}}));
      CHECK(text == "Invalid arguments. Nothing was sent to DataFast.\n- /websites: give the "
                    "websites either by "
                    "id (websiteIds) or by domain (websites), not both");
      CHECK(w.sb->request_count() == 0);
    }
    SUBCASE("a dry run resolves too and shows the ids it would send") {
      json dry = structured(w.call(c, "create_access_token",
                                   {{"name", "dry"},
                                    {"permissions", {"analytics:read"}},
                                    {"websites", {"blog.example"}},
                                    {"dryRun", true}}));
      CHECK(dry["wouldSend"]["body"]["websiteIds"] == json{kB});
      CHECK(w.requests("POST") == 0);
    }
  }
}

// --- ceilings written with domains: the config, and the real binary at start ------------------

#include "config.hpp"
#include "support/process.hpp"

namespace {

const std::string kBinary = DFMCP_BINARY;

config::Env env_with_token() {
  return [](const std::string &name) -> std::optional<std::string> {
    if (name == "DATAFAST_TOKEN") return std::string("dft_PARENTkey000000000000000wxyz");
    return std::nullopt;
  };
}

// A sandbox and the binary's arguments pointing at it.
struct BinaryRig {
  std::unique_ptr<sandbox::Sandbox> sb = sandbox::Sandbox::start(sandbox_options());
  TempDir dir;
  std::string ca_file = dir.write("ca.pem", sb->ca_pem());
  std::vector<std::string> args(std::vector<std::string> extra) const {
    std::vector<std::string> a = {kBinary, "--upstream-url", sb->base_url(), "--ca-file", ca_file};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::map<std::string, std::string> env() const {
    return {{"DATAFAST_TOKEN", sb->parent_token().reveal()}};
  }
};

} // namespace

TEST_SUITE("websites") {

  TEST_CASE("config: ceiling.websites and --websites take domains - ids keep working") {
    config::Options o;
    SUBCASE("a file with domains and ids") {
      auto cfg = config::load_text(
          R"({"ceiling": {"permissions": ["analytics:read"], "websiteIds": ["65a1b2c3d4e5f60718293a01"], "websites": ["blog.example"]}})",
          o, env_with_token());
      REQUIRE(cfg.has_value());
      CHECK(cfg->website_domains.value == std::vector<std::string>{"blog.example"});
      CHECK(cfg->ceiling.websites.ids ==
            std::vector<std::string>{kA}); // the domain is added at start
    }
    SUBCASE("a file with domains only") {
      auto cfg = config::load_text(
          R"({"ceiling": {"permissions": ["analytics:read"], "websites": ["blog.example"]}})", o,
          env_with_token());
      REQUIRE(cfg.has_value());
      CHECK_FALSE(cfg->ceiling.websites.all);
      CHECK(cfg->ceiling.websites.ids.empty());
    }
    SUBCASE("--websites mixes ids and domains (an entry with a dot is a domain)") {
      o.permissions = std::vector<std::string>{"analytics:read"};
      o.websites = kA + ",blog.example";
      auto cfg = config::load_text(std::nullopt, o, env_with_token());
      REQUIRE(cfg.has_value());
      CHECK(cfg->website_domains.value == std::vector<std::string>{"blog.example"});
      CHECK(cfg->ceiling.websites.ids == std::vector<std::string>{kA});
    }
    SUBCASE("errors name the key") {
      auto bad = config::load_text(
          R"({"ceiling": {"permissions": ["*"], "websiteIds": "*", "websites": ["a.example"]}})", o,
          env_with_token());
      REQUIRE_FALSE(bad.has_value());
      CHECK(bad.error().key == "ceiling.websites");
      bad = config::load_text(R"({"ceiling": {"permissions": ["*"], "websites": []}})", o,
                              env_with_token());
      REQUIRE_FALSE(bad.has_value());
      CHECK(bad.error().key == "ceiling.websites");
      bad = config::load_text(
          R"({"ceiling": {"permissions": ["*"], "websites": ["a.example", "a b.example"]}})", o,
          env_with_token());
      REQUIRE_FALSE(bad.has_value());
      CHECK(bad.error().key == "ceiling.websites[1]");
    }
  }

  TEST_CASE("binary: --websites by domain is resolved at start - shown with domains") {
    BinaryRig rig;
    auto child = Child::spawn(
        rig.args({"--permissions", "analytics:read", "--websites", "shop.example,BLOG.example"}),
        rig.env());
    child->write_line(json{{"jsonrpc", "2.0"},
                           {"id", 1},
                           {"method", "initialize"},
                           {"params",
                            {{"protocolVersion", "2025-11-25"},
                             {"capabilities", json::object()},
                             {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}}
                          .dump());
    REQUIRE(child->read_line().has_value());
    child->write_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    child->write_line(
        R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_token_ceiling","arguments":{}}})");
    auto line = child->read_line();
    REQUIRE(line.has_value());
    json ceiling = json::parse(*line)["result"]["structuredContent"];
    CHECK(ceiling["websiteIds"] == json{kA, kB});
    CHECK(ceiling["websites"] ==
          json{{{"id", kA}, {"domain", "shop.example"}}, {{"id", kB}, {"domain", "blog.example"}}});
    child->close_stdin();
    CHECK(child->wait() == 0);
    CHECK(child->all_stderr().find("ceiling: websites named by domain resolved: shop.example -> " +
                                   kA + ", BLOG.example -> " + kB) != std::string::npos);
    CHECK(child->all_stderr().find("websites " + std::string("shop.example (") + kA + ")") !=
          std::string::npos);
  }

  TEST_CASE("binary: a domain that does not resolve stops the server with exit 2 naming it") {
    BinaryRig rig;
    RunResult flag = run(
        rig.args({"--permissions", "analytics:read", "--websites", "shop.example,nope.example"}),
        rig.env());
    CHECK(flag.code == 2);
    CHECK(flag.out.empty());
    CHECK(std::count(flag.err.begin(), flag.err.end(), '\n') == 1);
    CHECK(flag.err.find("datafast-mcp: config error: --websites: 'nope.example' is not the domain "
                        "of a website this "
                        "server's token can access") != std::string::npos);
    CHECK(flag.err.find(rig.sb->parent_token().reveal()) == std::string::npos);

    std::string conf = rig.dir.write(
        "c.json",
        R"({"ceiling": {"permissions": ["analytics:read"], "websites": ["shop.example", "www.nope.example"]}})");
    RunResult file = run(rig.args({"--config", conf}), rig.env());
    CHECK(file.code == 2);
    CHECK(
        file.err.find("config error: ceiling.websites[1]: 'www.nope.example' is not the domain") !=
        std::string::npos);
    CHECK(file.err.find("(in " + conf + ")") != std::string::npos);
    RunResult checked = run(rig.args({"check", "--config", conf}), rig.env());
    CHECK(checked.code == 2);
    CHECK(rig.sb->requests().size() >= 2); // each start read the website list
    for (const auto &r : rig.sb->requests())
      CHECK(r.method == "GET");

    SUBCASE("a parent without websites:read cannot resolve domains: exit 2 saying so") {
      rig.sb->with_account([](sandbox::Account &a) {
        a.set_parent_permissions({"api-keys:read", "api-keys:write"});
      });
      RunResult r = run(rig.args({"--permissions", "analytics:read", "--websites", "shop.example"}),
                        rig.env());
      CHECK(r.code == 2);
      CHECK(r.err.find("config error: --websites: cannot resolve the domains shop.example:") !=
            std::string::npos);
      CHECK(r.err.find("lacks websites:read") != std::string::npos);
    }
    SUBCASE("a client's ceiling must lie within the resolved server ceiling") {
      std::string clients = rig.dir.write(
          "h.json",
          R"({"ceiling": {"permissions": ["analytics:read"], "websites": ["shop.example"]},
      "http": {"listen": "127.0.0.1:0", "clients": [{"name": "r", "tokenEnv": "R_TOKEN", "ceiling": {"permissions": ["analytics:read"], "websiteIds": ["65a1b2c3d4e5f60718293a02"]}}]}})");
      auto env = rig.env();
      env["R_TOKEN"] = "r-token-0123456789abcdef";
      RunResult r = run(rig.args({"--config", clients}), env);
      CHECK(r.code == 2);
      CHECK(r.err.find("config error: http.clients[0].ceiling: goes beyond the server's ceiling: "
                       "website 'blog.example' (" +
                       kB + ")") != std::string::npos);
    }
  }

  TEST_CASE("binary: check shows the domain resolution and the parent's websites") {
    BinaryRig rig;
    std::string conf = rig.dir.write(
        "c.json",
        R"({"ceiling": {"permissions": ["analytics:read"], "websiteIds": ["65a1b2c3d4e5f60718293a01"], "websites": ["docs.example"]}})");
    RunResult r = run(rig.args({"check", "--config", conf}), rig.env());
    CHECK(r.code == 0);
    CHECK(r.out.find("docs.example -> " + kC) != std::string::npos);
    CHECK(r.out.find("websiteIds: any of " + kA + ", docs.example (" + kC + ")") !=
          std::string::npos);
    CHECK(r.out.find("shop.example (" + kA + "), role owner, within the ceiling") !=
          std::string::npos);
    CHECK(r.out.find("blog.example (" + kB + "), role member, outside the ceiling") !=
          std::string::npos);
    RunResult offline = run(rig.args({"check", "--offline", "--config", conf}), rig.env());
    CHECK(offline.code == 0);
    CHECK(offline.out.find("docs.example (not resolved: --offline)") != std::string::npos);
  }
}
