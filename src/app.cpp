#include "app.hpp"

#include "audit/audit_log.hpp"
#include "check.hpp"
#include "print_config.hpp"
#include "safety/ledger.hpp"
#include "config_http.hpp"
#include "cli.hpp"
#include "log.hpp"
#include "mcp/server.hpp"
#include "platform/system.hpp"
#include "sandbox/sandbox.hpp"
#include "tools/token_tools.hpp"
#include "tools/websites.hpp"
#include "transport/http_mcp.hpp"
#include "transport/stdio.hpp"
#include "upstream/account_api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

namespace dfmcp {

namespace {

// The ceiling for the start-up log line; websites named by domain in the config show their domain.
std::string ceiling_summary(const config::Config &cfg) {
  policy::WebsiteNames names;
  for (const auto &[domain, id] : cfg.resolved_domains)
    names.emplace(id, domain);
  const policy::Ceiling &c = cfg.ceiling;
  return "permissions " + c.permissions.describe() + "; websites " + c.websites.describe(&names);
}

std::string tools_summary(const config::Config &cfg) {
  return policy::join(cfg.tools.on, ", ") + (cfg.tools.read_only.value ? " (read-only)" : "");
}


// One line, whatever the message holds: control characters are escaped.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else
      out.push_back(c);
  }
  return out;
}

int serve_http(const mcp::Server &server, const config::Config &cfg, const std::string &upstream_text,
               const std::string &parent_display) {
  platform::raise_fd_limit();
  const config::HttpConfig &h = cfg.http;
  transport::HttpRunOptions run;
  run.server.host = h.host;
  run.server.port = h.port;
  run.server.limits.max_body_bytes = static_cast<std::size_t>(h.max_body_bytes);
  run.server.workers = static_cast<std::size_t>(h.workers);
  run.server.max_connections = static_cast<std::size_t>(h.max_connections);
  run.server.max_connections_per_address = static_cast<std::size_t>(h.max_connections_per_address);
  run.server.stop_on_signals = true; // asio::signal_set: HTTP mode leaves the signals unblocked
  // In-flight calls may finish after a stop: give them the upstream deadline and a little more.
  run.server.shutdown_grace = std::chrono::milliseconds(cfg.timeout_ms.value + 2000);
  run.endpoint.path = h.path.value;
  run.endpoint.loopback = h.loopback;
  run.endpoint.allowed_origins = h.allowed_origins.value;
  run.endpoint.allowed_hosts = h.allowed_hosts.value;
  run.endpoint.max_sessions = static_cast<std::size_t>(h.max_sessions);
  run.endpoint.session_idle_timeout = std::chrono::milliseconds(h.session_idle_timeout_ms);
  std::vector<std::string> names;
  if (h.auth_token_env.value) {
    run.endpoint.identities.push_back({"default", h.auth_token, &server.ceiling()});
    names.push_back("default (" + *h.auth_token_env.value + ")");
  }
  for (const config::HttpClient &c : h.clients) {
    run.endpoint.identities.push_back({c.name, c.token, &c.ceiling});
    names.push_back(c.name + " (" + c.token_env + ")");
  }
  bool auth = !run.endpoint.identities.empty();
  if (!auth)
    run.endpoint.identities.push_back({"local", Secret(), &server.ceiling()});
  run.on_listening = [&](const std::string &url) {
    spdlog::info("{} serving MCP over HTTP at {}; auth: {}; upstream {} (token {}); ceiling: {}; tools: {}",
                 version_text(), url,
                 auth ? "bearer token, clients " + policy::join(names, ", ")
                      : std::string("none (loopback only)"),
                 upstream_text, parent_display, ceiling_summary(cfg), tools_summary(cfg));
  };
  return transport::run_http(server, std::move(run));
}

