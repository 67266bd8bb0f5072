#include "cli.hpp"

#include "mcp/modern.hpp"
#include "mcp/server.hpp"

#include <CLI/CLI.hpp>

#include <sstream>

namespace dfmcp {

namespace {

constexpr const char *kExamples = R"(
Examples:
  # Try it with no DataFast account: the built-in sandbox and its small demo ceiling
  datafast-mcp --sandbox

  # The sandbox with a ceiling of your own (its website ids are 65a1b2c3d4e5f60718293a01..03)
  datafast-mcp --sandbox --permissions analytics:read,websites:read \
               --websites 65a1b2c3d4e5f60718293a01

  # The same ceiling with websites named by domain (resolved once at start; exit 2 if one is unknown)
  datafast-mcp --sandbox --permissions analytics:read,websites:read --websites shop.example

  # Serve a real account; the parent token comes from the environment only
  DATAFAST_TOKEN=dft_... datafast-mcp --config ~/.config/datafast-mcp.json

  # A small shared service over Streamable HTTP; clients send Authorization: Bearer $MCP_TOKEN
  MCP_TOKEN=$(openssl rand -hex 32) DATAFAST_TOKEN=dft_... \
    datafast-mcp --config cfg.json --http 127.0.0.1:8787 --auth-token-env MCP_TOKEN

  # Check a configuration and see every effective value and where it came from
  datafast-mcp check --config ~/.config/datafast-mcp.json