int serve_sandbox(const SandboxOptions &o) {
  auto listen = config::parse_listen(o.listen);
  if (!listen) {
    std::fprintf(stderr, "datafast-mcp: usage error: --listen: %s\n", listen.error().c_str());
    return 2;
  }
  platform::StopSignals signals; // before the sandbox's threads start
  sandbox::Sandbox::Options options;
  options.host = listen->first;
  options.port = listen->second;
  auto sb = sandbox::Sandbox::start(options);
  if (!platform::write_file(o.ca_out, sb->ca_pem(), false) ||
      !platform::write_file(o.token_out, sb->parent_token().reveal(), true)) {
    std::fprintf(stderr, "datafast-mcp: cannot write %s or %s: %s\n", o.ca_out.c_str(), o.token_out.c_str(),
                 std::strerror(errno));
    return 1;
  }
  json info{{"baseUrl", sb->base_url()},
            {"caFile", o.ca_out},
            {"tokenFile", o.token_out},
            {"websiteIds", sandbox::Account::seeded_website_ids()}};
  std::string line = dump_json(info) + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
  spdlog::info("sandbox: serving a built-in DataFast account at {} until SIGTERM", sb->base_url());
  std::string why = signals.wait();
  spdlog::info("sandbox: {} received", why);
  spdlog::info("sandbox: stopped after {} request(s)", sb->request_count());
  return 0;
}

// Ceiling websites named by domain (ceiling.websites, --websites): resolved once, now, against the
// parent token's website list, and added to the ceiling. A domain that does not resolve, or a list
// that cannot be read, stops the server: exit 2 with one line naming the key and the domain.
int resolve_domain_ceiling(tools::Broker &broker, config::Config &cfg) {
  const std::vector<std::string> &domains = cfg.website_domains.value;
  const bool flag = cfg.website_domains.origin.source == config::Source::Flag;
  const std::string key = flag ? "--websites" : "ceiling.websites";
  const std::string where = flag || !cfg.config_path ? "" : " (in " + *cfg.config_path + ")";
  auto fail = [&](const std::string &k, const std::string &message) {
    std::fprintf(stderr, "datafast-mcp: config error: %s: %s%s\n", k.c_str(), one_line(message).c_str(),
                 where.c_str());
    return 2;
  };
  auto listed = tools::website_directory(broker).get(nullptr, std::nullopt);
  if (!listed)
    return fail(key, "cannot resolve the domains " + policy::join(domains, ", ") + ": " +
                         tools::websites_unreadable(listed.error(), "reading the website list") +
                         " Name the websites by id (ceiling.websiteIds) instead.");
  auto ids = tools::resolve_domains(domains, *listed, *listed);
  if (!ids) {
    const tools::DomainProblem &p = ids.error().front();
    return fail(flag ? key : key + "[" + std::to_string(p.index) + "]", p.message);
  }
  std::vector<std::string> &ceiling_ids = cfg.ceiling.websites.ids;
  for (std::size_t i = 0; i < domains.size(); ++i) {
    cfg.resolved_domains.emplace_back(domains[i], (*ids)[i]);
    if (std::find(ceiling_ids.begin(), ceiling_ids.end(), (*ids)[i]) == ceiling_ids.end())
      ceiling_ids.push_back((*ids)[i]);
  }
  // The HTTP clients' ceilings were checked without the server's websites: now with them.
  policy::WebsiteNames names = tools::website_directory(broker).names();
  for (std::size_t i = 0; i < cfg.http.clients.size(); ++i) {
    std::vector<std::string> beyond = policy::ceiling_beyond(cfg.http.clients[i].ceiling, cfg.ceiling, &names);
    if (!beyond.empty())
      return fail("http.clients[" + std::to_string(i) + "].ceiling",
                  "goes beyond the server's ceiling: " + policy::join(beyond, ", ") +
                      "; a client's ceiling must lie within permissions " + cfg.ceiling.permissions.describe() +
                      " and websites " + cfg.ceiling.websites.describe(&names));
  }
  std::vector<std::string> shown;
  for (const auto &[domain, id] : cfg.resolved_domains)
    shown.push_back(domain + " -> " + id);
  spdlog::info("ceiling: websites named by domain resolved: {}", policy::join(shown, ", "));
  return 0;
}

tools::BrokerOptions broker_options(const config::Config &cfg) {
  const config::SafetyConfig &s = cfg.safety;
  tools::BrokerOptions o;
  o.key_delivery = s.keys_delivery.value == "file" ? tools::BrokerOptions::KeyDelivery::File
                                                   : tools::BrokerOptions::KeyDelivery::Result;
  o.keys_dir = s.keys_dir.value.value_or("");
  o.name_prefix = s.name_prefix.value;
  o.revoke_minted_only = s.revoke_scope.value == "minted";
  o.max_creates_per_hour = s.max_creates_per_hour.value;
  o.max_live_minted = s.max_live_minted.value;
  o.confirm = s.confirm.value == "always"   ? safety::ConfirmMode::Always
              : s.confirm.value == "writes" ? safety::ConfirmMode::Writes
                                            : safety::ConfirmMode::Never;
  o.scope_ttl = std::chrono::milliseconds(s.scope_ttl_ms.value);
  return o;
}

// `check`: what the parent token holds, the effective ceiling, and a warning for each configured
// permission or website the parent lacks.
std::string render_parent_scope(tools::Broker &broker, const config::Config &cfg) {
  std::string out = "\nThis server's own token:\n";
  auto scope = tools::refresh_parent_scope(broker, nullptr);
  if (!scope) {
    out += "  could not read the account's tokens: " + upstream::describe(scope.error(), "list", false) +
           "\n  The configured ceiling holds alone until the server can read it.\n";
    return out;
  }
  if (scope->state != tools::ParentScopeView::State::Identified) {
    out += "  not found in the account's token list (by its displayKey), so its scope is unknown; the "
           "configured ceiling holds alone.\n";
    return out;
  }
  const policy::TokenScope &p = scope->scope;
  // Its websites, with domains (a parent without websites:read: ids only, and a note).
  auto sites = tools::website_directory(broker).get(nullptr, std::nullopt);
  policy::WebsiteNames names = tools::website_directory(broker).names();
  out += "  " + scope->display_key + ": permissions " + (p.permissions.empty() ? std::string("(none listed: full access)") : policy::join(p.permissions, ", ")) +
         "; " + (p.website_ids.empty() ? std::string("all websites") : "websites " + policy::WebsiteScope{false, p.website_ids}.describe(&names)) + "\n";
  policy::Ceiling effective = policy::intersect(cfg.ceiling, p);
  if (sites) {
    out += "  websites it can access (GET /websites):\n";
    for (const model::Website &w : *sites)
      out += "    " + w.domain + " (" + w.id + "), role " + model::role_name(w.role) +
             (effective.websites.covers(w.id) ? ", within the ceiling" : ", outside the ceiling") + "\n";
  } else {
    out += "  websites: " + tools::websites_unreadable(sites.error(), "reading the website list") + "\n";
  }
  out += "Effective ceiling (configured ∩ the parent's scope): permissions " + effective.permissions.describe() +
         "; websites " + (effective.websites.all ? std::string("all websites (*)") : effective.websites.ids.empty() ? std::string("none") : effective.websites.describe(&names)) + "\n";
  for (const std::string &missing : policy::ceiling_beyond(cfg.ceiling, effective, &names))
    out += "  warning: the ceiling allows " + missing + ", which this server's own token does not hold; DataFast "
           "would refuse it\n";
  if (effective.permissions.empty() || (!effective.websites.all && effective.websites.ids.empty()))
    out += "  warning: nothing can be minted: the ceiling and the parent's scope do not overlap\n";
  return out;
}