  # Only the read-only tools; the ceiling from the environment (as containers and registries pass it)
  DATAFAST_MCP_PERMISSIONS=analytics:read DATAFAST_MCP_WEBSITES='*' datafast-mcp --read-only
)";

// The options shared by the serving command and `check`, bound to one set of variables so either
// position works (`datafast-mcp --config f check` and `datafast-mcp check --config f`).
struct Values {
  std::string config_path, websites, upstream_url, token_env, ca_file, log_level;
  std::string http_listen, http_path, auth_token_env, allowed_origins, allowed_hosts;
  std::string keys_delivery, keys_dir, name_prefix, ledger_file, revoke_scope, confirm, audit_file, log_format;
  long long max_creates_per_hour = 0, max_live_minted = 0, scope_ttl_ms = 0;
  std::vector<std::string> permissions;
  long long timeout_ms = 0;
  bool sandbox = false;
  bool read_only = false;
  std::string tools;
};

struct Bound {
  std::vector<CLI::Option *> config_path, websites, upstream_url, token_env, ca_file, log_level,
      permissions, timeout_ms, http_listen, http_path, auth_token_env, allowed_origins, allowed_hosts,
      keys_delivery, keys_dir, name_prefix, ledger_file, revoke_scope, confirm, audit_file, log_format,
      max_creates_per_hour, max_live_minted, scope_ttl_ms, read_only, tools;
};

void add_options(CLI::App &app, Values &v, Bound &b) {
  b.config_path.push_back(app.add_option("-c,--config", v.config_path,
                                         "JSON config file (schema: schemas/config.schema.json)")
                              ->type_name("FILE"));
  app.add_flag("--sandbox", v.sandbox,
               "Serve against the built-in sandbox account (an HTTPS server on loopback); no "
               "DataFast token needed");
  b.permissions.push_back(app.add_option("--permissions", v.permissions,
                                         "Ceiling: permissions minted tokens may carry, comma "
                                         "separated, or * (overrides ceiling.permissions)")
                              ->delimiter(',')
                              ->type_name("LIST"));
  b.websites.push_back(app.add_option("--websites", v.websites,
                                      "Ceiling: websites minted tokens may cover, comma separated: "
                                      "ids, or domains (an entry with a dot, resolved at start), or * "
                                      "for all (overrides ceiling.websiteIds and ceiling.websites)")
                           ->type_name("LIST|*"));
  b.upstream_url.push_back(app.add_option("--upstream-url", v.upstream_url,
                                          "DataFast Account API base URL (https only; default "
                                          "https://datafa.st/api/v1/admin)")
                               ->type_name("URL"));
  b.token_env.push_back(app.add_option("--token-env", v.token_env,
                                       "Environment variable holding the parent dft_ token "
                                       "(default DATAFAST_TOKEN)")
                            ->type_name("NAME"));
  b.ca_file.push_back(app.add_option("--ca-file", v.ca_file,
                                     "PEM file of CAs to trust for the upstream instead of the "
                                     "system store")
                          ->type_name("FILE"));
  b.timeout_ms.push_back(app.add_option("--timeout-ms", v.timeout_ms,
                                        "Deadline of one upstream request (default 15000)")
                             ->type_name("MS"));
  b.http_listen.push_back(app.add_option("--http", v.http_listen,
                                         "Serve MCP over Streamable HTTP on HOST:PORT (or PORT, on "
                                         "127.0.0.1) instead of stdio; port 0 picks a free one")
                              ->type_name("[HOST:]PORT"));
  b.http_path.push_back(app.add_option("--http-path", v.http_path, "HTTP endpoint path (default /mcp)")
                            ->type_name("PATH"));
  b.auth_token_env.push_back(app.add_option("--auth-token-env", v.auth_token_env,
                                            "Environment variable holding the bearer token HTTP "
                                            "clients must send (required off loopback)")
                                 ->type_name("NAME"));
  b.allowed_origins.push_back(app.add_option("--allowed-origins", v.allowed_origins,
                                             "Browser origins allowed to call the HTTP endpoint, "
                                             "comma separated (no wildcard)")
                                  ->type_name("LIST"));
  b.allowed_hosts.push_back(app.add_option("--allowed-hosts", v.allowed_hosts,
                                           "Host header values accepted besides the loopback names, "
                                           "comma separated")
                                ->type_name("LIST"));
  auto opt = [&](std::vector<CLI::Option *> &slot, const char *name, auto &value, const char *help, const char *type) {
    slot.push_back(app.add_option(name, value, help)->type_name(type)->group("Agent safety"));
  };
  b.read_only.push_back(app.add_flag("--read-only", v.read_only,
                                     "Serve only the tools annotated read-only (listing tokens, the "
                                     "ceiling); the others are unknown tools")
                            ->group("Agent safety"));
  opt(b.tools, "--tools", v.tools,
      "Serve only these tools, comma separated (with --read-only, those of them that are read-only)",
      "LIST");
  opt(b.keys_delivery, "--keys-delivery", v.keys_delivery,
      "result (default): a new key is in the tool result; file: written to --keys-dir, never shown to the model",
      "MODE");
  opt(b.keys_dir, "--keys-dir", v.keys_dir, "Directory for key files (created 0700; files 0600, never overwritten)",
      "DIR");
  opt(b.name_prefix, "--name-prefix", v.name_prefix, "Put in front of every minted token's name (e.g. agent:)",
      "TEXT");
  opt(b.ledger_file, "--ledger-file", v.ledger_file,
      "Keep the record of tokens minted here in this file, so lineage survives restarts", "FILE");
  opt(b.revoke_scope, "--revoke-scope", v.revoke_scope,
      "ceiling (default): revoke tokens within the ceiling; minted: only tokens minted here", "SCOPE");
  opt(b.max_creates_per_hour, "--max-creates-per-hour", v.max_creates_per_hour, "Creates per client per hour",
      "N");
  opt(b.max_live_minted, "--max-live-minted", v.max_live_minted, "Live tokens minted here per client", "N");
  opt(b.confirm, "--confirm", v.confirm,
      "never (default), writes (ask the user before granting :write, * or all websites), always", "MODE");
  opt(b.audit_file, "--audit-file", v.audit_file,
      "Append a hash-chained JSON line per tool call here (check it with: datafast-mcp audit verify FILE)", "FILE");
  opt(b.scope_ttl_ms, "--scope-ttl-ms", v.scope_ttl_ms,
      "How long the parent token's scope, as last listed, is trusted (default 300000)", "MS");
  b.log_format.push_back(app.add_option("--log-format", v.log_format,
                                        "text (default) or json: one JSON object per log line, for collectors")
                             ->type_name("FORMAT"));
  b.log_level.push_back(app.add_option("--log-level", v.log_level,
                                       "trace, debug, info (default), warn, error or off; logs go "
                                       "to stderr")
                            ->type_name("LEVEL"));
}

// The Environment section of --help (and so of the man page), from the one table of variables.
std::string environment_help() {
  std::string out = "\nEnvironment:\n"
                    "  DATAFAST_TOKEN     the parent dft_ account token, with api-keys:read and "
                    "api-keys:write\n"
                    "                     (another name: upstream.tokenEnv, --token-env)\n"
                    "  DATAFAST_API_URL   overrides upstream.baseUrl (a flag overrides it)\n"
                    "  DATAFAST_CA_FILE   overrides upstream.caFile (a flag overrides it)\n"
                    "  Each setting below takes the flag's syntax; flags > environment > config file > "
                    "defaults,\n  and an empty variable counts as unset:\n";
  for (const config::EnvSetting &e : config::env_settings()) {
    std::string name = e.variable;
    name.resize(std::max<std::size_t>(name.size() + 2, 36), ' ');
    out += "  " + name + e.flag + "\n";
  }
  out += "  (HTTP clients' bearer tokens: the variables named by http.authTokenEnv and "
         "http.clients[].tokenEnv)\n";
  return out;
}

bool given(const std::vector<CLI::Option *> &options) {
  for (const CLI::Option *o : options)
    if (o->count() > 0)
      return true;
  return false;
}

} // namespace