int print_client_config(const PrintConfigOptions &o) {
  if (o.list_clients) {
    std::string out;
    for (const print_config::ClientSpec &c : print_config::clients())
      out += c.name + "  " + c.title + " (" + (c.stdio && c.http ? "stdio, http" : c.stdio ? "stdio" : "http") +
             ")\n    goes in: " + c.where + "\n    token: " + c.secret_handling + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  print_config::Request r;
  r.client = o.client;
  r.binary = platform::executable_path().value_or("datafast-mcp");
  if (o.config)
    r.config = std::filesystem::absolute(*o.config).lexically_normal().string();
  r.extra_args = o.server_args;
  r.http_url = o.http_url;
  r.token_env = o.token_env;
  r.http_token_env = o.http_token_env;
  r.server_name = o.server_name;
  r.docker_image = o.docker_image;
  if (!o.http_url) {
    // Refuse a snippet that could not start: the server's arguments, its config file and no
    // settings from the client's environment but the secrets (which the snippet passes).
    std::vector<const char *> argv = {"datafast-mcp"};
    for (const std::string &a : o.server_args)
      argv.push_back(a.c_str());
    auto server = parse_cli(static_cast<int>(argv.size()), argv.data());
    if (!server || server->command != Command::Serve) {
      std::string why = server ? std::string("they are not the serving command's") : server.error().err;
      while (!why.empty() && why.back() == '\n')
        why.pop_back();
      why = one_line(why);
      std::fprintf(stderr, "datafast-mcp: print-config: the server arguments after -- would not start: %s\n",
                   why.c_str());
      return 2;
    }
    config::Options options = server->options;
    if (o.config)
      options.config_path = *o.config;
    auto secrets_only = [](const std::string &name) -> std::optional<std::string> {
      if (name.starts_with("DATAFAST_MCP_") || name == config::kUrlEnv || name == config::kCaFileEnv)
        return std::nullopt;
      return std::string("dft_print-config-placeholder-0123456789abcdef");
    };
    if (auto cfg = config::load(options, secrets_only); !cfg) {
      std::fprintf(stderr, "datafast-mcp: print-config: refused: the server would not start: %s\n",
                   one_line(cfg.error().to_string()).c_str());
      return 2;
    }
  }
  auto text = print_config::render(r);
  if (!text) {
    std::fprintf(stderr, "datafast-mcp: print-config: %s\n", one_line(text.error()).c_str());
    return 2;
  }
  std::fwrite(text->data(), 1, text->size(), stdout);
  return 0;
}

int verify_audit(const std::string &path) {
  auto report = audit::verify(path);
  if (!report) {
    std::fprintf(stderr, "datafast-mcp: audit verify: %s\n", report.error().c_str());
    return 2;
  }
  switch (report->status) {
  case audit::VerifyReport::Status::Intact:
    std::printf("ok: %s: %llu records, hash chain intact; head %s\n", path.c_str(),
                static_cast<unsigned long long>(report->lines), report->head.c_str());
    return 0;
  case audit::VerifyReport::Status::IncompleteTail:
    std::printf("incomplete: %s: %s\n", path.c_str(), report->problem.c_str());
    return 3;
  case audit::VerifyReport::Status::Broken:
    std::printf("broken: %s: %s\n", path.c_str(), report->problem.c_str());
    return 1;
  }
  return 1;
}

} // namespace