std::string version_text() {
  std::string versions = std::string(mcp::modern::kVersion);
  for (std::string_view v : mcp::kProtocolVersions)
    versions += (versions.empty() ? "" : ", ") + std::string(v);
  return std::string("datafast-mcp ") + DFMCP_VERSION + " (MCP protocol " + versions + ")";
}

Expected<CliRequest, CliExit> parse_cli(int argc, const char *const *argv) {
  CLI::App app("datafast-mcp: an MCP server that lets AI agents list, create and revoke DataFast "
               "account tokens, never beyond a configured ceiling. Serves MCP over stdio, or Streamable HTTP "
               "with --http.",
               "datafast-mcp");
  app.footer(std::string(kExamples) + environment_help() +
             "\nExit codes: 0 success, 1 runtime failure, 2 configuration or usage error.\n");
  app.set_version_flag("-V,--version", version_text());
  Values v;
  Bound b;
  add_options(app, v, b);
  CLI::App *check = app.add_subcommand(
      "check", "Validate the configuration, print each effective value and where it came from, "
               "and the ceiling; exit 2 on any problem");
  check->footer("\nExample:\n  datafast-mcp check --config ~/.config/datafast-mcp.json\n");
  add_options(*check, v, b);
  bool offline = false;
  check->add_flag("--offline", offline,
                  "Do not contact DataFast (by default check lists the account's tokens to show the parent "
                  "token's own scope and the effective ceiling)");
  CLI::App *audit = app.add_subcommand("audit", "Work with the audit log (logging.auditFile)");
  CLI::App *verify = audit->add_subcommand(
      "verify", "Check an audit log's hash chain; report the first broken or edited line. Exit 0 intact, 1 "
                "broken or edited, 3 intact but for an incomplete last line (an interrupted write)");
  std::string audit_path;
  verify->add_option("FILE", audit_path, "The audit log")->required();
  verify->footer("\nExample:\n  datafast-mcp audit verify /var/log/datafast-mcp/audit.jsonl\n");
  audit->require_subcommand(1);
  audit->footer("\nExample:\n  datafast-mcp audit verify /var/log/datafast-mcp/audit.jsonl\n");

  PrintConfigOptions pc;
  std::string pc_http, pc_config, pc_docker;
  CLI::App *print = app.add_subcommand(
      "print-config", "Print the snippet that attaches this server to an MCP client (Claude Desktop, Claude "
                      "Code, Cursor, VS Code, Windsurf, Codex, Gemini CLI, Zed, Continue), with this binary's "
                      "absolute path; the token stays an environment reference");
  print->add_option("--client", pc.client, "The client (see --list-clients)")->type_name("NAME");
  print->add_flag("--list-clients", pc.list_clients, "List the clients, where each snippet goes, and how each gets the token");
  auto *pc_http_opt = print->add_option("--http", pc_http, "Connect to a running server at this URL instead of starting one")
                          ->type_name("URL");
  auto *pc_config_opt = print->add_option("--config", pc_config, "The config file the server should start with")
                            ->type_name("FILE");
  auto *pc_docker_opt =
      print->add_option("--docker", pc_docker,
                        "Start the server in this container image (docker run -i --rm ... IMAGE), for "
                        "clients on macOS, Windows or another Linux; --config is mounted read-only")
          ->type_name("IMAGE");
  print->add_option("--server-name", pc.server_name, "The server's name in the client (default datafast)")->type_name("NAME");
  print->add_option("--token-env", pc.token_env, "Environment variable of the parent token (default DATAFAST_TOKEN)")
      ->type_name("NAME");
  print->add_option("--http-token-env", pc.http_token_env,
                    "Environment variable of the HTTP bearer token (default DATAFAST_MCP_HTTP_TOKEN)")
      ->type_name("NAME");
  print->add_option("args", pc.server_args, "Further server arguments, after --")->type_name("ARGS");
  print->footer("\nExamples:\n  datafast-mcp print-config --client claude-desktop --config ~/.config/datafast-mcp.json\n"
                "  datafast-mcp print-config --client vscode -- --permissions analytics:read,websites:read --websites '*'\n"
                "  datafast-mcp print-config --client cursor --http http://127.0.0.1:8787/mcp\n"
                "  datafast-mcp print-config --client claude-desktop --docker datafast-mcp:latest -- \\\n"
                "      --permissions analytics:read --websites '*'\n"
                "  datafast-mcp print-config --list-clients\n");
  SandboxOptions sandbox_options;
  CLI::App *sandbox = app.add_subcommand(
      "sandbox", "Serve only the built-in sandbox DataFast account over HTTPS on loopback (for "
                 "benchmarks and other clients); prints one JSON line with its URL and files, then "
                 "serves until SIGTERM");
  sandbox->add_option("--listen", sandbox_options.listen, "HOST:PORT (default 127.0.0.1:0, a free port)")
      ->type_name("HOST:PORT");
  sandbox->add_option("--ca-out", sandbox_options.ca_out, "Write the sandbox CA certificate (PEM) here")
      ->type_name("FILE")
      ->required();
  sandbox->add_option("--token-out", sandbox_options.token_out,
                      "Write the sandbox parent token here (mode 0600)")
      ->type_name("FILE")
      ->required();
  sandbox->footer("\nExample:\n  datafast-mcp sandbox --ca-out /tmp/sb-ca.pem --token-out /tmp/sb-token\n"
                  "  # prints {\"baseUrl\":\"https://127.0.0.1:PORT/api/v1/admin\",...}; then\n"
                  "  DATAFAST_TOKEN=$(cat /tmp/sb-token) datafast-mcp --upstream-url URL --ca-file /tmp/sb-ca.pem ...\n");
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    std::ostringstream out, err;
    int code = app.exit(e, out, err);
    if (code == 0)
      return unexpected(CliExit{0, out.str(), err.str()});
    std::string what = e.what();
    // Point at the help of the subcommand the error is in.
    std::string help = "datafast-mcp --help";
    for (CLI::App *sub : {verify, audit, print, sandbox, check})
      if (sub->parsed()) {
        help = sub == verify ? "datafast-mcp audit verify --help" : "datafast-mcp " + sub->get_name() + " --help";
        break;
      }
    return unexpected(CliExit{2, "", "datafast-mcp: usage error: " + what + "; run " + help + "\n"});
  }

  CliRequest req;
  req.command = check->parsed()     ? Command::Check
                : sandbox->parsed() ? Command::Sandbox
                : verify->parsed()  ? Command::AuditVerify
                : print->parsed()   ? Command::PrintConfig
                                    : Command::Serve;
  if (print->parsed()) {
    if (pc_http_opt->count())
      pc.http_url = pc_http;
    if (pc_config_opt->count())
      pc.config = pc_config;
    if (pc_docker_opt->count())
      pc.docker_image = pc_docker;
    if (pc.client.empty() && !pc.list_clients)
      return unexpected(CliExit{2, "", "datafast-mcp: usage error: print-config needs --client NAME (or "
                                       "--list-clients); run datafast-mcp print-config --help\n"});
    req.print_config = pc;
  }
  req.offline = offline;
  req.audit_path = audit_path;
  req.sandbox = sandbox_options;
  config::Options &o = req.options;
  o.sandbox = v.sandbox;
  if (given(b.config_path)) o.config_path = v.config_path;
  if (given(b.permissions)) o.permissions = v.permissions;
  if (given(b.websites)) o.websites = v.websites;
  if (given(b.upstream_url)) o.upstream_url = v.upstream_url;
  if (given(b.token_env)) o.token_env = v.token_env;
  if (given(b.ca_file)) o.ca_file = v.ca_file;
  if (given(b.timeout_ms)) o.timeout_ms = v.timeout_ms;
  if (given(b.log_level)) o.log_level = v.log_level;
  if (given(b.http_listen)) o.http_listen = v.http_listen;
  if (given(b.http_path)) o.http_path = v.http_path;
  if (given(b.auth_token_env)) o.auth_token_env = v.auth_token_env;
  if (given(b.allowed_origins)) o.allowed_origins = v.allowed_origins;
  if (given(b.allowed_hosts)) o.allowed_hosts = v.allowed_hosts;
  if (given(b.keys_delivery)) o.keys_delivery = v.keys_delivery;
  if (given(b.keys_dir)) o.keys_dir = v.keys_dir;
  if (given(b.name_prefix)) o.name_prefix = v.name_prefix;
  if (given(b.ledger_file)) o.ledger_file = v.ledger_file;
  if (given(b.revoke_scope)) o.revoke_scope = v.revoke_scope;
  if (given(b.confirm)) o.confirm = v.confirm;
  if (given(b.audit_file)) o.audit_file = v.audit_file;
  if (given(b.log_format)) o.log_format = v.log_format;
  if (given(b.max_creates_per_hour)) o.max_creates_per_hour = v.max_creates_per_hour;
  if (given(b.max_live_minted)) o.max_live_minted = v.max_live_minted;
  if (given(b.scope_ttl_ms)) o.scope_ttl_ms = v.scope_ttl_ms;
  if (given(b.read_only)) o.read_only = v.read_only;
  if (given(b.tools)) o.tools = v.tools;
  return req;
}

} // namespace dfmcp