int run_app(int argc, const char *const *argv) {
  platform::guard_standard_fds();
  log::init();
  platform::ignore_broken_pipes();

  auto cli = parse_cli(argc, argv);
  if (!cli) {
    std::fputs(cli.error().out.c_str(), stdout);
    std::fputs(cli.error().err.c_str(), stderr);
    return cli.error().code;
  }
  if (cli->command == Command::Sandbox)
    return serve_sandbox(cli->sandbox);

  if (cli->command == Command::AuditVerify)
    return verify_audit(cli->audit_path);
  if (cli->command == Command::PrintConfig)
    return print_client_config(cli->print_config);

  auto cfg = config::load(cli->options, config::process_env());
  if (!cfg) {
    std::fprintf(stderr, "datafast-mcp: config error: %s\n", one_line(cfg.error().to_string()).c_str());
    return 2;
  }
  if (auto prepared = config::prepare_files(*cfg); !prepared) {
    std::fprintf(stderr, "datafast-mcp: config error: %s\n", one_line(prepared.error().to_string()).c_str());
    return 2;
  }
  if (cli->command == Command::Check) {
    if (auto verified = config::verify_ca_file(*cfg); !verified) {
      std::fprintf(stderr, "datafast-mcp: config error: %s\n", one_line(verified.error().to_string()).c_str());
      return 2;
    }
  }
  log::set_level(*log::parse_level(cfg->log_level.value));
  log::set_json(cfg->log_format.value == "json");

  // The audit log and the mint ledger are opened (and locked) before anything is served.
  std::unique_ptr<audit::AuditLog> audit_log;
  std::unique_ptr<safety::Ledger> ledger;
  if (cli->command != Command::Check) {
    if (const auto &path = cfg->safety.audit_file.value) {
      auto opened = audit::AuditLog::open(*path);
      if (!opened) {
        std::fprintf(stderr, "datafast-mcp: config error: logging.auditFile: %s\n", one_line(opened.error()).c_str());
        return 2;
      }
      audit_log = std::move(*opened);
    }
    if (const auto &path = cfg->safety.ledger_file.value) {
      auto opened = safety::Ledger::open(*path);
      if (!opened) {
        std::fprintf(stderr, "datafast-mcp: config error: mint.ledgerFile: %s\n", one_line(opened.error()).c_str());
        return 2;
      }
      ledger = std::move(*opened);
    }
  }

  // Stop signals: an orderly shutdown instead of a death mid-write. stdio: set up before any thread
  // starts (the sandbox's, the upstream client's), so that every thread leaves them to the
  // watcher. HTTP mode watches them with the server's asio::signal_set, which a blocked signal
  // never reaches, so they are not blocked there.
  std::optional<platform::StopSignals> stdio_signals;
  if (cli->command != Command::Check && !cfg->http.enabled)
    stdio_signals.emplace();

  std::unique_ptr<sandbox::Sandbox> sandbox;
  upstream::ClientConfig client;
  client.timeout = std::chrono::milliseconds(cfg->timeout_ms.value);
  if (cfg->sandbox) {
    sandbox = sandbox::Sandbox::start();
    client.url = *parse_https_url(sandbox->base_url());
    client.token = sandbox->parent_token();
    sandbox::Sandbox *sb = sandbox.get();
    client.trust.make_store = [sb] { return sb->new_trust_store(); };
    if (cli->command != Command::Check) {
      spdlog::info("sandbox: serving a built-in DataFast account at {} (trusted by this process "
                   "only); nothing reaches datafa.st",
                   sandbox->base_url());
      if (cfg->demo_ceiling)
        spdlog::warn("sandbox: no ceiling given, so the demo ceiling applies: {} (set --permissions and "
                     "--websites for your own)",
                     ceiling_summary(*cfg));
    }
  } else {
    client.url = cfg->upstream;
    client.token = cfg->token;
    client.trust.ca_file = cfg->ca_file.value;
  }
  if (cfg->http.enabled)
    client.max_connections = static_cast<std::size_t>(cfg->http.workers);
  Secret parent = client.token;
  std::string parent_display = parent.display_key();
  std::string upstream_text = client.url.to_string();
  auto api = upstream::make_http_account_api(std::move(client));

  tools::ToolRegistry registry;
  auto broker = tools::register_token_tools(registry, *api, std::move(parent), broker_options(*cfg), ledger.get(),
                                            audit_log.get());
  registry.retain(cfg->tools.on); // --tools, --read-only: the rest are unknown tools

  if (!cfg->website_domains.value.empty() && !(cli->command == Command::Check && cli->offline))
    if (int code = resolve_domain_ceiling(*broker, *cfg); code != 0)
      return code;

  if (cli->command == Command::Check) {
    std::string report = render_check(*cfg);
    if (!cli->offline)
      report += render_parent_scope(*broker, *cfg);
    std::fwrite(report.data(), 1, report.size(), stdout);
    return 0;
  }

  mcp::Server server(registry, cfg->ceiling);
  if (audit_log) {
    policy::WebsiteNames names = tools::website_directory(*broker).names(); // known when by domain
    audit_log->append_event("start", json{{"version", DFMCP_VERSION},
                                          {"transport", cfg->http.enabled ? "http" : "stdio"},
                                          {"ceiling", tools::ceiling_view(cfg->ceiling, &names)}});
  }

  int code = 0;
  if (cfg->http.enabled) {
    code = serve_http(server, *cfg, upstream_text, parent_display);
  } else {
    spdlog::info("{} serving MCP on stdio; upstream {} (token {}); ceiling: {}; tools: {}", version_text(),
                 upstream_text, parent_display, ceiling_summary(*cfg), tools_summary(*cfg));
    transport::StdioOptions options;
    options.stop = std::make_shared<transport::StopSwitch>();
    stdio_signals->on_stop([stop = options.stop](std::string_view name) { stop->request(std::string(name)); });
    code = transport::run_stdio(server, options);
    stdio_signals->on_stop(nullptr);
  }
  if (audit_log) {
    audit_log->append_event("stop", json::object());
    spdlog::info("audit: {} records; chain head {}", audit_log->records(), audit_log->head());
  }
  spdlog::info("stopped");
  return code;
}

} // namespace dfmcp
